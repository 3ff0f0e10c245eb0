import { describe, expect, it } from 'vitest';
import { FaultWindow } from './rule-faults.ts';

describe('quarantine window', () => {
  it('quarantines on the Nth fault within M ticks, not on faults spread wider', () => {
    const window = new FaultWindow({ faultsMax: 3, windowTicks: 100 });
    expect([0, 50, 120, 200].map((tick) => window.record(tick))).toEqual([false, false, false, false]);
    expect(window.record(210)).toBe(true); // 120, 200, 210: three within 100 ticks
  });

  it('starts over after a reset (an operator release)', () => {
    const window = new FaultWindow({ faultsMax: 2, windowTicks: 10 });
    expect(window.record(1)).toBe(false);
    expect(window.record(2)).toBe(true);
    window.reset();
    expect(window.record(3)).toBe(false);
  });
});
