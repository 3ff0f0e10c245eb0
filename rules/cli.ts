// `millwright rules build PATH` and `millwright rules test PATH`: compile rules in-process and run
// their tick-by-tick test scripts, with no gateway and no hardware. bin/cli.ts dispatches here.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseCommand, reportError, usageError } from '../common/cli.ts';
import { exitCode, isMillwrightError } from '../common/errors.ts';
import { buildRule, defaultOutDir, ruleSources, writeBuiltRule, type BuildOptions } from './build.ts';
import { compileCached } from './compile-cache.ts';
import { formatResults, runTestScript } from './test-runner.ts';
import { readTestScript } from './test-script.ts';

const usage = `usage: millwright rules <build|test> PATH [options]

  build PATH   compile the rule PATH (a .ts file) or every rule in the folder PATH; writes
               NAME.wasm and NAME.manifest.json into PATH/build (or --out DIR)
  test PATH    run the test scripts NAME.test.yaml in folder PATH (or the one script PATH)
               against the rules beside them

Run 'millwright rules build --help' or 'millwright rules test --help' for options.
See docs/rules.md for the tutorial.
`;

const buildSpec = {
  name: 'millwright rules build',
  summary: 'Compile AssemblyScript rules into sandboxed WebAssembly modules and their manifests.',
  help: `
arguments:
  PATH            a rule (.ts) or a folder of rules
options:
  --out DIR       where to write NAME.wasm and NAME.manifest.json (default PATH/build)
  --no-optimize   skip the optimiser (faster; for quick checks, not for the floor)
  --no-cache      compile afresh (compiled rules are otherwise cached in the temp folder, keyed
                  by the compiler, the options and every source, so a cached module is identical)
  -h, --help      show this help

Compile errors are printed as file:line:column. Exit codes: 0 built, 2 a rule did not build.`,
  options: { out: { type: 'string' }, 'no-optimize': { type: 'boolean' }, 'no-cache': { type: 'boolean' } },
  positionalsMax: 1,
} as const;

const testSpec = {
  name: 'millwright rules test',
  summary: "Run rules' tick-by-tick test scripts (NAME.test.yaml beside NAME.ts).",
  help: `
arguments:
  PATH            a folder of rules and test scripts, or one .test.yaml
options:
  --no-cache      compile every rule afresh (compiled rules are otherwise cached in the temp folder)
  -h, --help      show this help

Exit codes: 0 every case passed, 1 a case failed, 2 a rule or script is invalid.`,
  options: { 'no-cache': { type: 'boolean' } },
  positionalsMax: 1,
} as const;

function shown(path: string): string {
  return relative(process.cwd(), path) || path;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

async function build(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand(buildSpec, argv);
  if (parsed === undefined) return exitCode.ok;
  const path = parsed.positionals[0];
  if (path === undefined) throw usageError(`${buildSpec.name}: PATH is required\nrun '${buildSpec.name} --help' for usage`);
  const sources = ruleSources(path);
  const outDir = parsed.values.out ?? defaultOutDir(path);
  const options: BuildOptions = {
    ...(parsed.values['no-optimize'] === true && { optimize: false }),
    ...(parsed.values['no-cache'] !== true && { compile: compileCached }),
  };
  let failed = 0;
  for (const source of sources) {
    const startedMs = performance.now();
    try {
      const rule = await buildRule(source, options);
      const files = writeBuiltRule(outDir, rule);
      const { manifest } = rule;
      const parts = [plural(manifest.inputs.length, 'input'), plural(manifest.outputs.length, 'output'), plural(manifest.params.length, 'param'), plural(manifest.points.length, 'point'), plural(manifest.alarms.length, 'alarm')];
      process.stdout.write(`built ${rule.name}: ${rule.wasm.length.toLocaleString('en-US')} bytes, ${parts.join(', ')} -> ${shown(files.wasm)} (${((performance.now() - startedMs) / 1000).toFixed(1)} s)\n`);
    } catch (error) {
      if (!isMillwrightError(error)) throw error;
      failed++;
      reportError(error);
    }
  }
  if (failed > 0) process.stderr.write(`${plural(failed, 'rule')} of ${sources.length} did not build\n`);
  return failed > 0 ? exitCode.badUsageOrConfig : exitCode.ok;
}

function testScripts(path: string): string[] {
  const target = resolve(path);
  if (!existsSync(target)) throw usageError(`millwright rules test: ${path}: no such file or folder`);
  if (statSync(target).isFile()) return [target];
  const scripts = readdirSync(target).filter((file) => /\.test\.ya?ml$/.test(file)).sort();
  if (scripts.length === 0) throw usageError(`millwright rules test: ${path}: no test scripts (NAME.test.yaml) in this folder`);
  return scripts.map((file) => join(target, file));
}

async function test(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand(testSpec, argv);
  if (parsed === undefined) return exitCode.ok;
  const path = parsed.positionals[0];
  if (path === undefined) throw usageError(`${testSpec.name}: PATH is required\nrun '${testSpec.name} --help' for usage`);
  const startedMs = performance.now();
  const options: BuildOptions = parsed.values['no-cache'] === true ? {} : { compile: compileCached };
  let cases = 0;
  let failedCases = 0;
  for (const file of testScripts(path)) {
    const script = readTestScript(file);
    const rule = await buildRule(join(dirname(file), `${script.rule}.ts`), options);
    const results = runTestScript({ ...script, file: shown(file) }, rule);
    cases += results.length;
    const failed = results.filter((result) => result.failures.length > 0).length;
    failedCases += failed;
    process.stdout.write(`${failed === 0 ? 'PASS' : 'FAIL'} ${shown(file)} (rule ${rule.name})\n${formatResults({ ...script, file: shown(file) }, results)}\n`);
  }
  const seconds = ((performance.now() - startedMs) / 1000).toFixed(1);
  process.stdout.write(`\n${plural(cases, 'case')}: ${cases - failedCases} passed, ${failedCases} failed (${seconds} s)\n`);
  return failedCases > 0 ? exitCode.runtimeFailure : exitCode.ok;
}

export async function run(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h') {
    process.stdout.write(usage);
    return command === undefined ? exitCode.badUsageOrConfig : exitCode.ok;
  }
  if (command === 'build') return build(rest);
  if (command === 'test') return test(rest);
  process.stderr.write(`millwright rules: unknown command '${command}'\n\n${usage}`);
  return exitCode.badUsageOrConfig;
}
