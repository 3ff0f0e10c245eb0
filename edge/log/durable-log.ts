// The gateway's store-and-forward log: every point, alarm and event is appended with the next
// seq, made durable by group commit (one write and one fdatasync per commit, plus a directory
// fsync when a segment was created) and kept until the hub's end-to-end ack releases it.
// append() is synchronous and never throws: it encodes into a bounded pending batch or returns a
// typed refusal the caller counts. Storage work (commit, read, release, the overflow policy) runs
// one operation at a time. A full or failing disk puts the log in a degraded state it reports:
// points are refused, alarms and events are held in memory, and commit() retries the disk at most
// every diskRetryIntervalMs. commit() never rejects on a disk failure.
import { assert } from '../../common/assert.ts';
import type { Clock } from '../../common/clock.ts';
import { MillwrightError, isMillwrightError } from '../../common/errors.ts';
import { parseId } from '../../common/ids.ts';
import type { Logger } from '../../common/log.ts';
import { edgeErrors } from '../errors.ts';
import { collectLostRanges, readRecords } from './log-reader.ts';
import { overflowPolicies, resolveLimits, type DurableLogLimits, type OverflowPolicy } from './log-limits.ts';
import type { AppendManyResult, AppendRefusal, AppendResult, DurableLogOptions, DurableLogStats, LogHealthEvent, LogInput, LogRecord, LostRange } from './log-types.ts';
import { applyOverflowPolicy } from './overflow.ts';
import { PendingBatch, type PendingChunk } from './pending-batch.ts';
import { intMagnitudeMax } from './record-codec.ts';
import { recoverSegments } from './recovery.ts';
import { encodeHeader, formatVersion, segmentName } from './segment-header.ts';
import { Segment } from './segment.ts';
import { diskProblem, isStorageError, type LogStorage } from './storage.ts';

const refusal = (reason: AppendRefusal['reason'], code: string): AppendRefusal => Object.freeze({ ok: false, reason, code });
const refusedClosed = refusal('closed', edgeErrors.logClosed.code);
const refusedPendingFull = refusal('pending-full', edgeErrors.logPendingFull.code);
const refusedDegraded = refusal('degraded', edgeErrors.logDegraded.code);
const refusedBudget = refusal('budget-full', edgeErrors.logBudgetFull.code);
const noRefusals: AppendManyResult['refusals'] = Object.freeze([]);

function qualityOf(quality: unknown): 0 | 1 | 2 | -1 {
  return quality === 'good' ? 0 : quality === 'uncertain' ? 1 : quality === 'bad' ? 2 : -1;
}

function kindOf(kind: unknown): 0 | 1 | 2 | -1 {
  return kind === 'point' ? 0 : kind === 'alarm' ? 1 : kind === 'event' ? 2 : -1;
}

async function createFirstSegment(storage: LogStorage, gatewayId: string, firstSeq: number, limits: DurableLogLimits): Promise<Segment> {
  const header = encodeHeader(gatewayId, firstSeq, false);
  const name = segmentName(firstSeq);
  await storage.create(name);
  await storage.write(name, 0, header);
  await storage.fdatasync(name);
  await storage.fsyncDirectory();
  const segment = new Segment(name, { version: formatVersion, thinned: false, gatewayId, firstSeq, bytes: header.length }, limits.indexEveryRecords);
  segment.markDurable();
  return segment;
}

export class DurableLog {
  readonly #storage: LogStorage;
  readonly #gatewayId: string;
  readonly #limits: DurableLogLimits;
  readonly #policy: OverflowPolicy;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #onHealth: (event: LogHealthEvent) => void;
  readonly #segments: Segment[];
  readonly #pending: PendingBatch;
  /** Chunks taken from the pending batch and not yet durable (in a commit, or held while degraded). */
  #unwritten: PendingChunk[] = [];
  #unwrittenRecords = 0;
  #usedBytes: number;
  #durableSeq: number;
  #releasedSeq: number;
  #state: 'open' | 'closing' | 'closed' = 'open';
  #closing: Promise<void> | undefined;
  #degraded: { readonly code: string; readonly sinceNs: bigint } | undefined;
  #lastAttemptNs = 0n;
  #budgetExceeded = false;
  #tail: Promise<unknown> = Promise.resolve();
  #queuedCommit: Promise<bigint> | undefined;
  readonly #counters = {
    budgetExceededCount: 0,
    thinnedPoints: 0,
    refusedPoints: 0,
    refusedAlarmsEvents: 0,
    refusedInvalid: 0,
    recoveredBytesDropped: 0,
    commits: 0,
    fdatasyncs: 0,
    fdatasyncMsTotal: 0,
    fdatasyncMsMax: 0,
    bytesWritten: 0,
    diskErrors: 0,
  };

  private constructor(options: DurableLogOptions, gatewayId: string, limits: DurableLogLimits, segments: Segment[], usedBytes: number) {
    this.#storage = options.storage;
    this.#gatewayId = gatewayId;
    this.#limits = limits;
    this.#policy = options.policy ?? 'thin-oldest';
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#onHealth = options.onHealth ?? (() => {});
    this.#segments = segments;
    this.#usedBytes = usedBytes;
    const active = segments[segments.length - 1]!;
    this.#pending = new PendingBatch(active, gatewayId, limits, (segment) => this.#segments.push(segment));
    this.#durableSeq = active.lastSeq;
    this.#releasedSeq = segments[0]!.firstSeq - 1;
  }

  /** Recovers the log in `options.storage` (creating it when empty); see recovery.ts. */
  static async open(options: DurableLogOptions): Promise<DurableLog> {
    const gatewayId = parseId(options.gatewayId, 'gateway id');
    const limits = resolveLimits(options.limits);
    const floor = options.sequenceFloor ?? 1n;
    if (options.policy !== undefined && !overflowPolicies.includes(options.policy)) {
      throw new MillwrightError(edgeErrors.logLimitsInvalid, `unknown overflow policy '${String(options.policy)}': use ${overflowPolicies.join(' or ')}`);
    }
    if (floor < 1n || floor > BigInt(Number.MAX_SAFE_INTEGER)) throw new MillwrightError(edgeErrors.logLimitsInvalid, `sequenceFloor ${floor} is outside 1..2^53`);
    try {
      const recovered = await recoverSegments(options.storage, gatewayId, limits, options.logger);
      const segments = recovered.segments;
      let usedBytes = recovered.usedBytes;
      if (segments.length === 0) {
        const first = await createFirstSegment(options.storage, gatewayId, Number(floor), limits);
        segments.push(first);
        usedBytes += first.durableBytes;
      }
      const log = new DurableLog(options, gatewayId, limits, segments, usedBytes);
      log.#counters.recoveredBytesDropped = recovered.bytesDropped;
      options.logger.info('durable log open', { segments: segments.length, usedBytes, nextSeq: log.#pending.nextSeq, bytesDropped: recovered.bytesDropped });
      return log;
    } catch (error) {
      if (isMillwrightError(error) || !isStorageError(error)) throw error;
      throw new MillwrightError(edgeErrors.logUnavailable, `cannot open the durable log: ${(error as Error).message}`, {}, error);
    }
  }

  /** Buffers a record for the next commit and returns its seq, or a refusal the caller counts. */
  append(input: LogInput): AppendResult {
    return this.#appendOne(input) ?? { ok: true, seq: BigInt(this.#pending.nextSeq - 1) };
  }

  /**
   * Buffers records in order; the accepted ones get consecutive seqs from firstSeq. The batch
   * form of append() for the scan's apply phase: one result per call instead of one per record.
   */
  appendMany(inputs: readonly LogInput[]): AppendManyResult {
    const firstSeq = this.#pending.nextSeq;
    let refusals: { index: number; refusal: AppendRefusal }[] | undefined;
    for (let index = 0; index < inputs.length; index++) {
      const refusal = this.#appendOne(inputs[index]!);
      if (refusal !== undefined) (refusals ??= []).push({ index, refusal });
    }
    const accepted = this.#pending.nextSeq - firstSeq;
    return { firstSeq: BigInt(firstSeq), accepted, refusals: refusals ?? noRefusals };
  }

  /** Appends one record; undefined when it was accepted (its seq is nextSeq - 1). */
  #appendOne(input: LogInput): AppendRefusal | undefined {
    if (this.#state !== 'open') return refusedClosed;
    const kind = kindOf(input.kind);
    if (kind === 0) {
      if (this.#degraded !== undefined) return this.#refusePoint(refusedDegraded);
      if (this.#budgetExceeded) return this.#refusePoint(refusedBudget);
      if (this.#pending.records + this.#unwrittenRecords >= this.#limits.pendingRecordsMax || this.#pending.bytes >= this.#limits.pendingBytesMax) {
        return this.#refusePoint(refusedPendingFull);
      }
    } else if (kind > 0 && this.#pending.records + this.#unwrittenRecords >= this.#limits.pendingRecordsMax + this.#limits.heldAlarmRecordsMax) {
      this.#counters.refusedAlarmsEvents++;
      return refusedPendingFull;
    }
    const { ts, tag, value, payload } = input;
    const quality = qualityOf(input.quality);
    if (kind === -1) return this.#invalid(`kind must be point, alarm or event, got ${String(input.kind)}`);
    if (quality === -1) return this.#invalid(`quality must be good, uncertain or bad, got ${String(input.quality)}`);
    if (!Number.isSafeInteger(ts) || ts < 0 || ts >= intMagnitudeMax) return this.#invalid(`ts must be integer epoch milliseconds, got ${String(ts)}`);
    if (typeof tag !== 'string') return this.#invalid('tag must be a string');
    let textBytes = 0;
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) return this.#invalid(`value of ${tag} must be finite, got ${value}`);
    } else if (typeof value === 'string') {
      textBytes = Buffer.byteLength(value, 'utf8');
      if (textBytes > this.#limits.stringValueBytesMax) return this.#invalid(`string value of ${tag} is ${textBytes} bytes, over stringValueBytesMax ${this.#limits.stringValueBytesMax}`);
    } else if (typeof value !== 'boolean') {
      return this.#invalid(`value of ${tag} must be a number, boolean or string`);
    }
    if (payload !== undefined) {
      if (typeof payload !== 'string') return this.#invalid('payload must be a string');
      const payloadBytes = Buffer.byteLength(payload, 'utf8');
      if (payloadBytes > this.#limits.payloadBytesMax) return this.#invalid(`payload of ${tag} is ${payloadBytes} bytes, over payloadBytesMax ${this.#limits.payloadBytesMax}`);
      textBytes += payloadBytes;
    }
    assert(this.#pending.nextSeq < Number.MAX_SAFE_INTEGER, 'log sequence exhausted 2^53');
    if (!this.#pending.appendData(kind, quality, ts, tag, value, payload, textBytes)) return this.#invalid(`tag '${tag}' is not a tag path`);
    return undefined;
  }

  #refusePoint(refused: AppendRefusal): AppendRefusal {
    this.#counters.refusedPoints++;
    return refused;
  }

  #invalid(detail: string): AppendRefusal {
    this.#counters.refusedInvalid++;
    return { ok: false, reason: 'invalid', code: edgeErrors.logRecordInvalid.code, detail };
  }

  /**
   * Makes everything appended so far durable and returns the durable high-water seq. Calls made
   * while a commit runs share the next one (group commit). Never rejects on disk failures.
   */
  commit(): Promise<bigint> {
    if (this.#queuedCommit !== undefined) return this.#queuedCommit;
    const queued = this.#serial(async () => {
      this.#queuedCommit = undefined;
      await this.#commitNow(false);
      return BigInt(this.#durableSeq);
    });
    this.#queuedCommit = queued;
    return queued;
  }

  #serial<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(operation);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async #commitNow(force: boolean): Promise<void> {
    for (const chunk of this.#pending.take()) {
      this.#unwritten.push(chunk);
      this.#unwrittenRecords += chunk.records;
    }
    const now = this.#clock.monotonicNs();
    if (this.#degraded !== undefined && !force && now - this.#lastAttemptNs < BigInt(this.#limits.diskRetryIntervalMs) * 1_000_000n) return;
    if (this.#unwritten.length === 0 && this.#degraded === undefined) return;
    this.#lastAttemptNs = now;
    const held = this.#unwrittenRecords;
    try {
      await this.#keepBudget();
      if (this.#unwritten.length === 0) await this.#storage.fdatasync(this.#pending.active.name); // probe the disk
      else await this.#writeUnwritten();
      if (this.#degraded !== undefined) this.#leaveDegraded(held);
    } catch (error) {
      if (!isStorageError(error)) throw error;
      this.#enterDegraded(error as Error);
    }
  }

  async #writeUnwritten(): Promise<void> {
    while (this.#unwritten.length > 0) {
      const segment = this.#unwritten[0]!.segment;
      let count = 0;
      let creates = false;
      for (; count < this.#unwritten.length && this.#unwritten[count]!.segment === segment; count++) {
        const chunk = this.#unwritten[count]!;
        if (chunk.creates) {
          await this.#storage.create(segment.name);
          creates = true;
        }
        await this.#storage.write(segment.name, chunk.position, chunk.sink.bytes());
        this.#counters.bytesWritten += chunk.sink.length;
      }
      const startedNs = this.#clock.monotonicNs();
      await this.#storage.fdatasync(segment.name);
      const syncMs = Number(this.#clock.monotonicNs() - startedNs) / 1e6;
      this.#counters.fdatasyncs++;
      this.#counters.fdatasyncMsTotal += syncMs;
      this.#counters.fdatasyncMsMax = Math.max(this.#counters.fdatasyncMsMax, syncMs);
      if (creates) await this.#storage.fsyncDirectory();
      const last = this.#unwritten[count - 1]!;
      const durableBytes = last.position + last.sink.length;
      this.#usedBytes += durableBytes - segment.durableBytes;
      segment.durableBytes = durableBytes;
      segment.durableLastSeq = last.lastSeq;
      this.#durableSeq = Math.max(this.#durableSeq, last.lastSeq);
      for (const chunk of this.#unwritten.splice(0, count)) {
        this.#unwrittenRecords -= chunk.records;
        this.#pending.recycle(chunk);
      }
    }
    this.#counters.commits++;
  }

  /** Runs the overflow policy when the bytes about to be written would pass the budget. */
  async #keepBudget(): Promise<void> {
    const budget = this.#limits.budgetBytes;
    const unwrittenBytes = this.#unwritten.reduce((sum, chunk) => sum + chunk.sink.length, 0);
    if (this.#usedBytes + unwrittenBytes > budget) {
      const lowWater = Math.floor((budget * this.#limits.budgetLowWaterPercent) / 100);
      const active = this.#pending.active;
      const outcome = await applyOverflowPolicy(
        {
          storage: this.#storage,
          segments: this.#segments,
          gatewayId: this.#gatewayId,
          limits: this.#limits,
          logger: this.#logger,
          policy: this.#policy,
          eligible: (segment) => segment !== active && segment.durableBytes > 0 && segment.durableBytes === segment.appendedBytes,
        },
        this.#usedBytes + unwrittenBytes - lowWater,
      );
      this.#usedBytes -= outcome.freedBytes;
      this.#counters.thinnedPoints += outcome.removedPoints;
    }
    if (this.#usedBytes + unwrittenBytes <= budget) return this.#setBudgetExceeded(false);
    // Still over: older segments hold alarms and events only. If they fit, the active segment's
    // points are the excess: roll it so the policy can work on it next time. Otherwise alarms and
    // events alone exceed the budget; they are kept, and points are refused until a release.
    const active = this.#pending.active;
    const olderBytes = this.#usedBytes - active.durableBytes;
    if (active.points > 0 && olderBytes < budget) this.#pending.rollRequested = true;
    else this.#setBudgetExceeded(true);
  }

  #setBudgetExceeded(exceeded: boolean): void {
    if (exceeded === this.#budgetExceeded) return;
    this.#budgetExceeded = exceeded;
    const budgetBytes = this.#limits.budgetBytes;
    if (exceeded) {
      this.#counters.budgetExceededCount++;
      this.#logger.error('log budget exceeded by alarms and events alone: points refused until the hub acknowledges', { usedBytes: this.#usedBytes, budgetBytes });
    } else {
      this.#logger.info('log back under its budget: points accepted again', { usedBytes: this.#usedBytes, budgetBytes });
    }
    this.#onHealth({ kind: exceeded ? 'budget-exceeded' : 'budget-ok', usedBytes: this.#usedBytes, budgetBytes });
  }

  #enterDegraded(error: Error): void {
    this.#counters.diskErrors++;
    const code = diskProblem(error) === 'full' ? edgeErrors.logDiskFull.code : edgeErrors.logDiskFailed.code;
    if (this.#degraded !== undefined) {
      this.#logger.rateLimited('log-degraded-retry', 60_000, 'warn', 'log disk still failing', { code, error: error.message, heldRecords: this.#unwrittenRecords });
      return;
    }
    this.#degraded = { code, sinceNs: this.#clock.monotonicNs() };
    const message = `log disk ${code === edgeErrors.logDiskFull.code ? 'full' : 'failing'} (${error.message}): points refused, alarms and events held in memory`;
    this.#logger.error(message, { code, heldRecords: this.#unwrittenRecords });
    this.#onHealth({ kind: 'degraded', code, message });
  }

  #leaveDegraded(heldRecords: number): void {
    const degraded = this.#degraded;
    assert(degraded !== undefined, 'leaving a degraded state that was not entered');
    this.#degraded = undefined;
    const degradedMs = Number(this.#clock.monotonicNs() - degraded.sinceNs) / 1e6;
    this.#logger.info('log disk writable again', { degradedMs, heldRecords });
    this.#onHealth({ kind: 'recovered', degradedMs, heldRecords });
  }

  /** Up to maxRecords durable records with seq ≥ fromSeq, in seq order (lost seqs are skipped). */
  read(fromSeq: bigint, maxRecords: number): Promise<LogRecord[]> {
    assert(Number.isSafeInteger(maxRecords) && maxRecords > 0, `maxRecords must be a positive integer, got ${maxRecords}`);
    return this.#serial(async () => {
      if (this.#state === 'closed') throw new MillwrightError(edgeErrors.logClosed, 'the durable log is closed');
      if (fromSeq > BigInt(this.#durableSeq)) return [];
      const from = Math.max(Number(fromSeq), this.#releasedSeq + 1);
      return readRecords(this.#storage, this.#segments, from, Math.min(maxRecords, this.#limits.readRecordsMax), this.#limits.readBytesMax);
    });
  }

  /** Ranges of seqs at or after fromSeq that will never be delivered (overflow policy, damage). */
  lostRanges(fromSeq: bigint): LostRange[] {
    const from = fromSeq > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Math.max(0, Number(fromSeq));
    return collectLostRanges(this.#segments, from, this.#limits.lostRangesMax);
  }

  /** Frees whole segments the hub has acknowledged (all their seqs ≤ ackedSeq); returns how many. */
  release(ackedSeq: bigint): Promise<number> {
    return this.#serial(async () => {
      if (ackedSeq > BigInt(this.#durableSeq)) {
        this.#logger.rateLimited('log-ack-ahead', 60_000, 'warn', 'acknowledgement beyond the durable seq: released only up to the durable seq', { ackedSeq, durableSeq: this.#durableSeq });
      }
      const acked = Math.min(Number(ackedSeq < 0n ? 0n : ackedSeq), this.#durableSeq);
      this.#releasedSeq = Math.max(this.#releasedSeq, acked);
      let deleted = 0;
      while (this.#segments.length > 1) {
        const [first, next] = this.#segments as [Segment, Segment];
        if (next.firstSeq - 1 > this.#releasedSeq || first.durableBytes !== first.appendedBytes) break;
        try {
          await this.#storage.delete(first.name);
        } catch (error) {
          if (!isStorageError(error)) throw error;
          this.#counters.diskErrors++;
          this.#logger.rateLimited('log-release-failed', 60_000, 'warn', 'cannot delete an acknowledged log segment; will retry', { file: first.name, error: (error as Error).message });
          break;
        }
        this.#usedBytes -= first.durableBytes;
        this.#segments.shift();
        deleted++;
      }
      const lowWater = (this.#limits.budgetBytes * this.#limits.budgetLowWaterPercent) / 100;
      if (this.#budgetExceeded && this.#usedBytes <= lowWater) this.#setBudgetExceeded(false);
      return deleted;
    });
  }

  get degraded(): boolean {
    return this.#degraded !== undefined;
  }

  get budgetExceeded(): boolean {
    return this.#budgetExceeded;
  }

  stats(): DurableLogStats {
    const lost = collectLostRanges(this.#segments, this.#releasedSeq + 1, Number.MAX_SAFE_INTEGER);
    return {
      ...this.#counters,
      usedBytes: this.#usedBytes,
      budgetBytes: this.#limits.budgetBytes,
      segments: this.#segments.length,
      durableSeq: String(this.#durableSeq),
      nextSeq: String(this.#pending.nextSeq),
      releasedSeq: String(this.#releasedSeq),
      pendingRecords: this.#pending.records + this.#unwrittenRecords,
      degraded: this.#degraded !== undefined,
      budgetExceeded: this.#budgetExceeded,
      lostRanges: lost.length,
      lostSeqs: lost.reduce((sum, range) => sum + Number(range.lastSeq - range.firstSeq + 1n), 0),
    };
  }

  /** Commits what is pending (one last disk attempt even when degraded) and releases the storage. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#state = 'closing';
      await this.#serial(() => this.#commitNow(true));
      if (this.#unwrittenRecords > 0) this.#logger.error('durable log closed with records it could not write', { records: this.#unwrittenRecords });
      await this.#storage.close();
      this.#state = 'closed';
    })();
    return this.#closing;
  }
}
