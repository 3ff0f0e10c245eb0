import { describe, expect, it } from 'vitest';
import { seededRandom } from './random.ts';

describe('seededRandom', () => {
  it('gives the same sequence for the same seed', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const first = Array.from({ length: 100 }, () => a.next());
    expect(Array.from({ length: 100 }, () => b.next())).toEqual(first);
  });

  it('gives different sequences for different seeds', () => {
    expect(seededRandom(1).next()).not.toBe(seededRandom(2).next());
  });

  it('stays in range and is roughly uniform', () => {
    const random = seededRandom(7);
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i++) {
      const value = random.next();
      expect(value >= 0 && value < 1).toBe(true);
      buckets[Math.floor(value * 10)]!++;
    }
    for (const count of buckets) expect(Math.abs(count - 10_000)).toBeLessThan(500);
  });

  it('draws integers inclusive of both bounds', () => {
    const random = seededRandom(3);
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) seen.add(random.int(1, 3));
    expect([...seen].sort()).toEqual([1, 2, 3]);
  });

  it('draws gaussians with mean near 0 and variance near 1', () => {
    const random = seededRandom(11);
    let sum = 0;
    let sumSquares = 0;
    const n = 50_000;
    for (let i = 0; i < n; i++) {
      const value = random.gaussian();
      sum += value;
      sumSquares += value * value;
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.02);
    expect(Math.abs(sumSquares / n - 1)).toBeLessThan(0.03);
  });
});
