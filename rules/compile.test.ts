// The compiler path with real AssemblyScript: errors as file:line:column, the sandbox refusing what
// a rule must not use, and faults of compiled rules classified. Compiled modules are cached in the
// temp folder, so only the first run pays for the compiler.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { quarantineDefaults } from '../common/rule-faults.ts';
import { RuleSupervisor, type RuleSink } from '../common/rule-supervisor.ts';
import { buildRule } from './build.ts';
import { compileCached } from './compile-cache.ts';
import { compileRuleSource } from './compile.ts';

const folder = join(tmpdir(), 'millwright-rule-sources');
const rule = (name: string, body: string) => ({ path: join(folder, `${name}.ts`), text: `import { input, output, alarm, Severity } from "millwright";\n${body}\n` });

async function errorOf(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error('expected a failure');
}

describe('compiling rules', () => {
  it('reports AssemblyScript errors as file:line:column with the compiler code', async () => {
    const broken = rule('broken-rule', 'const level = input("tank/level");\nexport function tick(): void {\n  const x: i32 = nope;\n}');
    const error = await errorOf(compileRuleSource(broken.path, { sources: { [broken.path]: broken.text }, optimize: false }));
    expect(error.code).toBe('RULE_COMPILE_FAILED');
    expect(error.message).toMatch(/broken-rule\.ts:4:18: error TS2304: Cannot find name 'nope'\./);
  }, 60_000);

  it('refuses at build a rule whose module would import anything but the host ABI (Math.random)', async () => {
    const random = rule('random-rule', 'const valve = output("tank/valve", 0);\nexport function tick(): void { valve.set(Math.random()); }');
    const error = await errorOf(buildRule(random.path, { sources: { [random.path]: random.text }, compile: compileCached }));
    expect(error.code).toBe('RULE_IMPORT_REFUSED');
    expect(error.message).toContain('Math.random is not available to rules');
  }, 60_000);
});

describe('faults of compiled rules', () => {
  const faults: string[] = [];
  const writes: number[] = [];
  const sink: RuleSink = { write: (_index, value) => void writes.push(value), point: () => undefined, alarm: () => undefined, fault: (code, message) => void faults.push(`${code}: ${message}`) };
  const cases = [
    ['an endless loop runs out of fuel', 'let n: i32 = 0;\nexport function tick(): void { valve.set(1); while (true) { n++; } }', /^RULE_FUEL_EXHAUSTED/],
    ['a rule that keeps allocating runs out of memory', 'const kept = new Array<StaticArray<f64>>();\nexport function tick(): void { valve.set(1); kept.push(new StaticArray<f64>(100000)); }', /^RULE_MEMORY/],
    ['an index out of range aborts with its source position', 'const values = new Array<f64>(2);\nexport function tick(): void { valve.set(values[5]); }', /^RULE_ABORT: Index out of range at ~lib\/array\.ts:\d+:\d+/],
  ] as const;
  for (const [name, body, expected] of cases) {
    it(`${name}, and the output goes to its safe value in the same tick`, async () => {
      const source = rule(name.replace(/\W+/g, '-'), `const valve = output("tank/valve", -1);\n${body}`);
      const built = await buildRule(source.path, { sources: { [source.path]: source.text }, compile: compileCached });
      const supervisor = new RuleSupervisor({ name, compiled: built.compiled, tickMs: 10, fuelPerTick: 100_000, startFuel: 1_000_000, quarantine: quarantineDefaults });
      faults.length = 0;
      writes.length = 0;
      for (let tick = 0; tick < 200 && faults.length === 0; tick++) supervisor.run(tick, sink);
      expect(faults[0]).toMatch(expected);
      expect(writes.at(-1)).toBe(-1);
    }, 60_000);
  }
});
