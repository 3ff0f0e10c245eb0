// Fuel metering and memory isolation, written into a rule's function bodies at load time. Every
// function entry and every loop header is charged the instruction count of its straight-line
// region (nested loops excluded), so fuel counts work done, is the same on every machine, and a
// rule that loops forever traps inside its own tick. Memory accesses are confined to the rule's
// region of the gateway's shared rule memory (common/rule-arena.ts, ADR 0010): each load and
// store address is masked to the region's power-of-two size and offset by the region's base (a
// static offset above the guard page is folded into the address first), memory.copy and
// memory.fill become calls to checked helpers, and memory.size and memory.grow read and grow the
// rule's own page count. Every rule built from one module runs in one instance of it: the running
// rule's frame (host memory no access of the rule reaches) is a host global each function reads
// once, with the region's base from the frame, and the module's mutable globals are loads and
// stores in the frame, so each rule keeps its own. Tables
// are shared, so instructions that change them are refused. The instruction decoder accepts the
// features AssemblyScript emits (MVP, sign extension, saturating conversions, bulk memory,
// reference types) and refuses everything else (SIMD, threads, exceptions, tail calls, passive
// data): a module we cannot fully read is a module we do not run.
import { trapStatus } from './rule-abi.ts';
import { ByteReader, encodeS32, encodeU32, invalid, valueType } from './rule-wasm.ts';

export interface FuelGlobals {
  readonly fuel: number;
  readonly status: number;
}

/** A mutable global of the rule, kept in its frame: its value type and byte offset there. */
export interface FrameGlobal {
  readonly type: number;
  readonly offset: number;
}

/** What the isolation rewrite needs: the region mask, the frame, and the helpers' function indices. */
export interface Isolation {
  /** The region's size minus one (the region is a power of two). */
  readonly mask: number;
  /** The host global holding the running rule's frame address. */
  readonly frameGlobal: number;
  /** Where the rule's region's base lies in its frame. */
  readonly baseAt: number;
  /** Where the rule's page count lies in its frame. */
  readonly pagesAt: number;
  /** The rule's mutable globals, by global index: they live in its frame, not in the shared instance. */
  readonly frameGlobals: ReadonlyMap<number, FrameGlobal>;
  readonly growFunction: number;
  readonly copyFunction: number;
  readonly fillFunction: number;
}

/** Static offsets up to this stay on the instruction: the guard page after the region absorbs them. */
export const offsetKeptMax = 65_536 - 16;

/** Block types: void, one value type, or a type index. Negative (one-byte) forms other than those are refused, so typed references (0x63, 0x64 and their heap types), which a newer V8 reads as several bytes, can never desynchronise this decoder from the engine. */
const blockValueTypes = new Set([-64, -1, -2, -3, -4, -16, -17]);

function blockType(reader: ByteReader): void {
  const value = reader.signed(); // an s33
  if (value < 0 && !blockValueTypes.has(value)) throw invalid(`block type ${value} is not allowed (only void, i32, i64, f32, f64, funcref, externref or a type index)`);
}

const tableChange = (): Error => invalid("table.set, table.grow, table.fill, table.copy and table.init are not allowed (a rule's tables are fixed at load: every rule built from the same module runs in one instance and shares them)");

/** Reads past one instruction's immediates (the opcode is already read; memory and global instructions are read by instrumentBody). */
function immediates(reader: ByteReader, op: number): void {
  if (op >= 0x45 && op <= 0xc4) return; // numeric, no immediates
  switch (op) {
    case 0x00: case 0x01: case 0x05: case 0x0b: case 0x0f: case 0x1a: case 0x1b: case 0xd1:
      return;
    case 0x02: case 0x03: case 0x04:
      return blockType(reader);
    case 0x26:
      throw tableChange();
    case 0x0c: case 0x0d: case 0x10: case 0x20: case 0x21: case 0x22: case 0x25: case 0xd2:
      reader.u32();
      return;
    case 0x0e:
      for (let count = reader.u32() + 1; count > 0; count--) reader.u32();
      return;
    case 0x11:
      reader.u32();
      reader.u32();
      return;
    case 0x1c:
      for (let count = reader.u32(); count > 0; count--) valueType(reader);
      return;
    case 0x41: return reader.skipSigned(32);
    case 0x42: return reader.skipSigned(64);
    case 0x43: return reader.skip(4);
    case 0x44: return reader.skip(8);
    case 0xd0: {
      const heapType = reader.u8();
      if (heapType !== 0x70 && heapType !== 0x6f) throw invalid(`ref.null of heap type 0x${heapType.toString(16)} is not allowed (only func and extern)`);
      return;
    }
    case 0xfc: {
      const sub = reader.u32();
      if (sub <= 7) return;
      if (sub === 12 || sub === 14 || sub === 15 || sub === 17) throw tableChange();
      if (sub === 13 || sub === 16) { reader.u32(); return; }
      throw invalid(sub === 8 || sub === 9 ? "memory.init and data.drop are not allowed (the host lays a rule's data into its region)" : `instruction 0xfc ${sub} is not allowed`);
    }
    default: {
      const feature = op === 0xfd ? ' (SIMD)' : op === 0xfe ? ' (threads)' : op >= 0x06 && op <= 0x0a ? ' (exceptions)' : op === 0x12 || op === 0x13 ? ' (tail calls)' : '';
      throw invalid(`instruction 0x${op.toString(16)}${feature} is not allowed`);
    }
  }
}

/** fuel -= cost; if (fuel < 0) { status = fuel; unreachable }, the new fuel kept in `scratch` (an i32 local no instruction holds across this point) rather than read back from the global. */
function charge(cost: number, globals: FuelGlobals, scratch: number): number[] {
  const fuel = encodeU32(globals.fuel);
  const status = encodeU32(globals.status);
  const local = encodeU32(scratch);
  return [0x23, ...fuel, 0x41, ...encodeS32(cost), 0x6b, 0x22, ...local, 0x24, ...fuel, 0x20, ...local, 0x41, 0x00, 0x48, 0x04, 0x40, 0x41, trapStatus.fuel, 0x24, ...status, 0x00, 0x0b];
}

const frameAccess: Readonly<Record<number, { load: number; store: number; align: number; temp: number }>> = {
  0x7f: { load: 0x28, store: 0x36, align: 2, temp: 0 },
  0x7e: { load: 0x29, store: 0x37, align: 3, temp: 1 },
  0x7d: { load: 0x2a, store: 0x38, align: 2, temp: 2 },
  0x7c: { load: 0x2b, store: 0x39, align: 3, temp: 3 },
};

/** global.get / global.set of a global kept in the frame: a load or store at the frame (which no rule address reaches). */
function frameGlobalAccess(set: boolean, held: FrameGlobal, frame: number[], temp: number): number[] {
  const access = frameAccess[held.type]!;
  const offset = encodeU32(held.offset);
  if (!set) return [0x20, ...frame, access.load, access.align, ...offset];
  const local = encodeU32(temp + access.temp);
  return [0x21, ...local, 0x20, ...frame, 0x20, ...local, access.store, access.align, ...offset];
}

/** Replaces body[at, end) with `bytes` (a pure insertion when end === at). */
interface Edit {
  readonly at: number;
  readonly end: number;
  readonly bytes: readonly number[];
  /** A loop header's fuel charge: its region's cost is known only once the body is read. */
  readonly loopCost?: number;
}

/** The stored value's type of each store instruction, as an index into the temporary locals (i32, i64, f32, f64). */
function storeTemp(op: number): number {
  if (op === 0x36 || op === 0x3a || op === 0x3b) return 0;
  if (op === 0x38) return 2;
  if (op === 0x39) return 3;
  return 1;
}

/** A load or store, rewritten: [save the value;] [fold the offset;] mask; add the base (local temp + 4); [restore the value;] the access. */
function isolatedAccess(at: number, end: number, op: number, align: number, offset: number, temp: number, isolation: Isolation): Edit {
  const bytes: number[] = [];
  const store = op >= 0x36;
  const local = encodeU32(temp + storeTemp(op));
  if (store) bytes.push(0x21, ...local);
  const fold = offset > offsetKeptMax;
  if (fold) bytes.push(0x41, ...encodeS32(offset | 0), 0x6a);
  bytes.push(0x41, ...encodeS32(isolation.mask | 0), 0x71, 0x20, ...encodeU32(temp + 4), 0x6a);
  if (store) bytes.push(0x20, ...local);
  bytes.push(op, ...encodeU32(align), ...encodeU32(fold ? 0 : offset));
  return { at, end, bytes };
}

/** What a function body does with globals and calls, for the analysis of which frame globals it may keep in locals. */
export interface BodyFacts {
  readonly gets: ReadonlySet<number>;
  readonly sets: ReadonlySet<number>;
  readonly calls: ReadonlySet<number>;
  readonly callsIndirect: boolean;
}

/** Reads a function body (locals + expression) for its global reads and writes and its calls (instrumentBody checks it in full). */
export function scanBody(body: Uint8Array): BodyFacts {
  const reader = new ByteReader(body);
  for (let groups = reader.u32(); groups > 0; groups--) {
    reader.u32();
    valueType(reader);
  }
  const gets = new Set<number>();
  const sets = new Set<number>();
  const calls = new Set<number>();
  let callsIndirect = false;
  while (!reader.atEnd) {
    const op = reader.u8();
    if (op >= 0x28 && op <= 0x3e) {
      reader.u32();
      reader.u32();
    } else if (op === 0x3f || op === 0x40) reader.u8();
    else if (op === 0x23) gets.add(reader.u32());
    else if (op === 0x24) sets.add(reader.u32());
    else if (op === 0x10) calls.add(reader.u32());
    else if (op === 0xfc && (body[reader.offset] === 10 || body[reader.offset] === 11)) {
      if (reader.u32() === 10) reader.u8();
      reader.u8();
    } else {
      if (op === 0x11) callsIndirect = true;
      immediates(reader, op);
    }
  }
  return { gets, sets, calls, callsIndirect };
}

/** Past these the analysis is skipped (no function keeps a global in a local: slower, never wrong), so a load stays bounded. */
const analysisFunctionsMax = 20_000;
const analysisWordsMax = 1 << 21;
const analysisPassesMax = 8;

/**
 * For each function (by defined-function index), the frame globals it may keep in locals for the
 * whole call: those it reads but neither it nor anything it may call (transitively; an indirect
 * call may reach any function) writes. Only the host writes a frame between calls, so a value read
 * at entry stays the global's value for the whole call. `imported` functions write no globals.
 * Writes are bit sets over the frame globals, propagated callees first (one pass settles a call
 * graph without cycles); a module that has not settled after a few passes, or is too large to
 * analyse cheaply, keeps nothing in locals.
 */
export function cachedGlobals(facts: readonly BodyFacts[], imported: number, frameGlobals: ReadonlyMap<number, FrameGlobal>): number[][] {
  const none = facts.map((): number[] => []);
  const bit = new Map([...frameGlobals.keys()].map((global, index) => [global, index]));
  const words = Math.ceil(bit.size / 32);
  const count = facts.length;
  if (words === 0 || count > analysisFunctionsMax || count * words > analysisWordsMax) return none;
  const writes = new Uint32Array(count * words);
  const anyWrite = new Uint32Array(words);
  facts.forEach((fact, index) => {
    for (const global of fact.sets) {
      const at = bit.get(global);
      if (at === undefined) continue;
      writes[index * words + (at >> 5)]! |= 1 << (at & 31);
      anyWrite[at >> 5]! |= 1 << (at & 31);
    }
  });
  const callees = facts.map((fact) => [...fact.calls].filter((callee) => callee >= imported && callee - imported < count).map((callee) => callee - imported));
  // callees before callers: a depth-first post-order over the direct calls
  const order: number[] = [];
  const seen = new Uint8Array(count);
  for (let root = 0; root < count; root++) {
    if (seen[root] !== 0) continue;
    seen[root] = 1;
    const stack: [number, number][] = [[root, 0]];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const next = callees[top[0]]![top[1]++];
      if (next === undefined) {
        order.push(top[0]);
        stack.pop();
      } else if (seen[next] === 0) {
        seen[next] = 1;
        stack.push([next, 0]);
      }
    }
  }
  let settled = false;
  for (let pass = 0; pass < analysisPassesMax && !settled; pass++) {
    settled = true;
    for (const index of order) {
      const mine = index * words;
      const merge = (from: Uint32Array, at: number): void => {
        for (let word = 0; word < words; word++) {
          const merged = (writes[mine + word]! | from[at + word]!) >>> 0;
          if (merged !== writes[mine + word]) {
            writes[mine + word] = merged;
            settled = false;
          }
        }
      };
      if (facts[index]!.callsIndirect) merge(anyWrite, 0);
      for (const callee of callees[index]!) merge(writes, callee * words);
    }
  }
  if (!settled) return none;
  return facts.map((fact, index) =>
    [...fact.gets].filter((global) => {
      const at = bit.get(global);
      return at !== undefined && (writes[index * words + (at >> 5)]! & (1 << (at & 31))) === 0;
    }).sort((a, b) => a - b),
  );
}

/** Instruments one function body (locals + expression); `params` is its parameter count. */
export function instrumentBody(body: Uint8Array, params: number, globals: FuelGlobals, isolation: Isolation, cached: readonly number[] = []): Uint8Array {
  const reader = new ByteReader(body);
  let locals = 0;
  const groups = reader.u32();
  const groupsStart = reader.offset;
  for (let group = 0; group < groups; group++) {
    locals += reader.u32();
    valueType(reader);
  }
  // V8 allows 50,000 locals in a function, and the rewrite adds six (and one per frame global it keeps in a local)
  if (params + locals + cached.length > 50_000 - 6) throw invalid(`a function has more than ${49_994 - cached.length} locals`);
  const localsEnd = reader.offset;
  const temp = params + locals;
  const frame = encodeU32(temp + 5);
  /** The local holding each frame global this function keeps in a local. */
  const cachedLocal = new Map(cached.map((global, index) => [global, temp + 6 + index]));
  const costs = [0];
  const regions = [0];
  const controls: boolean[] = [];
  const edits: Edit[] = [];
  const replace = (at: number, bytes: number[]): void => void edits.push({ at, end: reader.offset, bytes });
  let ended = false;
  while (!reader.atEnd) {
    const at = reader.offset;
    const op = reader.u8();
    costs[regions[regions.length - 1]!]!++;
    if (op >= 0x28 && op <= 0x3e) {
      const align = reader.u32();
      if (align >= 64) throw invalid('multi-memory access is not allowed');
      const offset = reader.u32();
      edits.push(isolatedAccess(at, reader.offset, op, align, offset, temp, isolation));
      continue;
    }
    if (op === 0x3f || op === 0x40) {
      if (reader.u8() !== 0) throw invalid('multi-memory is not allowed');
      replace(at, op === 0x3f ? [0x20, ...frame, 0x28, 0x02, ...encodeU32(isolation.pagesAt)] : [0x10, ...encodeU32(isolation.growFunction)]);
      continue;
    }
    if (op === 0x23 || op === 0x24) {
      const global = reader.u32();
      const held = isolation.frameGlobals.get(global);
      const local = op === 0x23 ? cachedLocal.get(global) : undefined;
      if (local !== undefined) replace(at, [0x20, ...encodeU32(local)]);
      else if (held !== undefined) replace(at, frameGlobalAccess(op === 0x24, held, frame, temp));
      continue;
    }
    if (op === 0xfc && (body[reader.offset] === 10 || body[reader.offset] === 11)) {
      const sub = reader.u32();
      if (reader.u8() !== 0 || (sub === 10 && reader.u8() !== 0)) throw invalid('multi-memory is not allowed');
      replace(at, [0x10, ...encodeU32(sub === 10 ? isolation.copyFunction : isolation.fillFunction)]);
      continue;
    }
    immediates(reader, op);
    if (op === 0x02 || op === 0x04) controls.push(false);
    else if (op === 0x03) {
      costs.push(0);
      const cost = costs.length - 1;
      edits.push({ at: reader.offset, end: reader.offset, bytes: [], loopCost: cost });
      regions.push(cost);
      controls.push(true);
    } else if (op === 0x0b) {
      if (controls.length === 0) {
        ended = true;
        break;
      }
      if (controls.pop() === true) regions.pop();
    }
  }
  if (!ended || !reader.atEnd) throw invalid('a function body does not end where its size says');

  const out: number[] = [...encodeU32(groups + 6 + cached.length)];
  for (let index = groupsStart; index < localsEnd; index++) out.push(body[index]!);
  out.push(1, 0x7f, 1, 0x7e, 1, 0x7d, 1, 0x7c, 1, 0x7f, 1, 0x7f);
  for (const global of cached) out.push(1, isolation.frameGlobals.get(global)!.type);
  out.push(...charge(costs[0]!, globals, temp));
  // the frame and the base, read once per call: locals are registers; so are the frame globals nothing in this call writes
  out.push(0x23, ...encodeU32(isolation.frameGlobal), 0x22, ...frame, 0x28, 0x02, ...encodeU32(isolation.baseAt), 0x21, ...encodeU32(temp + 4));
  for (const global of cached) out.push(...frameGlobalAccess(false, isolation.frameGlobals.get(global)!, frame, temp), 0x21, ...encodeU32(cachedLocal.get(global)!));
  let copied = localsEnd;
  // Loop charges are insertions at the next instruction's start; they go before that instruction's own edit.
  edits.sort((a, b) => a.at - b.at || a.end - b.end);
  for (const edit of edits) {
    for (let index = copied; index < edit.at; index++) out.push(body[index]!);
    const bytes = edit.loopCost === undefined ? edit.bytes : charge(costs[edit.loopCost]!, globals, temp);
    for (const byte of bytes) out.push(byte);
    copied = edit.end;
  }
  for (let index = copied; index < body.length; index++) out.push(body[index]!);
  return Uint8Array.from(out);
}
