import { describe, expect, it } from 'vitest';
import { bundleLimitsDefault, type ModuleValidator } from './bundle.ts';
import { compileRule, createRuleManifest, RuleInstance, validateRuleModule } from './rule-runtime.ts';
import { sha256Hex } from './rule-manifest.ts';
import { assembleRule, type WatRule } from './rule-test-modules.ts';
import { thrownCode } from './assert.ts';

const rule: WatRule = { inputs: ['m/in'], outputs: [{ name: 'm/out', safe: 0 }], tick: '(call $output (i32.const 0) (call $input (i32.const 0)))' };

/** A module as a bundle carries it; `declaredBy` is the rule whose declarations go into the manifest. */
async function bundled(source: WatRule, declaredBy: WatRule = source) {
  const wasm = await assembleRule(source);
  const declarations = new RuleInstance(compileRule(await assembleRule(declaredBy)), 10, 1_000_000).declarations;
  const ruleManifest = createRuleManifest({ name: 'copy', wasm, declarations, memoryPagesMax: 2, defaultFuelPerTick: 50_000, compiler: 'wat' });
  return { name: 'copy', wasm, sha256: sha256Hex(wasm), ruleManifest, limits: { fuelPerTick: 50_000, memoryPagesMax: 2 } };
}

const codeOf = thrownCode;

describe('validating a bundled rule before install', () => {
  it("is common/bundle.ts's module validator, and accepts a module that matches its manifest", async () => {
    const validate: ModuleValidator = validateRuleModule;
    const module = await bundled(rule);
    expect(() => validate(module, bundleLimitsDefault)).not.toThrow();
  });

  it('refuses a module whose declarations are not its manifest', async () => {
    const module = await bundled(rule, { ...rule, outputs: [{ name: 'm/out', safe: 1 }] });
    expect(codeOf(() => validateRuleModule(module, bundleLimitsDefault))).toBe('RULE_MANIFEST_MISMATCH');
  });

  it('refuses a module whose start function loops', async () => {
    const module = await bundled({ ...rule, start: '(loop $forever (br $forever))' }, rule);
    expect(codeOf(() => validateRuleModule(module, bundleLimitsDefault))).toBe('RULE_START_FAILED');
  });

  it('refuses a rule that needs more fuel than the bundle grants', async () => {
    const module = await bundled(rule);
    expect(codeOf(() => validateRuleModule({ ...module, limits: { ...module.limits, fuelPerTick: 10 } }, bundleLimitsDefault))).toBe('RULE_LIMIT_REFUSED');
  });
});
