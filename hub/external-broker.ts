// The hub's link to an external broker (mosquitto, NATS in MQTT mode, ...): one common/mqtt
// MqttClient with a persistent session and a fixed client id, subscribed (QoS 1) to this site's
// data and state topics, publishing acks. Acks are cumulative, so pending ones are coalesced per
// gateway (only the newest matters) and sent whenever the client can take them: a refused or
// lost ack costs nothing but time. The broker's ACLs, not this code, stop a client from
// publishing as another gateway (docs/protocol.md).
import type { Clock } from '../common/clock.ts';
import type { Logger } from '../common/log.ts';
import { MqttClient } from '../common/mqtt/mqtt-client.ts';
import type { RandomSource } from '../common/random.ts';
import { parseTopic, topicRoot, topics, type AckMessage } from '../common/wire.ts';
import { wireBatchLimits } from '../common/wire-batch.ts';
import type { BrokerInbox, BrokerLink } from './broker-link.ts';
import type { ExternalBrokerConfig } from './hub-config.ts';

export const externalBrokerDefaults = {
  /** Acks awaiting PUBACK at most. */
  ackInflightMax: 256,
  /** How often pending acks are retried while the client cannot take them. */
  ackRetryIntervalMs: 100,
  /** How long start waits for the first SUBACK before going on without it (the client keeps trying). */
  subscribeWaitMs: 5_000,
  /** How long close waits for pending acks to be acknowledged. */
  closeGraceMs: 2_000,
  reconnectMinMs: 100,
  reconnectMaxMs: 5_000,
  /** Room for the topic and MQTT headers around the largest batch payload. */
  packetBytesMax: wireBatchLimits.payloadBytesMax + 4_096,
} as const;

export interface ExternalBrokerDeps extends BrokerInbox {
  readonly config: ExternalBrokerConfig;
  readonly site: string;
  readonly password: string | undefined;
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly logger: Logger;
}

export async function connectExternalBroker(deps: ExternalBrokerDeps): Promise<BrokerLink> {
  const { config, site, logger } = deps;
  const client = new MqttClient({
    host: config.host,
    port: config.port,
    clientId: config.clientId,
    protocolVersion: config.protocolVersion,
    clean: false,
    ...(config.username === undefined ? {} : { username: config.username }),
    ...(deps.password === undefined ? {} : { password: deps.password }),
    inflightMax: externalBrokerDefaults.ackInflightMax,
    packetBytesMax: externalBrokerDefaults.packetBytesMax,
    reconnectMinMs: externalBrokerDefaults.reconnectMinMs,
    reconnectMaxMs: externalBrokerDefaults.reconnectMaxMs,
    clock: deps.clock,
    random: deps.random,
    logger,
  });
  const counters = { acksSent: 0, acksFailed: 0 };
  /** Newest un-sent ack payload per ack topic. */
  const pending = new Map<string, Buffer>();
  let accepting = true;

  client.onMessage((topic, payload) => {
    if (!accepting) return; // the gateway resends what the hub did not ack
    const kind = parseTopic(topic)?.kind;
    if (kind === 'data') deps.onData(topic, payload);
    else if (kind === 'state') deps.onState(topic, payload);
  });
  const pump = (): void => {
    for (const [topic, payload] of pending) {
      if (!client.canPublish()) return;
      pending.delete(topic);
      client.publish(topic, payload, { qos: 1, retain: false }).then(
        () => void counters.acksSent++,
        (error: unknown) => {
          counters.acksFailed++;
          if (!pending.has(topic)) pending.set(topic, payload);
          logger.rateLimited(`ack:${topic}`, 10_000, 'warn', 'ack not acknowledged by the broker; will resend', { topic, error: (error as Error).message });
        },
      );
    }
  };
  client.onEvent((event) => {
    if (event.type === 'connected') pump();
  });
  const retryTimer = setInterval(() => {
    if (pending.size > 0) pump();
  }, externalBrokerDefaults.ackRetryIntervalMs);

  const subscribed = Promise.all([client.subscribe(`${topicRoot}/${site}/+/data`, 1), client.subscribe(`${topicRoot}/${site}/+/state`, 1)]);
  client.start();
  const outcome = await Promise.race([subscribed.then(() => 'subscribed' as const, () => 'refused' as const), delay(externalBrokerDefaults.subscribeWaitMs).then(() => 'waiting' as const)]);
  if (outcome !== 'subscribed') logger.warn('external broker not ready: the hub keeps trying', { broker: `${config.host}:${config.port}`, outcome });

  let closing: Promise<void> | undefined;
  return {
    port: config.port,
    publishAck(ackSite: string, gateway: string, ack: AckMessage) {
      pending.set(topics.ack(ackSite, gateway), Buffer.from(JSON.stringify(ack)));
      pump();
    },
    publishBundle(bundleSite: string, gateway: string, bundle: Uint8Array) {
      if (client.state !== 'connected') return Promise.reject(new Error('the hub is not connected to its broker'));
      return client.publish(topics.bundle(bundleSite, gateway), Buffer.from(bundle), { qos: 1, retain: false }).then(() => undefined);
    },
    counters: () => ({ mode: 'external', connected: client.state === 'connected', refusedPublishes: 0, clientErrors: client.stats().protocolErrors, ...counters }),
    stopAccepting() {
      accepting = false;
    },
    close() {
      closing ??= (async () => {
        accepting = false;
        const deadline = deps.clock.monotonicNs() + BigInt(externalBrokerDefaults.closeGraceMs) * 1_000_000n;
        while ((pending.size > 0 || client.stats().inflight > 0) && client.state === 'connected' && deps.clock.monotonicNs() < deadline) {
          pump();
          await delay(10);
        }
        clearInterval(retryTimer);
        await client.close();
      })();
      return closing;
    },
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
