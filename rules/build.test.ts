import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { quarantineDefaults } from '../common/rule-faults.ts';
import { checkModuleHash, manifestDeclarations, parseRuleManifest } from '../common/rule-manifest.ts';
import { RuleSupervisor } from '../common/rule-supervisor.ts';
import { buildRule, writeBuiltRule, type BuiltRule } from './build.ts';
import { compileCached } from './compile-cache.ts';
import { thrownCode } from '../common/assert.ts';

const source = fileURLToPath(new URL('./examples/over-temperature.ts', import.meta.url));
let built: BuiltRule;

beforeAll(async () => {
  built = await buildRule(source, { compile: compileCached });
}, 120_000);

const codeOf = thrownCode;

describe('rule manifests', () => {
  it('are extracted from what the module declares when its start function runs', () => {
    expect(built.manifest).toMatchObject({
      type: 'millwright-rule',
      name: 'over-temperature',
      limits: { fuelPerTick: 100_000, memoryPagesMax: 16 },
      inputs: [{ name: 'filler/temperature' }, { name: 'filler/running' }],
      outputs: [{ name: 'filler/run_command', safe: 0 }],
      params: [{ name: 'limit', default: 80, min: 0, max: 200 }],
      points: [],
      alarms: [{ name: 'over-temperature', severity: 'critical', message: 'Filler over temperature: stopped by rule', hysteresis: 5, onDelayMs: 2000, latching: true }],
    });
  });

  it('are written as JSON beside the module and read back valid, naming the module by its hash', () => {
    const files = writeBuiltRule(mkdtempSync(join(tmpdir(), 'millwright-build-')), built);
    const manifest = parseRuleManifest(JSON.parse(readFileSync(files.manifest, 'utf8')));
    expect(manifest).toEqual(built.manifest);
    expect(() => checkModuleHash(manifest, new Uint8Array(readFileSync(files.wasm)))).not.toThrow();
  });

  it('are refused with a module that is not the one they name, or declarations the module does not make', () => {
    const changed = built.wasm.slice();
    changed[changed.length - 1] = changed[changed.length - 1]! ^ 1;
    expect(codeOf(() => checkModuleHash(built.manifest, changed))).toBe('RULE_MANIFEST_MISMATCH');
    const lying = { ...built.manifest, outputs: [{ name: 'filler/run_command', safe: 1 }] };
    const start = () => new RuleSupervisor({ name: 'x', compiled: built.compiled, tickMs: 10, fuelPerTick: 1000, startFuel: 1_000_000, quarantine: quarantineDefaults, expected: manifestDeclarations(lying) });
    expect(codeOf(start)).toBe('RULE_MANIFEST_MISMATCH');
  });

  it('are refused when a field is missing or malformed, naming the field', () => {
    const { limits: _limits, ...withoutLimits } = built.manifest;
    expect(() => parseRuleManifest({ ...withoutLimits, module: { sha256: 'xyz', bytes: 10 } })).toThrow(/must have required property 'limits'.*\/module\/sha256 must match pattern/);
  });
});
