// The rule runtime's front door, for the gateway and for tools: compile (sandbox + instrument) a
// module, run it under a supervisor, and validate a bundled module before it is installed. The
// pieces live in the other common/rule-*.ts files; this file adds the bundle check and re-exports
// what callers need. Nothing here loads the AssemblyScript compiler.
import { MillwrightError } from './errors.ts';
import { ruleLimitDefaults } from './rule-abi.ts';
import { sameDeclarations } from './rule-declarations.ts';
import { ruleErrors } from './rule-errors.ts';
import { compileRule, RuleInstance } from './rule-instance.ts';
import { checkModuleHash, manifestDeclarations, parseRuleManifest, type RuleManifest } from './rule-manifest.ts';

export { compileRule, RuleInstance, type CompiledRule, type RuleFault } from './rule-instance.ts';
export { RuleSupervisor, type RuleSink, type SupervisorOptions } from './rule-supervisor.ts';
export { checkModuleHash, createRuleManifest, manifestDeclarations, parseRuleManifest, type RuleManifest } from './rule-manifest.ts';
export { ruleErrors, ruleFaultCodes, type RuleFaultCode } from './rule-errors.ts';

/** A module as a signed bundle carries it: its bytes, its rule manifest and the limits it was signed with. */
export interface BundledRule {
  readonly name: string;
  readonly wasm: Uint8Array;
  readonly ruleManifest: unknown;
  readonly limits: { readonly fuelPerTick: number; readonly memoryPagesMax: number };
}

export interface GatewayRuleLimits {
  readonly moduleBytesMax: number;
  readonly memoryPagesMax: number;
  readonly fuelPerTickMax: number;
}

/**
 * Everything the gateway can check about a bundled rule before it runs it: the manifest is valid
 * and names these bytes; the rule needs no more fuel or memory than the bundle grants and the
 * gateway allows; the module passes the sandbox; its start function finishes on its fuel; it
 * declares exactly what the manifest says. Fits common/bundle.ts's ModuleValidator hook.
 */
export function validateRuleModule(module: BundledRule, limits: GatewayRuleLimits): RuleManifest {
  const manifest = parseRuleManifest(module.ruleManifest, `rule manifest of module '${module.name}'`);
  checkModuleHash(manifest, module.wasm);
  const needs = manifest.limits;
  const refuse = (message: string): never => {
    throw new MillwrightError(ruleErrors.limitRefused, `module '${module.name}': ${message}`, { module: module.name });
  };
  if (needs.fuelPerTick > module.limits.fuelPerTick) refuse(`the rule needs ${needs.fuelPerTick} fuel per tick, the bundle grants ${module.limits.fuelPerTick}`);
  if (needs.fuelPerTick > limits.fuelPerTickMax) refuse(`the rule needs ${needs.fuelPerTick} fuel per tick, this gateway allows ${limits.fuelPerTickMax}`);
  if (needs.memoryPagesMax > module.limits.memoryPagesMax) refuse(`the rule needs ${needs.memoryPagesMax} memory pages, the bundle grants ${module.limits.memoryPagesMax}`);
  const compiled = compileRule(module.wasm, { memoryPagesMax: Math.min(limits.memoryPagesMax, module.limits.memoryPagesMax), moduleBytesMax: limits.moduleBytesMax });
  const declared = new RuleInstance(compiled, 10, ruleLimitDefaults.startFuel).declarations;
  if (!sameDeclarations(declared, manifestDeclarations(manifest))) {
    throw new MillwrightError(ruleErrors.manifestMismatch, `module '${module.name}': the module's declarations differ from its rule manifest`, { module: module.name });
  }
  return manifest;
}
