// Compiles one rule with the AssemblyScript compiler's API, in process (docs/adr/0003): no `asc`
// child process, no asconfig.json lookups. The compiler runs on a worker thread that lives as
// long as there is work for it (see compile-worker.mjs for why). `import ... from "millwright"`
// resolves to the SDK in rules/sdk. Diagnostics come back as file:line:column with the
// compiler's code and message; any error fails the build with all of them listed.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { MillwrightError } from '../common/errors.ts';
import { ruleLimitDefaults } from '../common/rule-abi.ts';
import { ruleErrors } from '../common/rule-errors.ts';

export const sdkDir = fileURLToPath(new URL('./sdk/', import.meta.url));
const ascPackage = createRequire(import.meta.url).resolve('assemblyscript/package.json');
export const compilerVersion = `assemblyscript ${(JSON.parse(readFileSync(ascPackage, 'utf8')) as { version: string }).version}`;

export interface CompileOptions {
  /** -O3 (default) or no optimisation (faster builds for quick checks). */
  readonly optimize?: boolean;
  /** The module's maximum linear memory, in 64 KiB pages. */
  readonly memoryPagesMax?: number;
  /** Sources by absolute path that replace the files on disk (tests, editors). */
  readonly sources?: Readonly<Record<string, string>>;
}

export interface Diagnostic {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly severity: 'error' | 'warning' | 'info';
  readonly code: number;
  readonly message: string;
}

export interface CompileResult {
  readonly wasm: Uint8Array;
  readonly diagnostics: readonly Diagnostic[];
}

interface WorkerReply {
  readonly id: number;
  readonly wasm?: Uint8Array;
  readonly diagnostics: Diagnostic[];
  readonly error: string | null;
}

let worker: Worker | undefined;
let nextId = 0;
const pending = new Map<number, (reply: WorkerReply) => void>();

function compilerWorker(): Worker {
  if (worker !== undefined) return worker;
  const started = new Worker(new URL('./compile-worker.mjs', import.meta.url), { execArgv: [] });
  started.on('message', (reply: WorkerReply) => {
    pending.get(reply.id)?.(reply);
    pending.delete(reply.id);
    if (pending.size === 0) started.unref();
  });
  started.on('error', (error) => {
    for (const settle of pending.values()) settle({ id: -1, diagnostics: [], error: error.stack ?? error.message });
    pending.clear();
    worker = undefined;
  });
  worker = started;
  return started;
}

export function formatDiagnostic(diagnostic: Diagnostic): string {
  return `${diagnostic.file}:${diagnostic.line}:${diagnostic.column}: ${diagnostic.severity} TS${diagnostic.code}: ${diagnostic.message}`;
}

/**
 * The compiler's arguments. The stub runtime allocates and never frees: rules declare their state
 * once, at the top level, as PLC programs do, and a rule that allocates every tick runs into its
 * memory limit (RULE_MEMORY) in its tests instead of paying for a garbage collector's shadow stack
 * on every object access (which made each tick several times slower).
 */
export function compilerArguments(options: CompileOptions): string[] {
  const memoryPagesMax = options.memoryPagesMax ?? ruleLimitDefaults.memoryPagesMax;
  const optimize = options.optimize === false ? ['--optimizeLevel', '0', '--shrinkLevel', '0'] : ['--optimizeLevel', '3', '--shrinkLevel', '0'];
  return ['--outFile', 'rule.wasm', '--runtime', 'stub', '--maximumMemory', String(memoryPagesMax), '--noColors', ...optimize];
}

/** Compiles the rule at `entryPath`. Throws RULE_COMPILE_FAILED with every error as file:line:column. */
export async function compileRuleSource(entryPath: string, options: CompileOptions = {}): Promise<CompileResult> {
  const entry = resolve(entryPath);
  const argv = compilerArguments(options);
  const compiler = compilerWorker();
  const id = nextId++;
  const reply = await new Promise<WorkerReply>((resolveReply) => {
    pending.set(id, resolveReply);
    compiler.ref();
    compiler.postMessage({ id, entry, argv, sdkDir, sources: options.sources ?? {}, cwd: process.cwd() });
  });
  const errors = reply.diagnostics.filter((diagnostic) => diagnostic.severity === 'error');
  if (errors.length > 0 || reply.error !== null || reply.wasm === undefined) {
    const lines = errors.length > 0 ? errors.map(formatDiagnostic) : [reply.error ?? 'the compiler produced no module'];
    throw new MillwrightError(ruleErrors.compileFailed, `${relative(process.cwd(), entry)} does not compile:\n${lines.join('\n')}`, { diagnostics: errors });
  }
  return { wasm: reply.wasm, diagnostics: reply.diagnostics };
}
