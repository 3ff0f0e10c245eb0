import { describe, expect, it } from 'vitest';
import { SimulatedClock, systemClock } from './clock.ts';

describe('SimulatedClock', () => {
  it('moves only when advanced', () => {
    const clock = new SimulatedClock(1000);
    expect(clock.nowMs()).toBe(1000);
    expect(clock.monotonicNs()).toBe(0n);
    clock.advanceMs(2.5);
    expect(clock.nowMs()).toBe(1002.5);
    expect(clock.monotonicNs()).toBe(2_500_000n);
  });

  it('refuses to move backwards', () => {
    expect(() => new SimulatedClock().advanceMs(-1)).toThrow(RangeError);
  });
});

describe('systemClock', () => {
  it('is monotonic', () => {
    const a = systemClock.monotonicNs();
    const b = systemClock.monotonicNs();
    expect(b >= a).toBe(true);
  });
});
