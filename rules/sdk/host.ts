// The SDK's side of the host ABI: the one import, the header slot (tick count, tick length,
// event counter) and slot allocation for declarations. Declarations run at the top level of a
// rule, inside its start function; the host records each one with the address of its slot.
import { HEADER_BYTES, HEADER_EVENTS, HEADER_TICK, HEADER_TICK_MS, KIND_HEADER, KIND_LIMITS } from "./abi";

// @ts-ignore: decorator
@external("millwright", "declare")
declare function hostDeclare(kind: i32, slot: usize, name: usize, nameBytes: i32, text: usize, textBytes: i32, a: f64, b: f64, c: f64, flags: i32): void;

/** Allocates a zeroed slot of `bytes` and declares it to the host. */
export function declareSlot(kind: i32, bytes: usize, name: string, text: string, a: f64, b: f64, c: f64, flags: i32): usize {
  let slot: usize = 0;
  if (bytes != 0) {
    slot = heap.alloc(bytes);
    memory.fill(slot, 0, bytes);
  }
  hostDeclare(kind, slot, changetype<usize>(name), name.length << 1, changetype<usize>(text), text.length << 1, a, b, c, flags);
  return slot;
}

/** Declares an object whose first bytes are its slot (inputs, outputs, parameters, points, alarms). */
export function declareObject(kind: i32, slot: usize, name: string, text: string, a: f64, b: f64, c: f64, flags: i32): void {
  hostDeclare(kind, slot, changetype<usize>(name), name.length << 1, changetype<usize>(text), text.length << 1, a, b, c, flags);
}

const header: usize = declareSlot(KIND_HEADER, HEADER_BYTES, "", "", 0, 0, 0, 0);

/** The tick count: the only clock a rule has. */
export function tickCount(): f64 {
  return load<f64>(header, HEADER_TICK);
}

/** Length of one tick in milliseconds, as the gateway is configured. */
export function tickMs(): f64 {
  return load<f64>(header, HEADER_TICK_MS);
}

/** Milliseconds as a whole number of ticks, rounded up (at least 0). */
export function ticks(ms: f64): i32 {
  const length = tickMs();
  if (ms <= 0 || length <= 0) return 0;
  return <i32>Math.ceil(ms / length);
}

/** Tells the host that an output, point or alarm changed in this tick. */
export function noteEvent(): void {
  store<u32>(header, load<u32>(header, HEADER_EVENTS) + 1, HEADER_EVENTS);
}

/** Declares the rule's fuel budget per tick (the gateway refuses budgets above its ceiling). */
export function fuel(perTick: i32): void {
  declareSlot(KIND_LIMITS, 0, "", "", <f64>perTick, 0, 0, 0);
}
