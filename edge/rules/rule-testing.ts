// Test fixtures for the rule host's tests: a gateway tag map of `line1/...` device tags, the plan
// context over it, and rules assembled from WAT with their manifests. Not used by production code.
import { compileRule, RuleInstance } from '../../common/rule-instance.ts';
import { createRuleManifest } from '../../common/rule-manifest.ts';
import { assembleRule, type WatRule } from '../../common/rule-test-modules.ts';
import type { LoadedRule } from './load-rules.ts';
import type { PlanContext } from './rule-plan.ts';

export interface TestDeviceTag {
  readonly tag: string;
  readonly kind: 'number';
  readonly writable: boolean;
}

export const testRuleLimits = { fuelPerTickMax: 1_000_000, memoryPagesMax: 16, startFuel: 1_000_000, quarantine: { faultsMax: 2, windowTicks: 100 } };

/** Binds rules to `deviceTags` (named `line1/{device}/{tag}`), rule alarms numbered from firstAlarmIndex. */
export function testPlanContext(deviceTags: readonly TestDeviceTag[], firstAlarmIndex = 0): PlanContext {
  return {
    area: 'line1',
    tickMs: 10,
    lookup: (name) => {
      const index = deviceTags.findIndex((entry) => entry.tag === `line1/${name}`);
      return index < 0 ? undefined : { index, writable: deviceTags[index]!.writable };
    },
    firstTagIndex: deviceTags.length,
    firstAlarmIndex,
    limits: testRuleLimits,
  };
}

/** A WAT rule assembled and described by its manifest, as load-rules.ts would hand it over. */
export async function loadedWatRule(name: string, rule: WatRule, params: Record<string, number> = {}): Promise<LoadedRule> {
  const wasm = await assembleRule(rule);
  const declarations = new RuleInstance(compileRule(wasm), 10, 1_000_000).declarations;
  return { source: `${name}.wasm`, wasm, params, manifest: createRuleManifest({ name, wasm, declarations, memoryPagesMax: 2, defaultFuelPerTick: 100_000, compiler: 'wat' }) };
}
