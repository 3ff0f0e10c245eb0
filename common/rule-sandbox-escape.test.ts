// Adversarial tests of the rule sandbox's software fault isolation (ADR 0010): rule modules built
// to leave their region of the shared rule memory, read a neighbour, name the host's globals or
// helpers, or desynchronise the load-time instruction decoder (common/rule-instrument.ts) from
// V8's. Each attack is either refused at load or runs with every byte outside its region, guard
// and colour page unchanged, nothing outside read, and its neighbours' outputs intact. Modules the
// text assembler will not write (odd LEB encodings, refused proposals) are written as bytes here.
import { beforeAll, describe, expect, it } from 'vitest';
import { thrownCode } from './assert.ts';
import { MillwrightError } from './errors.ts';
import { quarantineDefaults } from './rule-faults.ts';
import { pageBytes, regionFrontBytes, RuleArena, type RuleRegion } from './rule-arena.ts';
import { compileRule, RuleInstance, type CompiledRule } from './rule-instance.ts';
import { frameGlobalsMax, frameLayout, prepareRuleModule } from './rule-sandbox.ts';
import { RuleSupervisor } from './rule-supervisor.ts';
import { assemble, assembleRule, recordingSink, type WatRule } from './rule-test-modules.ts';
import { encodeS32, encodeU32 } from './rule-wasm.ts';
import { webAssembly } from './rule-webassembly.ts';

const i32 = 0x7f;
const f64 = 0x7c;
const canary = 0xa5;
const flagAddress = 2048;

// --- raw module bytes -------------------------------------------------------------------------

const section = (id: number, content: readonly number[]): number[] => [id, ...encodeU32(content.length), ...content];
const vector = (entries: readonly (readonly number[])[]): number[] => [...encodeU32(entries.length), ...entries.flat()];
const name = (text: string): number[] => [...encodeU32(text.length), ...new TextEncoder().encode(text)];
const functionBody = (locals: readonly number[], code: readonly number[]): number[] => {
  const bytes = [...locals, ...code, 0x0b];
  return [...encodeU32(bytes.length), ...bytes];
};
const i32Const = (value: number): number[] => [0x41, ...encodeS32(value | 0)];
const i64Const = (value: number): number[] => [0x42, ...encodeS32(value | 0)]; // small values only
const f64Zero = [0x44, 0, 0, 0, 0, 0, 0, 0, 0];
/** declare(kind, slot, 0, 0, 0, 0, 0, 0, 0, 0). */
const declareCall = (kind: number, slot: number): number[] => [...i32Const(kind), ...i32Const(slot), ...[0, 0, 0, 0].flatMap(() => i32Const(0)), ...f64Zero, ...f64Zero, ...f64Zero, ...i32Const(0), 0x10, 0x00];
/** A u32 LEB128 padded to `bytes` bytes (a valid, non-minimal encoding). */
const paddedU32 = (value: number, bytes: number): number[] => Array.from({ length: bytes }, (_, index) => ((value >>> (7 * index)) & 0x7f) | (index < bytes - 1 ? 0x80 : 0));

interface RawRule {
  /** The tick's instructions (without the final end). */
  readonly tick: readonly number[];
  /** The tick's encoded local declarations (default: none). */
  readonly locals?: readonly number[];
  /** The memory's encoded limits (default: 1 to 1 page). */
  readonly memory?: readonly number[];
  readonly globals?: readonly (readonly number[])[];
  /** More functions of type () -> (), indices 3 and up. */
  readonly functions?: readonly (readonly number[])[];
  readonly tables?: readonly (readonly number[])[];
  readonly exports?: readonly (readonly number[])[];
  /** The element section's content. */
  readonly elements?: readonly number[];
  /** The data section's content. */
  readonly data?: readonly number[];
  readonly dataCount?: number;
  /** More instructions at the end of the start function (after the header declaration). */
  readonly start?: readonly number[];
  /** More imports (entries), after millwright.declare. */
  readonly imports?: readonly (readonly number[])[];
  /** Where the start declares the header (default 1024). */
  readonly header?: number;
  /** Extra types after () -> () and declare's. */
  readonly types?: readonly (readonly number[])[];
  /** Whole sections put in front of the code section. */
  readonly beforeCode?: readonly number[];
  /** Whole sections appended at the end. */
  readonly trailer?: readonly number[];
}

const declareType = [0x60, 10, i32, i32, i32, i32, i32, i32, f64, f64, f64, i32, 0];

/** A rule in bytes: function 0 imports declare, 1 is the start (declares the header at 1024), 2 the tick. */
function rawRule(rule: RawRule): Uint8Array {
  const functions = rule.functions ?? [];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vector([[0x60, 0, 0], declareType, ...(rule.types ?? [])])),
    ...section(2, vector([[...name('millwright'), ...name('declare'), 0x00, 0x01], ...(rule.imports ?? [])])),
    ...section(3, vector([[0], [0], ...functions.map(() => [0])])),
    ...(rule.tables === undefined ? [] : section(4, vector(rule.tables))),
    ...section(5, vector([rule.memory ?? [0x01, 1, 1]])),
    ...(rule.globals === undefined ? [] : section(6, vector(rule.globals))),
    ...section(7, vector([[...name('memory'), 0x02, 0x00], [...name('tick'), 0x00, 0x02], ...(rule.exports ?? [])])),
    ...section(8, [0x01]),
    ...(rule.elements === undefined ? [] : section(9, rule.elements)),
    ...(rule.dataCount === undefined ? [] : section(12, encodeU32(rule.dataCount))),
    ...(rule.beforeCode ?? []),
    ...section(10, [
      ...encodeU32(2 + functions.length),
      ...functionBody([0], [...declareCall(0, rule.header ?? 1024), ...(rule.start ?? [])]),
      ...functionBody(rule.locals ?? [0], rule.tick),
      ...functions.flatMap((code) => functionBody([0], code)),
    ]),
    ...(rule.data === undefined ? [] : section(11, rule.data)),
    ...(rule.trailer ?? []),
  ]);
}

// --- probes: wild reads and stores -------------------------------------------------------------

/** Absolute arena addresses that hold a neighbour's data or the canary, were an access left unmasked. */
const wildAddresses = [0, 8, 1024, 0x1_0000, 0x2_fff8, 0x10_0000, 0x20_0000, 0x3f_fff0];
const offsets = [0, 8, 65_520, 65_521, 65_535, 65_536, 0x7fff_ffff, 0xffff_ffff];

/** Stores at 2048 whether any wild i32.load saw the canary (it never can inside the rule's zeroed region). */
function readProbe(): number[] {
  const loads = wildAddresses.flatMap((address) => offsets.flatMap((offset) => [...i32Const(address), 0x28, 0x02, ...encodeU32(offset), ...i32Const(0xa5a5_a5a5), 0x46, 0x72]));
  return [...i32Const(flagAddress), ...i32Const(0), ...loads, 0x36, 0x02, 0x00];
}

/** i64.store -1 at every wild address and offset, then at addresses near 2^32. */
function storeProbe(): number[] {
  const addresses = [...wildAddresses, 0x7fff_fff8, 0xffff_fff0, 0xffff_fff8];
  return addresses.flatMap((address) => offsets.flatMap((offset) => [...i32Const(address), ...i64Const(-1), 0x37, 0x03, ...encodeU32(offset)]));
}

const probe = (): number[] => [...readProbe(), ...storeProbe()];

/** The same probes in text, for assembled rules. */
function watProbe(): string {
  const loads = wildAddresses.flatMap((address) => offsets.map((offset) => `(i32.eq (i32.load offset=${offset} (i32.const ${address | 0})) (i32.const ${0xa5a5_a5a5 | 0}))`));
  const flag = loads.reduce((sum, load) => `(i32.or ${sum} ${load})`, '(i32.const 0)');
  const stores = [...wildAddresses, 0x7fff_fff8, 0xffff_fff0].flatMap((address) => offsets.map((offset) => `(i64.store offset=${offset} (i32.const ${address | 0}) (i64.const -1))`));
  return `(i32.store (i32.const ${flagAddress}) ${flag}) ${stores.join(' ')}`;
}

// --- the scene: an attacker between two victims, the rest of the arena painted -----------------

const sink = recordingSink;

const victimRule: WatRule = { memory: '1 1', inputs: ['m/in'], outputs: [{ name: 'm/out', safe: -1 }], tick: '(call $output (i32.const 0) (call $input (i32.const 0)))' };
let victim: CompiledRule;

beforeAll(async () => {
  victim = compileRule(await assembleRule(victimRule));
});

function supervise(compiled: CompiledRule, region: RuleRegion): RuleSupervisor {
  return new RuleSupervisor({ name: 'r', compiled, tickMs: 10, fuelPerTick: 1_000_000, startFuel: 1_000_000, quarantine: quarantineDefaults, region });
}

/** The arena's page range a region owns: its colour page, the region, its guard page. */
function range(region: RuleRegion): [number, number] {
  const start = Math.floor(region.base / pageBytes) * pageBytes;
  return [start, start + region.bytes + 2 * pageBytes];
}

function without(bytes: Uint8Array, [from, to]: readonly [number, number]): Buffer {
  return Buffer.concat([bytes.subarray(0, from), bytes.subarray(to)]);
}

class Scene {
  readonly arena = new RuleArena();
  readonly left: RuleRegion;
  readonly region: RuleRegion;
  readonly right: RuleRegion;
  readonly rule: RuleSupervisor;
  readonly ruleSink = sink();
  readonly #victims: RuleSupervisor[];
  readonly #victimSinks = [sink(), sink()];
  readonly #outsideRange: Buffer;
  readonly #outsideSpan: Buffer;

  constructor(attacker: CompiledRule) {
    this.left = this.arena.allocate(1);
    this.region = this.arena.allocate(attacker.memoryPagesMax);
    this.right = this.arena.allocate(1);
    this.#victims = [supervise(victim, this.left), supervise(victim, this.right)];
    this.rule = supervise(attacker, this.region);
    // paint every byte no region may use (free pages, colour gaps, tails after the guard pages); each front holds its rule's frame
    const u8 = this.arena.u8;
    const spans = [this.left, this.region, this.right].map((region) => [region.base - regionFrontBytes, region.base + region.bytes + pageBytes] as const);
    let from = 0;
    for (const [start, end] of spans) {
      u8.fill(canary, from, start);
      from = end;
    }
    u8.fill(canary, from);
    this.#victims.forEach((supervisor, index) => {
      supervisor.input(0, 42, 0, 1);
      supervisor.run(1, this.#victimSinks[index]!);
    });
    this.#outsideRange = Buffer.from(without(u8, range(this.region)));
    this.#outsideSpan = Buffer.from(without(u8, [this.region.base - regionFrontBytes, this.region.base + this.region.bytes + pageBytes]));
  }

  run(ticks = 2): this {
    for (let tick = 1; tick <= ticks; tick++) this.rule.run(tick, this.ruleSink);
    return this;
  }

  /** Nothing outside the attacker's pages changed, it read no canary, and both neighbours still work. */
  expectConfined(): void {
    const u8 = this.arena.u8;
    expect(Buffer.from(without(u8, range(this.region))).equals(this.#outsideRange)).toBe(true);
    // without a restart (which clears the whole page range) not even the colour gap or the tail after the guard page changed
    if (this.rule.stats.restarts === 0) expect(Buffer.from(without(u8, [this.region.base - regionFrontBytes, this.region.base + this.region.bytes + pageBytes])).equals(this.#outsideSpan)).toBe(true);
    // the frame's header address is the host's: no access of the rule reaches it
    const instance = this.rule.instance;
    if (instance !== undefined) expect(this.arena.i32[(instance.frame + frameLayout.header) / 4]).toBe(instance.slots.header);
    expect(this.arena.u32[(this.region.base + flagAddress) / 4]).toBe(0);
    this.#victims.forEach((supervisor, index) => {
      supervisor.input(0, 43, 0, 2);
      supervisor.run(2, this.#victimSinks[index]!);
      expect(this.#victimSinks[index]).toMatchObject({ writes: [42, 43], faults: [] });
    });
  }
}

function thrownMessage(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(MillwrightError);
    return (error as Error).message;
  }
  return '';
}

const refusal = (bytes: Uint8Array): string | undefined => thrownCode(() => prepareRuleModule(bytes));

/** Either refused at load with a RULE_* code, or confined when run. */
function refusedOrConfined(bytes: Uint8Array): 'refused' | 'confined' {
  let compiled: CompiledRule;
  try {
    compiled = compileRule(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(MillwrightError);
    expect((error as MillwrightError).code).toMatch(/^RULE_/);
    return 'refused';
  }
  const scene = new Scene(compiled).run();
  // the probes ran to their end (their store at address 0 landed at the region's base), and found nothing
  expect(scene.ruleSink.faults).toEqual([]);
  expect(scene.arena.u8[scene.region.base]).toBe(0xff);
  scene.expectConfined();
  return 'confined';
}

// --- the attacks -------------------------------------------------------------------------------

describe('rule sandbox escapes: the harness itself', () => {
  it('a raw rule with the wild read and store probes compiles, runs and stays in its region', () => {
    const scene = new Scene(compileRule(rawRule({ tick: probe() }))).run();
    expect(scene.ruleSink.faults).toEqual([]);
    // the probe's stores landed in its own region and guard page (masked), so the harness does see them
    expect(scene.arena.u8[scene.region.base]).toBe(0xff);
    expect(scene.arena.u8[scene.region.base + scene.region.bytes + 65_519]).toBe(0xff); // 0xfff8 + 65,520 + 7
    scene.expectConfined();
  });

  it('notices one byte changed outside the region, and the canary lies where an unmasked probe would read it', () => {
    const scene = new Scene(compileRule(rawRule({ tick: [] })));
    for (const address of [0x10_0000, 0x20_0000, 0x3f_fff0]) expect(scene.arena.u8[address]).toBe(canary);
    scene.arena.u8[0x20_0000] = canary ^ 1;
    expect(() => scene.expectConfined()).toThrow();
  });

  it('the text probes run confined in a 16-page region too', async () => {
    const scene = new Scene(compileRule(await assembleRule({ memory: '1 16', tick: watProbe() }))).run();
    expect(scene.ruleSink.faults).toEqual([]);
    scene.expectConfined();
  });
});

describe('rule sandbox escapes: decoder desynchronisation (V8 accepts, the instrumenter must read it the same)', () => {
  const drop = 0x1a;
  const cases: readonly { readonly what: string; readonly rule: RawRule; readonly v8: boolean; readonly outcome: 'refused' | 'confined' }[] = [
    // ref.null's heap type is an s33 in V8 (the instrumenter reads one byte, then sees 0x7f, i64.div_s, and is back in step)
    { what: 'ref.null with a two-byte heap type', rule: { tick: [0xd0, 0xf0, 0x7f, drop, ...probe()] }, v8: true, outcome: 'refused' },
    { what: 'ref.null with a three-byte heap type', rule: { tick: [0xd0, 0xf0, 0xff, 0x7f, drop, ...probe()] }, v8: true, outcome: 'refused' },
    { what: 'a void block type as a two-byte LEB', rule: { tick: [0x02, 0xc0, 0x7f, ...probe(), 0x0b] }, v8: true, outcome: 'confined' },
    { what: 'a block type index padded to five bytes', rule: { tick: [0x02, ...paddedU32(0, 5), ...probe(), 0x0b] }, v8: true, outcome: 'confined' },
    { what: 'a loop with a padded block type', rule: { tick: [0x03, ...paddedU32(0, 3), ...probe(), 0x0b] }, v8: true, outcome: 'confined' },
    { what: 'an if with a padded block type', rule: { tick: [...i32Const(1), 0x04, ...paddedU32(0, 2), ...probe(), 0x05, ...probe(), 0x0b] }, v8: true, outcome: 'confined' },
    { what: 'select t with a padded count', rule: { tick: [...i32Const(0), ...i32Const(0), ...i32Const(1), 0x1c, ...paddedU32(1, 3), i32, drop, ...probe()] }, v8: true, outcome: 'confined' },
    { what: 'br_table with padded counts and labels', rule: { tick: [0x02, 0x40, ...i32Const(3), 0x0e, ...paddedU32(2, 4), ...paddedU32(0, 5), ...paddedU32(0, 2), ...paddedU32(0, 3), 0x0b, ...probe()] }, v8: true, outcome: 'confined' },
    { what: 'br and br_if with padded labels', rule: { tick: [0x02, 0x40, ...i32Const(0), 0x0d, ...paddedU32(0, 5), 0x0b, 0x02, 0x40, 0x0c, ...paddedU32(0, 4), 0x0b, ...probe()] }, v8: true, outcome: 'confined' },
    { what: 'call and local ops with padded indices', rule: { locals: [1, 1, i32], tick: [0x10, ...paddedU32(3, 5), ...i32Const(7), 0x21, ...paddedU32(0, 5), 0x20, ...paddedU32(0, 4), 0x22, ...paddedU32(0, 3), drop, ...probe()], functions: [[]] }, v8: true, outcome: 'confined' },
    { what: 'call_indirect with padded type and table indices', rule: { tick: [...i32Const(0), 0x11, ...paddedU32(0, 5), ...paddedU32(0, 5), ...probe()], functions: [[]], tables: [[0x70, 0x01, 1, 1]], elements: vector([[0x00, ...i32Const(0), 0x0b, ...vector([[3]])]]) }, v8: true, outcome: 'confined' },
    { what: 'table.get/set/size/grow/fill and ref.func with padded indices', rule: { tick: [...i32Const(0), 0x25, ...paddedU32(0, 5), drop, ...i32Const(0), 0xd2, ...paddedU32(3, 5), 0x26, ...paddedU32(0, 3), 0xfc, ...paddedU32(16, 5), ...paddedU32(0, 5), drop, 0xd0, 0x70, ...i32Const(0), 0xfc, 15, ...paddedU32(0, 2), drop, ...i32Const(0), 0xd0, 0x70, ...i32Const(0), 0xfc, 17, ...paddedU32(0, 4), ...probe()], functions: [[]], tables: [[0x70, 0x01, 1, 2]], elements: vector([[0x00, ...i32Const(0), 0x0b, ...vector([[3]])]]) }, v8: true, outcome: 'refused' },
    { what: 'table.get/size and ref.func with padded indices', rule: { tick: [...i32Const(0), 0x25, ...paddedU32(0, 5), drop, 0xd2, ...paddedU32(3, 5), drop, 0xfc, ...paddedU32(16, 5), ...paddedU32(0, 5), drop, ...probe()], functions: [[]], tables: [[0x70, 0x01, 1, 2]], elements: vector([[0x00, ...i32Const(0), 0x0b, ...vector([[3]])]]) }, v8: true, outcome: 'confined' },
    { what: 'table.grow with a padded sub-opcode', rule: { tick: [0xd0, 0x70, ...i32Const(1), 0xfc, ...paddedU32(15, 5), ...paddedU32(0, 5), drop, ...probe()], tables: [[0x70, 0x01, 1, 2]] }, v8: true, outcome: 'refused' },
    { what: 'table.copy, table.init and elem.drop with padded immediates', rule: { tick: [...i32Const(0), ...i32Const(0), ...i32Const(1), 0xfc, 14, ...paddedU32(0, 3), ...paddedU32(0, 3), ...i32Const(0), ...i32Const(0), ...i32Const(0), 0xfc, 12, ...paddedU32(1, 5), ...paddedU32(0, 5), 0xfc, 13, ...paddedU32(1, 5), ...probe()], functions: [[]], tables: [[0x70, 0x01, 2, 2]], elements: [2, 0x00, ...i32Const(0), 0x0b, 1, 3, 0x01, 0x00, 1, 3] }, v8: true, outcome: 'refused' },
    { what: 'elem.drop with a padded segment index', rule: { tick: [0xfc, 13, ...paddedU32(1, 5), ...probe()], functions: [[]], tables: [[0x70, 0x01, 2, 2]], elements: [2, 0x00, ...i32Const(0), 0x0b, 1, 3, 0x01, 0x00, 1, 3] }, v8: true, outcome: 'confined' },
    { what: 'a v128 block type left by a branch', rule: { tick: [0x02, 0x40, 0x02, 0x7b, 0x0c, 0x01, 0x0b, drop, 0x0b, ...probe()] }, v8: true, outcome: 'refused' },
    { what: 'saturating conversions with padded sub-opcodes', rule: { tick: [0x43, 0, 0, 0, 0, 0xfc, ...paddedU32(0, 5), drop, 0x44, ...f64Zero.slice(1), 0xfc, ...paddedU32(7, 3), drop, ...probe()] }, v8: true, outcome: 'confined' },
    { what: 'global.get/set with padded indices', rule: { globals: [[i32, 1, ...i32Const(0), 0x0b]], tick: [...i32Const(5), 0x24, ...paddedU32(0, 5), 0x23, ...paddedU32(0, 5), drop, ...probe()] }, v8: true, outcome: 'confined' },
    { what: 'loads and stores with padded alignments and offsets', rule: { tick: [...i32Const(0x10_0000), 0x28, ...paddedU32(2, 5), ...paddedU32(65_536, 5), drop, ...i32Const(0), ...i64Const(-1), 0x37, ...paddedU32(3, 5), ...paddedU32(0x3f_fff0, 5), ...i32Const(0), ...i32Const(-1), 0x3a, ...paddedU32(0, 5), ...paddedU32(65_535, 5), ...probe()] }, v8: true, outcome: 'confined' },
    // prefixed opcodes are LEB-encoded in V8: a padded memory.copy / memory.fill must not slip past as something else
    { what: 'memory.copy with a padded sub-opcode', rule: { tick: [...i32Const(0), ...i32Const(0x10_0000), ...i32Const(8), 0xfc, 0x8a, 0x00, 0x00, 0x00, ...probe()] }, v8: true, outcome: 'refused' },
    { what: 'memory.fill with a padded sub-opcode', rule: { tick: [...i32Const(0), ...i32Const(255), ...i32Const(8), 0xfc, 0x8b, 0x80, 0x00, 0x00, ...probe()] }, v8: true, outcome: 'refused' },
    { what: 'memory.init with a padded sub-opcode', rule: { tick: [...i32Const(0), ...i32Const(0), ...i32Const(1), 0xfc, 0x88, 0x00, 0x00, 0x00], dataCount: 1, data: vector([[0x01, 1, 0x2a]]) }, v8: true, outcome: 'refused' },
    { what: 'data.drop with a padded sub-opcode', rule: { tick: [0xfc, 0x89, 0x00, 0x00], dataCount: 1, data: vector([[0x01, 1, 0x2a]]) }, v8: true, outcome: 'refused' },
    // V8 reads these memory indices as one byte: padding is invalid before the instrumenter sees it
    { what: 'memory.size with a padded memory index', rule: { tick: [0x3f, 0x80, 0x00, drop] }, v8: false, outcome: 'refused' },
    { what: 'memory.grow with a padded memory index', rule: { tick: [...i32Const(0), 0x40, 0x80, 0x00, drop] }, v8: false, outcome: 'refused' },
    { what: 'memory.copy with a padded memory index', rule: { tick: [...i32Const(0), ...i32Const(0), ...i32Const(8), 0xfc, 10, 0x80, 0x00, 0x00] }, v8: false, outcome: 'refused' },
    { what: 'a load with the multi-memory bit in its alignment', rule: { tick: [...i32Const(0), 0x28, 0x40, 0x00, 0x00, drop] }, v8: false, outcome: 'refused' },
    { what: 'a load with a six-byte offset', rule: { tick: [...i32Const(0), 0x28, 0x02, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, drop] }, v8: false, outcome: 'refused' },
  ];
  for (const { what, rule, v8, outcome } of cases) {
    it(`${what}: ${outcome}`, () => {
      const bytes = rawRule(rule);
      expect(webAssembly.validate(bytes)).toBe(v8);
      expect(refusedOrConfined(bytes)).toBe(outcome);
    });
  }
});

describe('rule sandbox escapes: refused proposals and module shapes', () => {
  const cases: readonly { readonly what: string; readonly rule: RawRule; readonly code: string }[] = [
    { what: 'a v128.load (SIMD)', rule: { tick: [...i32Const(0x10_0000), 0xfd, 0x00, 0x04, 0x00, 0x1a] }, code: 'RULE_MODULE_INVALID' },
    { what: 'a v128.store lane (SIMD)', rule: { tick: [...i32Const(0), 0xfd, 0x0c, ...new Array<number>(16).fill(0xff), 0xfd, 0x5b, 0x00, 0x00, 0x00] }, code: 'RULE_MODULE_INVALID' },
    { what: 'an atomic store on the plain memory (threads)', rule: { tick: [...i32Const(0x10_0000), ...i32Const(-1), 0xfe, 0x17, 0x02, 0x00] }, code: 'RULE_MODULE_INVALID' },
    { what: 'atomic.fence', rule: { tick: [0xfe, 0x03, 0x00] }, code: 'RULE_MODULE_INVALID' },
    { what: 'return_call (tail calls)', rule: { tick: [0x12, 0x03], functions: [[]] }, code: 'RULE_MODULE_INVALID' },
    { what: 'try / delegate (exceptions)', rule: { tick: [0x06, 0x40, 0x18, 0x00] }, code: 'RULE_MODULE_INVALID' },
    { what: 'try / catch_all (exceptions)', rule: { tick: [0x06, 0x40, 0x19, 0x0b] }, code: 'RULE_MODULE_INVALID' },
    { what: 'a passive data segment with memory.init', rule: { tick: [...i32Const(0), ...i32Const(0), ...i32Const(1), 0xfc, 8, 0x00, 0x00], dataCount: 1, data: vector([[0x01, 1, 0x2a]]) }, code: 'RULE_MODULE_INVALID' },
    { what: 'a passive data segment alone', rule: { tick: [], dataCount: 1, data: vector([[0x01, 1, 0x2a]]) }, code: 'RULE_MODULE_INVALID' },
    { what: 'a data segment naming memory 0 explicitly', rule: { tick: [], data: vector([[0x02, 0x00, ...i32Const(0), 0x0b, 1, 0x2a]]) }, code: 'RULE_MODULE_INVALID' },
    { what: 'a data segment at a negative offset', rule: { tick: [], data: vector([[0x00, ...i32Const(-8), 0x0b, 1, 0x2a]]) }, code: 'RULE_MODULE_INVALID' },
    { what: 'a data segment past the initial memory', rule: { tick: [], memory: [0x01, 1, 2], data: vector([[0x00, ...i32Const(65_535), 0x0b, 2, 0x2a, 0x2a]]) }, code: 'RULE_MODULE_INVALID' },
    { what: 'a data segment whose offset wraps to a small address', rule: { tick: [], data: vector([[0x00, ...i32Const(-1), 0x0b, 2, 0x2a, 0x2a]]) }, code: 'RULE_MODULE_INVALID' },
    { what: 'a data segment at the global base', rule: { tick: [], data: vector([[0x00, 0x23, 0x00, 0x0b, 1, 0x2a]]) }, code: 'RULE_MODULE_INVALID' },
    { what: 'a shared memory', rule: { tick: [], memory: [0x03, 1, 1] }, code: 'RULE_MODULE_INVALID' },
    { what: 'a 64-bit memory', rule: { tick: [], memory: [0x05, 1, 1] }, code: 'RULE_MODULE_INVALID' },
    { what: 'a memory without a maximum', rule: { tick: [], memory: [0x00, 1] }, code: 'RULE_MEMORY_REFUSED' },
    { what: 'a memory above the limit', rule: { tick: [], memory: [0x01, 1, 17] }, code: 'RULE_MEMORY_REFUSED' },
    { what: 'an imported memory named like the arena', rule: { tick: [], imports: [[...name('millwright'), ...name('memory'), 0x02, 0x00, 1]] }, code: 'RULE_IMPORT_REFUSED' },
    { what: 'an imported base global', rule: { tick: [], imports: [[...name('millwright'), ...name('base'), 0x03, i32, 0x00]] }, code: 'RULE_IMPORT_REFUSED' },
    { what: 'declare imported as a global', rule: { tick: [], imports: [[...name('millwright'), ...name('declare'), 0x03, i32, 0x01]] }, code: 'RULE_IMPORT_REFUSED' },
    { what: 'env.abort imported as a table', rule: { tick: [], imports: [[...name('env'), ...name('abort'), 0x01, 0x70, 0x01, 0, 1]] }, code: 'RULE_IMPORT_REFUSED' },
    { what: 'declare imported with another type', rule: { tick: [], types: [[0x60, 0, 0]], imports: [[...name('millwright'), ...name('declare'), 0x00, 0x02]] }, code: 'RULE_IMPORT_REFUSED' },
    { what: 'an export named like the host’s step', rule: { tick: [], exports: [[...name('mw_step'), 0x00, 0x02]] }, code: 'RULE_MODULE_INVALID' },
    { what: 'an export named like the host’s frame global', rule: { tick: [], globals: [[i32, 1, ...i32Const(0), 0x0b]], exports: [[...name('mw_frame'), 0x03, 0x00]] }, code: 'RULE_MODULE_INVALID' },
    { what: 'a tag section', rule: { tick: [], beforeCode: section(13, [1, 0, 0]) }, code: 'RULE_MODULE_INVALID' },
    { what: 'a table without a maximum', rule: { tick: [], tables: [[0x70, 0x00, 1]] }, code: 'RULE_MODULE_INVALID' },
    // Tripwires for a newer V8 (typed function references, GC): multi-byte value and heap types, which the
    // instrumenter reads as one byte in locals, block types, select and ref.null. V8 11.3 refuses them all.
    { what: 'a local of type (ref null func)', rule: { tick: [], locals: [1, 1, 0x63, 0x70] }, code: 'RULE_MODULE_INVALID' },
    { what: 'a block of type (ref null func)', rule: { tick: [0x02, 0x63, 0x70, 0xd0, 0x70, 0x0b, 0x1a] }, code: 'RULE_MODULE_INVALID' },
    { what: 'select t of (ref null func)', rule: { tick: [0xd0, 0x70, 0xd0, 0x70, ...i32Const(0), 0x1c, 1, 0x63, 0x70, 0x1a] }, code: 'RULE_MODULE_INVALID' },
    { what: 'ref.null of an indexed heap type', rule: { tick: [0xd0, 0x00, 0x1a] }, code: 'RULE_MODULE_INVALID' },
  ];
  for (const { what, rule, code } of cases) {
    it(`refuses ${what}`, () => {
      expect(refusal(rawRule(rule))).toBe(code);
    });
  }

  // The rewrite adds globals and functions after the module's own: code that names them must not validate.
  const invalid: readonly { readonly what: string; readonly rule: RawRule }[] = [
    { what: 'global.set 0 without a global of its own (the base after the shift)', rule: { tick: [...i32Const(0), 0x24, 0x00] } },
    { what: 'global.set 1 with one global (the fuel after the shift)', rule: { globals: [[i32, 1, ...i32Const(0), 0x0b]], tick: [...i32Const(0x7fff_ffff), 0x24, 0x01] } },
    { what: 'global.get 3 with one global (the header after the shift)', rule: { globals: [[i32, 1, ...i32Const(0), 0x0b]], tick: [0x23, 0x03, 0x1a] } },
    { what: 'a call to the memory.grow helper', rule: { tick: [...i32Const(1), 0x10, 0x03, 0x1a] } },
    { what: 'a call to the memory.copy helper', rule: { tick: [...i32Const(0), ...i32Const(0), ...i32Const(8), 0x10, 0x04] } },
    { what: 'a call to mw_tick', rule: { tick: [...i32Const(0), 0x10, 0x06, 0x1a] } },
    { what: 'ref.func of a helper', rule: { tick: [0xd2, 0x04, 0x1a] } },
    { what: 'an element segment naming the fill helper', rule: { tick: [], tables: [[0x70, 0x01, 1, 1]], elements: vector([[0x00, ...i32Const(0), 0x0b, ...vector([[5]])]]) } },
    { what: 'a global initialised from the base', rule: { globals: [[i32, 0, 0x23, 0x00, 0x0b]], tick: [] } },
    { what: 'an element segment placed at the base', rule: { tick: [], tables: [[0x70, 0x01, 1, 1]], elements: vector([[0x00, 0x23, 0x00, 0x0b, ...vector([[2]])]]) } },
    { what: 'a local beyond its declared locals (the base’s register)', rule: { locals: [1, 1, i32], tick: [...i32Const(0), 0x21, 0x05] } },
    { what: 'a data count section after the code', rule: { tick: [], trailer: section(12, [0]) } },
    { what: 'a second code section', rule: { tick: [], trailer: section(10, [0]) } },
    { what: 'a section that runs past the end', rule: { tick: [], trailer: [0x00, 0x10, 0x01, 0x61] } },
  ];
  for (const { what, rule } of invalid) {
    it(`refuses ${what}`, () => {
      const bytes = rawRule(rule);
      expect(webAssembly.validate(bytes)).toBe(false);
      expect(refusal(bytes)).toMatch(/^RULE_/);
    });
  }

  it('drops custom sections anywhere, named like the host or not, and still confines the rule', () => {
    const custom = (label: string): number[] => section(0, [...name(label), 0x10, 0x24, 0x00]);
    const bytes = rawRule({ tick: probe(), beforeCode: [...custom('name'), ...custom('mw_step')], trailer: custom('') });
    expect(refusedOrConfined(bytes)).toBe('confined');
  });

  it('a function at the locals limit is refused at load with a RULE_ code: the rewrite adds six locals to V8\'s 50,000', () => {
    const atLimit = rawRule({ tick: [], locals: [1, ...encodeU32(50_000), i32] });
    expect(webAssembly.validate(atLimit)).toBe(true);
    let thrown: unknown;
    try {
      prepareRuleModule(atLimit);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(MillwrightError);
    expect((thrown as MillwrightError).code).toBe('RULE_MODULE_INVALID');
    expect(thrownCode(() => prepareRuleModule(rawRule({ tick: [], locals: [1, ...encodeU32(49_995), i32] })))).toBe('RULE_MODULE_INVALID');
    const justBelow = rawRule({ tick: [], locals: [1, ...encodeU32(49_994), i32] });
    expect(() => compileRule(justBelow)).not.toThrow();
  });
});

describe('rule sandbox escapes: the rewritten accesses at their edges', () => {
  it('folded and kept offsets, and i32 wrap-around, land in the region and its guard page', async () => {
    const accesses = [
      [0xffff_ffff, 65_520], [0xffff_ffff, 65_521], [0xffff_fff8, 65_535], [0x7fff_ffff, 65_536], [0x10, 0xffff_fff0], [0xffff_0000, 0x1_0000], [65_535, 65_520], [0, 0xffff_ffff],
    ].map(([address, offset]) => `(f64.store offset=${offset} (i32.const ${address! | 0}) (f64.const -1)) (i64.store8 offset=${offset} (i32.const ${address! | 0}) (i64.const -1)) (i64.store offset=${offset} (i32.const ${address! | 0}) (i64.const -1))`);
    const scene = new Scene(compileRule(await assembleRule({ memory: '1 1', tick: accesses.join(' ') }))).run();
    expect(scene.ruleSink.faults).toEqual([]);
    // the highest byte a rule can touch: its last masked address plus the largest kept offset and width
    expect(scene.arena.u8[scene.region.base + scene.region.bytes - 1 + 65_520 + 7]).toBe(0xff);
    scene.expectConfined();
  });

  it('a store’s saved value is the one stored (the value temporary is not mixed up by type)', async () => {
    const tick = '(i32.store (i32.const 100) (i32.const 0x11223344)) (i64.store (i32.const 108) (i64.const 0x5566778899aabbcc)) (f32.store (i32.const 116) (f32.const 1.5)) (f64.store (i32.const 124) (f64.const -2.5)) (i64.store32 (i32.const 132) (i64.const 0x1_0000_0007)) (i64.store16 (i32.const 136) (i64.const 0x10008)) (i32.store8 (i32.const 140) (i32.const 0x109))';
    const scene = new Scene(compileRule(await assembleRule({ memory: '1 1', tick }))).run(1);
    const view = new DataView(scene.arena.memory.buffer, scene.region.base);
    expect([view.getUint32(100, true), view.getBigUint64(108, true), view.getFloat32(116, true), view.getFloat64(124, true), view.getUint32(132, true), view.getUint16(136, true), view.getUint8(140)]).toEqual([0x1122_3344, 0x5566_7788_99aa_bbccn, 1.5, -2.5, 7, 8, 9]);
    scene.expectConfined();
  });

  it('memory.copy and memory.fill at and across the region’s edges trap or stay inside', async () => {
    const attempts = [
      '(memory.fill (i32.const 65528) (i32.const 255) (i32.const 8))',
      '(memory.copy (i32.const 0) (i32.const 65528) (i32.const 8))',
      '(memory.fill (i32.const -1) (i32.const 255) (i32.const 1))',
      '(memory.fill (i32.const 65529) (i32.const 255) (i32.const 8))',
      '(memory.fill (i32.const 0) (i32.const 255) (i32.const -1))',
      '(memory.fill (i32.const 0x7fffffff) (i32.const 255) (i32.const 0x80000001))',
      '(memory.copy (i32.const 0x100000) (i32.const 0) (i32.const 65536))',
      '(memory.copy (i32.const 8) (i32.const -8) (i32.const 16))',
      '(memory.copy (i32.const -16) (i32.const 0) (i32.const 32))',
      '(memory.fill (i32.const 0xfff0) (i32.const 255) (i32.const 0xfffffff0))',
      '(memory.fill (i32.const 0x10000) (i32.const 255) (i32.const 0x10000))',
    ];
    for (const attempt of attempts) {
      const scene = new Scene(compileRule(await assembleRule({ memory: '1 1', tick: `${attempt} ${watProbe()}` }))).run(1);
      scene.expectConfined();
    }
  });

  it('memory.grow cannot move the page count past the maximum, by any delta', async () => {
    const tick = `(drop (memory.grow (i32.const -1))) (drop (memory.grow (i32.const 0x80000000))) (drop (memory.grow (i32.const 0x7fffffff))) (drop (memory.grow (i32.const 3)))
      (i32.store (i32.const 3000) (memory.size)) (i32.store (i32.const 3004) (memory.grow (i32.const 1))) (i32.store (i32.const 3008) (memory.size))
      (i64.store (i32.mul (memory.size) (i32.const 65536)) (i64.const -1)) ${watProbe()}`;
    const region = new Scene(compileRule(await assembleRule({ memory: '1 2', tick: `${tick} (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1)) (then unreachable))` })));
    region.run(1);
    const words = region.arena.u32.subarray((region.region.base + 3000) / 4, (region.region.base + 3012) / 4);
    expect([...words]).toEqual([1, 1, 2]);
    expect(region.ruleSink.faults).toEqual(['RULE_MEMORY']); // the last grow (past the maximum) is the rule's own fault
    region.expectConfined();
  });

  it('a rule alone in an arena of its exact size reaches its guard page without a trap, and no further', async () => {
    const region = RuleArena.single(1);
    const rule = supervise(compileRule(await assembleRule({ memory: '1 1', tick: '(i64.store offset=65520 (i32.const -1) (i64.const -1)) (i32.store (i32.const 16) (i32.load offset=65535 (i32.const 0xffff)))' })), region);
    const recorded = sink();
    rule.run(1, recorded);
    expect(recorded.faults).toEqual([]);
    expect(region.arena.pages).toBe(3);
    expect(region.arena.u8[region.base + region.bytes - 1 + 65_520 + 7]).toBe(0xff);
  });
});

describe('rule sandbox escapes: globals, fuel and the host’s state', () => {
  it('a rule that sets every global it can name and loops forever still runs out of its own fuel', () => {
    const globals = [0, 1, 2, 3].map(() => [i32, 1, ...i32Const(0), 0x0b]);
    const setAll = [0, 1, 2, 3].flatMap((index) => [...i32Const(0x7fff_ffff), 0x24, index]);
    const bytes = rawRule({ globals, tick: [...setAll, 0x03, 0x40, ...setAll, 0x0c, 0x00, 0x0b] });
    const scene = new Scene(compileRule(bytes)).run(2);
    expect(scene.ruleSink.faults).toEqual(['RULE_FUEL_EXHAUSTED', 'RULE_FUEL_EXHAUSTED']);
    scene.expectConfined();
  });

  it('a start function that loops forever is stopped by the start fuel', () => {
    const bytes = rawRule({ tick: [], start: [0x03, 0x40, 0x0c, 0x00, 0x0b] });
    expect(thrownCode(() => new RuleInstance(compileRule(bytes), 10, 100_000))).toBe('RULE_START_FAILED');
  });

  it('a mutable global of the rule lives in its own frame, out of its reach as memory, and its export reads the frame', () => {
    const bytes = rawRule({ globals: [[i32, 1, ...i32Const(77), 0x0b], [i32, 0, ...i32Const(5), 0x0b]], exports: [[...name('g'), 0x03, 0x00], [...name('k'), 0x03, 0x01]], tick: [...i32Const(-1), 0x24, 0x00, ...probe()] });
    const scene = new Scene(compileRule(bytes));
    const instance = scene.rule.instance!;
    const { exports, frame } = instance;
    expect((exports['g'] as { value: number }).value).toBe(77);
    expect((exports['k'] as { value: number }).value).toBe(5); // an immutable global stays the instance's
    expect(scene.arena.i32[(frame + frameLayout.globals) / 4]).toBe(77);
    expect(frame).toBeLessThan(scene.region.base);
    scene.run(1);
    expect((exports['g'] as { value: number }).value).toBe(-1);
    expect(instance.slots.header).toBe(scene.region.base + 1024);
    scene.expectConfined();
  });

  it('mutable globals of each number type start at their initial values in the frame; a mutable reference or a computed start is refused', () => {
    const f32 = 0x7d;
    const f32Const = (value: number): number[] => [0x43, ...new Uint8Array(Float32Array.of(value).buffer)];
    const f64Const = (value: number): number[] => [0x44, ...new Uint8Array(Float64Array.of(value).buffer)];
    const globals = [[i32, 1, ...i32Const(-5), 0x0b], [0x7e, 1, ...i64Const(-7), 0x0b], [f32, 1, ...f32Const(1.5), 0x0b], [f64, 1, ...f64Const(2.25), 0x0b]];
    const exports = ['a', 'b', 'c', 'd'].map((label, index) => [...name(label), 0x03, index]);
    const instance = new RuleInstance(compileRule(rawRule({ globals, exports, tick: [] })), 10, 100_000);
    expect(['a', 'b', 'c', 'd'].map((label) => (instance.exports[label] as { value: number | bigint }).value)).toEqual([-5, -7n, 1.5, 2.25]);
    expect(refusal(rawRule({ globals: [[0x70, 1, 0xd0, 0x70, 0x0b]], tick: [] }))).toBe('RULE_MODULE_INVALID');
    expect(refusal(rawRule({ globals: [[i32, 1, ...i32Const(1), ...i32Const(2), 0x6a, 0x0b]], tick: [] }))).toBe('RULE_MODULE_INVALID');
    // more mutable globals than a frame holds
    const many = (count: number): Uint8Array => rawRule({ globals: Array.from({ length: count }, () => [i32, 1, ...i32Const(0), 0x0b]), tick: [] });
    expect(() => compileRule(many(frameGlobalsMax))).not.toThrow();
    expect(thrownMessage(() => prepareRuleModule(many(frameGlobalsMax + 1)))).toMatch(/mutable globals, above the limit/);
  });

  it('rules of one module share its instance, each with its own frame: one rule’s globals are not another’s', () => {
    const counter = compileRule(rawRule({ globals: [[i32, 1, ...i32Const(0), 0x0b]], exports: [[...name('count'), 0x03, 0x00]], tick: [0x23, 0x00, ...i32Const(1), 0x6a, 0x24, 0x00] }));
    const arena = new RuleArena();
    const [one, two] = [arena.allocate(1), arena.allocate(1)].map((region) => new RuleInstance(counter, 10, 100_000, region));
    for (let tick = 0; tick < 3; tick++) one!.tick(1000);
    two!.tick(1000);
    expect([(one!.exports['count'] as { value: number }).value, (two!.exports['count'] as { value: number }).value]).toEqual([3, 1]);
    expect(one!.runFunction).toBe(two!.runFunction); // one instance
  });

  it('the header slot is checked: outside the region, misaligned, at 0 or straddling its end is refused; at its very end mw_step stays inside', () => {
    for (const header of [0, -8, 4, 1028, 65_536, 65_536 - 16, 0x7fff_fff8, -0x8000_0000]) {
      expect(thrownMessage(() => new RuleInstance(compileRule(rawRule({ header, tick: [] })), 10, 100_000, RuleArena.single(1)))).toMatch(/outside memory or misaligned/);
    }
    const scene = new Scene(compileRule(rawRule({ header: 65_536 - 24, tick: probe() }))).run(2);
    expect(scene.rule.instance?.slots.header).toBe(scene.region.base + 65_536 - 24);
    expect(scene.ruleSink.faults).toEqual([]);
    scene.expectConfined();
  });

  it('abort and declare with names pointing outside the region read nothing outside it', () => {
    const abortImport = [...name('env'), ...name('abort'), 0x00, 0x02];
    const types = [[0x60, 4, i32, i32, i32, i32, 0]];
    for (const pointer of [0x1_0000, 0xfffe, -4, 0x7fff_fffc]) {
      // abort is function 1 here: the start and tick move up by one, so the tick calls abort with wild pointers
      const bytes = Uint8Array.from([
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
        ...section(1, vector([[0x60, 0, 0], declareType, ...types])),
        ...section(2, vector([[...name('millwright'), ...name('declare'), 0x00, 0x01], abortImport])),
        ...section(3, vector([[0], [0]])),
        ...section(5, vector([[0x01, 1, 1]])),
        ...section(7, vector([[...name('memory'), 0x02, 0x00], [...name('tick'), 0x00, 0x03]])),
        ...section(8, [0x02]),
        ...section(10, [2, ...functionBody([0], declareCall(0, 1024)), ...functionBody([0], [...i32Const(0xfffc), ...i32Const(0x7fff_fff0), 0x36, 0x02, 0x00, ...i32Const(pointer), ...i32Const(pointer), ...i32Const(1), ...i32Const(2), 0x10, 0x01])]),
      ]);
      const scene = new Scene(compileRule(bytes)).run(1);
      expect(scene.ruleSink.faults).toEqual(['RULE_ABORT']);
      scene.expectConfined();
    }
    const wildName = rawRule({ tick: [], start: [...i32Const(1), ...i32Const(2048), ...i32Const(0xfff0), ...i32Const(64), ...i32Const(0), ...i32Const(0), ...f64Zero, ...f64Zero, ...f64Zero, ...i32Const(0), 0x10, 0x00] });
    expect(thrownMessage(() => new RuleInstance(compileRule(wildName), 10, 100_000, RuleArena.single(1)))).toMatch(/declared name at 65520 \(64 bytes\) is outside memory/);
  });

  it('tables: call_indirect past the table traps and the rule stays confined; a rule cannot change its table (rules share it)', async () => {
    const module = (tick: string): Promise<Uint8Array> => assemble(`(module
      (import "millwright" "declare" (func $declare (param i32 i32 i32 i32 i32 i32 f64 f64 f64 i32)))
      (memory 1 1) (export "memory" (memory 0))
      (table $t 2 10 funcref) (elem (i32.const 0) $noop) (export "table" (table $t))
      (type $v (func))
      (func $noop)
      (func $start (call $declare (i32.const 0) (i32.const 1024) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (f64.const 0) (f64.const 0) (f64.const 0) (i32.const 0)))
      (start $start)
      (func $tick ${tick})
      (export "tick" (func $tick)))`);
    for (const change of ['(drop (table.grow $t (ref.func $noop) (i32.const 8)))', '(table.fill $t (i32.const 0) (ref.func $noop) (i32.const 2))', '(table.set $t (i32.const 1) (ref.func $noop))', '(table.copy $t $t (i32.const 0) (i32.const 1) (i32.const 1))']) {
      const bytes = await module(change);
      expect(thrownMessage(() => compileRule(bytes))).toMatch(/tables are fixed at load/);
    }
    const rule = await module(`(drop (table.get $t (i32.const 0))) ${watProbe()} (call_indirect $t (type $v) (i32.const 10))`);
    const scene = new Scene(compileRule(rule)).run(1);
    expect(scene.ruleSink.faults).toEqual(['RULE_TRAP']);
    scene.expectConfined();
  });
});
