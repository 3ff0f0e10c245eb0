// Runs a test script against a built rule, tick by tick, through the same supervisor the gateway
// uses (sandbox, fuel, faults and safe values included), and reports every tick whose outcome
// differs from the script as a small expected/got table.
import { qualityCodes, ruleLimitDefaults } from '../common/rule-abi.ts';
import { MillwrightError } from '../common/errors.ts';
import { ruleErrors } from '../common/rule-errors.ts';
import { quarantineDefaults } from '../common/rule-faults.ts';
import type { CompiledRule } from '../common/rule-instance.ts';
import { manifestDeclarations, type RuleManifest } from '../common/rule-manifest.ts';
import { RuleSupervisor, type RuleSink } from '../common/rule-supervisor.ts';
import type { Scalar, Step, TestCase, TestScript } from './test-script.ts';

export interface Failure {
  readonly tick: number;
  readonly line: number;
  readonly rows: readonly string[];
  readonly inputs: string;
}

export interface CaseResult {
  readonly name: string;
  readonly ticks: number;
  readonly failures: readonly Failure[];
}

export interface TestedRule {
  readonly compiled: CompiledRule;
  readonly manifest: RuleManifest;
}

const failuresPerCaseMax = 5;

function show(value: number | boolean | undefined | 'none'): string {
  if (value === undefined || value === 'none') return '(none)';
  return Object.is(value, -0) ? '-0' : String(value);
}

function same(expected: Scalar, actual: number | undefined): boolean {
  if (actual === undefined) return false;
  const want = typeof expected === 'boolean' ? (expected ? 1 : 0) : expected;
  if (Number.isNaN(want)) return Number.isNaN(actual);
  return Math.abs(want - actual) <= 1e-9 * Math.max(1, Math.abs(want), Math.abs(actual));
}

function row(kind: string, name: string, expected: string, got: string): string {
  return `${kind.padEnd(7)}${name.padEnd(32)} expected ${expected.padEnd(10)} got ${got}`;
}

function indexer(script: TestScript, names: readonly { readonly name: string }[], what: string, rule: string) {
  return (name: string, line: number): number => {
    const index = names.findIndex((entry) => entry.name === name);
    if (index < 0) throw new MillwrightError(ruleErrors.testScriptInvalid, `${script.file}:${line}: '${name}' is not ${what} of rule ${rule} (it declares: ${names.map((entry) => entry.name).join(', ') || 'none'})`);
    return index;
  };
}

function runCase(script: TestScript, rule: TestedRule, testCase: TestCase): CaseResult {
  const { manifest } = rule;
  const inputIndex = indexer(script, manifest.inputs, 'an input', manifest.name);
  const outputIndex = indexer(script, manifest.outputs, 'an output', manifest.name);
  const pointIndex = indexer(script, manifest.points, 'a point', manifest.name);
  const alarmIndex = indexer(script, manifest.alarms, 'an alarm', manifest.name);
  const supervisor = new RuleSupervisor({
    name: manifest.name,
    compiled: rule.compiled,
    tickMs: script.tickMs,
    fuelPerTick: manifest.limits.fuelPerTick,
    startFuel: ruleLimitDefaults.startFuel,
    quarantine: script.quarantine ?? quarantineDefaults,
    params: script.params,
    expected: manifestDeclarations(manifest),
  });
  const inputs = manifest.inputs.map(() => ({ value: 0, quality: 'bad' }));
  const lastWritten: (number | undefined)[] = manifest.outputs.map(() => undefined);
  const alarmsActive = manifest.alarms.map(() => false);
  const writes = new Map<number, number>();
  const points = new Map<number, number>();
  const transitions = new Map<number, boolean>();
  let fault = '';
  const sink: RuleSink = {
    write: (index, value) => void writes.set(index, value),
    point: (index, value) => void points.set(index, value),
    alarm: (index, active) => void transitions.set(index, active),
    fault: (code) => void (fault = code),
  };
  const steps = new Map<number, Step[]>();
  for (const step of testCase.steps) steps.set(step.tick, [...(steps.get(step.tick) ?? []), step]);
  const lastTick = Math.max(...testCase.steps.map((step) => step.through ?? step.tick));
  const failures: Failure[] = [];

  const check = (step: Step): string[] => {
    const expect = step.expect;
    if (expect === undefined) return [];
    const rows: string[] = [];
    for (const [name, want] of Object.entries(expect.writes ?? {})) {
      const got = writes.get(outputIndex(name, step.line));
      if (want === 'none' ? got !== undefined : !same(want, got)) rows.push(row('write', name, show(want), show(got)));
    }
    for (const [name, want] of Object.entries(expect.outputs ?? {})) {
      const got = lastWritten[outputIndex(name, step.line)];
      if (want === 'none' ? got !== undefined : !same(want, got)) rows.push(row('output', name, show(want), show(got)));
    }
    for (const [name, want] of Object.entries(expect.points ?? {})) {
      const got = points.get(pointIndex(name, step.line));
      if (want === 'none' ? got !== undefined : !same(want, got)) rows.push(row('point', name, show(want), got === undefined ? '(not published)' : show(got)));
    }
    for (const [name, want] of Object.entries(expect.alarms ?? {})) {
      const index = alarmIndex(name, step.line);
      const active = alarmsActive[index]!;
      const moved = transitions.get(index);
      const got = moved === true ? 'raised' : moved === false ? 'cleared' : active ? 'active' : 'inactive';
      const ok = want === got || (want === 'active' && active) || (want === 'inactive' && !active);
      if (!ok) rows.push(row('alarm', name, want, got));
    }
    if (expect.fault !== undefined && expect.fault !== (fault || 'none')) rows.push(row('fault', '', expect.fault, fault || 'none'));
    if (expect.quarantined !== undefined && expect.quarantined !== supervisor.quarantined) rows.push(row('rule', 'quarantined', String(expect.quarantined), String(supervisor.quarantined)));
    return rows;
  };

  for (let tick = 0; tick <= lastTick; tick++) {
    for (const step of steps.get(tick) ?? []) {
      for (const [name, value] of Object.entries(step.params ?? {})) supervisor.setParam(name, value);
      for (const [name, given] of Object.entries(step.inputs ?? {})) {
        const index = inputIndex(name, step.line);
        const { value, quality } = typeof given === 'object' ? { value: given.value, quality: given.quality ?? 'good' } : { value: given, quality: 'good' as const };
        const number = typeof value === 'boolean' ? (value ? 1 : 0) : value;
        inputs[index] = { value: number, quality };
        supervisor.input(index, number, qualityCodes[quality], tick);
      }
      for (const name of step.acknowledge ?? []) supervisor.acknowledge(alarmIndex(name, step.line));
    }
    writes.clear();
    points.clear();
    transitions.clear();
    fault = '';
    supervisor.run(tick, sink);
    for (const [index, value] of writes) lastWritten[index] = value;
    for (const [index, active] of transitions) alarmsActive[index] = active;
    for (const candidate of testCase.steps) {
      if (candidate.tick > tick || (candidate.through ?? candidate.tick) < tick || failures.length >= failuresPerCaseMax) continue;
      const rows = check(candidate);
      if (rows.length > 0) failures.push({ tick, line: candidate.line, rows, inputs: manifest.inputs.map((input, index) => `${input.name}=${show(inputs[index]!.value)} ${inputs[index]!.quality}`).join(', ') });
    }
  }
  return { name: testCase.name, ticks: lastTick + 1, failures };
}

export function runTestScript(script: TestScript, rule: TestedRule): CaseResult[] {
  return script.cases.map((testCase) => runCase(script, rule, testCase));
}

/** The report for one script: one line per case, and an expected/got table per failing tick. */
export function formatResults(script: TestScript, results: readonly CaseResult[]): string {
  const lines: string[] = [];
  for (const result of results) {
    if (result.failures.length === 0) {
      lines.push(`  ok    ${result.name} (${result.ticks} ticks)`);
      continue;
    }
    lines.push(`  FAIL  ${result.name}`);
    for (const failure of result.failures) {
      lines.push(`        at tick ${failure.tick} (expected by ${script.file}:${failure.line}):`);
      for (const text of failure.rows) lines.push(`          ${text}`);
      lines.push(`          inputs: ${failure.inputs || '(none)'}`);
    }
  }
  return lines.join('\n');
}
