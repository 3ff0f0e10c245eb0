// The client's session rules, synchronous and I/O-free: what a publish or subscribe becomes on the
// wire, what goes out again after every CONNACK (un-acknowledged publishes with DUP and their
// original packet ids, then every subscription), and what each PUBACK or SUBACK settles. The
// client around it owns sockets, timers, logging and the connection state.
import type { IConnackPacket, IPublishPacket, Packet } from 'mqtt-packet';
import { MillwrightError } from '../errors.ts';
import { encodeOwnPacket, topicFilterProblem, topicNameProblem, withDupFlag, type ProtocolVersion } from './codec.ts';
import { mqttErrors } from './errors.ts';
import type { StateMessageSpec } from './options.ts';
import { deferred, InflightWindow, PacketIds, SubscriptionTable, type Subscription } from './session-state.ts';

export interface SessionLimits {
  readonly protocolVersion: ProtocolVersion;
  readonly inflightMax: number;
  readonly subscriptionsMax: number;
  readonly packetBytesMax: number;
}

export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: MillwrightError };

export type PubackOutcome = 'acked' | 'refused' | 'birth-acked' | 'birth-refused' | 'unknown';

export type SubackOutcome =
  | { readonly kind: 'granted'; readonly filter: string; readonly qos: 0 | 1 }
  | { readonly kind: 'refused'; readonly error: MillwrightError }
  | { readonly kind: 'unknown-id' }
  | { readonly kind: 'malformed' };

type ControlEntry = { readonly kind: 'subscribe'; readonly filter: string } | { readonly kind: 'birth' };

export class Session {
  readonly #version: ProtocolVersion;
  readonly #packetBytesMax: number;
  readonly #ids = new PacketIds();
  readonly #window: InflightWindow;
  readonly #subscriptions: SubscriptionTable;
  /** SUBSCRIBE and birth ids awaiting an ack; they belong to the current connection only. */
  readonly #control = new Map<number, ControlEntry>();
  #serverPacketBytesMax: number | undefined;

  constructor(limits: SessionLimits) {
    this.#version = limits.protocolVersion;
    this.#packetBytesMax = limits.packetBytesMax;
    this.#window = new InflightWindow(limits.inflightMax);
    this.#subscriptions = new SubscriptionTable(limits.subscriptionsMax);
  }

  get inflight(): number {
    return this.#window.size;
  }

  get inflightLimit(): number {
    return this.#window.limit;
  }

  get windowFull(): boolean {
    return this.#window.full;
  }

  get subscriptionCount(): number {
    return this.#subscriptions.size;
  }

  /** Ours, lowered by an MQTT 5 broker's Maximum Packet Size. */
  get packetBytesLimit(): number {
    return Math.min(this.#packetBytesMax, this.#serverPacketBytesMax ?? Infinity);
  }

  /** The bytes to send; a QoS 1 publish enters the window and `done` settles on its PUBACK. */
  publish(topic: string, payload: Buffer | string, qos: 0 | 1, retain: boolean): Result<{ bytes: Buffer; done: Promise<void> | undefined }> {
    const problem = topicNameProblem(topic);
    if (problem !== undefined) return { ok: false, error: new MillwrightError(mqttErrors.topicInvalid, problem, { topic }) };
    if (qos === 1 && this.#window.full) {
      const message = `in-flight window full (${this.#window.size}/${this.#window.limit} QoS 1 publishes await PUBACK)`;
      return { ok: false, error: new MillwrightError(mqttErrors.windowFull, message, { topic, inflight: this.#window.size }) };
    }
    const packet: IPublishPacket = { cmd: 'publish', topic, payload, qos, retain, dup: false };
    if (qos === 1) packet.messageId = this.#ids.allocate();
    const bytes = encodeOwnPacket(packet, this.#version);
    if (bytes.length > this.packetBytesLimit) {
      if (packet.messageId !== undefined) this.#ids.release(packet.messageId);
      const message = `a ${bytes.length}-byte PUBLISH exceeds the ${this.packetBytesLimit}-byte limit`;
      return { ok: false, error: new MillwrightError(mqttErrors.packetTooLarge, message, { topic, bytes: bytes.length }) };
    }
    if (packet.messageId === undefined) return { ok: true, value: { bytes, done: undefined } };
    const done = deferred<void>();
    this.#window.add({ id: packet.messageId, bytes, done });
    return { ok: true, value: { bytes, done: done.promise } };
  }

  /** Records the subscription; `done` settles at the next SUBACK for it. */
  subscribe(filter: string, qos: 0 | 1): Result<{ subscription: Subscription; done: Promise<0 | 1> }> {
    const problem = topicFilterProblem(filter);
    if (problem !== undefined) return { ok: false, error: new MillwrightError(mqttErrors.topicInvalid, problem, { filter }) };
    const subscription = this.#subscriptions.upsert(filter, qos);
    if (subscription === undefined) {
      const message = `already ${this.#subscriptions.size} subscriptions (subscriptionsMax)`;
      return { ok: false, error: new MillwrightError(mqttErrors.subscriptionsFull, message, { filter }) };
    }
    subscription.waiter ??= deferred<0 | 1>();
    return { ok: true, value: { subscription, done: subscription.waiter.promise } };
  }

  subscribePacket(subscription: Subscription): Buffer {
    const id = this.#ids.allocate();
    this.#control.set(id, { kind: 'subscribe', filter: subscription.filter });
    subscription.granted = undefined;
    return encodeOwnPacket({ cmd: 'subscribe', messageId: id, subscriptions: [{ topic: subscription.filter, qos: subscription.qos }] }, this.#version);
  }

  /** The birth is never re-sent with DUP: each connection publishes a fresh one. */
  birthPacket(message: StateMessageSpec): Result<Buffer> {
    const problem = topicNameProblem(message.topic);
    if (problem !== undefined) return { ok: false, error: new MillwrightError(mqttErrors.topicInvalid, `birth message: ${problem}`, { topic: message.topic }) };
    const id = this.#ids.allocate();
    this.#control.set(id, { kind: 'birth' });
    const packet: Packet = { cmd: 'publish', topic: message.topic, payload: message.payload, qos: 1, retain: message.retain ?? true, dup: false, messageId: id };
    return { ok: true, value: encodeOwnPacket(packet, this.#version) };
  }

  /**
   * After CONNACK: adopts the broker's limits and returns what must go out again, in order. A
   * publish that no longer fits the broker's maximum packet size is rejected instead.
   */
  resume(properties: IConnackPacket['properties']): { packets: Buffer[]; resent: number } {
    this.#window.setServerLimit(properties?.receiveMaximum);
    this.#serverPacketBytesMax = properties?.maximumPacketSize;
    const packets: Buffer[] = [];
    for (const entry of [...this.#window.inSendOrder()]) {
      if (entry.bytes.length <= this.packetBytesLimit) {
        packets.push(withDupFlag(entry.bytes));
        continue;
      }
      this.#window.take(entry.id);
      this.#ids.release(entry.id);
      const message = `the broker now accepts at most ${this.packetBytesLimit} bytes per packet`;
      entry.done.reject(new MillwrightError(mqttErrors.packetTooLarge, message, { bytes: entry.bytes.length }));
    }
    const resent = packets.length;
    // Re-subscribe even when the broker kept the session: it may have restarted without persistence.
    for (const subscription of this.#subscriptions.all()) packets.push(this.subscribePacket(subscription));
    return { packets, resent };
  }

  onPuback(id: number, reasonCode: number): PubackOutcome {
    // MQTT 5 reason codes below 0x80 (0x10 "no matching subscribers", say) are successes.
    const refused = reasonCode >= 0x80;
    if (this.#control.get(id)?.kind === 'birth') {
      this.#control.delete(id);
      this.#ids.release(id);
      return refused ? 'birth-refused' : 'birth-acked';
    }
    const entry = this.#window.take(id);
    if (entry === undefined) return 'unknown';
    this.#ids.release(id);
    if (refused) entry.done.reject(new MillwrightError(mqttErrors.publishRefused, `the broker refused the publish: reason code ${reasonCode}`, { reasonCode }));
    else entry.done.resolve();
    return refused ? 'refused' : 'acked';
  }

  onSuback(id: number, granted: readonly unknown[]): SubackOutcome {
    const control = this.#control.get(id);
    if (control?.kind !== 'subscribe') return { kind: 'unknown-id' };
    this.#control.delete(id);
    this.#ids.release(id);
    const code = granted[0];
    if (typeof code !== 'number' || granted.length !== 1) return { kind: 'malformed' };
    const subscription = this.#subscriptions.get(control.filter);
    const waiter = subscription?.waiter;
    if (subscription !== undefined) subscription.waiter = undefined;
    if (code >= 0x80) {
      this.#subscriptions.remove(control.filter);
      const error = new MillwrightError(mqttErrors.subscribeRefused, `the broker refused the subscription to '${control.filter}': code ${code}`, { filter: control.filter, code });
      waiter?.reject(error);
      return { kind: 'refused', error };
    }
    const qos = code === 0 ? 0 : 1;
    if (subscription !== undefined) subscription.granted = qos;
    waiter?.resolve(qos);
    return { kind: 'granted', filter: control.filter, qos };
  }

  /** The connection ended: SUBSCRIBE and birth ids die with it; publishes stay to be re-sent. */
  connectionLost(): void {
    for (const id of this.#control.keys()) this.#ids.release(id);
    this.#control.clear();
  }

  /** close(): every pending publish and subscription waiter is rejected; returns the publishes. */
  abandon(error: () => MillwrightError): number {
    const entries = this.#window.takeAll();
    for (const entry of entries) {
      this.#ids.release(entry.id);
      entry.done.reject(error());
    }
    for (const subscription of this.#subscriptions.all()) {
      subscription.waiter?.reject(error());
      subscription.waiter = undefined;
    }
    return entries.length;
  }
}
