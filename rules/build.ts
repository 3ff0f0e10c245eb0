// `millwright rules build`: compiles each rule, checks the module against the same sandbox the
// gateway applies, runs its start function against a recording host to extract the declarations,
// and writes NAME.wasm and NAME.manifest.json. The manifest is what the gateway binds and what
// the bundle engineer signs together with the module's hash.
import { mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { MillwrightError } from '../common/errors.ts';
import { ruleLimitDefaults } from '../common/rule-abi.ts';
import { ruleErrors } from '../common/rule-errors.ts';
import { compileRule, RuleInstance, type CompiledRule } from '../common/rule-instance.ts';
import { createRuleManifest, ruleNamePattern, type RuleManifest } from '../common/rule-manifest.ts';
import { compileRuleSource, compilerVersion, type CompileOptions } from './compile.ts';

export interface BuiltRule {
  readonly name: string;
  readonly source: string;
  readonly wasm: Uint8Array;
  readonly manifest: RuleManifest;
  readonly compiled: CompiledRule;
}

export interface BuildOptions extends CompileOptions {
  /** Fuel per tick written into the manifest when the rule does not declare its own. */
  readonly fuelPerTick?: number;
  /** Replaces the compiler (the test suite passes a cached one). */
  readonly compile?: (source: string, options: CompileOptions) => Promise<{ wasm: Uint8Array }>;
}

export function ruleNameOf(source: string): string {
  const name = basename(source).replace(/\.ts$/, '');
  if (!ruleNamePattern.test(name)) throw new MillwrightError(ruleErrors.compileFailed, `${source}: a rule's file name is its name: use letters, digits, '-', '_' or '.' (got '${name}')`);
  return name;
}

/** The declarations of a compiled module, as the gateway will see them (start runs on fuel). */
export function extractDeclarations(compiled: CompiledRule): RuleInstance['declarations'] {
  return new RuleInstance(compiled, 10, ruleLimitDefaults.startFuel).declarations;
}

export async function buildRule(source: string, options: BuildOptions = {}): Promise<BuiltRule> {
  const name = ruleNameOf(source);
  const compileOptions: CompileOptions = { ...(options.optimize !== undefined && { optimize: options.optimize }), ...(options.memoryPagesMax !== undefined && { memoryPagesMax: options.memoryPagesMax }), ...(options.sources !== undefined && { sources: options.sources }) };
  const { wasm } = await (options.compile ?? compileRuleSource)(source, compileOptions);
  const memoryPagesMax = options.memoryPagesMax ?? ruleLimitDefaults.memoryPagesMax;
  const compiled = compileRule(wasm, { memoryPagesMax, moduleBytesMax: ruleLimitDefaults.moduleBytesMax });
  const declarations = extractDeclarations(compiled);
  const manifest = createRuleManifest({ name, wasm, declarations, memoryPagesMax: compiled.memoryPagesMax, defaultFuelPerTick: options.fuelPerTick ?? ruleLimitDefaults.fuelPerTick, compiler: compilerVersion });
  return { name, source, wasm, manifest, compiled };
}

/** Writes NAME.wasm and NAME.manifest.json into `outDir` (each through a temporary file and a rename). */
export function writeBuiltRule(outDir: string, rule: BuiltRule): { wasm: string; manifest: string } {
  mkdirSync(outDir, { recursive: true });
  const wasm = join(outDir, `${rule.name}.wasm`);
  const manifest = join(outDir, `${rule.name}.manifest.json`);
  writeFileSync(`${wasm}.tmp`, rule.wasm);
  renameSync(`${wasm}.tmp`, wasm);
  writeFileSync(`${manifest}.tmp`, `${JSON.stringify(rule.manifest, null, 2)}\n`);
  renameSync(`${manifest}.tmp`, manifest);
  return { wasm, manifest };
}

/** The rule sources a path names: a .ts file, or every .ts file directly in a folder (tests excluded). */
export function ruleSources(path: string): string[] {
  const target = resolve(path);
  let stats;
  try {
    stats = statSync(target);
  } catch {
    throw new MillwrightError(ruleErrors.compileFailed, `${path}: no such file or folder`);
  }
  if (stats.isFile()) return [target];
  const sources = readdirSync(target)
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts') && !file.includes('.test.'))
    .sort()
    .map((file) => join(target, file));
  if (sources.length === 0) throw new MillwrightError(ruleErrors.compileFailed, `${path}: no rule sources (.ts files) in this folder`);
  return sources;
}

export function defaultOutDir(path: string): string {
  const target = resolve(path);
  return statSync(target).isFile() ? join(dirname(target), 'build') : join(target, 'build');
}
