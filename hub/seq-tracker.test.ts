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

  it('lists the parts of a range not yet accounted for, around the mark and stored ranges', () => {
    const seqs = new GatewaySeqs(4n, [{ first: 8n, last: 9n }, { first: 12n, last: 12n }]);
    expect(seqs.missingIn(1n, 20n)).toEqual([{ first: 5n, last: 7n }, { first: 10n, last: 11n }, { first: 13n, last: 20n }]);
    expect(seqs.missingIn(8n, 9n)).toEqual([]);
    expect(seqs.missingIn(9n, 10n)).toEqual([{ first: 10n, last: 10n }]);
    expect(seqs.missingIn(1n, 3n)).toEqual([]);
  });

  it('adds whole ranges, merging with neighbours and moving the mark', () => {
    const seqs = new GatewaySeqs(0n);
    expect(seqs.addRange(11n, 20n)).toBe(true);
    expect(seqs.addRange(31n, 40n)).toBe(true);
    expect(seqs.addRange(21n, 30n)).toBe(true);
    expect(seqs.ranges).toEqual([{ first: 11n, last: 40n }]);
    expect({ highest: seqs.highest, missing: seqs.missing }).toEqual({ highest: 40n, missing: 10n });
    expect(seqs.addRange(1n, 10n)).toBe(true);
    expect({ acked: seqs.acked, ranges: seqs.ranges, missing: seqs.missing }).toEqual({ acked: 40n, ranges: [], missing: 0n });
  });

  it('counts the missing sequences of every gap', () => {
    const seqs = new GatewaySeqs(2n, [{ first: 5n, last: 6n }, { first: 9n, last: 9n }]);
    expect(seqs.missing).toBe(4n); // 3, 4, 7, 8
    expect(seqs.highest).toBe(9n);
  });

  it('refuses (as a bug) a range that overlaps what is recorded', () => {
    const seqs = new GatewaySeqs(0n, [{ first: 5n, last: 6n }]);
    expect(() => seqs.addRange(3n, 5n)).toThrow(/overlaps/);
    expect(() => seqs.addRange(0n, 0n)).toThrow(/at or below the mark/);
  });
});
