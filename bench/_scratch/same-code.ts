import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compileCached } from '../../rules/compile-cache.ts';
import { compileRule } from '../../common/rule-instance.ts';
const path = fileURLToPath(new URL('../../rules/sdk/testing/bench-rule.ts', import.meta.url));
const text = readFileSync(path, 'utf8');
const hashes: string[] = [];
for (const device of ['m01', 'm02', 'press7', 'm1']) {
  const { wasm } = await compileCached(path, { sources: { [path]: text.replaceAll('"dev/', `"${device}/`) } });
  const compiled = compileRule(wasm);
  hashes.push(`${device} ${compiled.codeHash.slice(0, 12)} wasm ${wasm.length}`);
}
console.log(hashes.join('\n'));
process.exit(0);
