// Alarms: declared with a severity and message, raised and cleared by the rule with hysteresis,
// an on-delay and optional latching. A latching alarm stays active after its condition clears
// until an operator acknowledges it. The active and acknowledged states live in the alarm's slot,
// so the host sees every transition and keeps the state across a restart after a fault.
import {
  ALARM_ACKNOWLEDGED, ALARM_ACK_REQUEST, ALARM_ACTIVE, ALARM_BYTES, ALARM_LATCHING, ALARM_VALUE, KIND_ALARM,
  SEVERITY_CRITICAL, SEVERITY_HIGH, SEVERITY_LOW, SEVERITY_MEDIUM,
} from "./abi";
import { declareObject, noteEvent, tickCount, ticks } from "./host";

export namespace Severity {
  export const LOW: i32 = SEVERITY_LOW;
  export const MEDIUM: i32 = SEVERITY_MEDIUM;
  export const HIGH: i32 = SEVERITY_HIGH;
  export const CRITICAL: i32 = SEVERITY_CRITICAL;
}

// @ts-ignore: decorator
@unmanaged
export class Alarm {
  // the slot (ALARM_BYTES): value at the transition, active, ack request, acknowledged
  private slotValue: f64 = 0;
  private slotFlags: u64 = 0;
  /** Ticks the condition has held while waiting for the on-delay. */
  private pending: i32 = 0;
  private transitionTick: f64 = -1;
  readonly onDelayTicks: i32;
  readonly name: string;
  readonly hysteresis: f64;
  readonly latching: bool;

  constructor(name: string, severity: i32, message: string, hysteresis: f64, onDelayMs: f64, latching: bool) {
    assert(offsetof<Alarm>("pending") >= ALARM_BYTES);
    this.name = name;
    this.hysteresis = hysteresis;
    this.latching = latching;
    this.onDelayTicks = ticks(onDelayMs);
    declareObject(KIND_ALARM, this.slot, name, message, hysteresis, onDelayMs, 0, severity | (latching ? ALARM_LATCHING : 0));
  }

  private get slot(): usize {
    return changetype<usize>(this);
  }

  get active(): bool {
    return load<u8>(this.slot, ALARM_ACTIVE) != 0;
  }
  get acknowledged(): bool {
    return load<u8>(this.slot, ALARM_ACKNOWLEDGED) != 0;
  }
  /** The alarm raised in this tick. */
  get raised(): bool {
    return this.transitionTick == tickCount() && this.active;
  }
  /** The alarm cleared in this tick. */
  get cleared(): bool {
    return this.transitionTick == tickCount() && !this.active;
  }

  /** Raises when value > limit has held for the on-delay; clears when value <= limit - hysteresis. */
  above(value: f64, limit: f64): bool {
    return this.evaluate(value > limit, value <= limit - this.hysteresis, value);
  }

  /** Raises when value < limit has held for the on-delay; clears when value >= limit + hysteresis. */
  below(value: f64, limit: f64): bool {
    return this.evaluate(value < limit, value >= limit + this.hysteresis, value);
  }

  /** Raises when `condition` has held for the on-delay; clears when it is false. */
  when(condition: bool, value: f64 = 0): bool {
    return this.evaluate(condition, !condition, value);
  }

  /** Keeps the state as it is and restarts the on-delay (for a tick whose input is not trustworthy). */
  hold(): bool {
    this.takeAcknowledge();
    this.pending = 0;
    return this.active;
  }

  /** Raises at once (no on-delay). */
  raise(value: f64 = 0): void {
    this.takeAcknowledge();
    if (!this.active) this.transition(true, value);
  }

  /** Clears at once; a latching alarm clears only once acknowledged. */
  clear(value: f64 = 0): void {
    this.takeAcknowledge();
    if (this.active && (!this.latching || this.acknowledged)) this.transition(false, value);
  }

  private evaluate(beyond: bool, normal: bool, value: f64): bool {
    this.takeAcknowledge();
    if (!this.active) {
      if (!beyond) {
        this.pending = 0;
        return false;
      }
      if (this.pending < this.onDelayTicks) {
        this.pending++;
        return false;
      }
      this.pending = 0;
      this.transition(true, value);
      return true;
    }
    if (normal && (!this.latching || this.acknowledged)) this.transition(false, value);
    return this.active;
  }

  private takeAcknowledge(): void {
    if (load<u8>(this.slot, ALARM_ACK_REQUEST) == 0) return;
    store<u8>(this.slot, 0, ALARM_ACK_REQUEST);
    if (this.active) store<u8>(this.slot, 1, ALARM_ACKNOWLEDGED);
  }

  private transition(active: bool, value: f64): void {
    store<f64>(this.slot, value, ALARM_VALUE);
    store<u8>(this.slot, active ? 1 : 0, ALARM_ACTIVE);
    store<u8>(this.slot, 0, ALARM_ACKNOWLEDGED);
    this.transitionTick = tickCount();
    noteEvent();
  }
}

/** Declares an alarm. onDelayMs is rounded up to whole ticks; 0 raises in the same tick. */
export function alarm(name: string, severity: i32, message: string, hysteresis: f64 = 0, onDelayMs: f64 = 0, latching: bool = false): Alarm {
  return new Alarm(name, severity, message, hysteresis, onDelayMs, latching);
}
