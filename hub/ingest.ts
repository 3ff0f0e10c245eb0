// Ingest: validated gateway batches wait in bounded queues (live and historical, live committed
// first) and are committed to the store in flushes (one transaction each, at most batchPointsMax
// points). Owns exactly-once delivery into the store: de-duplication by (gateway, seq), gaps and
// declared lost ranges (ingest-plan.ts decides, this class applies), the acks published only
// after each commit, gateway state, the latest value per tag and the ingest counters.
import type { Clock } from '../common/clock.ts';
import type { Logger } from '../common/log.ts';
import type { Quality, PointValue } from '../common/point.ts';
import type { AckMessage } from '../common/wire.ts';
import { checkDataMessage, checkStateMessage, type AcceptedBatch, type RefusalKind } from './ingest-decode.ts';
import { planFlush } from './ingest-plan.ts';
import { emptyIngestCounters, type IngestCounters } from './ingest-counters.ts';
import { GatewaySeqs } from './seq-tracker.ts';
import type { GatewayRecord, GatewaySnapshot, GatewayState, HubStore, StoredPoint } from './store.ts';

export interface IngestLimits {
  readonly batchPointsMax: number;
  readonly flushIntervalMs: number;
  readonly queuePointsMax: number;
  /** Of queuePointsMax, what historical (backlog) batches may hold; half of it when absent. */
  readonly historicalQueuePointsMax?: number;
}

export const ingestDefaults = {
  /** Distinct tags kept in the latest-value map; new tags past this are counted, not kept. */
  latestTagsMax: 100_000,
  /** Gateways the hub tracks; batches from further ones are refused and counted. */
  gatewaysMax: 10_000,
  rejectLogIntervalMs: 10_000,
} as const;
export const latestTagsMax = ingestDefaults.latestTagsMax;
export const rejectLogIntervalMs = ingestDefaults.rejectLogIntervalMs;

export { emptyIngestCounters, type IngestCounters } from './ingest-counters.ts';

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
  /** Highest sequence stored or declared lost; above ackedSeq when there are gaps. */
  readonly highestSeq: bigint;
  /** Gaps above ackedSeq and how many sequences they miss. */
  readonly gaps: number;
  readonly missingSeqs: bigint;
  readonly lostSeqs: bigint;
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
  lostSeqs: bigint;
  lastSeenMs: number;
  state: GatewayState;
}

const weightOf = (batch: AcceptedBatch): number => Math.max(1, batch.records.length);

export class Ingest {
  readonly #deps: IngestDeps;
  readonly #historicalPointsMax: number;
  readonly #gateways = new Map<string, GatewayEntry>();
  readonly #latest = new Map<string, LivePoint>();
  readonly #dirtyGateways = new Set<string>();
  #live: AcceptedBatch[] = [];
  #historical: AcceptedBatch[] = [];
  /** Queue sizes in points; an empty batch counts as one so the bound covers every batch. */
  #queuedPoints = 0;
  #queuedHistorical = 0;
  #counters: { -readonly [K in keyof IngestCounters]: IngestCounters[K] } = emptyIngestCounters();
  #chain: Promise<void> = Promise.resolve();
  #busy = false;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(deps: IngestDeps) {
    this.#deps = deps;
    this.#historicalPointsMax = deps.limits.historicalQueuePointsMax ?? Math.max(1, Math.floor(deps.limits.queuePointsMax / 2));
    for (const row of deps.initialGateways) {
      this.#gateways.set(row.gateway, { site: row.site, seqs: new GatewaySeqs(row.ackedSeq, row.committedAbove), lostSeqs: row.lostSeqs, lastSeenMs: row.lastSeenMs, state: row.state });
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
    if (!checked.ok) return this.#reject(checked.gateway, checked.kind, checked.reason);
    const batch = checked.value;
    const weight = weightOf(batch);
    const historicalFull = batch.historical && this.#queuedHistorical + weight > this.#historicalPointsMax;
    const unknownPastLimit = !this.#gateways.has(batch.gateway) && this.#gateways.size >= ingestDefaults.gatewaysMax;
    if (this.#queuedPoints + weight > this.#deps.limits.queuePointsMax || historicalFull || unknownPastLimit) {
      this.#counters.queueFullRefusals++;
      const why = unknownPastLimit ? `the hub already tracks ${ingestDefaults.gatewaysMax} gateways` : 'ingest queue full';
      this.#deps.logger.rateLimited(`full:${batch.gateway}`, rejectLogIntervalMs, 'warn', `${why}: batch not acked, the gateway will resend it`, {
        gateway: batch.gateway,
        points: batch.records.length,
        historical: batch.historical,
        queuedPoints: this.#queuedPoints,
      });
      return 'queue-full';
    }
    (batch.historical ? this.#historical : this.#live).push(batch);
    this.#queuedPoints += weight;
    if (batch.historical) this.#queuedHistorical += weight;
    this.#counters.received += batch.records.length;
    if (this.#queuedPoints >= this.#deps.limits.batchPointsMax && this.#timer !== undefined) this.#requestFlush();
    return 'queued';
  }

  offerState(topic: string, payload: Uint8Array): OfferOutcome {
    if (this.#closed) return 'closed';
    const checked = checkStateMessage(topic, payload, this.#deps.site);
    if (!checked.ok) return this.#reject(checked.gateway, checked.kind, checked.reason);
    if (!this.#gateways.has(checked.value.gateway) && this.#gateways.size >= ingestDefaults.gatewaysMax) return this.#reject(checked.value.gateway, 'malformed', 'too many gateways');
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
    return { ...this.#counters, queuedPoints: this.#queuedPoints, queuedHistoricalPoints: this.#queuedHistorical };
  }

  gateways(): GatewayView[] {
    return [...this.#gateways.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([gateway, { site, seqs, lostSeqs, lastSeenMs, state }]) => ({
        gateway,
        site,
        ackedSeq: seqs.acked,
        highestSeq: seqs.highest,
        gaps: seqs.ranges.length,
        missingSeqs: seqs.missing,
        lostSeqs,
        lastSeenMs,
        state,
      }));
  }

  /** The latest value per tag, by gateway timestamp. */
  latest(): LivePoint[] {
    return [...this.#latest.values()];
  }

  #reject(gateway: string, kind: RefusalKind, reason: string): OfferOutcome {
    this.#counters.rejected++;
    if (kind === 'identity') this.#counters.rejectedIdentity++;
    else if (kind === 'topic') this.#counters.rejectedTopic++;
    else this.#counters.rejectedMalformed++;
    if (kind === 'payload') this.#counters.rejectedPayload++;
    this.#deps.logger.rateLimited(`reject:${gateway}`, rejectLogIntervalMs, 'warn', 'rejected gateway message', { gateway, reason });
    return 'rejected';
  }

  #entry(gateway: string, site: string): GatewayEntry {
    let entry = this.#gateways.get(gateway);
    if (entry === undefined) {
      entry = { site, seqs: new GatewaySeqs(0n), lostSeqs: 0n, lastSeenMs: this.#deps.clock.nowMs(), state: 'unknown' };
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
      while (this.#live.length > 0 || this.#historical.length > 0 || this.#dirtyGateways.size > 0) {
        if (!(await this.#flushOnce())) break;
      }
    } finally {
      this.#busy = false;
    }
  }

  /** Takes whole batches up to batchPointsMax points (at least one batch), live ones first. */
  #takeBatches(): AcceptedBatch[] {
    const taken: AcceptedBatch[] = [];
    let points = 0;
    for (const historical of [false, true]) {
      const queue = historical ? this.#historical : this.#live;
      let count = 0;
      for (const batch of queue) {
        const weight = weightOf(batch);
        if (taken.length > 0 && points + weight > this.#deps.limits.batchPointsMax) break;
        points += weight;
        if (historical) this.#queuedHistorical -= weight;
        taken.push(batch);
        count++;
      }
      if (historical) this.#historical = queue.slice(count);
      else this.#live = queue.slice(count);
    }
    this.#queuedPoints -= points;
    return taken;
  }

  /** One transaction. Returns false when the commit failed. */
  async #flushOnce(): Promise<boolean> {
    const batches = this.#takeBatches();
    const dirty = [...this.#dirtyGateways];
    this.#dirtyGateways.clear();
    const nowMs = this.#deps.clock.nowMs();
    const plan = planFlush(batches, (gateway) => this.#entry(gateway, this.#deps.site).seqs, nowMs);
    const rows: GatewayRecord[] = [];
    for (const gateway of new Set([...plan.seqs.keys(), ...dirty])) {
      const entry = this.#entry(gateway, this.#deps.site);
      const seen = plan.seqs.has(gateway) ? nowMs : entry.lastSeenMs;
      rows.push({ gateway, site: entry.site, ackedSeq: (plan.seqs.get(gateway) ?? entry.seqs).acked, lastSeenMs: seen, state: entry.state });
    }
    try {
      await this.#deps.store.commit({ points: plan.points, lostRanges: plan.lostRanges, gateways: rows });
    } catch (error) {
      this.#counters.storeFailures++;
      for (const gateway of dirty) this.#dirtyGateways.add(gateway);
      this.#deps.logger.error('commit failed, nothing acked (gateways will resend)', { points: plan.points.length, error: (error as Error).message });
      return false;
    }
    for (const [gateway, seqs] of plan.seqs) {
      const entry = this.#entry(gateway, this.#deps.site);
      entry.seqs = seqs;
      entry.lastSeenMs = nowMs;
    }
    for (const range of plan.lostRanges) this.#entry(range.gateway, this.#deps.site).lostSeqs += range.last - range.first + 1n;
    this.#count(plan);
    const live = this.#updateLatest(plan.points);
    for (const [gateway, seqs] of plan.seqs) this.#deps.publishAck(this.#deps.site, gateway, { v: 1, ackedSeq: seqs.acked.toString() });
    if (live.length > 0) this.#deps.onFlush?.(live);
    return true;
  }

  #count(plan: ReturnType<typeof planFlush>): void {
    const counters = this.#counters;
    counters.stored += plan.points.length;
    counters.storedHistorical += plan.historicalPoints;
    counters.duplicates += plan.duplicates;
    counters.batchesBelowAck += plan.batchesBelowAck;
    counters.gapsDetected += plan.gapsOpened;
    counters.lostRangesDeclared += plan.lostRanges.length;
    counters.lostSeqsDeclared += Number(plan.lostSeqs);
    counters.queueFullRefusals += plan.refused.length;
    const logger = this.#deps.logger;
    for (const { gateway, firstSeq, ackedSeq } of plan.refused) {
      logger.rateLimited(`gaps:${gateway}`, rejectLogIntervalMs, 'warn', 'too many sequence gaps: batch not stored or acked', { gateway, firstSeq, ackedSeq });
    }
    for (const { gateway, expectedSeq, firstSeq } of plan.gaps) {
      logger.rateLimited(`gap:${gateway}`, rejectLogIntervalMs, 'warn', 'sequence gap: the ack waits until the gateway resends or declares the missing sequences lost', { gateway, expectedSeq, firstSeq });
    }
    for (const range of plan.lostRanges) {
      logger.rateLimited(`lost:${range.gateway}`, rejectLogIntervalMs, 'warn', 'gateway declared sequences lost to its overflow policy', { gateway: range.gateway, first: range.first, last: range.last });
    }
  }

  /** Updates the latest-value map and returns the latest point per tag within this flush. */
  #updateLatest(points: readonly StoredPoint[]): LivePoint[] {
    const inFlush = new Map<string, LivePoint>();
    for (const point of points) {
      if (point.kind !== 'point') continue;
      const seen = inFlush.get(point.tag);
      if (seen === undefined || point.ts >= seen.ts) inFlush.set(point.tag, point);
    }
    const result: LivePoint[] = [];
    for (const point of inFlush.values()) {
      const { tag, ts, value, quality } = point;
      const slim = { tag, ts, value, quality };
      result.push(slim);
      const known = this.#latest.get(tag);
      if (known === undefined && this.#latest.size >= latestTagsMax) this.#counters.latestTagsRefused++;
      else if (known === undefined || ts >= known.ts) this.#latest.set(tag, slim);
    }
    return result;
  }
}
