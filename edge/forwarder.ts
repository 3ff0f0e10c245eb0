// Store and forward, gateway side: every point and alarm the scan produces is appended to the
// durable log, made durable by group commit, and only then sent to the hub as compact v2
// batches. Nothing is freed until the hub's end-to-end ack (after its DuckDB commit) releases it.
// Live records go first; after a (re)connect everything durable and unacknowledged is the
// backlog, read back from the log and drained beside live traffic at a bounded rate, marked
// historical, with the seq ranges the overflow policy removed declared as lost. A batch the
// transport refuses, or sent ones the hub never acks, fall back into the backlog: the hub drops
// duplicates by (gateway, seq), so resending is always safe and delivery is exactly once.
import type { Clock } from '../common/clock.ts';
import type { Logger } from '../common/log.ts';
import type { Point } from '../common/point.ts';
import { encodeBatchV2, payloadProblem, type BatchRecord, type SeqRange } from '../common/wire-batch.ts';
import { topics } from '../common/wire.ts';
import type { DurableLog } from './log/durable-log.ts';
import type { LogInput, LogRecord } from './log/log-types.ts';

export interface ForwarderTransport {
  publish(topic: string, payload: Buffer, options: { qos: 0 | 1; retain: boolean }): Promise<void>;
  /** False while offline or while the in-flight window is full. */
  canPublish(): boolean;
  /** False while there is no broker connection at all (as opposed to a full window). */
  isConnected(): boolean;
}

export const forwarderDefaults = {
  /** Records per MQTT batch at most. */
  batchRecordsMax: 1000,
  /** Committed records waiting to be sent live; beyond this they are left to the backlog. */
  liveRecordsMax: 50_000,
  /** Backlog drain rate beside live traffic. */
  backlogRecordsPerSecond: 50_000,
  /**
   * Backlog records sent and not yet acknowledged end to end at most: paces a fast drain to the
   * hub's commits (under the hub's default historical queue of 100,000 points) and bounds what
   * one flush sends, so the drain never holds back the next flush's live records.
   */
  backlogUnackedRecordsMax: 50_000,
  /**
   * Longest a flush spends reading and sending backlog: the drain goes on in the next flush, which
   * comes at once while backlog is waiting (see startFlushing), so live records committed in the
   * meantime never wait behind a whole drain step.
   */
  backlogSliceMs: 25,
  /** Sent records the hub has not acked after this long are sent again. */
  ackTimeoutMs: 10_000,
};

export type ForwarderLimits = { readonly [K in keyof typeof forwarderDefaults]: number };

export interface ForwarderStats {
  readonly appended: number;
  readonly refused: number;
  readonly liveSent: number;
  readonly backlogSent: number;
  readonly batchesRefused: number;
  readonly resends: number;
  /** Record payloads the wire could not carry (a point's payload): the record went without it. */
  readonly payloadsNotSent: number;
  readonly ackedSeq: string;
  readonly durableSeq: string;
  readonly backlogRecords: string;
  readonly liveQueued: number;
}

export class Forwarder {
  readonly #site: string;
  readonly #gateway: string;
  readonly #log: DurableLog;
  readonly #transport: ForwarderTransport;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #limits: ForwarderLimits;
  /** Appended, not yet known durable: moves to #live after the commit that covers it. */
  #uncommitted: LogRecord[] = [];
  #live: LogRecord[] = [];
  #durableSeq = 0n;
  #ackedSeq = 0n;
  /** The backlog is the seq range [#backlogNext, #backlogEnd], read back from the log. */
  #backlogNext = 1n;
  #backlogEnd = 0n;
  #highestSentSeq = 0n;
  #lastAckProgressMs = 0;
  #backlogTokens = 0;
  #lastPumpMs = 0;
  #reading = false;
  /** Lost ranges whose declaration the transport refused, declared with the next batch sent. */
  #pendingLost: SeqRange[] = [];
  #counters = { appended: 0, refused: 0, liveSent: 0, backlogSent: 0, batchesRefused: 0, resends: 0, payloadsNotSent: 0 };

  constructor(options: { site: string; gateway: string; log: DurableLog; transport: ForwarderTransport; clock: Clock; logger: Logger; limits?: Partial<ForwarderLimits> }) {
    this.#site = options.site;
    this.#gateway = options.gateway;
    this.#log = options.log;
    this.#transport = options.transport;
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#limits = { ...forwarderDefaults, ...options.limits };
    const durable = BigInt(options.log.stats().durableSeq);
    const released = BigInt(options.log.stats().releasedSeq);
    // After a restart everything durable and not yet released is backlog: the hub may or may not
    // have it, and its ack will say.
    this.#durableSeq = durable;
    this.#ackedSeq = released;
    this.#backlogNext = released + 1n;
    this.#backlogEnd = durable;
    this.#lastAckProgressMs = options.clock.nowMs();
    this.#lastPumpMs = options.clock.nowMs();
  }

  /** The scan's points and alarm records, in order; returns how many the log refused. */
  accept(points: readonly Point[], kind: LogInput['kind'] = 'point', payload?: string): number {
    if (points.length === 0) return 0;
    const inputs: LogInput[] = points.map((point) => ({ kind, tag: point.tag, ts: Math.round(point.ts), value: point.value, quality: point.quality, ...(payload !== undefined && { payload }) }));
    const result = this.#log.appendMany(inputs);
    let seq = result.firstSeq;
    let refusedAt = 0;
    for (let index = 0; index < inputs.length; index++) {
      if (refusedAt < result.refusals.length && result.refusals[refusedAt]!.index === index) {
        refusedAt++;
        continue;
      }
      this.#uncommitted.push({ ...inputs[index]!, seq });
      seq++;
    }
    this.#counters.appended += result.accepted;
    this.#counters.refused += result.refusals.length;
    if (result.refusals.length > 0) {
      const first = result.refusals[0]!.refusal;
      this.#logger.rateLimited(`log-refused:${first.reason}`, 10_000, 'warn', `durable log refused ${result.refusals.length} records: ${first.reason}`, { code: first.code });
    }
    return result.refusals.length;
  }

  /** Group commit, then send: called every publish interval. */
  async flush(): Promise<void> {
    const committing = this.#uncommitted;
    this.#uncommitted = [];
    this.#durableSeq = await this.#log.commit();
    for (const record of committing) {
      if (record.seq <= this.#durableSeq) this.#live.push(record);
      else this.#uncommitted.push(record); // held by a degraded disk: stays until a commit covers it
    }
    if (!this.#transport.isConnected() && this.#live.length > 0) {
      // Offline: what accumulates now is the outage's backlog, sent historical after reconnect.
      this.#toBacklog(this.#live[0]!.seq, this.#live[this.#live.length - 1]!.seq);
    }
    if (this.#live.length > this.#limits.liveRecordsMax) {
      const overflow = this.#live.splice(0, this.#live.length - this.#limits.liveRecordsMax);
      this.#toBacklog(overflow[0]!.seq, overflow[overflow.length - 1]!.seq);
    }
    this.#checkAckTimeout();
    this.#sendLive();
    await this.#sendBacklog();
  }

  /**
   * Flushes now and every intervalMs, and again at once (after yielding to timers and I/O) while
   * backlog is waiting that can be sent now. Flushes never overlap. stop() waits for the one under way.
   */
  startFlushing(intervalMs: number, onError: (error: unknown) => void): { stop(): Promise<void> } {
    let flushing: Promise<void> = Promise.resolve();
    let stopped = false;
    let again = false;
    const flushOnce = (): void => {
      flushing = flushing
        .then(() => this.flush())
        .then(() => {
          if (stopped || again || !this.backlogSendable) return;
          again = true;
          setImmediate(() => {
            again = false;
            if (!stopped) flushOnce();
          });
        })
        .catch(onError);
    };
    const timer = setInterval(flushOnce, intervalMs);
    flushOnce();
    return {
      stop: async () => {
        stopped = true;
        clearInterval(timer);
        await flushing;
      },
    };
  }

  /**
   * A whole batch of backlog (or the rest of it) waits that the rate limit, the end-to-end window
   * and the transport would let go now. A whole batch, so that a rate-limited drain does not turn
   * into a flush (and a commit) for every few records.
   */
  get backlogSendable(): boolean {
    if (this.#backlogNext > this.#backlogEnd || !this.#transport.canPublish()) return false;
    const remaining = this.#backlogEnd - this.#backlogNext + 1n;
    const batch = remaining < BigInt(this.#limits.batchRecordsMax) ? Number(remaining) : this.#limits.batchRecordsMax;
    const unacked = this.#backlogNext - 1n - this.#ackedSeq;
    const room = this.#limits.backlogUnackedRecordsMax - (unacked > 0n ? Number(unacked) : 0);
    const rate = this.#limits.backlogRecordsPerSecond;
    const tokens = Math.min(rate, this.#backlogTokens + ((this.#clock.nowMs() - this.#lastPumpMs) / 1000) * rate);
    return room >= batch && tokens >= batch;
  }

  /** A fresh connection: whatever was sent and not acked may be gone with the old session. */
  onConnected(): void {
    if (this.#highestSentSeq > this.#ackedSeq) this.#toBacklog(this.#ackedSeq + 1n, this.#highestSentSeq);
  }

  async onAck(ackedSeq: bigint): Promise<void> {
    if (ackedSeq <= this.#ackedSeq) return;
    this.#ackedSeq = ackedSeq;
    this.#lastAckProgressMs = this.#clock.nowMs();
    if (this.#backlogNext <= ackedSeq) this.#backlogNext = ackedSeq + 1n;
    await this.#log.release(ackedSeq < this.#durableSeq ? ackedSeq : this.#durableSeq);
  }

  stats(): ForwarderStats {
    const backlog = this.#backlogEnd >= this.#backlogNext ? this.#backlogEnd - this.#backlogNext + 1n : 0n;
    return {
      ...this.#counters,
      ackedSeq: this.#ackedSeq.toString(),
      durableSeq: this.#durableSeq.toString(),
      backlogRecords: backlog.toString(),
      liveQueued: this.#live.length,
    };
  }

  #toBacklog(first: bigint, last: bigint): void {
    const from = first > this.#ackedSeq ? first : this.#ackedSeq + 1n;
    if (last < from) return;
    if (this.#backlogEnd < this.#backlogNext) {
      this.#backlogNext = from;
      this.#backlogEnd = last;
    } else {
      if (from < this.#backlogNext) this.#backlogNext = from;
      if (last > this.#backlogEnd) this.#backlogEnd = last;
    }
    // Live records inside the backlog range will come from the log instead.
    if (this.#live.length > 0 && this.#live[0]!.seq <= this.#backlogEnd) this.#live = this.#live.filter((record) => record.seq > this.#backlogEnd);
  }

  #checkAckTimeout(): void {
    if (this.#highestSentSeq <= this.#ackedSeq) return;
    const now = this.#clock.nowMs();
    if (now - this.#lastAckProgressMs < this.#limits.ackTimeoutMs) return;
    this.#counters.resends++;
    this.#logger.rateLimited('ack-timeout', 60_000, 'warn', 'the hub has not acknowledged sent records: sending them again', { ackedSeq: this.#ackedSeq, highestSentSeq: this.#highestSentSeq });
    this.#lastAckProgressMs = now;
    this.#toBacklog(this.#ackedSeq + 1n, this.#highestSentSeq);
  }

  #sendLive(): void {
    while (this.#live.length > 0 && this.#transport.canPublish()) {
      const batch = this.#live.splice(0, this.#limits.batchRecordsMax);
      this.#send(batch, [], false);
      this.#counters.liveSent += batch.length;
    }
  }

  async #sendBacklog(): Promise<void> {
    const now = this.#clock.nowMs();
    const rate = this.#limits.backlogRecordsPerSecond;
    this.#backlogTokens = Math.min(rate, this.#backlogTokens + ((now - this.#lastPumpMs) / 1000) * rate);
    this.#lastPumpMs = now;
    if (this.#reading) return;
    this.#reading = true;
    // Room in the end-to-end window, taken once: acks arriving while this flush reads do not
    // extend it, so a flush ends even when the broker and hub keep up with every read.
    const unacked = this.#backlogNext - 1n - this.#ackedSeq;
    let room = this.#limits.backlogUnackedRecordsMax - (unacked > 0n ? Number(unacked) : 0);
    const sliceEnd = performance.now() + this.#limits.backlogSliceMs;
    try {
      while (this.#backlogNext <= this.#backlogEnd && this.#backlogTokens >= 1 && room >= 1 && this.#transport.canPublish()) {
        const want = Math.min(this.#limits.batchRecordsMax, Math.floor(this.#backlogTokens), room);
        const from = this.#backlogNext;
        const records = (await this.#log.read(from, want)).filter((record) => record.seq <= this.#backlogEnd);
        if (records.length === 0) {
          // Everything left in the range was lost to the overflow policy: declare it in a batch
          // of lost ranges alone, so the hub's acknowledgement can move past it.
          const lost = this.#lostBetween(from, this.#backlogEnd);
          if (lost.length > 0) this.#sendLostOnly(lost);
          this.#backlogNext = this.#backlogEnd + 1n;
          break;
        }
        const last = records[records.length - 1]!.seq;
        this.#send(records, this.#lostBetween(from, last), true);
        this.#counters.backlogSent += records.length;
        this.#backlogTokens -= records.length;
        room -= records.length;
        this.#backlogNext = last + 1n;
        if (performance.now() >= sliceEnd) break; // at least one batch a flush, then the slice ends it
      }
    } finally {
      this.#reading = false;
    }
  }

  #lostBetween(first: bigint, last: bigint): SeqRange[] {
    return this.#log
      .lostRanges(first)
      .filter((range) => range.firstSeq <= last)
      .map((range) => ({ first: range.firstSeq < first ? first : range.firstSeq, last: range.lastSeq > last ? last : range.lastSeq }));
  }

  #sendLostOnly(lost: SeqRange[]): void {
    const firstSeq = lost[lost.length - 1]!.last + 1n;
    const payload = encodeBatchV2({ site: this.#site, gateway: this.#gateway, historical: true, firstSeq, lost, records: [] });
    this.#transport.publish(topics.data(this.#site, this.#gateway), payload, { qos: 1, retain: false }).catch(() => {
      // Declared again with the next batch sent.
      this.#pendingLost.push(...lost);
    });
  }

  /**
   * The payload as the wire carries it (an alarm's or event's JSON object). The log takes any
   * text up to its own limit, so text that is not a JSON object travels wrapped as {"text": ...};
   * what the wire cannot carry at all (a point's payload) stays in the log only, counted and
   * logged, so one odd record can never block the batches behind it.
   */
  #wirePayload(record: LogRecord): string | undefined {
    const payload = record.payload!;
    if (payloadProblem(record.kind, payload) === undefined) return payload;
    const wrapped = JSON.stringify({ text: payload });
    if (payloadProblem(record.kind, wrapped) === undefined) return wrapped;
    this.#counters.payloadsNotSent++;
    this.#logger.rateLimited('payload-not-sent', 60_000, 'warn', 'a record payload the wire cannot carry was left out of its batch', { seq: record.seq, kind: record.kind, tag: record.tag });
    return undefined;
  }

  #send(records: readonly LogRecord[], lost: SeqRange[], historical: boolean): void {
    const first = records[0]!.seq;
    const last = records[records.length - 1]!.seq;
    const batchRecords: BatchRecord[] = records.map((record) => {
      const base = { kind: record.kind, tag: record.tag, ts: record.ts, value: record.value, quality: record.quality };
      const payload = record.payload === undefined ? undefined : this.#wirePayload(record);
      return payload === undefined ? base : { ...base, payload };
    });
    const earlier = this.#pendingLost.filter((range) => range.last < first && !lost.some((own) => own.first <= range.last && range.first <= own.last));
    this.#pendingLost = this.#pendingLost.filter((range) => range.last >= first);
    const declared = [...earlier, ...lost].sort((a, b) => (a.first < b.first ? -1 : 1));
    const payload = encodeBatchV2({ site: this.#site, gateway: this.#gateway, historical, firstSeq: first, lost: declared, records: batchRecords });
    if (last > this.#highestSentSeq) this.#highestSentSeq = last;
    this.#transport.publish(topics.data(this.#site, this.#gateway), payload, { qos: 1, retain: false }).catch((error: unknown) => {
      this.#counters.batchesRefused++;
      this.#pendingLost.push(...earlier);
      this.#toBacklog(first, last);
      this.#logger.rateLimited('publish-refused', 10_000, 'warn', `uplink refused a batch; it stays in the log and goes again: ${(error as Error).message}`);
    });
  }
}
