import { describe, expect, it } from 'vitest';
import { createRing, ringNewest, ringPush, ringToArray } from './ring.ts';

describe('ring', () => {
  it('keeps the newest items up to its capacity, oldest first', () => {
    const ring = createRing<number>(3);
    expect(ringNewest(ring)).toBeUndefined();
    for (const value of [1, 2]) ringPush(ring, value);
    expect(ringToArray(ring)).toEqual([1, 2]);
    expect(ringNewest(ring)).toBe(2);
    for (const value of [3, 4, 5]) ringPush(ring, value);
    expect(ringToArray(ring)).toEqual([3, 4, 5]);
    expect(ring.items).toHaveLength(3);
    expect(ringNewest(ring)).toBe(5);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => createRing(0)).toThrow(/positive integer/);
    expect(() => createRing(1.5)).toThrow(/positive integer/);
  });
});
