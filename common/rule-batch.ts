// The gateway's batch entry into its rules: a small generated WebAssembly module that steps every
// rule in one call from JavaScript, because a call from JavaScript into WebAssembly, and the host
// code around it, cost more per rule than a call between two modules (docs/performance.md,
// "Rules"). It imports the gateway's rule memory (common/rule-arena.ts) and keeps its own data in a
// host area of it, apart from every rule's region: a record per rule (the fuel budget, 0 to skip
// the rule; the step's result; the most fuel used in a tick; ticks run; the range of its emit
// entries), an emit entry per output, point and alarm (its kind, its slot's address, its index in
// the host's tables), the alarm states the host has reported, and the tick's events.
//
// Right after a rule that noted events returns, the module reads that rule's slots (still in the
// cache) and appends one event per written output, published point and alarm transition, with the
// value's NaN canonicalised and the point's quality clamped, clearing the flags it consumed. The
// host then walks one flat list of events instead of every slot of every rule that had one: table
// walks in JavaScript cost a map, bounds and detach check per typed-array access. A rule that
// traps unwinds the whole call; `current` names the rule that was running, the events already
// appended stay, and the host resumes the batch at the next rule, so every other rule still runs
// in the same tick, in the same order, and the events stay in rule order.
import { assert } from './assert.ts';
import { pageBytes, type RuleArena, type RuleRegion } from './rule-arena.ts';
import { slotLayout } from './rule-abi.ts';
import type { StepFunction } from './rule-instance.ts';
import { concatBytes, encodeName, encodeSection, encodeU32 } from './rule-wasm.ts';
import { add, block, br, brIf, canonicalNaN, const32, elseOp, end, eq, eqz, f64Eq, geU, get, gtS, ifVoid, load32, load8, loadF64, loop, ltS, ltU, ne, or, select, set, shl, shrS, store32, store8, storeF64, sub, tee, xor } from './rule-wasm-ops.ts';
import { webAssembly, type WasmGlobal, type WasmTable } from './rule-webassembly.ts';

const i32 = 0x7f;
const f64 = 0x7c;
/** Bytes of a rule's record: +0 i32 budget, +4 i32 result, +8 i32 most fuel used, +12 i32 the rule's frame, +16 f64 ticks run, +24 i32 first entry, +28 i32 end of its entries (byte addresses). */
const recordBytes = 32;
/** Bytes of an emit entry: +0 i32 kind, +4 i32 slot address, +8 i32 index in the host's tables of that kind. */
const entryBytes = 12;
/** Bytes of an event: +0 f64 value, +8 i32 code (kind | aux << 2 | rule << 4), +12 i32 index. */
const eventBytes = 16;

/** What an emit entry or event is about. */
export const emitKind = { output: 0, point: 1, alarm: 2 } as const;

/** Where the batch's data lies in its host area (byte offsets from the area's base). */
export interface BatchLayout {
  readonly rules: number;
  readonly entries: number;
  readonly alarms: number;
  readonly eventCountAt: number;
  readonly recordsAt: number;
  readonly entriesAt: number;
  readonly reportedAt: number;
  readonly eventsAt: number;
  /** Each rule's frame (its mutable globals, page count, header and base: common/rule-sandbox.ts), in rule order, each on its own cache lines. */
  readonly framesAt: readonly number[];
  readonly bytes: number;
}

/** `frameBytes`: each rule's frame size (none: the rules keep their frames in their regions' fronts). */
export function batchLayout(rules: number, entries: number, alarms: number, frameBytes: readonly number[] = []): BatchLayout {
  const recordsAt = 16;
  const entriesAt = recordsAt + rules * recordBytes;
  const reportedAt = entriesAt + entries * entryBytes;
  const eventsAt = Math.ceil((reportedAt + alarms) / 16) * 16;
  let at = Math.ceil((eventsAt + entries * eventBytes) / 64) * 64;
  const framesAt = frameBytes.map((bytes) => {
    const frame = at;
    at += Math.ceil(bytes / 64) * 64;
    return frame;
  });
  return { rules, entries, alarms, eventCountAt: 0, recordsAt, entriesAt, reportedAt, eventsAt, framesAt, bytes: at };
}


/** The module for a layout at `base` in the arena: run(from i32, tick f64) steps rules from..count-1. */
export function batchModuleBytes(layout: BatchLayout, base: number): Uint8Array {
  const { rules } = layout;
  assert(Number.isInteger(rules) && rules >= 1 && rules <= 1 << 20, 'a batch holds 1 to 2^20 rules');
  const records = base + layout.recordsAt;
  const eventCount = base + layout.eventCountAt;
  const events = base + layout.eventsAt;
  const reported = base + layout.reportedAt;
  // params: 0 from, 1 tick; i32 locals: 2 k, 3 fuel, 4 result, 5 record, 6 used, 7 entry, 8 end, 9 slot, 10 code, 11 at, 12 quality/active
  const [from, tick, k, fuel, result, record, used, entry, last, slot, code, at, flag] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
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
    ...get(entry), ...load32(8), ...const32(reported), ...add, ...tee(at), ...load8(), ...ne, ...ifVoid,
    ...get(at), ...get(flag), ...store8(),
    ...get(flag), ...const32(2), ...shl, ...const32(emitKind.alarm), ...or, ...set(code),
    ...end,
    ...end,
    ...end,
  ];
  const append = [
    ...get(code), ...const32(0), ...ltS, ...eqz, ...ifVoid,
    ...const32(eventCount), ...load32(), ...tee(at), ...const32(4), ...shl, ...const32(events), ...add, ...tee(at), // at = events + n * 16
    ...get(slot), ...loadF64(0), ...canonicalNaN, ...get(slot), ...loadF64(0), ...get(slot), ...loadF64(0), ...f64Eq, ...select, ...storeF64(0),
    ...get(at), ...get(code), ...get(k), ...const32(4), ...shl, ...or, ...store32(8),
    ...get(at), ...get(entry), ...load32(8), ...store32(12),
    ...const32(eventCount), ...const32(eventCount), ...load32(), ...const32(1), ...add, ...store32(),
    ...end,
  ];
  const walk = [
    ...get(record), ...load32(24), ...set(entry),
    ...get(record), ...load32(28), ...set(last),
    ...block, ...loop,
    ...get(entry), ...get(last), ...geU, ...brIf(1),
    ...entryCode,
    ...append,
    ...get(entry), ...const32(entryBytes), ...add, ...set(entry),
    ...br(0),
    ...end, ...end,
  ];
  const body = [
    1, 11, i32,
    ...get(from), ...set(k),
    ...block, ...loop,
    ...get(k), ...const32(rules), ...geU, ...brIf(1), // if (k >= count) break
    ...get(k), 0x24, 0x00, // current = k
    ...get(k), ...const32(5), ...shl, ...const32(records), ...add, ...tee(record), // record = records + k * 32
    ...load32(0), ...tee(fuel), // fuel = record.budget
    ...ifVoid,
    ...get(fuel), ...get(tick), ...get(record), ...load32(12), ...get(k), 0x11, 0x00, 0x00, ...set(result), // result = table[k](fuel, tick, record.frame)
    ...get(record), ...get(result), ...store32(4),
    ...get(record), ...get(record), ...loadF64(16), 0x44, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0xa0, ...storeF64(16), // record.ticks += 1
    ...get(fuel), ...get(result), ...get(result), ...const32(31), ...shrS, ...xor, ...sub, ...tee(used), // used = fuel - (result ^ (result >> 31))
    ...get(record), ...load32(8), ...gtS, ...ifVoid, ...get(record), ...get(used), ...store32(8), ...end, // record.usedMax = max
    ...get(result), ...const32(0), ...ltS, ...ifVoid, ...walk, ...end, // events: append them
    ...end,
    ...get(k), ...const32(1), ...add, ...set(k), ...br(0), // k++; continue
    ...end, ...end, ...end,
  ];
  const memoryImport = [...encodeName('millwright'), ...encodeName('memory'), 0x02, 0x00, 0x00];
  return concatBytes([
    Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]),
    encodeSection(1, [2, 0x60, 3, i32, f64, i32, 1, i32, 0x60, 2, i32, f64, 0]),
    encodeSection(2, [1, ...memoryImport]),
    encodeSection(3, [1, 1]),
    encodeSection(4, [1, 0x70, 0x01, ...encodeU32(rules), ...encodeU32(rules)]),
    encodeSection(6, [1, i32, 1, 0x41, 0x00, 0x0b]),
    encodeSection(7, [3, ...encodeName('run'), 0x00, 0x00, ...encodeName('table'), 0x01, 0x00, ...encodeName('current'), 0x03, 0x00]),
    encodeSection(10, [1, ...encodeU32(body.length), ...body]),
  ]);
}

export class RuleBatch {
  readonly run: (from: number, tick: number) => void;
  readonly layout: BatchLayout;
  /** The host area in the arena (released with the host). */
  readonly area: RuleRegion;
  readonly #arena: RuleArena;
  readonly #table: WasmTable;
  readonly #current: WasmGlobal;
  /** Byte addresses in the arena. */
  readonly #records: number;
  readonly #entries: number;
  readonly #reported: number;
  readonly #eventCount: number;
  readonly #events: number;

  /** A batch of `rules` rules with `entries` emit entries in all, `alarms` of them alarms, and a table of the rules' frames (of `frameBytes` each), in a host area of `arena`. */
  constructor(arena: RuleArena, rules: number, entries: number, alarms: number, frameBytes: readonly number[] = []) {
    const layout = batchLayout(rules, entries, alarms, frameBytes);
    this.layout = layout;
    this.#arena = arena;
    this.area = arena.allocate(Math.ceil(layout.bytes / pageBytes));
    const base = this.area.base;
    // 8-byte alignment for the f64 fields (a region's base is a multiple of 64)
    assert(base % 8 === 0, 'the batch area is 8-byte aligned');
    const { exports } = new webAssembly.Instance(new webAssembly.Module(batchModuleBytes(layout, base)), { millwright: { memory: arena.memory } });
    this.run = exports['run'] as (from: number, tick: number) => void;
    this.#table = exports['table'] as WasmTable;
    this.#current = exports['current'] as WasmGlobal;
    this.#records = base + layout.recordsAt;
    this.#entries = base + layout.entriesAt;
    this.#reported = base + layout.reportedAt;
    this.#eventCount = base + layout.eventCountAt;
    this.#events = base + layout.eventsAt;
  }

  /** Where rule `index`'s frame lives in the batch's table of frames (byte address in the arena). */
  frame(index: number): number {
    const at = this.layout.framesAt[index];
    assert(at !== undefined, 'the batch holds a frame for every rule');
    return this.area.base + at;
  }

  /** Points rule `index` at its module's mw_step and its frame (at start and after every restart). */
  bind(index: number, step: StepFunction, frame: number): void {
    this.#table.set(index, step);
    this.#arena.i32[(this.#records + index * recordBytes) / 4 + 3] = frame;
  }

  /** The emit entries of rule `index` are entries first..end-1 (set once, at construction). */
  setEntries(index: number, first: number, end: number): void {
    const at = (this.#records + index * recordBytes) / 4;
    this.#arena.i32[at + 6] = this.#entries + first * entryBytes;
    this.#arena.i32[at + 7] = this.#entries + end * entryBytes;
  }

  /** Emit entry `entry`: an output, point or alarm slot (byte address in the arena) and its index in the host's tables. */
  setEntry(entry: number, kind: number, slot: number, index: number): void {
    const at = (this.#entries + entry * entryBytes) / 4;
    const words = this.#arena.i32;
    words[at] = kind;
    words[at + 1] = slot;
    words[at + 2] = index;
  }

  /** The state of alarm `alarm` the host has reported (1 active), which the batch compares each event tick. */
  reported(alarm: number): number {
    return this.#arena.u8[this.#reported + alarm]!;
  }

  setReported(alarm: number, active: number): void {
    this.#arena.u8[this.#reported + alarm] = active;
  }

  /** The fuel rule `index` runs on from now on; 0 skips it (quarantined, or down after a fault). */
  setBudget(index: number, fuel: number): void {
    this.#arena.i32[(this.#records + index * recordBytes) / 4] = fuel;
  }

  budget(index: number): number {
    return this.#arena.i32[(this.#records + index * recordBytes) / 4]!;
  }

  /** What rule `index`'s mw_step returned in its last tick. */
  result(index: number): number {
    return this.#arena.i32[(this.#records + index * recordBytes) / 4 + 1]!;
  }

  fuelUsedMax(index: number): number {
    return this.#arena.i32[(this.#records + index * recordBytes) / 4 + 2]!;
  }

  ticks(index: number): number {
    return this.#arena.f64[(this.#records + index * recordBytes) / 8 + 2]!;
  }

  /** Empties the events list (before a tick's first run). */
  clearEvents(): void {
    this.#arena.i32[this.#eventCount / 4] = 0;
  }

  get eventCount(): number {
    return this.#arena.i32[this.#eventCount / 4]!;
  }

  /** Index in the arena's f64 view of the first event's value; an event is two f64s (the value, then code and index as i32s). */
  get eventsF64(): number {
    return this.#events / 8;
  }

  /** The rule that was running when run() threw. */
  get current(): number {
    return this.#current.value as number;
  }
}

/** An event's parts, from its code word (written by the module above). */
export function eventKind(code: number): number {
  return code & 3;
}

/** A point's quality, or an alarm's new state (1 active). */
export function eventAux(code: number): number {
  return (code >> 2) & 3;
}

export function eventRule(code: number): number {
  return code >>> 4;
}
