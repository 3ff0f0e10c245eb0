// Scan timing statistics shared by the scan worker (single writer) and the main thread (reader):
// counters plus a histogram of tick start lateness in 10 µs buckets up to 20 ms, from which the
// main thread derives p50/p99/p99.9/max without the worker allocating or sorting anything.
// Buckets are 10 µs wide up to 10 ms, then 1 ms wide up to 1 s; the last holds everything later.

const fineBucketUs = 10;
const fineBuckets = 1000; // 0 .. 10 ms
const coarseBucketUs = 1000;
const coarseBuckets = 990; // 10 ms .. 1 s
export const latenessBuckets = fineBuckets + coarseBuckets + 1;

export function latenessBucket(latenessUs: number): number {
  if (latenessUs < fineBuckets * fineBucketUs) return Math.max(0, Math.floor(latenessUs / fineBucketUs));
  return fineBuckets + Math.min(coarseBuckets, Math.floor((latenessUs - fineBuckets * fineBucketUs) / coarseBucketUs));
}

/** Upper edge of a bucket in microseconds (the value a percentile in that bucket reports). */
export function bucketUpperUs(bucket: number): number {
  if (bucket < fineBuckets) return (bucket + 1) * fineBucketUs;
  return fineBuckets * fineBucketUs + (bucket - fineBuckets + 1) * coarseBucketUs;
}

export const statIndex = {
  ticks: 0,
  overruns: 1,
  lateTicks: 2,
  latenessMaxUs: 3,
  stepUsMax: 4,
  stepUsTotal: 5,
  pointsRefused: 6,
  writesRefused: 7,
  alarmsRefused: 8,
  collectUsMax: 9,
  collectUsTotal: 10,
  applyUsMax: 11,
  applyUsTotal: 12,
  /** The nice value the scan thread runs at, and 1 when raising its priority worked. */
  threadNice: 13,
  threadNiceApplied: 14,
  /** The scan thread's Linux TID (0 until known), so the main thread can set its policy. */
  threadId: 15,
  histogram: 16,
} as const;

export function allocateStats(): SharedArrayBuffer {
  return new SharedArrayBuffer((statIndex.histogram + latenessBuckets) * Float64Array.BYTES_PER_ELEMENT);
}

export interface ScanTimingStats {
  readonly ticks: number;
  readonly overruns: number;
  readonly lateTicks: number;
  readonly latenessP50Ms: number;
  readonly latenessP99Ms: number;
  readonly latenessP999Ms: number;
  readonly latenessMaxMs: number;
  /** Per phase: collect (read the shared tag table), step (the program), apply (outputs to rings). */
  readonly collectMsMax: number;
  readonly collectMsMean: number;
  readonly stepMsMax: number;
  readonly stepMsMean: number;
  readonly applyMsMax: number;
  readonly applyMsMean: number;
  readonly threadNice: number;
  readonly threadNiceApplied: boolean;
  /** The scan thread's Linux TID (`chrt -p`, /proc/<tid>/sched); 0 until the worker reports it. */
  readonly threadId: number;
  readonly pointsRefused: number;
  readonly writesRefused: number;
  readonly alarmsRefused: number;
}

/** The scan thread's scheduling policy as the main thread set it (ADR 0006). */
export interface ScanRealtimeStats {
  /** off: not asked; pending: waiting for the thread id; failed/demoted: runs SCHED_OTHER at threadNice. */
  readonly realtimeState: 'off' | 'pending' | 'applied' | 'failed' | 'demoted';
  readonly realtimePolicy: 'SCHED_FIFO' | 'SCHED_OTHER';
  /** The SCHED_FIFO priority in force; 0 under SCHED_OTHER. */
  readonly realtimePriority: number;
  /** Why the scan is not (or no longer) realtime; empty when it is or was not asked to be. */
  readonly realtimeReason: string;
}

export function recordLateness(stats: Float64Array, latenessUs: number): void {
  stats[statIndex.histogram + latenessBucket(latenessUs)]!++;
  if (latenessUs > stats[statIndex.latenessMaxUs]!) stats[statIndex.latenessMaxUs] = latenessUs;
}

function percentileMs(stats: Float64Array, total: number, fraction: number): number {
  if (total === 0) return 0;
  const rank = Math.ceil(total * fraction);
  let seen = 0;
  for (let bucket = 0; bucket < latenessBuckets; bucket++) {
    seen += stats[statIndex.histogram + bucket]!;
    if (seen >= rank) return bucketUpperUs(bucket) / 1000;
  }
  return bucketUpperUs(latenessBuckets - 1) / 1000;
}

export function readStats(buffer: SharedArrayBuffer): ScanTimingStats {
  const stats = new Float64Array(buffer);
  let total = 0;
  for (let bucket = 0; bucket < latenessBuckets; bucket++) total += stats[statIndex.histogram + bucket]!;
  const ticks = stats[statIndex.ticks]!;
  return {
    ticks,
    overruns: stats[statIndex.overruns]!,
    lateTicks: stats[statIndex.lateTicks]!,
    latenessP50Ms: percentileMs(stats, total, 0.5),
    latenessP99Ms: percentileMs(stats, total, 0.99),
    latenessP999Ms: percentileMs(stats, total, 0.999),
    latenessMaxMs: stats[statIndex.latenessMaxUs]! / 1000,
    collectMsMax: stats[statIndex.collectUsMax]! / 1000,
    collectMsMean: ticks === 0 ? 0 : stats[statIndex.collectUsTotal]! / ticks / 1000,
    stepMsMax: stats[statIndex.stepUsMax]! / 1000,
    stepMsMean: ticks === 0 ? 0 : stats[statIndex.stepUsTotal]! / ticks / 1000,
    applyMsMax: stats[statIndex.applyUsMax]! / 1000,
    applyMsMean: ticks === 0 ? 0 : stats[statIndex.applyUsTotal]! / ticks / 1000,
    threadNice: stats[statIndex.threadNice]!,
    threadNiceApplied: stats[statIndex.threadNiceApplied] === 1,
    threadId: stats[statIndex.threadId]!,
    pointsRefused: stats[statIndex.pointsRefused]!,
    writesRefused: stats[statIndex.writesRefused]!,
    alarmsRefused: stats[statIndex.alarmsRefused]!,
  };
}

/** Adds one phase duration to its total and maximum. */
export function recordPhase(stats: Float64Array, totalIndex: number, maxIndex: number, durationUs: number): void {
  stats[totalIndex]! += durationUs;
  if (durationUs > stats[maxIndex]!) stats[maxIndex] = durationUs;
}
