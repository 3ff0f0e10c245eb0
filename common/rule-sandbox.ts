// The sandbox check at load: a rule module may import only the host ABI (millwright.declare and
// env.abort), must define one memory with a maximum within the limit, must export `memory` and a
// `tick` of type () -> (). The accepted module is rewritten before it is compiled: its memory
// becomes the gateway's shared rule memory (an import), every access confined to the running
// rule's region (rule-instrument.ts, common/rule-arena.ts, ADR 0010); its data segments are taken
// out, for the host to lay into each region; its mutable globals move into each rule's frame
// (frameLayout: the rule's page count, its header slot's address, its region's base, then the
// globals), which the host keeps out of the rule's reach (in a table of frames, or in the region's
// front), so one instance of the module serves every rule
// built from it; fuel metering goes into every function; host globals (fuel, status, the running
// rule's frame) and helpers (memory.grow, memory.copy, memory.fill on the region) are added, and
// `mw_tick(fuel, frame) -> fuel left` / `mw_start(fuel, frame) -> fuel left` wrappers, so one call
// runs a tick of one rule with its budget. `mw_step(fuel, tick, frame)` also stores the tick into
// the header and reads and clears the header's events word (it returns the fuel left, or -1 - fuel
// left when there were events). `mw_run(area, from, to, tick)` is the gateway's per-tick entry: it
// does the same for each of a batch's rules from..to-1 that run in this instance, calling the tick
// directly, and appends what they produced to the batch's events (common/rule-run-loop.ts). The start section is removed
// and run through mw_start instead: instantiation executes no rule code, and a start function that
// loops runs out of fuel like any tick.
import { MillwrightError } from './errors.ts';
import { declareImport, frameLayout, hostExports, importModule, memoryImport, ruleLimitDefaults, trapStatus } from './rule-abi.ts';
import { runLoopBody, stepCode } from './rule-run-loop.ts';
import { ruleErrors } from './rule-errors.ts';
import { pageBytes, regionBytes, regionFrontBytes } from './rule-arena.ts';
import { cachedGlobals, instrumentBody, scanBody, type FrameGlobal, type FuelGlobals, type Isolation } from './rule-instrument.ts';
import { ByteReader, concatBytes, encodeName, encodeS32, encodeSection, encodeU32, invalid, parseModule, type FunctionType, type ParsedModule } from './rule-wasm.ts';
import { webAssembly } from './rule-webassembly.ts';

export interface SandboxLimits {
  readonly memoryPagesMax: number;
  readonly moduleBytesMax: number;
}

/** A data segment, laid into the rule's region by the host before the start function runs. */
export interface DataSegment {
  readonly offset: number;
  readonly bytes: Uint8Array;
}

export interface PreparedModule {
  /** The instrumented module, ready for `new WebAssembly.Module`; it imports the arena memory and its region's base. */
  readonly bytes: Uint8Array;
  readonly segments: readonly DataSegment[];
  readonly memoryPagesMax: number;
  /** The region it needs (the memory maximum rounded up to a power of two), in bytes. */
  readonly regionBytes: number;
  readonly hasStart: boolean;
  /** The rule's frame (out of the rule's reach: in the host's table of frames, or in its region's front): its size, and the image a fresh frame starts from (the base is the host's to fill in). */
  readonly frameBytes: number;
  readonly frameImage: Uint8Array;
  /** The rule's exported mutable globals: they live in its frame, at these offsets, not in the instance. */
  readonly frameExports: readonly { readonly name: string; readonly type: number; readonly offset: number }[];
}

const i32 = 0x7f;
const f64 = 0x7c;
const allowedImports: Readonly<Record<string, FunctionType>> = {
  [`${importModule}.${declareImport}`]: { params: [i32, i32, i32, i32, i32, i32, f64, f64, f64, i32], results: [] },
  'env.abort': { params: [i32, i32, i32, i32], results: [] },
};
const tableElementsMax = 100_000;

function sameType(a: FunctionType | undefined, b: FunctionType): boolean {
  return a !== undefined && a.params.join() === b.params.join() && a.results.join() === b.results.join();
}

function check(module: ParsedModule, limits: SandboxLimits): number {
  for (const entry of module.imports) {
    const key = `${entry.module}.${entry.name}`;
    const expected = allowedImports[key];
    if (expected === undefined) {
      const hint = entry.module === 'wasi_snapshot_preview1' ? ' (WASI is not available to rules)' : key === 'env.seed' ? ' (Math.random is not available to rules: they must be deterministic)' : key.startsWith('env.Date') ? ' (rules have no clock: use the tick count)' : '';
      throw new MillwrightError(ruleErrors.importRefused, `the module imports ${key}${hint}; rules may import only ${importModule}.${declareImport} and env.abort`, { import: key });
    }
    if (entry.kind !== 0 || !sameType(module.types[entry.typeIndex], expected)) throw new MillwrightError(ruleErrors.importRefused, `the module imports ${key} with the wrong type`, { import: key });
  }
  if (module.memories.length !== 1) throw new MillwrightError(ruleErrors.memoryRefused, `a rule defines exactly one memory (this module defines ${module.memories.length})`);
  const memory = module.memories[0]!;
  if (memory.max === undefined) throw new MillwrightError(ruleErrors.memoryRefused, 'the module memory has no maximum; build rules with a maximum memory');
  if (memory.max > limits.memoryPagesMax) throw new MillwrightError(ruleErrors.memoryRefused, `the module memory may grow to ${memory.max} pages, above the limit of ${limits.memoryPagesMax}`, { memoryPages: memory.max, memoryPagesMax: limits.memoryPagesMax });
  for (const table of module.tables) if (table.max === undefined || table.max > tableElementsMax) throw new MillwrightError(ruleErrors.moduleInvalid, `a table without a maximum of at most ${tableElementsMax} elements`);
  const exported = (name: string, kind: number) => module.exports.find((entry) => entry.name === name && entry.kind === kind);
  if (exported('memory', 2) === undefined) throw new MillwrightError(ruleErrors.exportMissing, 'the module does not export its memory as "memory"');
  const tick = exported('tick', 0);
  if (tick === undefined) throw new MillwrightError(ruleErrors.exportMissing, 'the module does not export a tick() function');
  const tickType = tick.index >= module.importedFunctions ? module.types[module.functionTypes[tick.index - module.importedFunctions]!] : undefined;
  if (!sameType(tickType, { params: [], results: [] })) throw new MillwrightError(ruleErrors.exportMissing, 'the exported tick must take no arguments and return nothing');
  const reserved = module.exports.find((entry) => entry.name.startsWith('mw_'));
  if (reserved !== undefined) throw new MillwrightError(ruleErrors.moduleInvalid, `export names starting with mw_ are reserved for the host (${reserved.name})`);
  return tick.index;
}

function instrumentCode(module: ParsedModule, content: ByteReader, globals: FuelGlobals, isolation: Isolation): number[] {
  const count = content.u32();
  if (count !== module.functionTypes.length) throw invalid('function and code sections disagree');
  const bodies: Uint8Array[] = [];
  for (let index = 0; index < count; index++) {
    const size = content.u32();
    bodies.push(content.bytes.subarray(content.offset, content.offset + size));
    content.skip(size);
  }
  const cached = cachedGlobals(bodies.map(scanBody), module.importedFunctions, isolation.frameGlobals);
  const out: number[] = [];
  bodies.forEach((body, index) => {
    const params = module.types[module.functionTypes[index]!]?.params.length;
    if (params === undefined) throw invalid(`function ${index} has an unknown type`);
    const instrumented = instrumentBody(body, params, globals, isolation, cached[index]);
    out.push(...encodeU32(instrumented.length));
    for (const byte of instrumented) out.push(byte);
  });
  return out;
}

interface HostGlobals extends FuelGlobals {
  /** The running rule's frame address (set by every wrapper from its argument). */
  readonly frame: number;
}

export { frameLayout };

function wrapper(target: number, globals: HostGlobals): number[] {
  // (param $fuel i32) (param $frame i32) (result i32): fuel = $fuel; status = 0; frame = $frame; call target; return fuel
  const body = [0x00, 0x20, 0x00, 0x24, ...encodeU32(globals.fuel), 0x41, 0x00, 0x24, ...encodeU32(globals.status), 0x20, 0x01, 0x24, ...encodeU32(globals.frame), 0x10, ...encodeU32(target), 0x23, ...encodeU32(globals.fuel), 0x0b];
  return [...encodeU32(body.length), ...body];
}

function stepWrapper(target: number, globals: HostGlobals): number[] {
  // (param $fuel i32) (param $tick f64) (param $frame i32) (result i32) (local $header i32)
  const body = [0x01, 0x01, i32, ...stepCode(target, globals, [0x20, 0x02], { fuel: 0, tick: 1, header: 3 }), 0x0b];
  return [...encodeU32(body.length), ...body];
}

/** memory.grow on the rule's own page count (in its frame): -1 (and the status mark) beyond its maximum. */
function growHelper(globals: HostGlobals, pagesMax: number): number[] {
  const pages = [0x28, 0x02, frameLayout.pages];
  // (param $d i32) (result i32) (local $frame i32): if ($d >u max - pages) { status = growFailed; return -1 } old = pages; pages += $d; old
  const body = [
    0x01, 0x01, i32, 0x23, ...encodeU32(globals.frame), 0x21, 0x01,
    0x20, 0x00, 0x41, ...encodeS32(pagesMax), 0x20, 0x01, ...pages, 0x6b, 0x4b, 0x04, 0x40, 0x41, trapStatus.memoryGrowFailed, 0x24, ...encodeU32(globals.status), 0x41, 0x7f, 0x0f, 0x0b,
    0x20, 0x01, ...pages, 0x20, 0x01, 0x20, 0x01, ...pages, 0x20, 0x00, 0x6a, 0x36, 0x02, frameLayout.pages, 0x0b,
  ];
  return [...encodeU32(body.length), ...body];
}

/** memory.copy / memory.fill inside the region: the addresses masked, a length that leaves the region traps. */
function bulkHelper(copy: boolean, bytes: number, globals: HostGlobals): number[] {
  const size = encodeS32(bytes | 0);
  const mask = encodeS32((bytes - 1) | 0);
  const trapAbove = [0x41, ...size, 0x4b, 0x04, 0x40, 0x00, 0x0b];
  const confine = (local: number): number[] => [0x20, local, 0x41, ...mask, 0x71, 0x22, local, 0x20, 0x02, 0x6a, ...trapAbove];
  const base = [0x23, ...encodeU32(globals.frame), 0x28, 0x02, frameLayout.base, 0x6a]; // + frame.base
  // (param $d i32) (param $source_or_value i32) (param $n i32): n, d (and the source) checked, then the operation at base + address
  const body = [
    0x00, 0x20, 0x02, ...trapAbove, ...confine(0),
    ...(copy ? [...confine(1), 0x20, 0x00, ...base, 0x20, 0x01, ...base, 0x20, 0x02, 0xfc, 10, 0x00, 0x00] : [0x20, 0x00, ...base, 0x20, 0x01, 0x20, 0x02, 0xfc, 11, 0x00]),
    0x0b,
  ];
  return [...encodeU32(body.length), ...body];
}

/** The data segments (active, memory 0, constant offsets, inside the initial memory), for the host to lay into the region. */
function dataSegments(content: Uint8Array | undefined, initialBytes: number): DataSegment[] {
  if (content === undefined) return [];
  const reader = new ByteReader(content);
  const segments: DataSegment[] = [];
  for (let count = reader.u32(), index = 0; index < count; index++) {
    const flags = reader.u32();
    if (flags !== 0) throw invalid(`data segment ${index} is passive or names a memory (flags ${flags}); rules have active segments only`);
    const offset = reader.u8() === 0x41 ? reader.signed() >>> 0 : -1;
    if (offset === -1 || reader.u8() !== 0x0b) throw invalid(`data segment ${index} has an offset that is not a constant`);
    const length = reader.u32();
    if (offset + length > initialBytes) throw invalid(`data segment ${index} (${length} bytes at ${offset}) lies outside the initial memory`);
    segments.push({ offset, bytes: content.slice(reader.offset, reader.offset + length) });
    reader.skip(length);
  }
  if (!reader.atEnd) throw invalid('the data section has stray bytes');
  return segments;
}

/** Section order; a missing global section is inserted before the first section ranked after it. */
const rank: Readonly<Record<number, number>> = { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7, 8: 8, 9: 9, 12: 10, 10: 11, 11: 12 };

function vecWith(original: Uint8Array | undefined, extra: readonly (readonly number[])[]): number[] {
  const reader = original === undefined ? undefined : new ByteReader(original);
  const count = reader === undefined ? 0 : reader.u32();
  const out = [...encodeU32(count + extra.length)];
  if (reader !== undefined) for (let index = reader.offset; index < original!.length; index++) out.push(original![index]!);
  for (const entry of extra) out.push(...entry);
  return out;
}

/** The most mutable globals a rule may define: its frame must fit in its region's front. */
export const frameGlobalsMax = (regionFrontBytes - frameLayout.globals) / 8;

/** The rule's frame: where each mutable global lies (the 8-byte ones first, then the 4-byte ones, packed), and the image a fresh frame starts from (the page count, each global's initial value). */
function frameOf(module: ParsedModule, pages: number): { bytes: number; globals: Map<number, FrameGlobal>; image: Uint8Array } {
  const held = new Map<number, FrameGlobal>();
  const inits: { offset: number; type: number; start: number }[] = [];
  const mutable = module.globalDefs.map((definition, index) => ({ ...definition, index })).filter((definition) => definition.mutable);
  if (mutable.length > frameGlobalsMax) throw invalid(`the module defines ${mutable.length} mutable globals, above the limit of ${frameGlobalsMax}`);
  const wide = (type: number): boolean => type === 0x7e || type === 0x7c;
  let offset = frameLayout.globals;
  for (const { type, index, initStart, initEnd } of [...mutable.filter((entry) => wide(entry.type)), ...mutable.filter((entry) => !wide(entry.type))]) {
    if (type === 0x70 || type === 0x6f) throw invalid(`global ${index} is a mutable reference; rules may have mutable numbers only`);
    held.set(index, { type, offset });
    const op = module.bytes[initStart];
    const expected = { 0x7f: 0x41, 0x7e: 0x42, 0x7d: 0x43, 0x7c: 0x44 }[type as 0x7f | 0x7e | 0x7d | 0x7c];
    const start = initStart + 1;
    const reader = new ByteReader(module.bytes, start);
    if (type === 0x7f || type === 0x7e) reader.skipSigned(type === 0x7f ? 32 : 64);
    else reader.skip(type === 0x7d ? 4 : 8);
    if (op !== expected || reader.offset !== initEnd) throw invalid(`mutable global ${index} starts from an expression that is not one constant of its type`);
    inits.push({ offset, type, start });
    offset += wide(type) ? 8 : 4;
  }
  const bytes = Math.ceil(offset / 64) * 64;
  const image = new Uint8Array(bytes);
  const view = new DataView(image.buffer);
  view.setUint32(frameLayout.pages, pages, true);
  for (const { offset, type, start } of inits) {
    const reader = new ByteReader(module.bytes, start);
    if (type === 0x7f) view.setInt32(offset, reader.signed(), true);
    else if (type === 0x7e) view.setBigInt64(offset, signedBig(reader), true);
    else image.set(module.bytes.subarray(start, start + (type === 0x7d ? 4 : 8)), offset);
  }
  return { bytes, globals: held, image };
}

/** A signed LEB128 of up to 64 bits, as a bigint. */
function signedBig(reader: ByteReader): bigint {
  let result = 0n;
  let shift = 0n;
  let byte: number;
  do {
    byte = reader.u8();
    result |= BigInt(byte & 0x7f) << shift;
    shift += 7n;
  } while ((byte & 0x80) !== 0 && shift < 70n);
  if ((byte & 0x40) !== 0 && shift < 64n) result -= 1n << shift;
  return BigInt.asIntN(64, result);
}

/** Checks a rule module against the sandbox and returns it instrumented, for any region of the arena. Throws RULE_* errors. */
export function prepareRuleModule(bytes: Uint8Array, limits: SandboxLimits = { memoryPagesMax: ruleLimitDefaults.memoryPagesMax, moduleBytesMax: ruleLimitDefaults.moduleBytesMax }): PreparedModule {
  if (bytes.length > limits.moduleBytesMax) throw new MillwrightError(ruleErrors.moduleTooLarge, `the module is ${bytes.length} bytes, above the limit of ${limits.moduleBytesMax}`);
  const module = parseModule(bytes);
  const tick = check(module, limits);
  // The original must be valid on its own: the rewrite adds globals and functions its code must not be able to name.
  if (!webAssembly.validate(bytes)) throw invalid('WebAssembly validation failed');
  const memory = module.memories[0]!;
  const pagesMax = memory.max!;
  if (memory.min > pagesMax) throw new MillwrightError(ruleErrors.memoryRefused, `the module memory starts at ${memory.min} pages, above its maximum of ${pagesMax}`);
  const region = regionBytes(pagesMax);
  const frame = frameOf(module, memory.min);
  // the host's globals follow the module's own
  const globals: HostGlobals = { fuel: module.globals, status: module.globals + 1, frame: module.globals + 2 };
  const wrapperType = module.types.length;
  const stepType = wrapperType + 1;
  const bulkType = wrapperType + 2;
  const growType = wrapperType + 3;
  const runType = wrapperType + 4;
  const functionCount = module.importedFunctions + module.functionTypes.length;
  const isolation: Isolation = {
    mask: region - 1, frameGlobal: globals.frame, baseAt: frameLayout.base, pagesAt: frameLayout.pages, frameGlobals: frame.globals,
    growFunction: functionCount, copyFunction: functionCount + 1, fillFunction: functionCount + 2,
  };
  const wrappers: { name: string; type: number; body: number[] }[] = [{ name: hostExports.tick, type: wrapperType, body: wrapper(tick, globals) }];
  if (module.start !== undefined) wrappers.push({ name: hostExports.start, type: wrapperType, body: wrapper(module.start, globals) });
  wrappers.push({ name: hostExports.step, type: stepType, body: stepWrapper(tick, globals) });
  const run = runLoopBody({ tick, globals });
  wrappers.push({ name: hostExports.run, type: runType, body: [...encodeU32(run.length), ...run] });
  const content = (id: number): Uint8Array | undefined => {
    const section = module.sections.find((entry) => entry.id === id);
    return section === undefined ? undefined : bytes.subarray(section.start, section.end);
  };
  // the memory is the arena's; a mutable global lives in each rule's frame (the host reads it there: frameExports)
  const kept = module.exports.filter((entry) => entry.kind !== 2 && !(entry.kind === 3 && frame.globals.has(entry.index)));
  const exports = kept.map((entry) => [...encodeName(entry.name), entry.kind, ...encodeU32(entry.index)]);
  const frameExports = module.exports.filter((entry) => entry.kind === 3 && frame.globals.has(entry.index)).map((entry) => ({ name: entry.name, ...frame.globals.get(entry.index)! }));
  const code = content(10);
  if (code === undefined) throw invalid('the module has no code section');
  const functions = module.functionTypes.length + 3 + wrappers.length;
  const hostGlobal = [i32, 1, 0x41, 0x00, 0x0b];
  const replaced: Record<number, number[]> = {
    1: vecWith(content(1), [[0x60, 2, i32, i32, 1, i32], [0x60, 3, i32, f64, i32, 1, i32], [0x60, 3, i32, i32, i32, 0], [0x60, 1, i32, 1, i32], [0x60, 4, i32, i32, i32, f64, 0]]),
    2: vecWith(content(2), [[...encodeName(importModule), ...encodeName(memoryImport), 0x02, 0x00, 0x00]]),
    3: vecWith(content(3), [[...encodeU32(growType)], [...encodeU32(bulkType)], [...encodeU32(bulkType)], ...wrappers.map((entry) => encodeU32(entry.type))]),
    6: vecWith(content(6), [hostGlobal, hostGlobal, hostGlobal]),
    7: [
      ...encodeU32(exports.length + wrappers.length + 2),
      ...exports.flat(),
      ...wrappers.flatMap((entry, index) => [...encodeName(entry.name), 0x00, ...encodeU32(functionCount + 3 + index)]),
      ...encodeName(hostExports.status), 0x03, ...encodeU32(globals.status),
      ...encodeName(hostExports.frame), 0x03, ...encodeU32(globals.frame),
    ],
    10: [
      ...encodeU32(functions),
      ...instrumentCode(module, new ByteReader(code), globals, isolation),
      ...growHelper(globals, pagesMax),
      ...bulkHelper(true, region, globals),
      ...bulkHelper(false, region, globals),
      ...wrappers.flatMap((entry) => entry.body),
    ],
  };
  const segments = dataSegments(content(11), memory.min * pageBytes);

  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  const present = new Set(module.sections.map((section) => section.id));
  const order = [...new Set([...present, 2, 6])].filter((id) => id !== 0).sort((a, b) => rank[a]! - rank[b]!);
  for (const id of order) {
    // the memory is the arena's; the start function runs through mw_start; the host lays the data
    if (id === 5 || id === 8 || id === 11 || id === 12) continue;
    parts.push(encodeSection(id, replaced[id] ?? content(id)!));
  }
  return { bytes: concatBytes(parts), segments, memoryPagesMax: pagesMax, regionBytes: region, hasStart: module.start !== undefined, frameBytes: frame.bytes, frameImage: frame.image, frameExports };
}
