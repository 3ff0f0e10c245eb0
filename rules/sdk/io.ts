// Inputs, outputs, parameters and derived points. Declare them at the top level of a rule; their
// names form the rule's manifest, and the gateway binds them to its tags when it loads the rule.
// Reading an input is a memory load: the host lays each tick's snapshot into the slots.
import {
  INPUT_BYTES, INPUT_CHANGED_TICK, INPUT_QUALITY, INPUT_VALUE, KIND_INPUT, KIND_OUTPUT, KIND_PARAM, KIND_POINT,
  OUTPUT_BYTES, OUTPUT_DIRTY, OUTPUT_VALUE, PARAM_BYTES, PARAM_VALUE, POINT_BYTES, POINT_PUBLISH, POINT_QUALITY, POINT_VALUE,
  QUALITY_BAD, QUALITY_GOOD, QUALITY_UNCERTAIN,
} from "./abi";
import { declareSlot, noteEvent, tickCount } from "./host";

export const GOOD: u8 = QUALITY_GOOD;
export const UNCERTAIN: u8 = QUALITY_UNCERTAIN;
export const BAD: u8 = QUALITY_BAD;

/** A tag the rule reads: `device/tag` on the gateway. */
export class Input {
  constructor(readonly name: string, private slot: usize) {}

  /** The engineering value (booleans are 1 and 0). */
  get value(): f64 {
    return load<f64>(this.slot, INPUT_VALUE);
  }
  get on(): bool {
    return load<f64>(this.slot, INPUT_VALUE) != 0;
  }
  /** 0 good, 1 uncertain, 2 bad. */
  get quality(): u8 {
    return load<u8>(this.slot, INPUT_QUALITY);
  }
  get good(): bool {
    return load<u8>(this.slot, INPUT_QUALITY) == QUALITY_GOOD;
  }
  /** Ticks since the last new sample (u32.MAX_VALUE before the first). */
  get age(): u32 {
    const changed = load<f64>(this.slot, INPUT_CHANGED_TICK);
    if (changed < 0) return u32.MAX_VALUE;
    const age = tickCount() - changed;
    return age >= <f64>u32.MAX_VALUE ? u32.MAX_VALUE : <u32>age;
  }
  /** A new sample (or quality) arrived in this tick. */
  get changed(): bool {
    return load<f64>(this.slot, INPUT_CHANGED_TICK) == tickCount();
  }
}

/**
 * A writable tag the rule drives. set() writes when the value changes (state); write() writes this
 * tick even if the value is the same (a command, e.g. stop again). On a fault the host writes `safe`.
 */
export class Output {
  private written: bool = false;
  constructor(readonly name: string, readonly safe: f64, private slot: usize) {
    store<f64>(slot, safe, OUTPUT_VALUE);
  }

  set(value: f64): void {
    const last = load<f64>(this.slot, OUTPUT_VALUE);
    if (this.written && (last == value || (isNaN(last) && isNaN(value)))) return;
    this.written = true;
    store<f64>(this.slot, value, OUTPUT_VALUE);
    store<u8>(this.slot, 1, OUTPUT_DIRTY);
    noteEvent();
  }
  setOn(on: bool): void {
    this.set(on ? 1 : 0);
  }
  write(value: f64): void {
    this.written = true;
    store<f64>(this.slot, value, OUTPUT_VALUE);
    store<u8>(this.slot, 1, OUTPUT_DIRTY);
    noteEvent();
  }
  /** The last value set (the safe value before the first set). */
  get value(): f64 {
    return load<f64>(this.slot, OUTPUT_VALUE);
  }
}

/** A number an engineer sets per gateway without recompiling, within min..max. */
export class Param {
  constructor(readonly name: string, private slot: usize) {}
  get value(): f64 {
    return load<f64>(this.slot, PARAM_VALUE);
  }
}

/** A derived point the rule publishes, under the gateway's area. */
export class Point {
  constructor(readonly name: string, private slot: usize) {}
  publish(value: f64, quality: u8 = QUALITY_GOOD): void {
    store<f64>(this.slot, value, POINT_VALUE);
    store<u8>(this.slot, quality, POINT_QUALITY);
    store<u8>(this.slot, 1, POINT_PUBLISH);
    noteEvent();
  }
}

export function input(name: string): Input {
  const slot = declareSlot(KIND_INPUT, INPUT_BYTES, name, "", 0, 0, 0, 0);
  store<u8>(slot, QUALITY_BAD, INPUT_QUALITY);
  store<f64>(slot, -1, INPUT_CHANGED_TICK);
  return new Input(name, slot);
}

export function output(name: string, safe: f64): Output {
  return new Output(name, safe, declareSlot(KIND_OUTPUT, OUTPUT_BYTES, name, "", safe, 0, 0, 0));
}

export function param(name: string, defaultValue: f64, min: f64, max: f64): Param {
  const slot = declareSlot(KIND_PARAM, PARAM_BYTES, name, "", defaultValue, min, max, 0);
  store<f64>(slot, defaultValue, PARAM_VALUE);
  return new Param(name, slot);
}

export function point(name: string): Point {
  return new Point(name, declareSlot(KIND_POINT, POINT_BYTES, name, "", 0, 0, 0, 0));
}
