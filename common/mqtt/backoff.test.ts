import { describe, expect, it } from 'vitest';
import { seededRandom } from '../random.ts';
import { Backoff } from './backoff.ts';

describe('Backoff', () => {
  it('grows from min towards max with jitter, never outside [min, max]', () => {
    const backoff = new Backoff(100, 2000, seededRandom(11));
    const delays = Array.from({ length: 12 }, () => backoff.nextDelayMs());
    expect(delays[0]).toBe(100);
    delays.forEach((delay, attempt) => {
      expect(delay).toBeGreaterThanOrEqual(100);
      expect(delay).toBeLessThanOrEqual(Math.min(2000, 100 * 2 ** attempt));
    });
    expect(new Set(delays.slice(5)).size).toBeGreaterThan(1); // jittered, not lockstep
  });

  it('replays the same delays from the same seed', () => {
    const run = (seed: number) => {
      const backoff = new Backoff(50, 5000, seededRandom(seed));
      return Array.from({ length: 10 }, () => backoff.nextDelayMs());
    };
    expect(run(3)).toEqual(run(3));
    expect(run(3)).not.toEqual(run(4));
  });

  it('starts again from min after reset and stays finite after a long outage', () => {
    const backoff = new Backoff(10, 1000, seededRandom(1));
    for (let attempt = 0; attempt < 2000; attempt++) expect(backoff.nextDelayMs()).toBeLessThanOrEqual(1000);
    backoff.reset();
    expect(backoff.nextDelayMs()).toBe(10);
  });
});
