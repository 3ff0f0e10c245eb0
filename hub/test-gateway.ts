// Test support (not a test itself): a simulated gateway for the end-to-end suite and the bench. It
// keeps an in-memory log of v2 batches and frees them only on the hub's end-to-end ack, sends
// through a common/mqtt MqttClient with a bounded window of un-acked batches, and resends what is
// un-acked after every reconnect and whenever acks stop moving. Faults are injected on purpose:
// duplicates, out-of-order sends, sequences declared lost (before, inside, or after sending),
// held-back backlog sent later as historical, and resends of what is already acked.
import { systemClock, type Clock } from '../common/clock.ts';
import type { Logger } from '../common/log.ts';
import { MqttClient } from '../common/mqtt/mqtt-client.ts';
import { seededRandom } from '../common/random.ts';
import { topics } from '../common/wire.ts';
import { encodeBatchV2, wireBatchLimits, type BatchRecord, type SeqRange } from '../common/wire-batch.ts';

export const simGatewayDefaults = {
  /** Batches sent and not yet acked at most (the end-to-end window). */
  windowBatchesMax: 16,
  /** With batches un-acked and no ack progress for this long, resend them all. */
  resendAfterMs: 1_000,
  checkIntervalMs: 50,
} as const;

export interface SimGatewayOptions {
  readonly site: string;
  readonly gateway: string;
  readonly host: string;
  readonly port: number;
  readonly protocolVersion: 4 | 5;
  /** MQTT client id; millwright-{site}-{gateway} unless a test impersonates. */
  readonly clientId?: string;
  readonly username?: string;
  readonly password?: string;
  readonly windowBatchesMax?: number;
  readonly resendAfterMs?: number;
  readonly logger: Logger;
  readonly clock?: Clock;
}

interface LogBatch {
  readonly firstSeq: bigint;
  readonly lastSeq: bigint;
  readonly payload: Buffer;
  readonly records: number;
  sent: boolean;
  held: boolean;
}

export class SimGateway {
  readonly client: MqttClient;
  readonly #options: SimGatewayOptions;
  readonly #clock: Clock;
  readonly #log: LogBatch[] = [];
  readonly #timer: NodeJS.Timeout;
  readonly #ackWaiters = new Set<{ seq: bigint; resolve: () => void }>();
  #nextSeq = 1n;
  #ackedSeq = 0n;
  #lastProgressNs: bigint;
  /** Every sequence given a record, and every sequence declared lost (a sequence can be both). */
  readonly recorded: SeqRange[] = [];
  readonly declaredLost: SeqRange[] = [];
  publishedBatches = 0;
  resends = 0;

  constructor(options: SimGatewayOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#lastProgressNs = this.#clock.monotonicNs();
    const { site, gateway } = options;
    const state = (value: 'online' | 'offline') => ({ topic: topics.state(site, gateway), payload: JSON.stringify({ v: 1, state: value, ts: this.#clock.nowMs() }) });
    this.client = new MqttClient({
      host: options.host,
      port: options.port,
      clientId: options.clientId ?? `millwright-${site}-${gateway}`,
      ...(options.username === undefined ? {} : { username: options.username }),
      ...(options.password === undefined ? {} : { password: options.password }),
      protocolVersion: options.protocolVersion,
      inflightMax: Math.max(64, (options.windowBatchesMax ?? simGatewayDefaults.windowBatchesMax) * 2),
      packetBytesMax: wireBatchLimits.payloadBytesMax + 4096,
      reconnectMinMs: 50,
      reconnectMaxMs: 500,
      will: state('offline'),
      birth: () => state('online'),
      clock: this.#clock,
      random: seededRandom(1),
      logger: options.logger,
    });
    this.client.onMessage((topic, payload) => {
      if (topic !== topics.ack(site, gateway)) return;
      const ack = JSON.parse(payload.toString('utf8')) as { ackedSeq?: unknown };
      if (typeof ack.ackedSeq === 'string') this.#onAck(BigInt(ack.ackedSeq));
    });
    this.client.onEvent((event) => {
      if (event.type === 'connected') this.resendUnacked();
    });
    void this.client.subscribe(topics.ack(site, gateway), 1);
    this.#timer = setInterval(() => this.#check(), simGatewayDefaults.checkIntervalMs);
  }

  get ackedSeq(): bigint {
    return this.#ackedSeq;
  }

  get nextSeq(): bigint {
    return this.#nextSeq;
  }

  /** Connects and resolves at the first CONNACK. */
  start(): Promise<void> {
    const connected = new Promise<void>((resolve) => {
      const off = this.client.onEvent((event) => {
        if (event.type !== 'connected') return;
        off();
        resolve();
      });
    });
    this.client.start();
    return connected;
  }

  /**
   * Appends one batch to the log. `lost` ranges (sequences never sent, or evicted after sending)
   * are declared in it; `skipBefore` sequences are lost before it; `lostInside` after that many
   * records. Held batches wait for release() (a backlog behind live data).
   */
  append(records: readonly BatchRecord[], options: { historical?: boolean; skipBefore?: number; lostInside?: { after: number; count: number }; evicted?: SeqRange[]; hold?: boolean } = {}): SeqRange {
    const lost: SeqRange[] = [...(options.evicted ?? [])];
    if (options.skipBefore !== undefined && options.skipBefore > 0) {
      lost.push({ first: this.#nextSeq, last: this.#nextSeq + BigInt(options.skipBefore - 1) });
      this.#nextSeq += BigInt(options.skipBefore);
    }
    const firstSeq = this.#nextSeq;
    let seq = firstSeq;
    let runFirst = seq;
    for (let index = 0; index < records.length; index++) {
      const inside = options.lostInside;
      if (inside !== undefined && index === inside.after && index > 0) {
        this.recorded.push({ first: runFirst, last: seq - 1n });
        lost.push({ first: seq, last: seq + BigInt(inside.count - 1) });
        seq += BigInt(inside.count);
        runFirst = seq;
      }
      seq++;
    }
    if (seq > runFirst) this.recorded.push({ first: runFirst, last: seq - 1n });
    lost.sort((a, b) => (a.first < b.first ? -1 : 1));
    this.declaredLost.push(...lost);
    const payload = encodeBatchV2({ site: this.#options.site, gateway: this.#options.gateway, historical: options.historical ?? false, firstSeq, lost, records });
    this.#nextSeq = seq;
    const lastSeq = seq - 1n;
    this.#log.push({ firstSeq, lastSeq, payload, records: records.length, sent: false, held: options.hold ?? false });
    return { first: firstSeq, last: lastSeq };
  }

  /** Sends held batches (the backlog) from now on. */
  release(): void {
    for (const batch of this.#log) batch.held = false;
    this.pump();
  }

  /** Publishes a logged or earlier payload once more, outside the window: a duplicate. */
  publishAgain(firstSeq: bigint): boolean {
    const batch = this.#log.find((entry) => entry.firstSeq === firstSeq);
    if (batch === undefined || !this.client.canPublish()) return false;
    void this.client.publish(topics.data(this.#options.site, this.#options.gateway), batch.payload).catch(() => undefined);
    return true;
  }

  /** Publishes raw bytes on this gateway's data topic (a resend of acked data, or garbage). */
  publishRaw(payload: Buffer, topic = topics.data(this.#options.site, this.#options.gateway)): Promise<void> {
    return this.client.publish(topic, payload);
  }

  /** Drops an un-acked batch from the log (the overflow policy evicted it); returns its range. */
  evictOldest(): SeqRange | undefined {
    const batch = this.#log.shift();
    return batch === undefined ? undefined : { first: batch.firstSeq, last: batch.lastSeq };
  }

  /** Marks every un-acked batch unsent and sends again what the window allows. */
  resendUnacked(): void {
    for (const batch of this.#log) {
      if (!batch.sent) continue;
      batch.sent = false;
      this.resends++;
    }
    this.#lastProgressNs = this.#clock.monotonicNs();
    this.pump();
  }

  /** Sends unsent, unheld batches in log order while the end-to-end window and the client allow. */
  pump(): void {
    const windowMax = this.#options.windowBatchesMax ?? simGatewayDefaults.windowBatchesMax;
    let inWindow = this.#log.reduce((count, batch) => count + (batch.sent ? 1 : 0), 0);
    for (const batch of this.#log) {
      if (inWindow >= windowMax || !this.client.canPublish()) return;
      if (batch.sent || batch.held) continue;
      batch.sent = true;
      inWindow++;
      this.publishedBatches++;
      this.client.publish(topics.data(this.#options.site, this.#options.gateway), batch.payload).catch(() => {
        batch.sent = false; // offline or window full: it goes again with the next pump
      });
    }
  }

  /** Resolves once the hub acks `seq` (every record up to it is committed or declared lost). */
  waitForAck(seq: bigint, timeoutMs: number): Promise<void> {
    if (this.#ackedSeq >= seq) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = { seq, resolve: () => (clearTimeout(timer), resolve()) };
      const timer = setTimeout(() => {
        this.#ackWaiters.delete(waiter);
        reject(new Error(`no ack for ${seq} within ${timeoutMs} ms (acked ${this.#ackedSeq}, log ${this.#log.length} batches, client ${this.client.state})`));
      }, timeoutMs);
      this.#ackWaiters.add(waiter);
    });
  }

  unackedBatches(): number {
    return this.#log.length;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.client.close();
  }

  #onAck(ackedSeq: bigint): void {
    if (ackedSeq > this.#ackedSeq) {
      this.#ackedSeq = ackedSeq;
      this.#lastProgressNs = this.#clock.monotonicNs();
    }
    while (this.#log.length > 0 && this.#log[0]!.lastSeq <= ackedSeq) this.#log.shift();
    for (const waiter of this.#ackWaiters) {
      if (ackedSeq < waiter.seq) continue;
      this.#ackWaiters.delete(waiter);
      waiter.resolve();
    }
    this.pump();
  }

  #check(): void {
    const resendAfterMs = this.#options.resendAfterMs ?? simGatewayDefaults.resendAfterMs;
    const stalledMs = Number(this.#clock.monotonicNs() - this.#lastProgressNs) / 1e6;
    if (this.#log.some((batch) => batch.sent) && stalledMs > resendAfterMs) this.resendUnacked();
    else this.pump();
  }
}
