// The AssemblyScript compiler, on a worker thread of its own (plain JavaScript on purpose: the
// tsx loader re-processes the compiler's 14 MB of JavaScript for 6 s on every start; a worker
// started without it imports the compiler natively in half a second). One request at a time:
// { id, entry, argv, sdkDir, sources } -> { id, wasm, diagnostics, error }.
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, relative, resolve } from 'node:path';
import { parentPort } from 'node:worker_threads';
import asc from 'assemblyscript/asc';

const sdkImport = /(?:^|\/)node_modules\/millwright\/(.+)$/;

function lineColumn(text, offset) {
  let line = 1;
  let lineStart = 0;
  for (let index = 0; index < offset && index < text.length; index++) {
    if (text.charCodeAt(index) === 10) {
      line++;
      lineStart = index + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

async function compile({ entry, argv, sdkDir, sources, cwd }) {
  const baseDir = dirname(entry);
  const texts = new Map();
  const read = (name) => {
    if (basename(name) === 'asconfig.json' || basename(name) === 'package.json') return null;
    const sdk = sdkImport.exec(name);
    const path = sdk !== null ? resolve(sdkDir, sdk[1]) : resolve(baseDir, name);
    const text = sources[path] ?? (existsSync(path) ? readFileSync(path, 'utf8') : null);
    const key = (sdk !== null ? `~lib/millwright/${sdk[1]}` : name).replace(/\.ts$/, '');
    if (text !== null) texts.set(key, { text, shown: relative(cwd, path) || path });
    return text;
  };
  const diagnostics = [];
  const stderr = [];
  let wasm;
  const result = await asc.main([basename(entry), ...argv], {
    readFile: read,
    writeFile: (name, contents) => {
      if (name.endsWith('.wasm') && typeof contents !== 'string') wasm = contents;
    },
    listFiles: () => [],
    stdout: { write: () => undefined },
    stderr: { write: (chunk) => void stderr.push(String(chunk)) },
    reportDiagnostic: (diagnostic) => {
      const range = diagnostic.range;
      const source = range === null ? undefined : texts.get(range.source.normalizedPath.replace(/\.ts$/, ''));
      const position = range === null || source === undefined ? { line: 0, column: 0 } : lineColumn(source.text, range.start);
      const severity = diagnostic.category === 3 ? 'error' : diagnostic.category === 2 ? 'warning' : 'info'; // AssemblyScript's DiagnosticCategory
      const file = source?.shown ?? range?.source.normalizedPath ?? relative(cwd, entry);
      diagnostics.push({ file, ...position, severity, code: diagnostic.code, message: diagnostic.message });
    },
  });
  const error = result.error === null ? (wasm === undefined ? stderr.join('').trim() || 'the compiler produced no module' : null) : result.error.message;
  return { wasm, diagnostics, error };
}

parentPort.on('message', async (request) => {
  try {
    parentPort.postMessage({ id: request.id, ...(await compile(request)) });
  } catch (error) {
    parentPort.postMessage({ id: request.id, diagnostics: [], error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  }
});
