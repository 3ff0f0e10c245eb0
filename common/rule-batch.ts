// The gateway's batch entry into its rules: a small generated WebAssembly module that steps every
// rule in one call from JavaScript, because a call from JavaScript into WebAssembly, and the host
// code around it, cost more per rule than a call between two modules (docs/performance.md,
// "Rules"). It imports the gateway's rule memory (common/rule-arena.ts) and keeps its data in a
// host area of it, apart from every rule's region: the area's header (common/rule-run-loop.ts,
// areaLayout), a record per rule (the fuel budget, 0 to skip the rule; the step's result; the most
// fuel used in a tick; the rule's frame; ticks run; the range of its emit entries), the end of the
// run of rules each rule belongs to, an emit entry per output, point and alarm (its kind, its
// slot's address, its index in the host's tables), the alarm states the host has reported, the
// tick's events, and the rules' frames (common/rule-sandbox.ts), in rule order.
//
// The module itself mostly dispatches: consecutive rules built from one module run in that module's
// one instance, and the batch hands each such run to that instance's `mw_run`
// (common/rule-run-loop.ts), which steps the rules, calling each tick directly, and appends their
// events; a rule alone in its run is stepped by the batch's own copy of that loop, through the
// rule's `mw_step`. The host then walks one flat list of events instead of every slot of every rule that had
// one: table walks in JavaScript cost a map, bounds and detach check per typed-array access. A
// rule that traps unwinds the whole call; `current` names the rule that was running, the events
// already appended stay, and the host resumes the batch at the next rule, so every other rule
// still runs in the same tick, in the same order, and the events stay in rule order.
import { assert } from './assert.ts';
import { pageBytes, type RuleArena, type RuleRegion } from './rule-arena.ts';
import type { RunFunction, StepFunction } from './rule-instance.ts';
import { areaLayout, emitKind, entryBytes, eventBytes, recordLayout, runLoopBody } from './rule-run-loop.ts';
import { add, block, br, brIf, const32, elseOp, end, eq, geU, get, ifVoid, load32, loop, set, shl, sub } from './rule-wasm-ops.ts';
import { concatBytes, encodeName, encodeSection, encodeU32 } from './rule-wasm.ts';
import { webAssembly, type WasmTable } from './rule-webassembly.ts';

export { emitKind };

const i32 = 0x7f;
const f64 = 0x7c;
const recordBytes = recordLayout.bytes;

/** Where the batch's data lies in its host area (byte offsets from the area's base). */
export interface BatchLayout {
  readonly rules: number;
  readonly entries: number;
  readonly alarms: number;
  readonly recordsAt: number;
  /** i32 per rule: the end (exclusive) of the run of consecutive rules of one module it belongs to. */
  readonly runEndsAt: number;
  readonly entriesAt: number;
  readonly reportedAt: number;
  readonly eventsAt: number;
  /** Each rule's frame (its mutable globals, page count, header and base: common/rule-sandbox.ts), in rule order, each on its own cache lines. */
  readonly framesAt: readonly number[];
  readonly bytes: number;
}

/** `frameBytes`: each rule's frame size (none: the rules keep their frames in their regions' fronts). */
export function batchLayout(rules: number, entries: number, alarms: number, frameBytes: readonly number[] = []): BatchLayout {
  const recordsAt = areaLayout.records;
  const runEndsAt = recordsAt + rules * recordBytes;
  const entriesAt = runEndsAt + rules * 4;
  const reportedAt = entriesAt + entries * entryBytes;
  const eventsAt = Math.ceil((reportedAt + alarms) / 16) * 16;
  let at = Math.ceil((eventsAt + entries * eventBytes) / 64) * 64;
  const framesAt = frameBytes.map((bytes) => {
    const frame = at;
    at += Math.ceil(bytes / 64) * 64;
    return frame;
  });
  return { rules, entries, alarms, recordsAt, runEndsAt, entriesAt, reportedAt, eventsAt, framesAt, bytes: at };
}

/**
 * The module for a layout at `base` in the arena: run(from i32, tick f64) steps rules from..count-1.
 * A run of consecutive rules of one module goes to that module's mw_run (table `runs`) in one call;
 * a rule alone in its run is stepped by the batch's own copy of the same loop, which calls the
 * rule's mw_step (table `steps`), so a rule with code of its own executes no loop code of its own
 * (with many such rules, every module's own loop would be more code than the instruction cache holds).
 */
export function batchModuleBytes(layout: BatchLayout, base: number): Uint8Array {
  const { rules } = layout;
  assert(Number.isInteger(rules) && rules >= 1 && rules <= 1 << 20, 'a batch holds 1 to 2^20 rules');
  const runEnds = base + layout.runEndsAt;
  // types: 0 (area, from, to, tick) the loops, 1 (from, tick) run, 2 mw_step (fuel, tick, frame) -> result
  const [loopType, runType, stepType] = [0, 1, 2];
  const [stepsTable, runsTable] = [0, 1];
  const runOne = 1;
  // params: 0 from, 1 tick; i32 locals: 2 k, 3 end of k's run
  const [from, tick, k, last] = [0, 1, 2, 3];
  const body = [
    1, 2, i32,
    ...get(from), ...set(k),
    ...block, ...loop,
    ...get(k), ...const32(rules), ...geU, ...brIf(1), // if (k >= count) break
    ...get(k), ...const32(2), ...shl, ...const32(runEnds), ...add, ...load32(), ...set(last),
    ...get(last), ...get(k), ...sub, ...const32(1), ...eq,
    ...ifVoid, ...const32(base), ...get(k), ...get(last), ...get(tick), 0x10, runOne, // a rule alone: the batch's loop
    ...elseOp, ...const32(base), ...get(k), ...get(last), ...get(tick), ...get(k), 0x11, loopType, runsTable, // a run: its module's mw_run
    ...end,
    ...get(last), ...set(k), ...br(0),
    ...end, ...end, ...end,
  ];
  const one = runLoopBody({ table: stepsTable, type: stepType });
  const memoryImport = [...encodeName('millwright'), ...encodeName('memory'), 0x02, 0x00, 0x00];
  const table = [0x70, 0x01, ...encodeU32(rules), ...encodeU32(rules)];
  return concatBytes([
    Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]),
    encodeSection(1, [3, 0x60, 4, i32, i32, i32, f64, 0, 0x60, 2, i32, f64, 0, 0x60, 3, i32, f64, i32, 1, i32]),
    encodeSection(2, [1, ...memoryImport]),
    encodeSection(3, [2, runType, loopType]),
    encodeSection(4, [2, ...table, ...table]),
    encodeSection(7, [3, ...encodeName('run'), 0x00, 0x00, ...encodeName('steps'), 0x01, stepsTable, ...encodeName('runs'), 0x01, runsTable]),
    encodeSection(10, [2, ...encodeU32(body.length), ...body, ...encodeU32(one.length), ...one]),
  ]);
}

export class RuleBatch {
  readonly layout: BatchLayout;
  /** The host area in the arena (released with the host). */
  readonly area: RuleRegion;
  readonly #arena: RuleArena;
  readonly #run: (from: number, tick: number) => void;
  readonly #steps: WasmTable;
  readonly #runsTable: WasmTable;
  /** By rule: the mw_run it is bound to (runs of the same one are dispatched together). */
  readonly #runs: (RunFunction | undefined)[];
  #runsChanged = true;
  /** Byte addresses in the arena. */
  readonly #records: number;
  readonly #runEnds: number;
  readonly #entries: number;
  readonly #reported: number;
  readonly #eventCount: number;
  readonly #events: number;
  readonly #current: number;

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
    this.#run = exports['run'] as (from: number, tick: number) => void;
    this.#steps = exports['steps'] as WasmTable;
    this.#runsTable = exports['runs'] as WasmTable;
    this.#runs = new Array<RunFunction | undefined>(rules).fill(undefined);
    this.#records = base + layout.recordsAt;
    this.#runEnds = base + layout.runEndsAt;
    this.#entries = base + layout.entriesAt;
    this.#reported = base + layout.reportedAt;
    this.#eventCount = base + areaLayout.eventCount;
    this.#events = base + layout.eventsAt;
    this.#current = base + areaLayout.current;
    arena.i32[(base + areaLayout.events) / 4] = this.#events;
    arena.i32[(base + areaLayout.reported) / 4] = this.#reported;
  }

  /** Steps rules from..count-1 in the tick `tick` (every rule must be bound); throws what a rule threw (see current). */
  run(from: number, tick: number): void {
    if (this.#runsChanged) this.#markRuns();
    this.#run(from, tick);
  }

  /** Each rule's run: up to the next rule bound to another mw_run (another module's instance). */
  #markRuns(): void {
    const runs = this.#runs;
    const words = this.#arena.i32;
    let end = runs.length;
    for (let index = runs.length - 1; index >= 0; index--) {
      assert(runs[index] !== undefined, 'every rule of the batch is bound before it runs');
      if (index + 1 < runs.length && runs[index] !== runs[index + 1]) end = index + 1;
      words[this.#runEnds / 4 + index] = end;
    }
    this.#runsChanged = false;
  }

  /** Where rule `index`'s frame lives in the batch's table of frames (byte address in the arena). */
  frame(index: number): number {
    const at = this.layout.framesAt[index];
    assert(at !== undefined, 'the batch holds a frame for every rule');
    return this.area.base + at;
  }

  /** Points rule `index` at its module's mw_run and mw_step and its frame (at start and after every restart). */
  bind(index: number, run: RunFunction, step: StepFunction, frame: number): void {
    if (this.#runs[index] !== run) {
      this.#runsTable.set(index, run);
      this.#steps.set(index, step);
      this.#runs[index] = run;
      this.#runsChanged = true;
    }
    this.#arena.i32[(this.#records + index * recordBytes + recordLayout.frame) / 4] = frame;
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
    return this.#arena.i32[this.#current / 4]!;
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
