// Reconnect delays: exponential growth from minMs to maxMs with jitter drawn from a seeded
// RandomSource, so a fleet of gateways that lost the same broker does not reconnect in lockstep,
// and a test replays the same delays from the same seed.
import { assert } from '../assert.ts';
import type { RandomSource } from '../random.ts';

export class Backoff {
  readonly minMs: number;
  readonly maxMs: number;
  readonly #random: RandomSource;
  #attempt = 0;

  constructor(minMs: number, maxMs: number, random: RandomSource) {
    assert(Number.isFinite(minMs) && minMs > 0, `backoff minMs must be positive, got ${minMs}`);
    assert(Number.isFinite(maxMs) && maxMs >= minMs, `backoff maxMs must be at least minMs, got ${maxMs}`);
    this.minMs = minMs;
    this.maxMs = maxMs;
    this.#random = random;
  }

  get attempt(): number {
    return this.#attempt;
  }

  /** The next delay: uniform in [minMs, min(maxMs, minMs·2^attempt)], never below minMs. */
  nextDelayMs(): number {
    // The exponent is capped so the ceiling never overflows to Infinity after a long outage.
    const ceilingMs = Math.min(this.maxMs, this.minMs * 2 ** Math.min(this.#attempt, 30));
    this.#attempt++;
    return Math.round(this.minMs + this.#random.next() * (ceilingMs - this.minMs));
  }

  reset(): void {
    this.#attempt = 0;
  }
}
