// Every example rule through the command line, as an engineer runs it: `rules test` on the
// folder (compiling each example once; later runs reuse the compile cache), then `rules build`.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { quarantineDefaults } from '../common/rule-faults.ts';
import { checkModuleHash, manifestDeclarations, parseRuleManifest } from '../common/rule-manifest.ts';
import { seededRandom } from '../common/random.ts';
import { RuleSupervisor, type RuleSink } from '../common/rule-supervisor.ts';
import { buildRule } from './build.ts';
import { run } from './cli.ts';
import { compileCached } from './compile-cache.ts';

const examples = fileURLToPath(new URL('./examples/', import.meta.url));
const names = readdirSync(examples).filter((file) => file.endsWith('.ts')).map((file) => file.replace(/\.ts$/, '')).sort();

function captured(): { text(): string } {
  const chunks: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => chunks.push(String(chunk)) > 0);
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => chunks.push(String(chunk)) > 0);
  return { text: () => chunks.join('') };
}

afterEach(() => vi.restoreAllMocks());

describe('example rules', () => {
  it('are the five the docs describe, each with a test script', () => {
    expect(names).toEqual(['deadband-filter', 'over-temperature', 'part-counting', 'safety-interlock', 'vibration-rms']);
    for (const name of names) expect(readdirSync(examples)).toContain(`${name}.test.yaml`);
  });

  it('pass their test scripts with `millwright rules test`', async () => {
    const output = captured();
    const code = await run(['test', examples]);
    const text = output.text();
    expect(text, text).toMatch(/(\d+) cases: \1 passed, 0 failed/);
    for (const name of names) expect(text).toContain(`PASS rules/examples/${name}.test.yaml (rule ${name})`);
    expect(code).toBe(0);
  }, 180_000);

  it('build with `millwright rules build` into a module and a manifest that names it', async () => {
    const out = mkdtempSync(join(tmpdir(), 'millwright-examples-'));
    const output = captured();
    expect(await run(['build', examples, '--out', out])).toBe(0);
    for (const name of names) {
      expect(output.text()).toContain(`built ${name}: `);
      const manifest = parseRuleManifest(JSON.parse(readFileSync(join(out, `${name}.manifest.json`), 'utf8')));
      checkModuleHash(manifest, new Uint8Array(readFileSync(join(out, `${name}.wasm`))));
    }
  }, 180_000);

  it('give identical outputs from two fresh instances fed the same inputs (vibration RMS, with NaN and bad samples)', async () => {
    const built = await buildRule(join(examples, 'vibration-rms.ts'), { compile: compileCached });
    const runs = [0, 1].map(() => {
      const supervisor = new RuleSupervisor({ name: built.name, compiled: built.compiled, tickMs: 10, fuelPerTick: built.manifest.limits.fuelPerTick, startFuel: 5_000_000, quarantine: quarantineDefaults, expected: manifestDeclarations(built.manifest) });
      const lines: string[] = [];
      const sink: RuleSink = {
        write: () => undefined,
        point: (_index, value) => void lines.push(`point ${Buffer.from(Float64Array.of(value).buffer).toString('hex')}`),
        alarm: (index, active) => void lines.push(`alarm ${index} ${active}`),
        fault: (code) => void lines.push(`fault ${code}`),
      };
      const random = seededRandom(42);
      let level = 2;
      for (let tick = 0; tick < 3000; tick++) {
        level = Math.max(0, level + random.gaussian() * 0.3);
        const roll = random.next();
        supervisor.input(0, roll < 0.01 ? NaN : level * Math.sin(tick / 3), roll > 0.99 ? 2 : 0, tick);
        supervisor.run(tick, sink);
      }
      return lines;
    });
    expect(runs[0]!.length).toBeGreaterThan(100);
    expect(runs[0]).toEqual(runs[1]);
  }, 120_000);
});
