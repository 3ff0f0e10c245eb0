// What the hub needs from its MQTT side, embedded broker (broker.ts) or external broker
// (external-broker.ts) alike: messages in through the callbacks given at start, acks out, the
// counters the health route shows, and an orderly stop.
import type { AckMessage } from '../common/wire.ts';

export interface BrokerCounters {
  readonly mode: 'embedded' | 'external';
  /** Embedded: always true once listening. External: the hub's client is connected. */
  readonly connected: boolean;
  /** Embedded: publishes refused by topic authorization (another gateway's topics, ack topics). */
  readonly refusedPublishes: number;
  /** Malformed packets and other protocol errors from clients (embedded) or the broker (external). */
  readonly clientErrors: number;
  readonly acksSent: number;
  /** Acks that could not be handed to the broker; a later ack for the same gateway supersedes them. */
  readonly acksFailed: number;
}

export interface BrokerLink {
  /** The port gateways connect to. */
  readonly port: number;
  publishAck(site: string, gateway: string, ack: AckMessage): void;
  /** Hands a rule bundle to the broker for one gateway (QoS 1); resolves once the broker has it. */
  publishBundle(site: string, gateway: string, bundle: Uint8Array): Promise<void>;
  counters(): BrokerCounters;
  /** Stops taking new gateway connections (embedded) or new messages (external); acks still go out. */
  stopAccepting(): void;
  /** Sends what acks it still can within a grace period, then disconnects. Idempotent. */
  close(): Promise<void>;
}

export interface BrokerInbox {
  readonly onData: (topic: string, payload: Buffer) => void;
  readonly onState: (topic: string, payload: Buffer) => void;
}
