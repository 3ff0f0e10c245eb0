// The gateway's per-rule step loop, generated into every rule module by the sandbox
// (common/rule-sandbox.ts) as `mw_run(area, from, to, tick)`: it runs rules from..to-1 of the
// batch (common/rule-batch.ts), which all run in this module's one instance, calling the rule's
// tick directly, so a tick pays one call between instances per run of rules, not per rule. The
// batch module carries the same loop, calling each rule's mw_step through a table, for a rule
// alone in its run (which then executes no loop code of its own: with many rules of their own
// code, that would be more code than the instruction cache holds).
//
// For each rule with a budget (0 skips it: quarantined, or down after a fault) the loop notes the
// rule as the current one, sets the fuel, the status and the rule's frame, stores the tick into
// its header, calls the tick, and records the result, the tick count and the most fuel used.
// Right after a rule that noted events returns, it reads that rule's output, point and alarm
// slots (still in the cache) and appends one event per written output, published point and alarm
// transition, with the value's NaN canonicalised and the point's quality clamped, clearing the
// flags it consumed. A rule that traps unwinds the whole call; the area's `current` names it, the
// events already appended stay, and the host resumes the batch at the next rule. Every address
// the loop follows is one the host wrote into its host area (which no rule can reach).
import { frameLayout, slotLayout } from './rule-abi.ts';
import { add, block, br, brIf, canonicalNaN, const32, elseOp, end, eq, eqz, f64Eq, geU, get, gtS, ifVoid, load32, load8, loadF64, loop, ltS, ltU, ne, or, select, set, shl, shrS, store32, store8, storeF64, sub, tee, xor } from './rule-wasm-ops.ts';
import { encodeU32 } from './rule-wasm.ts';

const i32 = 0x7f;

/** What an emit entry or event is about. */
export const emitKind = { output: 0, point: 1, alarm: 2 } as const;

/**
 * The batch's host area begins with: +0 i32 events appended in this tick, +4 i32 the events list's
 * address, +8 i32 the address of the alarm states the host reported, +12 i32 the rule running (the
 * one that trapped, after a trap); the rules' records follow.
 */
export const areaLayout = { eventCount: 0, events: 4, reported: 8, current: 12, records: 16 } as const;
/** A rule's record: budget (0 skips it), the step's result, the most fuel used, its frame, ticks run (f64), the range of its emit entries (byte addresses). */
export const recordLayout = { budget: 0, result: 4, usedMax: 8, frame: 12, ticks: 16, entriesStart: 24, entriesEnd: 28, bytes: 32 } as const;
/** An emit entry: +0 i32 kind, +4 i32 its slot's address, +8 i32 its index in the host's tables of that kind. */
export const entryBytes = 12;
/** An event: +0 f64 value, +8 i32 code (kind | aux << 2 | rule << 4), +12 i32 index. */
export const eventBytes = 16;

/** The host globals the loop sets for each rule (common/rule-sandbox.ts). */
export interface RunGlobals {
  readonly fuel: number;
  readonly status: number;
  readonly frame: number;
}

/**
 * One rule's step, as mw_step (common/rule-sandbox.ts) and mw_run both do it: sets the fuel (from
 * local `fuel`), the status and the frame (pushed by `frame`), stores the tick (local `tick`) into
 * the rule's header (its address into local `header`), calls its tick, and leaves on the stack the
 * fuel left, or -1 - fuel left when the rule noted events (clearing the header's events word).
 */
export function stepCode(tickFunction: number, globals: RunGlobals, frame: readonly number[], locals: { readonly fuel: number; readonly tick: number; readonly header: number }): number[] {
  const [fuelGlobal, statusGlobal, frameGlobal] = [encodeU32(globals.fuel), encodeU32(globals.status), encodeU32(globals.frame)];
  const { fuel, tick, header } = locals;
  return [
    ...get(fuel), 0x24, ...fuelGlobal, ...const32(0), 0x24, ...statusGlobal,
    ...frame, 0x24, ...frameGlobal,
    0x23, ...frameGlobal, ...load32(frameLayout.header), ...tee(header), ...get(tick), ...storeF64(slotLayout.header.tick),
    0x10, ...encodeU32(tickFunction),
    ...get(header), ...load32(slotLayout.header.events), 0x04, i32,
    ...get(header), ...const32(0), ...store32(slotLayout.header.events), ...const32(-1), 0x23, ...fuelGlobal, ...sub,
    ...elseOp, 0x23, ...fuelGlobal, ...end,
  ];
}

/**
 * How the loop steps one rule: inside a rule module, by setting its host globals and calling its
 * tick directly; in the batch module, by calling the rule's mw_step (common/rule-sandbox.ts)
 * through a table, with the table index and mw_step's type index.
 */
export type RunStep = { readonly tick: number; readonly globals: RunGlobals } | { readonly table: number; readonly type: number };

/** The loop's body, with its locals: (param area i32) (param from i32) (param to i32) (param tick f64). */
export function runLoopBody(how: RunStep): number[] {
  // params: 0 area, 1 from, 2 to, 3 tick; i32 locals: 4 k, 5 fuel, 6 result, 7 record, 8 used, 9 entry, 10 end of entries,
  // 11 slot, 12 code, 13 at, 14 quality/active, 15 header, 16 events list, 17 reported states
  const [area, from, to, tick, k, fuel, result, record, used, entry, last, slot, code, at, flag, header, events, reported] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17];
  const { output, point, alarm } = slotLayout;
  // one entry of a rule with events: its event code, or -1 for none
  const entryCode = [
    ...const32(-1), ...set(code),
    ...get(entry), ...load32(4), ...set(slot),
    ...get(entry), ...load32(0), ...tee(flag), ...eqz, ...ifVoid, // output: written this tick
    ...get(slot), ...load8(output.dirty), ...ifVoid,
    ...get(slot), ...const32(0), ...store8(output.dirty),
    ...const32(emitKind.output), ...set(code),
    ...end,
    ...elseOp,
    ...get(flag), ...const32(emitKind.point), ...eq, ...ifVoid, // point: published this tick, quality clamped to bad
    ...get(slot), ...load8(point.publish), ...ifVoid,
    ...get(slot), ...const32(0), ...store8(point.publish),
    ...get(slot), ...load8(point.quality), ...tee(flag), ...const32(2), ...get(flag), ...const32(2), ...ltU, ...select,
    ...const32(2), ...shl, ...const32(emitKind.point), ...or, ...set(code),
    ...end,
    ...elseOp, // alarm: its active state differs from the one the host reported
    ...get(slot), ...load8(alarm.active), ...const32(0), ...ne, ...tee(flag),
    ...get(entry), ...load32(8), ...get(reported), ...add, ...tee(at), ...load8(), ...ne, ...ifVoid,
    ...get(at), ...get(flag), ...store8(),
    ...get(flag), ...const32(2), ...shl, ...const32(emitKind.alarm), ...or, ...set(code),
    ...end,
    ...end,
    ...end,
  ];
  const append = [
    ...get(code), ...const32(0), ...ltS, ...eqz, ...ifVoid,
    ...get(area), ...load32(areaLayout.eventCount), ...const32(4), ...shl, ...get(events), ...add, ...tee(at), // at = events + n * 16
    ...get(slot), ...loadF64(0), ...canonicalNaN, ...get(slot), ...loadF64(0), ...get(slot), ...loadF64(0), ...f64Eq, ...select, ...storeF64(0),
    ...get(at), ...get(code), ...get(k), ...const32(4), ...shl, ...or, ...store32(8),
    ...get(at), ...get(entry), ...load32(8), ...store32(12),
    ...get(area), ...get(area), ...load32(areaLayout.eventCount), ...const32(1), ...add, ...store32(areaLayout.eventCount),
    ...end,
  ];
  const walk = [
    ...get(record), ...load32(recordLayout.entriesStart), ...set(entry),
    ...get(record), ...load32(recordLayout.entriesEnd), ...set(last),
    ...block, ...loop,
    ...get(entry), ...get(last), ...geU, ...brIf(1),
    ...entryCode,
    ...append,
    ...get(entry), ...const32(entryBytes), ...add, ...set(entry),
    ...br(0),
    ...end, ...end,
  ];
  const step = 'table' in how
    ? [...get(fuel), ...get(tick), ...get(record), ...load32(recordLayout.frame), ...get(k), 0x11, ...encodeU32(how.type), ...encodeU32(how.table), ...set(result)] // result = mw_step(fuel, tick, frame)
    : [...stepCode(how.tick, how.globals, [...get(record), ...load32(recordLayout.frame)], { fuel, tick, header }), ...set(result)];
  return [
    1, 14, i32,
    ...get(area), ...load32(areaLayout.events), ...set(events),
    ...get(area), ...load32(areaLayout.reported), ...set(reported),
    ...get(from), ...set(k),
    ...block, ...loop,
    ...get(k), ...get(to), ...geU, ...brIf(1), // if (k >= to) break
    ...get(area), ...get(k), ...store32(areaLayout.current), // current = k
    ...get(k), ...const32(5), ...shl, ...get(area), ...add, ...const32(areaLayout.records), ...add, ...tee(record), // record = records + k * 32
    ...load32(recordLayout.budget), ...tee(fuel),
    ...ifVoid,
    ...step,
    ...get(record), ...get(result), ...store32(recordLayout.result),
    ...get(record), ...get(record), ...loadF64(recordLayout.ticks), 0x44, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0xa0, ...storeF64(recordLayout.ticks), // ticks += 1
    ...get(fuel), ...get(result), ...get(result), ...const32(31), ...shrS, ...xor, ...sub, ...tee(used), // used = fuel - (result ^ (result >> 31))
    ...get(record), ...load32(recordLayout.usedMax), ...gtS, ...ifVoid, ...get(record), ...get(used), ...store32(recordLayout.usedMax), ...end,
    ...get(result), ...const32(0), ...ltS, ...ifVoid, ...walk, ...end, // events: append them
    ...end,
    ...get(k), ...const32(1), ...add, ...set(k), ...br(0), // k++; continue
    ...end, ...end, ...end,
  ];
}
