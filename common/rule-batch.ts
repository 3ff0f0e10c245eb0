// The gateway's batch entry into its rules: a small generated WebAssembly module that steps every
// rule in one call from JavaScript, because a call from JavaScript into WebAssembly, and the host
// code around it, cost more per rule than a call between two modules (docs/performance.md,
// "Rules"). Each rule keeps its own instance, memory and fuel: the batch module holds only the
// rules' mw_step functions in a table and, in its own memory, a record per rule (the fuel budget,
// 0 to skip the rule; the step's result; the most fuel used in a tick; ticks run) and the list of
// rules that reported events in this tick, so the host visits only those. A rule that traps
// unwinds the whole call; `current` names the rule that was running, and the host resumes the
// batch at the next rule, so every other rule still runs in the same tick, in the same order.
import { assert } from './assert.ts';
import { concatBytes, encodeName, encodeS32, encodeSection, encodeU32 } from './rule-wasm.ts';
import { webAssembly, type WasmGlobal, type WasmMemory, type WasmTable } from './rule-webassembly.ts';

const i32 = 0x7f;
const f64 = 0x7c;
/** Bytes of a rule's record: +0 i32 budget, +4 i32 result, +8 i32 most fuel used, +16 f64 ticks run. */
const recordBytes = 32;
/** The events list starts here; the i32 at 0 counts its entries. */
const listOffset = 16;

export function recordsOffset(count: number): number {
  return Math.ceil((listOffset + count * 4) / 32) * 32;
}

/** The module for `count` rules: run(from i32, tick f64) steps rules from..count-1. */
export function batchModuleBytes(count: number): Uint8Array {
  assert(Number.isInteger(count) && count >= 1 && count <= 1 << 20, 'a batch holds 1 to 2^20 rules');
  const records = recordsOffset(count);
  const pages = Math.ceil((records + count * recordBytes) / 65_536);
  // params: 0 from, 1 tick; locals: 2 k, 3 fuel, 4 result, 5 record, 6 used
  const body = [
    0x01, 0x05, i32,
    0x20, 0x00, 0x21, 0x02,
    0x02, 0x40, 0x03, 0x40,
    0x20, 0x02, 0x41, ...encodeS32(count), 0x4f, 0x0d, 0x01, // if (k >= count) break
    0x20, 0x02, 0x24, 0x00, // current = k
    0x20, 0x02, 0x41, 0x05, 0x74, 0x41, ...encodeS32(records), 0x6a, 0x22, 0x05, // record = records + k * 32
    0x28, 0x02, 0x00, 0x22, 0x03, // fuel = record.budget
    0x04, 0x40,
    0x20, 0x03, 0x20, 0x01, 0x20, 0x02, 0x11, 0x00, 0x00, 0x21, 0x04, // result = table[k](fuel, tick)
    0x20, 0x05, 0x20, 0x04, 0x36, 0x02, 0x04, // record.result = result
    0x20, 0x05, 0x20, 0x05, 0x2b, 0x03, 0x10, 0x44, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0xa0, 0x39, 0x03, 0x10, // record.ticks += 1
    0x20, 0x03, 0x20, 0x04, 0x20, 0x04, 0x41, 0x1f, 0x75, 0x73, 0x6b, 0x22, 0x06, // used = fuel - (result ^ (result >> 31))
    0x20, 0x05, 0x28, 0x02, 0x08, 0x4a, 0x04, 0x40, 0x20, 0x05, 0x20, 0x06, 0x36, 0x02, 0x08, 0x0b, // record.usedMax = max
    0x20, 0x04, 0x41, 0x00, 0x48, 0x04, 0x40, // if (result < 0): list[count++] = k
    0x41, 0x00, 0x28, 0x02, 0x00, 0x41, 0x02, 0x74, 0x20, 0x02, 0x36, 0x02, ...encodeU32(listOffset),
    0x41, 0x00, 0x41, 0x00, 0x28, 0x02, 0x00, 0x41, 0x01, 0x6a, 0x36, 0x02, 0x00,
    0x0b,
    0x0b,
    0x20, 0x02, 0x41, 0x01, 0x6a, 0x21, 0x02, 0x0c, 0x00, // k++; continue
    0x0b, 0x0b, 0x0b,
  ];
  return concatBytes([
    Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]),
    encodeSection(1, [2, 0x60, 2, i32, f64, 1, i32, 0x60, 2, i32, f64, 0]),
    encodeSection(3, [1, 1]),
    encodeSection(4, [1, 0x70, 0x01, ...encodeU32(count), ...encodeU32(count)]),
    encodeSection(5, [1, 0x01, ...encodeU32(pages), ...encodeU32(pages)]),
    encodeSection(6, [1, i32, 1, 0x41, 0x00, 0x0b]),
    encodeSection(7, [4, ...encodeName('run'), 0x00, 0x00, ...encodeName('table'), 0x01, 0x00, ...encodeName('memory'), 0x02, 0x00, ...encodeName('current'), 0x03, 0x00]),
    encodeSection(10, [1, ...encodeU32(body.length), ...body]),
  ]);
}

export class RuleBatch {
  readonly run: (from: number, tick: number) => void;
  readonly #table: WasmTable;
  readonly #current: WasmGlobal;
  readonly #i32: Int32Array;
  readonly #f64: Float64Array;
  readonly #records: number;

  constructor(readonly count: number) {
    const { exports } = new webAssembly.Instance(new webAssembly.Module(batchModuleBytes(count)), {});
    this.run = exports['run'] as (from: number, tick: number) => void;
    this.#table = exports['table'] as WasmTable;
    this.#current = exports['current'] as WasmGlobal;
    const buffer = (exports['memory'] as WasmMemory).buffer;
    this.#i32 = new Int32Array(buffer);
    this.#f64 = new Float64Array(buffer);
    this.#records = recordsOffset(count);
  }

  /** Points rule `index` at an instance's mw_step (at start and after every restart). */
  bind(index: number, step: (fuel: number, tick: number) => number): void {
    this.#table.set(index, step);
  }

  /** The fuel rule `index` runs on from now on; 0 skips it (quarantined, or down after a fault). */
  setBudget(index: number, fuel: number): void {
    this.#i32[(this.#records + index * recordBytes) / 4] = fuel;
  }

  budget(index: number): number {
    return this.#i32[(this.#records + index * recordBytes) / 4]!;
  }

  /** What rule `index`'s mw_step returned in its last tick. */
  result(index: number): number {
    return this.#i32[(this.#records + index * recordBytes) / 4 + 1]!;
  }

  fuelUsedMax(index: number): number {
    return this.#i32[(this.#records + index * recordBytes) / 4 + 2]!;
  }

  ticks(index: number): number {
    return this.#f64[(this.#records + index * recordBytes) / 8 + 2]!;
  }

  /** Empties the events list (before a tick's first run). */
  clearEvents(): void {
    this.#i32[0] = 0;
  }

  get eventCount(): number {
    return this.#i32[0]!;
  }

  /** The `at`-th rule that reported events in this tick (in rule order). */
  eventRule(at: number): number {
    return this.#i32[listOffset / 4 + at]!;
  }

  /** The rule that was running when run() threw. */
  get current(): number {
    return this.#current.value as number;
  }
}
