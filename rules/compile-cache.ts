// A content-addressed cache of compiled rules in the system's temp folder, for `rules build`,
// `rules test` and the test suite: the key covers the compiler version, its arguments, every SDK
// file and every .ts file beside the rule, so a cached module is only reused for identical inputs.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { compileRuleSource, compilerArguments, compilerVersion, sdkDir, type CompileOptions } from './compile.ts';

export const cacheDir = join(tmpdir(), 'millwright-rules-cache');

function tsFiles(folder: string): string[] {
  if (!existsSync(folder)) return [];
  return readdirSync(folder)
    .filter((file) => file.endsWith('.ts'))
    .sort()
    .map((file) => join(folder, file));
}

export function cacheKey(source: string, options: CompileOptions): string {
  const hash = createHash('sha256').update(compilerVersion).update(JSON.stringify(compilerArguments(options))).update(resolve(source));
  for (const file of [...tsFiles(sdkDir), ...tsFiles(dirname(resolve(source)))]) hash.update(file).update(options.sources?.[file] ?? readFileSync(file));
  for (const [file, text] of Object.entries(options.sources ?? {})) hash.update(file).update(text);
  return hash.digest('hex');
}

export async function compileCached(source: string, options: CompileOptions = {}): Promise<{ wasm: Uint8Array; cached: boolean }> {
  const path = join(cacheDir, `${cacheKey(source, options)}.wasm`);
  try {
    return { wasm: new Uint8Array(readFileSync(path)), cached: true };
  } catch {
    // not cached yet
  }
  const { wasm } = await compileRuleSource(source, options);
  mkdirSync(cacheDir, { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, wasm);
  renameSync(temporary, path);
  return { wasm, cached: false };
}
