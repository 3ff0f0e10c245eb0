// Time reaches core logic only through a Clock. The system clock reads the machine; the simulated
// clock moves only when a test or a replay advances it, so runs are reproducible.

export interface Clock {
  /** Wall-clock epoch milliseconds, used for point timestamps. */
  nowMs(): number;
  /** Monotonic nanoseconds, used for scheduling and measuring durations. */
  monotonicNs(): bigint;
}

export const systemClock: Clock = {
  nowMs: () => Date.now(),
  monotonicNs: () => process.hrtime.bigint(),
};

export class SimulatedClock implements Clock {
  #epochMs: number;
  #monotonicNs: bigint;

  constructor(startEpochMs = 1_767_225_600_000 /* 2026-01-01T00:00:00Z */) {
    this.#epochMs = startEpochMs;
    this.#monotonicNs = 0n;
  }

  nowMs(): number {
    return this.#epochMs;
  }

  monotonicNs(): bigint {
    return this.#monotonicNs;
  }

  advanceMs(durationMs: number): void {
    if (!(durationMs >= 0)) throw new RangeError(`cannot move a clock backwards by ${durationMs} ms`);
    this.#epochMs += durationMs;
    this.#monotonicNs += BigInt(Math.round(durationMs * 1e6));
  }
}
