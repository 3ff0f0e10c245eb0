import { describe, expect, it } from 'vitest';
import { allocateStats, bucketUpperUs, latenessBucket, latenessBuckets, readStats, recordLateness } from './scan-stats.ts';

describe('scan lateness histogram', () => {
  it('is 10 µs fine up to 10 ms and 1 ms coarse up to 1 s', () => {
    expect(latenessBucket(0)).toBe(0);
    expect(latenessBucket(9.9)).toBe(0);
    expect(latenessBucket(10)).toBe(1);
    expect(bucketUpperUs(latenessBucket(9_995))).toBe(10_000);
    expect(bucketUpperUs(latenessBucket(10_000))).toBe(11_000);
    expect(bucketUpperUs(latenessBucket(58_700))).toBe(59_000);
    expect(latenessBucket(5_000_000)).toBe(latenessBuckets - 1);
    expect(latenessBucket(-3)).toBe(0);
  });

  it('reports percentiles and the exact maximum', () => {
    const buffer = allocateStats();
    const stats = new Float64Array(buffer);
    for (let i = 0; i < 990; i++) recordLateness(stats, 50);
    for (let i = 0; i < 9; i++) recordLateness(stats, 3_000);
    recordLateness(stats, 42_345);
    const read = readStats(buffer);
    expect(read.latenessP50Ms).toBe(0.06);
    expect(read.latenessP99Ms).toBe(0.06);
    expect(read.latenessP999Ms).toBe(3.01);
    expect(read.latenessMaxMs).toBeCloseTo(42.345);
  });
});
