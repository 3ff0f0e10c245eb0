// One linear memory for all the rules of a gateway, each rule confined to its own region by
// software fault isolation (ADR 0010). A rule module's own memory is replaced at load by this
// shared one (common/rule-sandbox.ts): every load and store address is masked to the rule's
// power-of-two region and offset by the region's base, bulk copies and fills are checked against
// the region, and memory.size and memory.grow are emulated per rule. A region is followed by one
// guard page that belongs to it, so a small static offset on a masked address stays inside the
// rule's own pages. Regions do not start on page boundaries: each is shifted by a different
// multiple of 64 bytes within its first page ("cache colouring"), because every rule keeps its hot
// state at the same offsets of its region, and at 64 KiB-aligned bases those addresses all fall
// into the same few cache sets and evict one another. Why one memory: 200 rules in 200 memories put each rule's state in its own
// ~10 GB reservation, and the step paid a TLB and page-walk miss per rule (docs/performance.md,
// "Rules"); in one memory the rules' state, the host's input copies and its output reads are
// close together. Regions are allocated between ticks (at load, at a swap), zeroed before reuse,
// and never moved, so a rule carried across a swap keeps its instance and its state.
import { MillwrightError } from './errors.ts';
import { ruleErrors } from './rule-errors.ts';
import { webAssembly, type WasmMemory } from './rule-webassembly.ts';

export const pageBytes = 65_536;
/**
 * Bytes before each region's base that belong to the region but that no access of its rule can
 * reach (a rule's addresses are its base plus a masked address plus a static offset): the host
 * keeps the rule's frame there (its page count, its header's address, its mutable globals).
 */
export const regionFrontBytes = 16_384;
/** A wasm32 memory holds at most 65,536 pages (4 GiB). */
const arenaPagesMax = 65_536;

/** The power-of-two region a rule whose memory may grow to `memoryPagesMax` pages runs in, in bytes. */
export function regionBytes(memoryPagesMax: number): number {
  let bytes = pageBytes;
  while (bytes < memoryPagesMax * pageBytes) bytes *= 2;
  return bytes;
}

export interface RuleRegion {
  readonly arena: RuleArena;
  /** Byte address of the region's first byte in the arena; the regionFrontBytes before it are the region's too, out of its rule's reach. */
  readonly base: number;
  /** The region's size in bytes (a power of two); its guard page follows it. */
  readonly bytes: number;
}

interface Range {
  start: number;
  pages: number;
}

export class RuleArena {
  readonly memory: WasmMemory;
  f64: Float64Array;
  u8: Uint8Array;
  u32: Uint32Array;
  i32: Int32Array;
  /** Free page ranges, ascending and coalesced. */
  readonly #free: Range[] = [];
  /** The page range each live region occupies (its colour offset, the region, its guard page). */
  readonly #live = new WeakMap<RuleRegion, Range>();
  #allocations = 0;
  #pages: number;
  #used = 0;
  /** Pages below this were handed out at least once (and may hold data). */
  #highWater = 0;

  constructor(initialPages = 0) {
    this.memory = new webAssembly.Memory({ initial: initialPages, maximum: arenaPagesMax });
    this.#pages = initialPages;
    if (initialPages > 0) this.#free.push({ start: 0, pages: initialPages });
    this.f64 = new Float64Array(this.memory.buffer);
    this.u8 = new Uint8Array(this.memory.buffer);
    this.u32 = new Uint32Array(this.memory.buffer);
    this.i32 = new Int32Array(this.memory.buffer);
  }

  /** An arena holding exactly one region, for tools and tests that run a rule on its own. */
  static single(memoryPagesMax: number): RuleRegion {
    return new RuleArena(regionBytes(memoryPagesMax) / pageBytes + 2).allocate(memoryPagesMax);
  }

  /** Pages in the arena, and pages held by regions (with their guard and colour pages). */
  get pages(): number {
    return this.#pages;
  }

  get usedPages(): number {
    return this.#used;
  }

  /** A zeroed region for a rule whose memory may grow to `memoryPagesMax` pages. Throws RULE_MEMORY_REFUSED when the arena is full. */
  allocate(memoryPagesMax: number): RuleRegion {
    const bytes = regionBytes(memoryPagesMax);
    const pages = bytes / pageBytes + 2;
    let index = this.#free.findIndex((range) => range.pages >= pages);
    if (index === -1) {
      const last = this.#free[this.#free.length - 1];
      const tail = last !== undefined && last.start + last.pages === this.#pages ? last.pages : 0;
      // grow by at least half again the arena (not one region at a time: each growth renews every view)
      const needed = pages - tail;
      const grow = Math.min(Math.max(needed, this.#pages >> 1, 64), arenaPagesMax - this.#pages);
      if (grow < needed) {
        throw new MillwrightError(ruleErrors.memoryRefused, `the rules need more than the ${arenaPagesMax} pages (4 GiB) one gateway's rule memory can hold: lower memory limits or fewer rules`, { pages: this.#pages, wanted: pages });
      }
      this.memory.grow(grow);
      if (tail === 0) this.#free.push({ start: this.#pages, pages: grow });
      else last!.pages += grow;
      this.#pages += grow;
      this.#renew();
      index = this.#free.length - 1;
    }
    const range = this.#free[index]!;
    const start = range.start;
    range.start += pages;
    range.pages -= pages;
    if (range.pages === 0) this.#free.splice(index, 1);
    this.#used += pages;
    // 65 cache lines apart from one allocation to the next: 768 colours before one repeats
    const colour = (this.#allocations++ * 4160) % (pageBytes - regionFrontBytes);
    const region: RuleRegion = { arena: this, base: start * pageBytes + regionFrontBytes + colour, bytes };
    this.#live.set(region, { start, pages });
    // Pages the arena never handed out are zero, and untouched they cost no memory; a reused range held another rule's data.
    if (start < this.#highWater) this.clear(region);
    this.#highWater = Math.max(this.#highWater, start + pages);
    return region;
  }

  /** Zeroes a region and its guard page (before a restarted instance takes it, like a fresh memory; this makes its pages resident). */
  clear(region: RuleRegion): void {
    const range = this.#live.get(region);
    if (range !== undefined) this.u8.fill(0, range.start * pageBytes, (range.start + range.pages) * pageBytes);
  }

  /** Gives a region back (once; again is a no-op); its rule must not run again. */
  release(region: RuleRegion): void {
    const range = this.#live.get(region);
    if (range === undefined) return;
    this.#live.delete(region);
    const { start, pages } = range;
    let index = this.#free.findIndex((range) => range.start > start);
    if (index === -1) index = this.#free.length;
    this.#free.splice(index, 0, { start, pages });
    this.#used -= pages;
    // coalesce with the neighbours
    const next = this.#free[index + 1];
    if (next !== undefined && start + pages === next.start) {
      this.#free[index]!.pages += next.pages;
      this.#free.splice(index + 1, 1);
    }
    const previous = this.#free[index - 1];
    if (previous !== undefined && previous.start + previous.pages === start) {
      previous.pages += this.#free[index]!.pages;
      this.#free.splice(index, 1);
    }
  }

  #renew(): void {
    this.f64 = new Float64Array(this.memory.buffer);
    this.u8 = new Uint8Array(this.memory.buffer);
    this.u32 = new Uint32Array(this.memory.buffer);
    this.i32 = new Int32Array(this.memory.buffer);
  }
}
