// Ingest: validated gateway batches wait in a bounded queue and are committed to the store in
// flushes (one transaction each, at most batchPointsMax points). Owns de-duplication by
// (gateway, seq), the acks published after each commit, gateway state, the latest value per tag
// and the ingest counters. Simplifications for this slice are listed in seq-tracker.ts.
import type { Clock } from '../common/clock.ts';
import type { Logger } from '../common/log.ts';
import type { Quality, PointValue } from '../common/point.ts';
import type { AckMessage } from '../common/wire.ts';
import { checkDataMessage, checkStateMessage, type AcceptedBatch } from './ingest-decode.ts';
import { GatewaySeqs } from './seq-tracker.ts';
import type { GatewayRecord, GatewaySnapshot, GatewayState, HubStore, StoredPoint } from './store.ts';

export interface IngestLimits {
  readonly batchPointsMax: number;
  readonly flushIntervalMs: number;
  readonly queuePointsMax: number;
}

/** Distinct tags kept in the latest-value map; new tags past this are counted, not kept. */
export const latestTagsMax = 100_000;
export const rejectLogIntervalMs = 10_000;

export interface IngestCounters {
  /** Points in valid batches accepted into the queue. */
  readonly received: number;
  readonly stored: number;
  /** Points dropped because their (gateway, seq) was already committed. */
  readonly duplicates: number;
  /** Messages (data batches or state messages) refused as malformed or misaddressed. */
  readonly rejected: number;
  /** Valid batches refused, and so not acked, because the queue was full or too gappy. */
  readonly queueFullRefusals: number;
  /** Flushes whose commit failed; their batches were not acked and will be resent. */
  readonly storeFailures: number;
  readonly queuedPoints: number;
  readonly latestTagsRefused: number;
}

export interface LivePoint {
  readonly tag: string;
  readonly ts: number;
  readonly value: PointValue;
  readonly quality: Quality;
}

export interface GatewayView {
  readonly gateway: string;
  readonly site: string;
  readonly ackedSeq: bigint;
  readonly lastSeenMs: number;
  readonly state: GatewayState;
}

export interface IngestDeps {
  readonly site: string;
  readonly limits: IngestLimits;
  readonly store: HubStore;
  readonly clock: Clock;
  readonly initialGateways: readonly GatewaySnapshot[];
  readonly publishAck: (site: string, gateway: string, ack: AckMessage) => void;
  readonly onFlush?: (latest: readonly LivePoint[]) => void;
  readonly logger: Logger;
}

export type OfferOutcome = 'queued' | 'rejected' | 'queue-full' | 'closed';

interface GatewayEntry {
  site: string;
  seqs: GatewaySeqs;
  lastSeenMs: number;
  state: GatewayState;
}

export class Ingest {
  readonly #deps: IngestDeps;
  readonly #gateways = new Map<string, GatewayEntry>();
  readonly #latest = new Map<string, LivePoint>();
  readonly #dirtyGateways = new Set<string>();
  #queue: AcceptedBatch[] = [];
  /** Queue size in points; an empty batch counts as one so the bound covers every batch. */
  #queuedPoints = 0;
  #counters = { received: 0, stored: 0, duplicates: 0, rejected: 0, queueFullRefusals: 0, storeFailures: 0, latestTagsRefused: 0 };
  #chain: Promise<void> = Promise.resolve();
  #busy = false;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(deps: IngestDeps) {
    this.#deps = deps;
    for (const row of deps.initialGateways) {
      this.#gateways.set(row.gateway, { site: row.site, seqs: new GatewaySeqs(row.ackedSeq, row.committedAbove), lastSeenMs: row.lastSeenMs, state: row.state });
    }
  }

  /** Starts the periodic flush. Tests that drive flush() themselves do not call it. */
  start(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setInterval(() => this.#requestFlush(), this.#deps.limits.flushIntervalMs);
  }

  offerData(topic: string, payload: Uint8Array): OfferOutcome {
    if (this.#closed) return 'closed';
    const checked = checkDataMessage(topic, payload, this.#deps.site);
    if (!checked.ok) return this.#reject(checked.gateway, checked.reason);
    const batch = checked.value;
    const weight = Math.max(1, batch.points.length);
    if (this.#queuedPoints + weight > this.#deps.limits.queuePointsMax) {
      this.#counters.queueFullRefusals++;
      this.#deps.logger.rateLimited(`full:${batch.gateway}`, rejectLogIntervalMs, 'warn', 'ingest queue full: batch not acked, the gateway will resend it', {
        gateway: batch.gateway,
        points: batch.points.length,
        queuedPoints: this.#queuedPoints,
      });
      return 'queue-full';
    }
    this.#queue.push(batch);
    this.#queuedPoints += weight;
    this.#counters.received += batch.points.length;
    if (this.#queuedPoints >= this.#deps.limits.batchPointsMax && this.#timer !== undefined) this.#requestFlush();
    return 'queued';
  }

  offerState(topic: string, payload: Uint8Array): OfferOutcome {
    if (this.#closed) return 'closed';
    const checked = checkStateMessage(topic, payload, this.#deps.site);
    if (!checked.ok) return this.#reject(checked.gateway, checked.reason);
    const entry = this.#entry(checked.value.gateway, this.#deps.site);
    entry.state = checked.value.message.state;
    entry.lastSeenMs = this.#deps.clock.nowMs();
    this.#dirtyGateways.add(checked.value.gateway);
    return 'queued';
  }

  /** Commits everything queued so far; flushes never overlap. Never rejects: failures are counted. */
  flush(): Promise<void> {
    const run = this.#chain.then(() => this.#drain());
    // A throw here is a bug (commit failures are handled inside); keep later flushes possible.
    this.#chain = run.catch(() => undefined);
    return run;
  }

  /** Stops accepting, stops the timer and commits what is queued. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      clearInterval(this.#timer);
      this.#timer = undefined;
      await this.flush();
    })();
    return this.#closing;
  }

  counters(): IngestCounters {
    return { ...this.#counters, queuedPoints: this.#queuedPoints };
  }

  gateways(): GatewayView[] {
    return [...this.#gateways.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([gateway, entry]) => ({ gateway, site: entry.site, ackedSeq: entry.seqs.acked, lastSeenMs: entry.lastSeenMs, state: entry.state }));
  }

  /** The latest value per tag, by gateway timestamp. */
  latest(): LivePoint[] {
    return [...this.#latest.values()];
  }

  #reject(gateway: string, reason: string): OfferOutcome {
    this.#counters.rejected++;
    this.#deps.logger.rateLimited(`reject:${gateway}`, rejectLogIntervalMs, 'warn', 'rejected gateway message', { gateway, reason });
    return 'rejected';
  }

  #entry(gateway: string, site: string): GatewayEntry {
    let entry = this.#gateways.get(gateway);
    if (entry === undefined) {
      entry = { site, seqs: new GatewaySeqs(0n), lastSeenMs: this.#deps.clock.nowMs(), state: 'unknown' };
      this.#gateways.set(gateway, entry);
    }
    return entry;
  }

  #requestFlush(): void {
    if (this.#busy) return;
    this.flush().catch((error: unknown) => this.#deps.logger.error('ingest flush failed', { error: error instanceof Error ? (error.stack ?? error.message) : String(error) }));
  }

  async #drain(): Promise<void> {
    this.#busy = true;
    try {
      while (this.#queue.length > 0 || this.#dirtyGateways.size > 0) {
        if (!(await this.#flushOnce())) break;
      }
    } finally {
      this.#busy = false;
    }
  }

  /** Takes whole batches up to batchPointsMax points (at least one batch). */
  #takeBatches(): AcceptedBatch[] {
    let points = 0;
    let count = 0;
    for (const batch of this.#queue) {
      const weight = Math.max(1, batch.points.length);
      if (count > 0 && points + weight > this.#deps.limits.batchPointsMax) break;
      points += weight;
      count++;
    }
    const taken = this.#queue.slice(0, count);
    this.#queue = this.#queue.slice(count);
    this.#queuedPoints -= points;
    return taken;
  }

  /** One transaction. Returns false when the commit failed. */
  async #flushOnce(): Promise<boolean> {
    const batches = this.#takeBatches();
    const dirty = [...this.#dirtyGateways];
    this.#dirtyGateways.clear();
    const nowMs = this.#deps.clock.nowMs();
    const trial = new Map<string, GatewaySeqs>();
    const fresh: StoredPoint[] = [];
    let duplicates = 0;
    for (const batch of batches) {
      const current = trial.get(batch.gateway) ?? this.#entry(batch.gateway, batch.site).seqs;
      const next = current.clone();
      const accepted: StoredPoint[] = [];
      let batchDuplicates = 0;
      let tooGappy = false;
      for (const point of batch.points) {
        if (next.has(point.seq)) batchDuplicates++;
        else if (next.add(point.seq)) accepted.push(point);
        else tooGappy = true;
      }
      trial.set(batch.gateway, tooGappy ? current : next);
      if (tooGappy) {
        this.#counters.queueFullRefusals++;
        this.#deps.logger.rateLimited(`gaps:${batch.gateway}`, rejectLogIntervalMs, 'warn', 'too many sequence gaps: batch not stored or acked', { gateway: batch.gateway, ackedSeq: current.acked });
        continue;
      }
      fresh.push(...accepted);
      duplicates += batchDuplicates;
    }
    const rows: GatewayRecord[] = [];
    for (const gateway of new Set([...trial.keys(), ...dirty])) {
      const entry = this.#entry(gateway, this.#deps.site);
      const seen = trial.has(gateway) ? nowMs : entry.lastSeenMs;
      rows.push({ gateway, site: entry.site, ackedSeq: (trial.get(gateway) ?? entry.seqs).acked, lastSeenMs: seen, state: entry.state });
    }
    try {
      await this.#deps.store.commit({ points: fresh, gateways: rows });
    } catch (error) {
      this.#counters.storeFailures++;
      for (const gateway of dirty) this.#dirtyGateways.add(gateway);
      this.#deps.logger.error('commit failed, nothing acked (gateways will resend)', { points: fresh.length, error: (error as Error).message });
      return false;
    }
    for (const [gateway, seqs] of trial) {
      const entry = this.#entry(gateway, this.#deps.site);
      entry.seqs = seqs;
      entry.lastSeenMs = nowMs;
    }
    this.#counters.stored += fresh.length;
    this.#counters.duplicates += duplicates;
    const live = this.#updateLatest(fresh);
    for (const [gateway, seqs] of trial) this.#deps.publishAck(this.#deps.site, gateway, { v: 1, ackedSeq: seqs.acked.toString() });
    if (live.length > 0) this.#deps.onFlush?.(live);
    return true;
  }

  /** Updates the latest-value map and returns the latest point per tag within this flush. */
  #updateLatest(points: readonly StoredPoint[]): LivePoint[] {
    const inFlush = new Map<string, LivePoint>();
    for (const { tag, ts, value, quality } of points) {
      const seen = inFlush.get(tag);
      if (seen === undefined || ts >= seen.ts) inFlush.set(tag, { tag, ts, value, quality });
    }
    for (const point of inFlush.values()) {
      const known = this.#latest.get(point.tag);
      if (known === undefined && this.#latest.size >= latestTagsMax) this.#counters.latestTagsRefused++;
      else if (known === undefined || point.ts >= known.ts) this.#latest.set(point.tag, point);
    }
    return [...inFlush.values()];
  }
}
