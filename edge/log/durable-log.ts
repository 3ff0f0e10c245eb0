// The gateway's store-and-forward log: every point, alarm and event is appended with the next
// seq, made durable by group commit (log-writer.ts: one write and one fdatasync per commit, a
// directory fsync when a segment was created) and kept until the hub's end-to-end ack releases
// it. append() is synchronous and never throws: it encodes into a bounded pending batch or
// returns a typed refusal the caller counts. Storage work (commit, read, release, the overflow
// policy) runs one operation at a time. A full or failing disk degrades the log (points refused,
// alarms and events held in memory, health events raised); commit() never rejects on it.
import { assert } from '../../common/assert.ts';
import { MillwrightError, isMillwrightError } from '../../common/errors.ts';
import { parseId } from '../../common/ids.ts';
import type { Logger } from '../../common/log.ts';
import { edgeErrors } from '../errors.ts';
import { overflowPolicies, recordBytesMax, resolveLimits, type DurableLogLimits } from './log-limits.ts';
import { collectLostRanges, readRecords, type ReadLimits } from './log-reader.ts';
import type { AppendManyResult, AppendRefusal, AppendResult, DurableLogOptions, DurableLogStats, LogInput, LogRecord, LostRange } from './log-types.ts';
import { LogWriter } from './log-writer.ts';
import { PendingBatch } from './pending-batch.ts';
import { intMagnitudeMax } from './record-codec.ts';
import { recoverSegments } from './recovery.ts';
import { encodeHeader, formatVersion, segmentName } from './segment-header.ts';
import { Segment } from './segment.ts';
import { isStorageError, type LogStorage } from './storage.ts';

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

/** Creates an empty segment durably (file and directory entry): a new log, or a sequence floor. */
async function createSegment(storage: LogStorage, gatewayId: string, firstSeq: number, limits: DurableLogLimits): Promise<Segment> {
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
  readonly #limits: DurableLogLimits;
  readonly #readLimits: ReadLimits;
  readonly #logger: Logger;
  readonly #segments: Segment[];
  readonly #pending: PendingBatch;
  readonly #writer: LogWriter;
  #releasedSeq: number;
  #state: 'open' | 'closing' | 'closed' = 'open';
  #closing: Promise<void> | undefined;
  #tail: Promise<unknown> = Promise.resolve();
  #queuedCommit: Promise<bigint> | undefined;
  /** The queued commit was asked for while another was writing: it takes the batch when it starts. */
  #queuedTakesPending = false;
  readonly #counters = { refusedPoints: 0, refusedAlarmsEvents: 0, refusedInvalid: 0, recoveredBytesDropped: 0 };

  private constructor(options: DurableLogOptions, gatewayId: string, limits: DurableLogLimits, segments: Segment[], usedBytes: number) {
    this.#storage = options.storage;
    this.#limits = limits;
    this.#readLimits = { readBytesMax: limits.readBytesMax, indexEveryRecords: limits.indexEveryRecords, recordBytesMax: recordBytesMax(limits) };
    this.#logger = options.logger;
    this.#segments = segments;
    this.#pending = new PendingBatch(segments[segments.length - 1]!, gatewayId, limits, (segment) => this.#segments.push(segment));
    this.#writer = new LogWriter({
      storage: options.storage,
      clock: options.clock,
      logger: options.logger,
      limits,
      policy: options.policy ?? 'thin-oldest',
      gatewayId,
      segments,
      pending: this.#pending,
      usedBytes,
      onHealth: options.onHealth ?? (() => {}),
    });
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
      const nextSeq = segments.length === 0 ? Number(floor) : segments[segments.length - 1]!.lastSeq + 1;
      if (segments.length === 0 || recovered.nextSeqAtLeast > nextSeq) {
        // A new log, or one whose damaged last segment was set aside: the new segment's first seq
        // is durable from here on, so the sequence never goes back.
        const created = await createSegment(options.storage, gatewayId, Math.max(nextSeq, recovered.nextSeqAtLeast), limits);
        segments.push(created);
        usedBytes += created.durableBytes;
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
      if (this.#writer.degraded) return this.#refusePoint(refusedDegraded);
      if (this.#writer.budgetExceeded) return this.#refusePoint(refusedBudget);
      if (this.pendingRecords >= this.#limits.pendingRecordsMax || this.#pending.bytes >= this.#limits.pendingBytesMax) {
        return this.#refusePoint(refusedPendingFull);
      }
    } else if (kind > 0 && this.pendingRecords >= this.#limits.pendingRecordsMax + this.#limits.heldAlarmRecordsMax) {
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
   * before a commit starts writing share it (group commit). Never rejects on disk failures.
   */
  commit(): Promise<bigint> {
    // When no commit is writing, the batch is taken now, so records appended after this call go
    // to the next commit and a producer can append while this one syncs. While one is writing,
    // the queued commit takes the batch when it starts; later calls share it.
    if (this.#writer.committing) this.#queuedTakesPending = true;
    else this.#writer.takePending();
    if (this.#queuedCommit !== undefined) return this.#queuedCommit;
    const queued = this.#serial(async () => {
      this.#queuedCommit = undefined;
      const takePending = this.#queuedTakesPending;
      this.#queuedTakesPending = false;
      await this.#writer.commit(false, takePending);
      return BigInt(this.#writer.durableSeq);
    });
    this.#queuedCommit = queued;
    return queued;
  }

  #serial<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(operation);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  /** Up to maxRecords durable records with seq ≥ fromSeq, in seq order (lost seqs are skipped). */
  read(fromSeq: bigint, maxRecords: number): Promise<LogRecord[]> {
    assert(Number.isSafeInteger(maxRecords) && maxRecords > 0, `maxRecords must be a positive integer, got ${maxRecords}`);
    return this.#serial(async () => {
      if (this.#state === 'closed') throw new MillwrightError(edgeErrors.logClosed, 'the durable log is closed');
      if (fromSeq > BigInt(this.#writer.durableSeq)) return [];
      const from = Math.max(Number(fromSeq), this.#releasedSeq + 1);
      return readRecords(this.#storage, this.#segments, from, Math.min(maxRecords, this.#limits.readRecordsMax), this.#readLimits);
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
      const durableSeq = this.#writer.durableSeq;
      if (ackedSeq > BigInt(durableSeq)) {
        this.#logger.rateLimited('log-ack-ahead', 60_000, 'warn', 'acknowledgement beyond the durable seq: released only up to the durable seq', { ackedSeq, durableSeq });
      }
      this.#releasedSeq = Math.max(this.#releasedSeq, Math.min(Number(ackedSeq < 0n ? 0n : ackedSeq), durableSeq));
      let deleted = 0;
      while (this.#segments.length > 1) {
        const [first, next] = this.#segments as [Segment, Segment];
        if (next.firstSeq - 1 > this.#releasedSeq || first.durableBytes !== first.appendedBytes) break;
        // The next segment must exist on disk: the last file left carries the sequence on.
        if (next.durableBytes === 0) break;
        try {
          await this.#storage.delete(first.name);
        } catch (error) {
          if (!isStorageError(error)) throw error;
          this.#writer.counters.diskErrors++;
          this.#logger.rateLimited('log-release-failed', 60_000, 'warn', 'cannot delete an acknowledged log segment; will retry', { file: first.name, error: (error as Error).message });
          break;
        }
        this.#segments.shift();
        this.#writer.released(first);
        deleted++;
      }
      return deleted;
    });
  }

  /** Records appended and not yet durable (pending or held while degraded). */
  get pendingRecords(): number {
    return this.#pending.records + this.#writer.unwrittenRecords;
  }

  /** The disk failed: points are refused and alarms and events held until a retry succeeds. */
  get degraded(): boolean {
    return this.#writer.degraded;
  }

  /** Alarms and events alone exceed the budget: points are refused until a release. */
  get budgetExceeded(): boolean {
    return this.#writer.budgetExceeded;
  }

  stats(): DurableLogStats {
    const lost = collectLostRanges(this.#segments, this.#releasedSeq + 1, Number.MAX_SAFE_INTEGER);
    const writer = this.#writer;
    return {
      ...this.#counters,
      ...writer.counters,
      usedBytes: writer.usedBytes,
      budgetBytes: this.#limits.budgetBytes,
      segments: this.#segments.length,
      durableSeq: String(writer.durableSeq),
      nextSeq: String(this.#pending.nextSeq),
      releasedSeq: String(this.#releasedSeq),
      pendingRecords: this.pendingRecords,
      degraded: writer.degraded,
      budgetExceeded: writer.budgetExceeded,
      lostRanges: lost.length,
      lostSeqs: lost.reduce((sum, range) => sum + Number(range.lastSeq - range.firstSeq + 1n), 0),
    };
  }

  /** Commits what is pending (one last disk attempt even when degraded) and releases the storage. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#state = 'closing';
      await this.#serial(() => this.#writer.commit(true, true));
      if (this.#writer.unwrittenRecords > 0) this.#logger.error('durable log closed with records it could not write', { records: this.#writer.unwrittenRecords });
      await this.#storage.close();
      this.#state = 'closed';
    })();
    return this.#closing;
  }
}
