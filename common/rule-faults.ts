// Quarantine policy: a rule that faults `faultsMax` times within `windowTicks` ticks is
// quarantined (not run, outputs left at their safe values) until a new bundle or an operator
// releases it. Fixed memory: the ticks of the last `faultsMax` faults in a ring.
import { assert } from './assert.ts';

export interface QuarantinePolicy {
  readonly faultsMax: number;
  readonly windowTicks: number;
}

export const quarantineDefaults: QuarantinePolicy = { faultsMax: 3, windowTicks: 6000 };

export class FaultWindow {
  readonly #ticks: Float64Array;
  readonly #windowTicks: number;
  #next = 0;
  #count = 0;

  constructor(policy: QuarantinePolicy) {
    assert(Number.isInteger(policy.faultsMax) && policy.faultsMax >= 1, 'faultsMax must be a positive integer');
    assert(Number.isInteger(policy.windowTicks) && policy.windowTicks >= 1, 'windowTicks must be a positive integer');
    this.#ticks = new Float64Array(policy.faultsMax);
    this.#windowTicks = policy.windowTicks;
  }

  /** Records a fault; true when it is the faultsMax-th within the window (quarantine now). */
  record(tick: number): boolean {
    const size = this.#ticks.length;
    this.#ticks[this.#next] = tick;
    this.#next = (this.#next + 1) % size;
    if (this.#count < size) this.#count++;
    if (this.#count < size) return false;
    const oldest = this.#ticks[this.#next]!; // the ring is full: the slot after the newest is the oldest
    return tick - oldest < this.#windowTicks;
  }

  reset(): void {
    this.#next = 0;
    this.#count = 0;
  }
}
