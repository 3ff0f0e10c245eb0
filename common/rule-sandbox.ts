// The sandbox check at load: a rule module may import only the host ABI (millwright.declare and
// env.abort), must define one memory with a maximum within the limit, must export `memory` and a
// `tick` of type () -> (). The accepted module is rewritten before it is compiled: fuel metering
// and memory guards in every function (rule-instrument.ts), host globals (fuel, status, the
// header slot's address, the memory size last reported), and `mw_tick(fuel) -> fuel left` /
// `mw_start(fuel) -> fuel left` wrappers, so one call runs a tick with its budget.
// `mw_step(fuel, tick)` is the gateway's per-tick entry: it also stores the tick into the header
// and reads and clears the header's events word, so the host touches a rule's memory only for
// changed inputs and what the rule produced (it returns the fuel left, or -1 - fuel left when
// there were events or the memory grew). The start section is removed and run through mw_start
// instead: instantiation executes no rule code, and a start function that loops runs out of fuel
// like any tick.
import { MillwrightError } from './errors.ts';
import { declareImport, hostExports, importModule, ruleLimitDefaults, slotLayout } from './rule-abi.ts';
import { ruleErrors } from './rule-errors.ts';
import { instrumentBody, type FuelGlobals } from './rule-instrument.ts';
import { ByteReader, concatBytes, encodeName, encodeSection, encodeU32, invalid, parseModule, type FunctionType, type ParsedModule } from './rule-wasm.ts';

export interface SandboxLimits {
  readonly memoryPagesMax: number;
  readonly moduleBytesMax: number;
}

export interface PreparedModule {
  /** The instrumented module, ready for `new WebAssembly.Module`. */
  readonly bytes: Uint8Array;
  readonly memoryPagesMax: number;
  readonly hasStart: boolean;
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

function instrumentCode(module: ParsedModule, content: ByteReader, globals: FuelGlobals): number[] {
  const count = content.u32();
  if (count !== module.functionTypes.length) throw invalid('function and code sections disagree');
  const out: number[] = [];
  for (let index = 0; index < count; index++) {
    const size = content.u32();
    const body = content.bytes.subarray(content.offset, content.offset + size);
    content.skip(size);
    const params = module.types[module.functionTypes[index]!]?.params.length;
    if (params === undefined) throw invalid(`function ${index} has an unknown type`);
    const instrumented = instrumentBody(body, params, globals);
    out.push(...encodeU32(instrumented.length));
    for (const byte of instrumented) out.push(byte);
  }
  return out;
}

interface HostGlobals extends FuelGlobals {
  readonly header: number;
  /** The memory size in pages when mw_step last reported; a change is reported like an event. */
  readonly pages: number;
}

function wrapper(target: number, globals: FuelGlobals): number[] {
  // (param $fuel i32) (result i32): fuel = $fuel; status = 0; call target; return fuel
  const body = [0x00, 0x20, 0x00, 0x24, ...encodeU32(globals.fuel), 0x41, 0x00, 0x24, ...encodeU32(globals.status), 0x10, ...encodeU32(target), 0x23, ...encodeU32(globals.fuel), 0x0b];
  return [...encodeU32(body.length), ...body];
}

function stepWrapper(target: number, globals: HostGlobals): number[] {
  const fuel = encodeU32(globals.fuel);
  const header = encodeU32(globals.header);
  const { tick, events } = slotLayout.header;
  const pages = encodeU32(globals.pages);
  // (param $fuel i32) (param $tick f64) (result i32): fuel = $fuel; status = 0; header.tick = $tick;
  // call target; if (header.events | memory.size != pages) { header.events = 0; pages = memory.size;
  // return -1 - fuel } return fuel. A grown memory is reported so the host renews its views.
  const body = [
    0x00, 0x20, 0x00, 0x24, ...fuel, 0x41, 0x00, 0x24, ...encodeU32(globals.status),
    0x23, ...header, 0x20, 0x01, 0x39, 0x03, ...encodeU32(tick),
    0x10, ...encodeU32(target),
    0x23, ...header, 0x28, 0x02, ...encodeU32(events), 0x3f, 0x00, 0x23, ...pages, 0x47, 0x72,
    0x04, i32, 0x23, ...header, 0x41, 0x00, 0x36, 0x02, ...encodeU32(events), 0x3f, 0x00, 0x24, ...pages, 0x41, 0x7f, 0x23, ...fuel, 0x6b,
    0x05, 0x23, ...fuel, 0x0b, 0x0b,
  ];
  return [...encodeU32(body.length), ...body];
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

/** Checks a rule module against the sandbox and returns it instrumented. Throws RULE_* errors. */
export function prepareRuleModule(bytes: Uint8Array, limits: SandboxLimits = { memoryPagesMax: ruleLimitDefaults.memoryPagesMax, moduleBytesMax: ruleLimitDefaults.moduleBytesMax }): PreparedModule {
  if (bytes.length > limits.moduleBytesMax) throw new MillwrightError(ruleErrors.moduleTooLarge, `the module is ${bytes.length} bytes, above the limit of ${limits.moduleBytesMax}`);
  const module = parseModule(bytes);
  const tick = check(module, limits);
  const firstGlobal = module.importedGlobals + module.globals;
  const globals: HostGlobals = { fuel: firstGlobal, status: firstGlobal + 1, header: firstGlobal + 2, pages: firstGlobal + 3 };
  const wrapperType = module.types.length;
  const stepType = wrapperType + 1;
  const functionCount = module.importedFunctions + module.functionTypes.length;
  const wrappers: { name: string; type: number; body: number[] }[] = [{ name: hostExports.tick, type: wrapperType, body: wrapper(tick, globals) }];
  if (module.start !== undefined) wrappers.push({ name: hostExports.start, type: wrapperType, body: wrapper(module.start, globals) });
  wrappers.push({ name: hostExports.step, type: stepType, body: stepWrapper(tick, globals) });
  const content = (id: number): Uint8Array | undefined => {
    const section = module.sections.find((entry) => entry.id === id);
    return section === undefined ? undefined : bytes.subarray(section.start, section.end);
  };
  const replaced: Record<number, number[]> = {
    1: vecWith(content(1), [[0x60, 1, i32, 1, i32], [0x60, 2, i32, f64, 1, i32]]),
    3: vecWith(content(3), wrappers.map((entry) => encodeU32(entry.type))),
    6: vecWith(content(6), [[i32, 1, 0x41, 0x00, 0x0b], [i32, 1, 0x41, 0x00, 0x0b], [i32, 1, 0x41, 0x00, 0x0b], [i32, 1, 0x41, 0x00, 0x0b]]),
    7: vecWith(content(7), [
      ...wrappers.map((entry, index) => [...encodeName(entry.name), 0x00, ...encodeU32(functionCount + index)]),
      [...encodeName(hostExports.status), 0x03, ...encodeU32(globals.status)],
      [...encodeName(hostExports.header), 0x03, ...encodeU32(globals.header)],
    ]),
  };
  const code = content(10);
  if (code === undefined) throw invalid('the module has no code section');
  const codeReader = new ByteReader(code);
  const bodies = instrumentCode(module, codeReader, globals);
  const bodyCount = module.functionTypes.length + wrappers.length;
  replaced[10] = [...encodeU32(bodyCount), ...bodies, ...wrappers.flatMap((entry) => entry.body)];

  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  let globalsWritten = content(6) !== undefined;
  for (const section of module.sections) {
    if (!globalsWritten && section.id !== 0 && rank[section.id]! > rank[6]!) {
      parts.push(encodeSection(6, replaced[6]!));
      globalsWritten = true;
    }
    if (section.id === 8) continue;
    const replacement = replaced[section.id];
    parts.push(encodeSection(section.id, replacement ?? bytes.subarray(section.start, section.end)));
  }
  if (!globalsWritten) parts.push(encodeSection(6, replaced[6]!));
  return { bytes: concatBytes(parts), memoryPagesMax: module.memories[0]!.max!, hasStart: module.start !== undefined };
}
