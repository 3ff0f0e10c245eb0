// The commit side of the durable log: takes the pending batch, keeps the disk budget (runs the
// overflow policy before writing), writes each touched segment with one write and one fdatasync
// (plus a directory fsync when the commit created the segment), and owns the degraded state: on
// a storage failure the chunks stay in memory, a health event is raised, and later commits retry
// at most every diskRetryIntervalMs. It never throws storage failures; bugs still throw.
import { assert } from '../../common/assert.ts';
import type { Clock } from '../../common/clock.ts';
import type { Logger } from '../../common/log.ts';
import { edgeErrors } from '../errors.ts';
import type { DurableLogLimits, OverflowPolicy } from './log-limits.ts';
import type { LogHealthEvent } from './log-types.ts';
import { applyOverflowPolicy } from './overflow.ts';
import type { PendingBatch, PendingChunk } from './pending-batch.ts';
import type { Segment } from './segment.ts';
import { diskProblem, isStorageError, type LogStorage } from './storage.ts';

export interface LogWriterOptions {
  readonly storage: LogStorage;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly limits: DurableLogLimits;
  readonly policy: OverflowPolicy;
  readonly gatewayId: string;
  /** The log's segments in seq order, shared with the log (release removes from the front). */
  readonly segments: Segment[];
  readonly pending: PendingBatch;
  readonly usedBytes: number;
  readonly onHealth: (event: LogHealthEvent) => void;
}

export class LogWriter {
  readonly #options: LogWriterOptions;
  /** Chunks taken from the pending batch and not yet durable (being written, or held while degraded). */
  readonly #unwritten: PendingChunk[] = [];
  #unwrittenRecords = 0;
  #usedBytes: number;
  #durableSeq: number;
  #degraded: { readonly code: string; readonly sinceNs: bigint } | undefined;
  #lastAttemptNs = 0n;
  #budgetExceeded = false;
  #committing = false;
  readonly counters = { commits: 0, fdatasyncs: 0, fdatasyncMsTotal: 0, fdatasyncMsMax: 0, bytesWritten: 0, diskErrors: 0, thinnedPoints: 0, budgetExceededCount: 0 };

  constructor(options: LogWriterOptions) {
    this.#options = options;
    this.#usedBytes = options.usedBytes;
    this.#durableSeq = options.pending.active.lastSeq;
  }

  get usedBytes(): number {
    return this.#usedBytes;
  }

  get durableSeq(): number {
    return this.#durableSeq;
  }

  /** Records taken from the pending batch and not yet durable. */
  get unwrittenRecords(): number {
    return this.#unwrittenRecords;
  }

  get degraded(): boolean {
    return this.#degraded !== undefined;
  }

  get budgetExceeded(): boolean {
    return this.#budgetExceeded;
  }

  /** A commit is running: the unwritten list may not be added to from outside. */
  get committing(): boolean {
    return this.#committing;
  }

  /** Moves the pending batch into the unwritten list (what the next write covers). */
  takePending(): void {
    for (const chunk of this.#options.pending.take()) {
      this.#unwritten.push(chunk);
      this.#unwrittenRecords += chunk.records;
    }
  }

  /** One commit attempt; `force` ignores the retry interval (closing). */
  async commit(force: boolean, takePending: boolean): Promise<void> {
    this.#committing = true;
    try {
      if (takePending) this.takePending();
      await this.#attempt(force);
    } finally {
      this.#committing = false;
    }
  }

  /** A released segment's bytes are free: points may be accepted again. */
  released(segment: Segment): void {
    this.#usedBytes -= segment.durableBytes;
    const lowWater = (this.#options.limits.budgetBytes * this.#options.limits.budgetLowWaterPercent) / 100;
    if (this.#budgetExceeded && this.#usedBytes <= lowWater) this.#setBudgetExceeded(false);
  }

  async #attempt(force: boolean): Promise<void> {
    const { clock, limits, pending, storage } = this.#options;
    const now = clock.monotonicNs();
    if (this.#degraded !== undefined && !force && now - this.#lastAttemptNs < BigInt(limits.diskRetryIntervalMs) * 1_000_000n) return;
    if (this.#unwritten.length === 0 && this.#degraded === undefined) return;
    this.#lastAttemptNs = now;
    const held = this.#unwrittenRecords;
    try {
      if (this.#usedBytes + this.#unwrittenBytes() > limits.budgetBytes || this.#budgetExceeded) await this.#keepBudget();
      if (this.#unwritten.length === 0) await storage.fdatasync(pending.active.name); // probe the disk
      else await this.#writeUnwritten();
      if (this.#degraded !== undefined) this.#leaveDegraded(held);
    } catch (error) {
      if (!isStorageError(error)) throw error;
      this.#enterDegraded(error as Error);
    }
  }

  #unwrittenBytes(): number {
    let bytes = 0;
    for (const chunk of this.#unwritten) bytes += chunk.sink.length;
    return bytes;
  }

  async #writeUnwritten(): Promise<void> {
    const { clock, pending, storage } = this.#options;
    const unwritten = this.#unwritten;
    while (unwritten.length > 0) {
      const segment = unwritten[0]!.segment;
      let count = 0;
      let creates = false;
      for (; count < unwritten.length && unwritten[count]!.segment === segment; count++) {
        const chunk = unwritten[count]!;
        if (chunk.creates) {
          await storage.create(segment.name);
          creates = true;
        }
        await storage.write(segment.name, chunk.position, chunk.sink.bytes());
        this.counters.bytesWritten += chunk.sink.length;
      }
      const startedNs = clock.monotonicNs();
      await storage.fdatasync(segment.name);
      const syncMs = Number(clock.monotonicNs() - startedNs) / 1e6;
      this.counters.fdatasyncs++;
      this.counters.fdatasyncMsTotal += syncMs;
      this.counters.fdatasyncMsMax = Math.max(this.counters.fdatasyncMsMax, syncMs);
      if (creates) await storage.fsyncDirectory();
      const last = unwritten[count - 1]!;
      const durableBytes = last.position + last.sink.length;
      this.#usedBytes += durableBytes - segment.durableBytes;
      segment.durableBytes = durableBytes;
      segment.durableLastSeq = last.lastSeq;
      this.#durableSeq = Math.max(this.#durableSeq, last.lastSeq);
      for (const chunk of unwritten.splice(0, count)) {
        this.#unwrittenRecords -= chunk.records;
        pending.recycle(chunk);
      }
    }
    this.counters.commits++;
  }

  /** Runs the overflow policy when the bytes about to be written would pass the budget. */
  async #keepBudget(): Promise<void> {
    const { limits, pending } = this.#options;
    const budget = limits.budgetBytes;
    const unwrittenBytes = this.#unwrittenBytes();
    if (this.#usedBytes + unwrittenBytes > budget) {
      const active = pending.active;
      await applyOverflowPolicy(
        {
          ...this.#options,
          eligible: (segment) => segment !== active && segment.durableBytes > 0 && segment.durableBytes === segment.appendedBytes,
          onRewrite: (freedBytes, removedPoints) => {
            this.#usedBytes -= freedBytes;
            this.counters.thinnedPoints += removedPoints;
          },
        },
        this.#usedBytes + unwrittenBytes - Math.floor((budget * limits.budgetLowWaterPercent) / 100),
      );
    }
    if (this.#usedBytes + unwrittenBytes <= budget) return this.#setBudgetExceeded(false);
    // Still over: older segments hold alarms and events only. If they fit, the active segment's
    // points are the excess: roll it so the policy can work on it next time. Otherwise alarms and
    // events alone exceed the budget; they are kept, and points are refused until a release.
    const active = pending.active;
    if (active.points > 0 && this.#usedBytes - active.durableBytes < budget) pending.rollRequested = true;
    else this.#setBudgetExceeded(true);
  }

  #setBudgetExceeded(exceeded: boolean): void {
    if (exceeded === this.#budgetExceeded) return;
    this.#budgetExceeded = exceeded;
    const { budgetBytes } = this.#options.limits;
    if (exceeded) {
      this.counters.budgetExceededCount++;
      this.#options.logger.error('log budget exceeded by alarms and events alone: points refused until the hub acknowledges', { usedBytes: this.#usedBytes, budgetBytes });
    } else {
      this.#options.logger.info('log back under its budget: points accepted again', { usedBytes: this.#usedBytes, budgetBytes });
    }
    this.#options.onHealth({ kind: exceeded ? 'budget-exceeded' : 'budget-ok', usedBytes: this.#usedBytes, budgetBytes });
  }

  #enterDegraded(error: Error): void {
    this.counters.diskErrors++;
    const code = diskProblem(error) === 'full' ? edgeErrors.logDiskFull.code : edgeErrors.logDiskFailed.code;
    const { logger, clock, onHealth } = this.#options;
    if (this.#degraded !== undefined) {
      logger.rateLimited('log-degraded-retry', 60_000, 'warn', 'log disk still failing', { code, error: error.message, heldRecords: this.#unwrittenRecords });
      return;
    }
    this.#degraded = { code, sinceNs: clock.monotonicNs() };
    const message = `log disk ${code === edgeErrors.logDiskFull.code ? 'full' : 'failing'} (${error.message}): points refused, alarms and events held in memory`;
    logger.error(message, { code, heldRecords: this.#unwrittenRecords });
    onHealth({ kind: 'degraded', code, message });
  }

  #leaveDegraded(heldRecords: number): void {
    const degraded = this.#degraded;
    assert(degraded !== undefined, 'leaving a degraded state that was not entered');
    this.#degraded = undefined;
    const degradedMs = Number(this.#options.clock.monotonicNs() - degraded.sinceNs) / 1e6;
    this.#options.logger.info('log disk writable again', { degradedMs, heldRecords });
    this.#options.onHealth({ kind: 'recovered', degradedMs, heldRecords });
  }
}
