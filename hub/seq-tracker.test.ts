import { describe, expect, it } from 'vitest';
import { GatewaySeqs, seqRangesMax } from './seq-tracker.ts';

describe('GatewaySeqs', () => {
  it('advances the mark over contiguous sequences and treats them as seen', () => {
    const seqs = new GatewaySeqs(0n);
    for (const seq of [1n, 2n, 3n]) expect(seqs.add(seq)).toBe(true);
    expect(seqs.acked).toBe(3n);
    expect(seqs.has(2n)).toBe(true);
    expect(seqs.has(4n)).toBe(false);
  });

  it('keeps the mark at the gap and remembers what was committed past it', () => {
    const seqs = new GatewaySeqs(2n);
    seqs.add(5n);
    seqs.add(6n);
    seqs.add(9n);
    expect(seqs.acked).toBe(2n);
    expect(seqs.ranges).toEqual([{ first: 5n, last: 6n }, { first: 9n, last: 9n }]);
    expect(seqs.has(6n)).toBe(true);
    expect(seqs.has(7n)).toBe(false);
  });

  it('jumps the mark over stored ranges when the gap fills', () => {
    const seqs = new GatewaySeqs(0n, [{ first: 3n, last: 4n }, { first: 6n, last: 6n }]);
    seqs.add(1n);
    expect(seqs.acked).toBe(1n);
    seqs.add(2n);
    expect(seqs.acked).toBe(4n);
    seqs.add(5n);
    expect(seqs.acked).toBe(6n);
    expect(seqs.ranges).toEqual([]);
  });

  it('merges neighbouring ranges when the sequence between them arrives', () => {
    const seqs = new GatewaySeqs(0n, [{ first: 3n, last: 3n }, { first: 5n, last: 5n }]);
    seqs.add(4n);
    expect(seqs.ranges).toEqual([{ first: 3n, last: 5n }]);
  });

  it('normalises ranges given at construction (overlaps, below the mark, adjacent to it)', () => {
    const seqs = new GatewaySeqs(5n, [{ first: 9n, last: 12n }, { first: 1n, last: 3n }, { first: 6n, last: 7n }, { first: 10n, last: 14n }]);
    expect(seqs.acked).toBe(7n);
    expect(seqs.ranges).toEqual([{ first: 9n, last: 14n }]);
  });

  it('refuses a new gap past seqRangesMax ranges and changes nothing', () => {
    const seqs = new GatewaySeqs(0n);
    for (let index = 0; index < seqRangesMax; index++) expect(seqs.add(BigInt(10 + index * 2))).toBe(true);
    expect(seqs.add(100_000n)).toBe(false);
    expect(seqs.ranges).toHaveLength(seqRangesMax);
    expect(seqs.add(11n)).toBe(true); // joining two ranges still works
  });

  it('clones independently', () => {
    const seqs = new GatewaySeqs(0n);
    const copy = seqs.clone();
    copy.add(1n);
    copy.add(3n);
    expect(seqs.acked).toBe(0n);
    expect(seqs.ranges).toEqual([]);
  });
});
