import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../common/config.ts';
import { compileRule, RuleInstance } from '../../common/rule-instance.ts';
import { createRuleManifest } from '../../common/rule-manifest.ts';
import { assembleRule } from '../../common/rule-test-modules.ts';
import { loadRuleFiles } from './load-rules.ts';
import { rulesConfigSchema, type RulesConfig } from './rule-config.ts';

const schema = { type: 'object', additionalProperties: false, properties: { rules: rulesConfigSchema } };

async function ruleFolder(): Promise<{ dir: string; wasm: Uint8Array }> {
  const dir = mkdtempSync(join(tmpdir(), 'millwright-gateway-rules-'));
  const wasm = await assembleRule({ inputs: ['m/in'], tick: '' });
  const declarations = new RuleInstance(compileRule(wasm), 10, 100_000).declarations;
  writeFileSync(join(dir, 'copy-in.wasm'), wasm);
  writeFileSync(join(dir, 'copy-in.manifest.json'), JSON.stringify(createRuleManifest({ name: 'copy-in', wasm, declarations, memoryPagesMax: 2, defaultFuelPerTick: 1000, compiler: 'wat' })));
  return { dir, wasm };
}

describe("the gateway config's rules section", () => {
  it('fills in the ceilings and quarantine defaults and reads each module with its manifest', async () => {
    const { dir } = await ruleFolder();
    const { rules } = parseConfigText<{ rules: RulesConfig }>('rules:\n  modules:\n    - module: copy-in.wasm\n', 'gateway.yaml', schema);
    expect(rules).toMatchObject({ fuelPerTickMax: 1_000_000, memoryPagesMax: 16, startFuel: 5_000_000, quarantine: { faultsMax: 3, windowTicks: 6000 } });
    const [loaded] = loadRuleFiles(rules, dir);
    expect(loaded?.manifest.name).toBe('copy-in');
    expect(loaded?.params).toEqual({});
  });

  it('refuses a module that is not the one its manifest names', async () => {
    const { dir, wasm } = await ruleFolder();
    writeFileSync(join(dir, 'copy-in.wasm'), Buffer.concat([wasm, Buffer.from([0, 1, 0])]));
    expect(() => loadRuleFiles({ ...parseConfigText<{ rules: RulesConfig }>('{}', 'g.yaml', schema).rules, modules: [{ module: 'copy-in.wasm', params: {} }] }, dir)).toThrow(/RULE_MANIFEST_MISMATCH|is not the manifest's/);
  });

  it('names the file when a manifest is missing', async () => {
    const { dir } = await ruleFolder();
    const rules = parseConfigText<{ rules: RulesConfig }>('rules:\n  modules:\n    - { module: copy-in.wasm, manifest: other.json }\n', 'gateway.yaml', schema).rules;
    expect(() => loadRuleFiles(rules, dir)).toThrow(`rules.modules[0]: the rule manifest ${join(dir, 'other.json')}`);
  });
});
