// Operator commands for the rules in the scan worker: release a quarantined rule, acknowledge an
// alarm. The worker's loop never yields to its event loop, so commands cross in a shared ring
// (the scan's own Float64Ring) and take effect at the start of the next tick, between ticks as
// every change to the scan does. Bounded: a full ring refuses the command and says so.
import { Float64Ring, type RingBuffers } from '../scan/ring.ts';
import type { RuleHost } from './rule-host.ts';

const kinds = { release: 1, acknowledge: 2 } as const;

export class RuleCommands {
  readonly #ring: Float64Ring;

  static allocate(capacity = 256): RingBuffers {
    return Float64Ring.allocate(4, capacity);
  }

  constructor(buffers: RingBuffers) {
    this.#ring = new Float64Ring(buffers);
  }

  /** Main thread: false when the ring is full (the command was not queued). */
  release(ruleIndex: number): boolean {
    return this.#ring.push4(kinds.release, ruleIndex, 0, 0);
  }

  acknowledge(ruleIndex: number, alarmIndex: number): boolean {
    return this.#ring.push4(kinds.acknowledge, ruleIndex, alarmIndex, 0);
  }

  /** Scan worker, at the start of a tick: applies every queued command. Returns how many. */
  apply(host: RuleHost): number {
    return this.#ring.drain((records, offset) => {
      const kind = records[offset];
      const rule = records[offset + 1]!;
      if (kind === kinds.release) host.release(rule);
      else if (kind === kinds.acknowledge) host.acknowledge(rule, records[offset + 2]!);
    });
  }
}
