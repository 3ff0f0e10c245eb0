// The rule engine's costs, each against a peer measured in the same run:
//   1. the scan step over 200 rules and 2,000 tags, as sandboxed WebAssembly (the gateway's
//      RuleHost: fuel metering, input copies, output reads) against the same logic as plain
//      TypeScript step functions reading the snapshot directly (goal: WASM ≤ 1.5 × TypeScript),
//      and, for context, against one TypeScript object per rule with the SDK's blocks as classes,
//      and the same WebAssembly rules when no two of them share code (each a copy with one more
//      function), as unrelated rules would;
//   2. the step of 1,000 rules over 10,000 tags as a share of a 10 ms tick (goal: ≤ 0.25), and
//      against the same 1,000 rules in TypeScript;
//   3. build time per rule (compile, sandbox check, manifest) of the five examples, against a
//      bare AssemblyScript module compiled by the same in-process compiler.
// Each tick changes 10% of the input tags (seeded random walks); both programs see the same
// ticks, and their outputs are counted to show they did the same work.
// usage: node --import tsx bench/rules.bench.ts [--quick]
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ruleLimitDefaults } from '../common/rule-abi.ts';
import { sha256Hex } from '../common/rule-manifest.ts';
import { seededRandom } from '../common/random.ts';
import { RuleHost } from '../edge/rules/rule-host.ts';
import type { RuleBinding, RulePlan } from '../edge/rules/rule-plan.ts';
import type { StepContext, StepProgram } from '../edge/scan/step.ts';
import { buildRule, ruleSources, type BuiltRule } from '../rules/build.ts';
import { compileCached } from '../rules/compile-cache.ts';
import { compileRuleSource } from '../rules/compile.ts';
import { heading, note, printResult, printTable, quick, verdict } from './lib/report.ts';
import { fmt, ratio } from './lib/stats.ts';

const bench = 'rules';
const inputsPerRule = 10;
const noopRule = {
  path: join(tmpdir(), 'millwright-bench-rules', 'noop.ts'),
  text: ['import { input, output } from "millwright";', ...Array.from({ length: inputsPerRule }, (_, index) => `input("dev/p${index}");`), 'output("dev/stop", 0);', 'export function tick(): void {}', ''].join('\n'),
};
const changedShare = 0.1;
const ticksPerRound = quick ? 300 : 1500;
const rounds = quick ? 3 : 7;

// ---- the workload: a snapshot that changes 10% of its tags per tick ----

interface Counts {
  writes: number;
  points: number;
  alarms: number;
}

function context(tagCount: number, counts: Counts): StepContext & { tick: number; changedCount: number } {
  return {
    tick: 0,
    nowMs: 0,
    values: new Float64Array(tagCount),
    qualities: new Uint8Array(tagCount),
    sourceTsMs: new Float64Array(tagCount),
    changed: new Uint8Array(tagCount),
    changedTags: new Int32Array(tagCount),
    changedCount: 0,
    point: () => void counts.points++,
    write: () => void counts.writes++,
    alarm: () => void counts.alarms++,
  };
}

/** Precomputed input changes per tick: the same sequence for every program. */
function changes(inputTags: number, ticks: number): { index: Int32Array; value: Float64Array; perTick: number } {
  const random = seededRandom(11);
  const perTick = Math.round(inputTags * changedShare);
  const level = Float64Array.from({ length: inputTags }, (_, tag) => (tag % inputsPerRule === 0 ? 80 : tag % inputsPerRule === 2 ? 1 : 50));
  const index = new Int32Array(ticks * perTick);
  const value = new Float64Array(ticks * perTick);
  for (let at = 0; at < index.length; at++) {
    const tag = random.int(0, inputTags - 1);
    const kind = tag % inputsPerRule;
    level[tag] = kind === 2 ? (random.next() < 0.05 ? 1 - level[tag]! : level[tag]!) : kind === 1 ? random.gaussian() * 3 : level[tag]! + random.gaussian() * (kind === 0 ? 1.5 : 0.4);
    index[at] = tag;
    value[at] = level[tag]!;
  }
  return { index, value, perTick };
}

function runTicks(program: StepProgram, step: StepContext & { tick: number; changedCount: number }, feed: ReturnType<typeof changes>, firstTick: number, ticks: number): number {
  const { values, changed, changedTags } = step;
  const startedNs = process.hrtime.bigint();
  let stepNs = 0n;
  for (let tick = firstTick; tick < firstTick + ticks; tick++) {
    const from = (tick % (feed.index.length / feed.perTick)) * feed.perTick;
    // as the scan core does: the flag per tag, and the list of changed tags without duplicates
    step.changedCount = 0;
    for (let at = from; at < from + feed.perTick; at++) {
      const tag = feed.index[at]!;
      values[tag] = feed.value[at]!;
      if (changed[tag] === 0) changedTags[step.changedCount++] = tag;
      changed[tag] = 1;
    }
    step.tick = tick;
    const before = process.hrtime.bigint();
    program.step(step);
    stepNs += process.hrtime.bigint() - before;
    for (let at = from; at < from + feed.perTick; at++) changed[feed.index[at]!] = 0;
  }
  void startedNs;
  return Number(stepNs) / 1000 / ticks; // µs per tick
}

// ---- where each program writes: the gateway's tag numbering for N rules, shared by all programs ----

/** The input tags come first; then one output, two points and one alarm state point per rule. */
class TagLayout {
  readonly output: number;
  readonly points: number;
  readonly alarmStates: number;
  constructor(rules: number) {
    this.output = rules * inputsPerRule;
    this.points = this.output + rules;
    this.alarmStates = this.points + rules * 2;
  }
}

// ---- the same rule as plain TypeScript (mirrors rules/sdk/testing/bench-rule.ts) ----

class TypeScriptRules implements StepProgram {
  readonly #rules: number;
  readonly #active: Uint8Array;
  readonly #squares: Float64Array;
  readonly #squareNext: Int32Array;
  readonly #squareCount: Int32Array;
  readonly #squareSum: Float64Array;
  readonly #rmsLast: Float64Array;
  readonly #meanLast: Float64Array;
  readonly #reported: Uint8Array;
  readonly #runningBefore: Uint8Array;
  readonly #starts: Int32Array;
  readonly #tags: TagLayout;

  constructor(rules: number) {
    this.#rules = rules;
    this.#tags = new TagLayout(rules);
    this.#active = new Uint8Array(rules);
    this.#squares = new Float64Array(rules * 16);
    this.#squareNext = new Int32Array(rules);
    this.#squareCount = new Int32Array(rules);
    this.#squareSum = new Float64Array(rules);
    this.#rmsLast = new Float64Array(rules).fill(NaN);
    this.#meanLast = new Float64Array(rules).fill(NaN);
    this.#reported = new Uint8Array(rules * 2);
    this.#runningBefore = new Uint8Array(rules);
    this.#starts = new Int32Array(rules);
  }

  step(context: StepContext): void {
    const { values, qualities } = context;
    const { output, points, alarmStates } = this.#tags;
    for (let rule = 0; rule < this.#rules; rule++) {
      const base = rule * inputsPerRule;
      // over-temperature: above 85 with hysteresis 2, no on-delay, stop on raise
      if (qualities[base] === 0) {
        const temperature = values[base]!;
        if (this.#active[rule] === 0) {
          if (temperature > 85) {
            this.#active[rule] = 1;
            context.alarm(rule, true, temperature, 3);
            context.point(alarmStates + rule, 1, 0, context.nowMs); // the alarm's state point, as the gateway publishes it
            context.write(output + rule, 0);
          }
        } else if (temperature <= 83) {
          this.#active[rule] = 0;
          context.alarm(rule, false, temperature, 3);
          context.point(alarmStates + rule, 0, 0, context.nowMs);
        }
      }
      // vibration RMS over 16 samples, reported beyond 0.1
      const sample = values[base + 1]!;
      const rms = Math.sqrt(this.#movingAverage(rule, sample * sample));
      if (this.#deadband(rule * 2, this.#rmsLast, rule, rms, 0.1)) context.point(points + rule * 2, rms, 0, context.nowMs);
      // start counter: R_TRIG -> CTU
      const running = values[base + 2] !== 0 ? 1 : 0;
      if (running === 1 && this.#runningBefore[rule] === 0 && this.#starts[rule]! < 2 ** 31 - 1) this.#starts[rule]!++;
      this.#runningBefore[rule] = running;
      // mean of seven process values, reported beyond 0.5
      let sum = 0;
      for (let index = 3; index < inputsPerRule; index++) sum += values[base + index]!;
      const mean = sum / 7;
      if (this.#deadband(rule * 2 + 1, this.#meanLast, rule, mean, 0.5)) context.point(points + rule * 2 + 1, mean, 0, context.nowMs);
    }
  }

  #movingAverage(rule: number, sample: number): number {
    const base = rule * 16;
    const next = this.#squareNext[rule]!;
    if (this.#squareCount[rule] === 16) this.#squareSum[rule]! -= this.#squares[base + next]!;
    else this.#squareCount[rule]!++;
    this.#squares[base + next] = sample;
    this.#squareSum[rule]! += sample;
    const after = (next + 1) % 16;
    this.#squareNext[rule] = after;
    if (after === 0) {
      let sum = 0;
      for (let index = 0; index < 16; index++) sum += this.#squares[base + index]!;
      this.#squareSum[rule] = sum;
    }
    return this.#squareSum[rule]! / this.#squareCount[rule]!;
  }

  #deadband(slot: number, last: Float64Array, rule: number, value: number, band: number): boolean {
    const previous = last[rule]!;
    const moved = Number.isNaN(value) !== Number.isNaN(previous) || Math.abs(value - previous) > band;
    if (this.#reported[slot] === 1 && !moved) return false;
    this.#reported[slot] = 1;
    last[rule] = value;
    return true;
  }
}

// ---- the same rule as one TypeScript object per rule, its blocks as small classes (as the SDK) ----

class MovingAverageBlock {
  readonly #buffer = new Float64Array(16);
  #next = 0;
  #count = 0;
  #sum = 0;

  update(sample: number): number {
    if (this.#count === 16) this.#sum -= this.#buffer[this.#next]!;
    else this.#count++;
    this.#buffer[this.#next] = sample;
    this.#sum += sample;
    this.#next = (this.#next + 1) % 16;
    if (this.#next === 0) this.#sum = this.#buffer.reduce((sum, value) => sum + value, 0);
    return this.#sum / this.#count;
  }
}

class DeadbandBlock {
  #last = NaN;
  #started = false;
  constructor(readonly band: number) {}

  update(value: number): boolean {
    const moved = Number.isNaN(value) !== Number.isNaN(this.#last) || Math.abs(value - this.#last) > this.band;
    if (this.#started && !moved) return false;
    this.#started = true;
    this.#last = value;
    return true;
  }
}

class MachineMonitor {
  readonly #meanSquare = new MovingAverageBlock();
  readonly #rmsReport = new DeadbandBlock(0.1);
  readonly #meanReport = new DeadbandBlock(0.5);
  #active = false;
  #runningBefore = false;
  #starts = 0;
  constructor(
    readonly index: number,
    readonly tags: TagLayout,
  ) {}

  tick(context: StepContext): void {
    const { values, qualities } = context;
    const base = this.index * inputsPerRule;
    if (qualities[base] === 0) {
      const temperature = values[base]!;
      if (!this.#active && temperature > 85) {
        this.#active = true;
        context.alarm(this.index, true, temperature, 3);
        context.point(this.tags.alarmStates + this.index, 1, 0, context.nowMs);
        context.write(this.tags.output + this.index, 0);
      } else if (this.#active && temperature <= 83) {
        this.#active = false;
        context.alarm(this.index, false, temperature, 3);
        context.point(this.tags.alarmStates + this.index, 0, 0, context.nowMs);
      }
    }
    const sample = values[base + 1]!;
    const rms = Math.sqrt(this.#meanSquare.update(sample * sample));
    if (this.#rmsReport.update(rms)) context.point(this.tags.points + this.index * 2, rms, 0, context.nowMs);
    const running = values[base + 2] !== 0;
    if (running && !this.#runningBefore && this.#starts < 2 ** 31 - 1) this.#starts++;
    this.#runningBefore = running;
    let sum = 0;
    for (let input = 3; input < inputsPerRule; input++) sum += values[base + input]!;
    const mean = sum / 7;
    if (this.#meanReport.update(mean)) context.point(this.tags.points + this.index * 2 + 1, mean, 0, context.nowMs);
  }
}

class TypeScriptRuleObjects implements StepProgram {
  readonly #rules: MachineMonitor[];
  constructor(rules: number) {
    const tags = new TagLayout(rules);
    this.#rules = Array.from({ length: rules }, (_, index) => new MachineMonitor(index, tags));
  }

  step(context: StepContext): void {
    for (const rule of this.#rules) rule.tick(context);
  }
}

// ---- the WebAssembly side: the gateway's RuleHost over a plan of N copies of the bench rule ----

/** Rule `index`'s module: the bench rule itself, or (with `ownCode`) a copy with one more function returning `index`, so that no two rules share code. */
type Variant = (index: number) => Pick<RuleBinding, 'wasm' | 'manifest'>;

function plan(rule: BuiltRule, rules: number, variant: Variant = () => rule): RulePlan {
  const tags = new TagLayout(rules);
  const bindings: RuleBinding[] = Array.from({ length: rules }, (_, index) => ({
    name: `machine-${index}`,
    ...variant(index),
    params: {},
    inputTags: Array.from({ length: inputsPerRule }, (_, input) => index * inputsPerRule + input),
    outputTags: [tags.output + index],
    pointTags: [tags.points + index * 2, tags.points + index * 2 + 1],
    alarmIndices: [index],
    alarmStateTags: [tags.alarmStates + index],
  }));
  return { tickMs: 10, startFuel: ruleLimitDefaults.startFuel, memoryPagesMax: 16, quarantine: { faultsMax: 3, windowTicks: 6000 }, rules: bindings };
}

interface Binaryen {
  readBinary(bytes: Uint8Array): { addFunction(name: string, params: number, results: number, vars: number[], body: number): unknown; i32: { const(value: number): number }; emitBinary(): Uint8Array; dispose(): void };
  none: number;
  i32: number;
}

/** Copies of the rule whose code differs (a function of their own, never called): each gets its own compiled module and instance, as unrelated rules would. */
async function ownCode(rule: BuiltRule): Promise<Variant> {
  const binaryen = (await import('binaryen')).default as unknown as Binaryen;
  const copies = new Map<number, Pick<RuleBinding, 'wasm' | 'manifest'>>();
  return (index) => {
    let copy = copies.get(index);
    if (copy === undefined) {
      const module = binaryen.readBinary(rule.wasm);
      module.addFunction(`copy${index}`, binaryen.none, binaryen.i32, [], module.i32.const(index));
      const wasm = module.emitBinary();
      module.dispose();
      copy = { wasm, manifest: { ...rule.manifest, module: { sha256: sha256Hex(wasm), bytes: wasm.length } } };
      copies.set(index, copy);
    }
    return copy;
  };
}

/**
 * Before anything is timed: every program, fed the same ticks, emits the same writes, points and
 * alarm transitions with the same values (in any order within a tick), or the comparison is void.
 */
function checkSameOutputs(rules: number, programs: Readonly<Record<string, (rules: number) => StepProgram>>): void {
  const ticks = 400;
  const tags = rules * (inputsPerRule + 4);
  const feed = changes(rules * inputsPerRule, ticks);
  const streams = Object.entries(programs).map(([name, make]) => {
    const events: string[] = [];
    const step = context(tags, { writes: 0, points: 0, alarms: 0 });
    Object.assign(step, {
      point: (tag: number, value: number, quality: number) => void events.push(`${step.tick} point ${tag} ${value} ${quality}`),
      write: (tag: number, value: number) => void events.push(`${step.tick} write ${tag} ${value}`),
      alarm: (index: number, active: boolean, value: number, severity: number) => void events.push(`${step.tick} alarm ${index} ${active} ${value} ${severity}`),
    });
    runTicks(make(rules), step, feed, 0, ticks);
    return { name, events: events.sort() };
  });
  const [first, ...others] = streams.filter((stream) => stream.events.length > 0);
  for (const other of others) {
    const at = first!.events.findIndex((event, index) => event !== other.events[index]);
    if (at !== -1 || first!.events.length !== other.events.length) {
      throw new Error(`${other.name} and ${first!.name} disagree (${first!.events[at] ?? 'end'} against ${other.events[at] ?? 'end'}): timing them side by side would mean nothing`);
    }
  }
  note(`outputs checked: ${streams.filter((stream) => stream.events.length > 0).map((stream) => stream.name).join(', ')} emit the same ${first!.events.length} events over ${ticks} ticks, value for value`);
}

interface Measured {
  readonly us: number;
  readonly counts: Counts;
}

/** Runs the programs over the same ticks, in alternating order, and returns each one's median µs per tick. */
function measure(rules: number, programs: Readonly<Record<string, (rules: number) => StepProgram>>): Record<string, Measured> {
  const tags = rules * (inputsPerRule + 4);
  const feed = changes(rules * inputsPerRule, ticksPerRound * 2);
  const runs = Object.entries(programs).map(([name, make]) => {
    const counts = { writes: 0, points: 0, alarms: 0 };
    return { name, program: make(rules), step: context(tags, counts), counts, samples: [] as number[] };
  });
  let tick = 0;
  for (let round = 0; round <= rounds; round++) {
    // Round 0 warms every program up (V8 tiers WebAssembly up lazily) and is not counted.
    const order = round % 2 === 0 ? runs : [...runs].reverse();
    for (const run of order) {
      const us = runTicks(run.program, run.step, feed, tick, ticksPerRound);
      if (round > 0) run.samples.push(us);
    }
    tick += ticksPerRound;
  }
  const median = (samples: number[]): number => samples.sort((a, b) => a - b)[Math.floor(samples.length / 2)]!;
  return Object.fromEntries(runs.map((run) => [run.name, { us: median(run.samples), counts: run.counts }]));
}

async function main(): Promise<void> {
  const benchRule = fileURLToPath(new URL('../rules/sdk/testing/bench-rule.ts', import.meta.url));
  const rule = await buildRule(benchRule, { compile: compileCached });
  note(`bench rule: ${rule.wasm.length} bytes, ${rule.manifest.inputs.length} inputs; ${ticksPerRound} ticks per round, ${rounds} rounds (median), ${changedShare * 100}% of inputs change per tick`);

  const distinct = await ownCode(rule);
  const noop = await buildRule(noopRule.path, { compile: compileCached, sources: { [noopRule.path]: noopRule.text } });
  const hosts: RuleHost[] = [];
  const programs = {
    'WebAssembly rules (RuleHost)': (count: number) => hosts[hosts.push(new RuleHost(plan(rule, count))) - 1]!,
    'TypeScript functions': (count: number) => new TypeScriptRules(count),
    'TypeScript rule objects': (count: number) => new TypeScriptRuleObjects(count),
    'WebAssembly no-op rules (the floor)': (count: number) => new RuleHost(plan(noop, count)),
  };
  // measured apart from the programs above: a megabyte of code each tick would evict theirs between rounds
  const ownCodePrograms = {
    'WebAssembly rules, each its own code': (count: number) => new RuleHost(plan(rule, count, distinct)),
    'TypeScript functions': (count: number) => new TypeScriptRules(count),
  };
  const table = (results: Record<string, Measured>, count: number): void =>
    printTable(
      ['program', 'µs per tick', 'ns per rule', 'share of 10 ms', 'writes', 'points', 'alarm transitions'],
      Object.entries(results).map(([name, { us, counts }]) => [name, fmt(us), fmt((us * 1000) / count), fmt(us / 10_000), String(counts.writes), String(counts.points), String(counts.alarms)]),
    );

  heading('step: 200 rules over 2,000 tags, WebAssembly against the same logic as TypeScript');
  checkSameOutputs(200, { ...programs, ...ownCodePrograms });
  const small = measure(200, programs);
  table(small, 200);
  const wasmSmall = small['WebAssembly rules (RuleHost)']!.us;
  const typeScriptSmall = small['TypeScript functions']!.us;
  const smallRatio = ratio(wasmSmall, typeScriptSmall);
  const fuelUsedMax = Math.max(...hosts[0]!.stats().map((stats) => stats.fuelUsedMax));
  const arena = hosts[0]!.arena;
  note(`ratio ${fmt(smallRatio)} (goal ≤ 1.5): ${verdict(smallRatio <= 1.5)}; most fuel a rule used in one tick: ${fuelUsedMax} of ${rule.manifest.limits.fuelPerTick}; the 200 rules' shared memory: ${arena.usedPages} of ${arena.pages} pages in regions (address space; untouched pages cost no memory)`);
  printResult({ bench, measure: 'step, 200 rules / 2,000 tags', value: wasmSmall, unit: 'µs/tick', reference: 'same logic as TypeScript', referenceValue: typeScriptSmall, ratio: smallRatio, goal: 'ratio ≤ 1.5', met: smallRatio <= 1.5 });
  const objectsSmall = small['TypeScript rule objects']!.us;
  note(`against one TypeScript object per rule (the SDK's blocks as classes, no batching across rules): ${fmt(ratio(wasmSmall, objectsSmall))}×; the floor (no-op rules) against the TypeScript functions: ${fmt(ratio(small['WebAssembly no-op rules (the floor)']!.us, typeScriptSmall))}×`);
  printResult({ bench, measure: 'step, 200 rules / 2,000 tags, vs rule objects', value: wasmSmall, unit: 'µs/tick', reference: 'same logic as one TypeScript object per rule', referenceValue: objectsSmall, ratio: ratio(wasmSmall, objectsSmall) });

  heading('step: the same 200 rules when no two share code, as unrelated rules would not');
  const apart = measure(200, ownCodePrograms);
  table(apart, 200);
  const ownCodeSmall = apart['WebAssembly rules, each its own code']!.us;
  const ownCodeTypeScript = apart['TypeScript functions']!.us;
  note(`${fmt(ratio(ownCodeSmall, ownCodeTypeScript))}× the TypeScript functions: 200 modules' code, not their data, outgrows the caches (copies of a rule that differ only in names of the same lengths share one module)`);
  printResult({ bench, measure: 'step, 200 rules / 2,000 tags, each its own code', value: ownCodeSmall, unit: 'µs/tick', reference: 'same logic as TypeScript', referenceValue: ownCodeTypeScript, ratio: ratio(ownCodeSmall, ownCodeTypeScript) });

  heading('step: 1,000 rules over 10,000 tags, as a share of a 10 ms tick');
  const large = measure(1000, programs);
  table(large, 1000);
  const wasmLarge = large['WebAssembly rules (RuleHost)']!.us;
  const tickShare = wasmLarge / 10_000;
  note(`share ${fmt(tickShare)} (goal ≤ 0.25): ${verdict(tickShare <= 0.25)}; against TypeScript ${fmt(ratio(wasmLarge, large['TypeScript functions']!.us))}×`);
  printResult({ bench, measure: 'step, 1,000 rules / 10,000 tags', value: wasmLarge, unit: 'µs/tick', reference: '10 ms tick', referenceValue: 10_000, ratio: tickShare, goal: 'ratio ≤ 0.25', met: tickShare <= 0.25 });

  heading('build time per rule: the five examples, against a bare AssemblyScript module');
  const bare = join(mkdtempSync(join(tmpdir(), 'millwright-bench-')), 'bare.ts');
  writeFileSync(bare, 'export function tick(): void {}\n');
  await compileRuleSource(bare); // starts the compiler's worker thread and warms it up
  const bareStartedMs = performance.now();
  await compileRuleSource(bare);
  const bareMs = performance.now() - bareStartedMs;
  const rows: string[][] = [];
  let totalMs = 0;
  const sources = ruleSources(fileURLToPath(new URL('../rules/examples/', import.meta.url)));
  for (const source of sources) {
    const startedMs = performance.now();
    const built = await buildRule(source);
    const ms = performance.now() - startedMs;
    totalMs += ms;
    rows.push([built.name, `${fmt(ms)} ms`, `${built.wasm.length} bytes`]);
  }
  rows.push(['(bare module, compile only)', `${fmt(bareMs)} ms`, '']);
  printTable(['rule', 'build', 'module'], rows);
  const perRuleMs = totalMs / sources.length;
  note(`${fmt(perRuleMs)} ms per rule, ${fmt(ratio(perRuleMs, bareMs))}× a bare module (the SDK and the sandbox check on top of the compiler's fixed cost)`);
  printResult({ bench, measure: 'build time per rule', value: perRuleMs, unit: 'ms', reference: 'bare AssemblyScript module', referenceValue: bareMs, ratio: ratio(perRuleMs, bareMs) });
}

await main();
