// The tick's changed samples into the input slots of the rules that read them, in WebAssembly. The
// host stages each changed tag's value, and its tag and quality in one word, in a host area of the
// gateway's rule memory (common/rule-arena.ts), one sequential pass; this small generated module
// then scatters them: the tick each tag last changed, and into each reader's slot the value (NaN
// canonicalised), the tick and the quality. A loop of typed-array accesses in JavaScript pays a
// map, bounds and detach check on each (docs/performance.md, "Rules"); staging takes two stores
// a sample instead of a dozen checked accesses. Every address it follows is one the host wrote.
import { assert } from './assert.ts';
import { pageBytes, type RuleArena, type RuleRegion } from './rule-arena.ts';
import { slotLayout } from './rule-abi.ts';
import { concatBytes, encodeName, encodeSection, encodeU32 } from './rule-wasm.ts';
import { add, block, br, brIf, canonical, const32, end, geU, get, load32, loadF64, loop, set, shl, shrU, store8, storeF64, tee, and } from './rule-wasm-ops.ts';
import { webAssembly } from './rule-webassembly.ts';

const qualityShift = 24;
/** Tags are staged with their quality in one word (stagedWord), so a tag must fit below the quality. */
export const stagedTagsMax = 1 << qualityShift;

/** A staged sample's word: its tag and, above it, its quality. */
export function stagedWord(tag: number, quality: number): number {
  return tag | (quality << qualityShift);
}
/** Bytes of a staged sample: +0 f64 value, +8 i32 stagedWord(tag, quality). */
const stagedBytes = 16;

/** Where the scatter's tables lie in its host area (byte offsets from the area's base). */
export interface ScatterLayout {
  readonly tags: number;
  readonly inputs: number;
  /** i32 per tag and one more: the first index in `readers` of the tag's readers. */
  readonly readerStartAt: number;
  /** i32 per input: the byte address of its slot's value in the arena. */
  readonly readersAt: number;
  /** f64 per tag: the tick its last sample came in (-1: none). */
  readonly changedTickAt: number;
  readonly stageAt: number;
  readonly bytes: number;
}

export function scatterLayout(tags: number, inputs: number): ScatterLayout {
  const readerStartAt = 0;
  const readersAt = readerStartAt + (tags + 1) * 4;
  const changedTickAt = Math.ceil((readersAt + inputs * 4) / 8) * 8;
  const stageAt = Math.ceil((changedTickAt + tags * 8) / 16) * 16;
  return { tags, inputs, readerStartAt, readersAt, changedTickAt, stageAt, bytes: stageAt + tags * stagedBytes };
}

/** The module for a layout at `base` in the arena: copy(count i32, tick f64) scatters the first `count` staged samples. */
export function scatterModuleBytes(layout: ScatterLayout, base: number): Uint8Array {
  const readerStart = base + layout.readerStartAt;
  const readers = base + layout.readersAt;
  const changedTick = base + layout.changedTickAt;
  const stage = base + layout.stageAt;
  const { input } = slotLayout;
  // params: 0 count, 1 tick; i32 locals: 2 staged, 3 last, 4 code, 5 tag, 6 reader, 7 readersEnd, 8 slot; f64 local: 9 value
  const [count, tick, staged, last, code, tag, reader, readersEnd, slot, value] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const body = [
    2, 7, 0x7f, 1, 0x7c,
    ...const32(stage), ...set(staged),
    ...get(count), ...const32(4), ...shl, ...const32(stage), ...add, ...set(last),
    ...block, ...loop,
    ...get(staged), ...get(last), ...geU, ...brIf(1),
    ...get(staged), ...loadF64(0), ...set(value), ...canonical(value), ...set(value),
    ...get(staged), ...load32(8), ...tee(code), ...const32(stagedTagsMax - 1), ...and, ...set(tag),
    ...get(tag), ...const32(3), ...shl, ...const32(changedTick), ...add, ...get(tick), ...storeF64(0), // changedTick[tag] = tick
    ...get(tag), ...const32(2), ...shl, ...const32(readerStart), ...add, ...tee(slot), ...load32(0), ...set(reader),
    ...get(slot), ...load32(4), ...set(readersEnd),
    ...block, ...loop,
    ...get(reader), ...get(readersEnd), ...geU, ...brIf(1),
    ...get(reader), ...const32(2), ...shl, ...const32(readers), ...add, ...load32(0), ...tee(slot), ...get(value), ...storeF64(input.value),
    ...get(slot), ...get(tick), ...storeF64(input.changedTick),
    ...get(slot), ...get(code), ...const32(qualityShift), ...shrU, ...store8(input.quality),
    ...get(reader), ...const32(1), ...add, ...set(reader), ...br(0),
    ...end, ...end,
    ...get(staged), ...const32(stagedBytes), ...add, ...set(staged), ...br(0),
    ...end, ...end,
    ...end,
  ];
  return concatBytes([
    Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]),
    encodeSection(1, [1, 0x60, 2, 0x7f, 0x7c, 0]),
    encodeSection(2, [1, ...encodeName('millwright'), ...encodeName('memory'), 0x02, 0x00, 0x00]),
    encodeSection(3, [1, 0]),
    encodeSection(7, [1, ...encodeName('copy'), 0x00, 0x00]),
    encodeSection(10, [1, ...encodeU32(body.length), ...body]),
  ]);
}

export class InputScatter {
  readonly layout: ScatterLayout;
  /** The host area in the arena (released with the host). */
  readonly area: RuleRegion;
  /** Scatters the first `count` staged samples of the tick `tick`. */
  readonly copy: (count: number, tick: number) => void;
  /** Indices in the arena's views: the first staged sample (f64; its word is at 2 × this + 2 in the i32 view), the changed ticks (f64), the readers (i32). */
  readonly stageF64: number;
  readonly changedTickF64: number;
  readonly readersI32: number;
  readonly #arena: RuleArena;

  /** For `tags` tags, of which the inputs read `inputTags` (one entry per input, any order). */
  constructor(arena: RuleArena, tags: number, inputTags: Int32Array) {
    assert(tags < stagedTagsMax, `the scatter stages at most ${stagedTagsMax - 1} tags`);
    const layout = scatterLayout(tags, inputTags.length);
    this.layout = layout;
    this.#arena = arena;
    this.area = arena.allocate(Math.ceil(layout.bytes / pageBytes));
    const base = this.area.base;
    const { exports } = new webAssembly.Instance(new webAssembly.Module(scatterModuleBytes(layout, base)), { millwright: { memory: arena.memory } });
    this.copy = exports['copy'] as (count: number, tick: number) => void;
    this.stageF64 = (base + layout.stageAt) / 8;
    this.changedTickF64 = (base + layout.changedTickAt) / 8;
    this.readersI32 = (base + layout.readersAt) / 4;
    arena.f64.fill(-1, this.changedTickF64, this.changedTickF64 + tags);
  }

  /** Groups the inputs by tag: returns each input's position in the readers list (set its slot with setReader). */
  group(inputTags: Int32Array): Int32Array<ArrayBuffer> {
    const { tags } = this.layout;
    const words = this.#arena.i32;
    const start = (this.area.base + this.layout.readerStartAt) / 4;
    const counts = new Int32Array(tags + 1);
    for (const tag of inputTags) if (tag < tags) counts[tag + 1]!++;
    for (let tag = 0; tag < tags; tag++) counts[tag + 1]! += counts[tag]!;
    words.set(counts, start);
    const next = counts.slice(0, tags);
    // an input of a tag beyond the scan's table never gets a sample: it has no place in the list
    return Int32Array.from(inputTags, (tag) => (tag < tags ? next[tag]!++ : -1));
  }

  /** The reader at `position` (from group) has its slot's value at f64 index `valueAt`. */
  setReader(position: number, valueAt: number): void {
    if (position >= 0) this.#arena.i32[this.readersI32 + position] = valueAt * 8;
  }

  /** The tick tag `tag`'s last sample came in, -1 before any. */
  changedTick(tag: number): number {
    return this.#arena.f64[this.changedTickF64 + tag]!;
  }

  setChangedTick(tag: number, tick: number): void {
    this.#arena.f64[this.changedTickF64 + tag] = tick;
  }
}
