// Inputs, outputs, parameters and derived points. Declare them at the top level of a rule; their
// names form the rule's manifest, and the gateway binds them to its tags when it loads the rule.
// Reading an input is one memory load: each object's first bytes are the slot the host lays each
// tick's snapshot into (declareObject), so there is no pointer to follow from object to slot.
// The SDK's classes are @unmanaged: no managed object header (20 bytes, padded to 16), so a
// rule's state packs into fewer cache lines. Rules build with the stub runtime, which never
// frees, so the strings and buffers these objects point to stay where they are.
import {
  INPUT_BYTES, INPUT_CHANGED_TICK, INPUT_QUALITY, INPUT_VALUE, KIND_INPUT, KIND_OUTPUT, KIND_PARAM, KIND_POINT,
  OUTPUT_BYTES, OUTPUT_DIRTY, OUTPUT_VALUE, PARAM_BYTES, PARAM_VALUE, POINT_BYTES, POINT_PUBLISH, POINT_QUALITY, POINT_VALUE,
  QUALITY_BAD, QUALITY_GOOD, QUALITY_UNCERTAIN,
} from "./abi";
import { declareObject, noteEvent, tickCount } from "./host";

export const GOOD: u8 = QUALITY_GOOD;
export const UNCERTAIN: u8 = QUALITY_UNCERTAIN;
export const BAD: u8 = QUALITY_BAD;

/** A tag the rule reads: `device/tag` on the gateway. */
// @ts-ignore: decorator
@unmanaged
export class Input {
  // the slot (INPUT_BYTES): value, tick of the last new sample, quality; the host writes it
  private slotValue: f64 = 0;
  private slotChangedTick: f64 = -1;
  private slotQuality: u64 = QUALITY_BAD;
  readonly name: string;

  constructor(name: string) {
    assert(offsetof<Input>("name") >= INPUT_BYTES);
    this.name = name;
    declareObject(KIND_INPUT, this.slot, name, "", 0, 0, 0, 0);
  }

  private get slot(): usize {
    return changetype<usize>(this);
  }

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
// @ts-ignore: decorator
@unmanaged
export class Output {
  // the slot (OUTPUT_BYTES): value, dirty; the host reads and clears it
  private slotValue: f64 = 0;
  private slotDirty: u64 = 0;
  private written: bool = false;
  readonly name: string;
  readonly safe: f64;

  constructor(name: string, safe: f64) {
    assert(offsetof<Output>("written") >= OUTPUT_BYTES);
    this.name = name;
    this.safe = safe;
    store<f64>(this.slot, safe, OUTPUT_VALUE);
    declareObject(KIND_OUTPUT, this.slot, name, "", safe, 0, 0, 0);
  }

  private get slot(): usize {
    return changetype<usize>(this);
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
// @ts-ignore: decorator
@unmanaged
export class Param {
  // the slot (PARAM_BYTES): value; the host writes it
  private slotValue: f64 = 0;
  readonly name: string;

  constructor(name: string, defaultValue: f64, min: f64, max: f64) {
    assert(offsetof<Param>("name") >= PARAM_BYTES);
    this.name = name;
    store<f64>(this.slot, defaultValue, PARAM_VALUE);
    declareObject(KIND_PARAM, this.slot, name, "", defaultValue, min, max, 0);
  }

  private get slot(): usize {
    return changetype<usize>(this);
  }
  get value(): f64 {
    return load<f64>(this.slot, PARAM_VALUE);
  }
}

/** A derived point the rule publishes, under the gateway's area. */
// @ts-ignore: decorator
@unmanaged
export class Point {
  // the slot (POINT_BYTES): value, quality, publish; the host reads it and clears publish
  private slotValue: f64 = 0;
  private slotFlags: u64 = 0;
  readonly name: string;

  constructor(name: string) {
    assert(offsetof<Point>("name") >= POINT_BYTES);
    this.name = name;
    declareObject(KIND_POINT, this.slot, name, "", 0, 0, 0, 0);
  }

  private get slot(): usize {
    return changetype<usize>(this);
  }
  publish(value: f64, quality: u8 = QUALITY_GOOD): void {
    store<f64>(this.slot, value, POINT_VALUE);
    store<u8>(this.slot, quality, POINT_QUALITY);
    store<u8>(this.slot, 1, POINT_PUBLISH);
    noteEvent();
  }
}

export function input(name: string): Input {
  return new Input(name);
}

export function output(name: string, safe: f64): Output {
  return new Output(name, safe);
}

export function param(name: string, defaultValue: f64, min: f64, max: f64): Param {
  return new Param(name, defaultValue, min, max);
}

export function point(name: string): Point {
  return new Point(name);
}
