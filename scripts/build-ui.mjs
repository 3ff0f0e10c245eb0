// Builds the site dashboard (ui/site → ui/dist/site) with vite's JS API and ui/vite.config.ts.
// Runs from npm's postinstall and from `npm run build` (with --force). Repeated installs stay
// fast: the build is skipped while ui/dist/site/index.html is newer than every input file and
// was made by the same toolchain versions. A production install without vite prints why the
// dashboard was not built and exits 0, so it never fails the install.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const rootDirectory = fileURLToPath(new URL('..', import.meta.url));
const uiDirectory = join(rootDirectory, 'ui');
const configFile = join(uiDirectory, 'vite.config.ts');
const sourceDirectory = join(uiDirectory, 'site');
const outputIndexFile = join(uiDirectory, 'dist', 'site', 'index.html');
// Kept outside dist/site so the hub never serves it.
const stampFile = join(uiDirectory, 'dist', 'site-build.json');
const toolchainPackages = ['vite', 'svelte', '@sveltejs/vite-plugin-svelte'];

/** Newest modification time (ms) over a file or every file below a directory. */
function newestMtimeMs(path) {
  const stats = statSync(path);
  if (!stats.isDirectory()) return stats.mtimeMs;
  let newest = stats.mtimeMs; // a deleted file shows up as a newer directory
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtimeMs(join(path, entry)));
  return newest;
}

/** Installed versions of the packages that shape the output; null when one is missing. */
function toolchainVersions() {
  const versions = {};
  for (const name of toolchainPackages) {
    const manifest = join(rootDirectory, 'node_modules', ...name.split('/'), 'package.json');
    if (!existsSync(manifest)) return null;
    versions[name] = JSON.parse(readFileSync(manifest, 'utf8')).version;
  }
  return versions;
}

function readStamp() {
  try {
    return JSON.parse(readFileSync(stampFile, 'utf8'));
  } catch {
    return null; // no stamp (first build, or built by hand): treat as out of date
  }
}

/** Why the dashboard must be (re)built, or null when ui/dist/site is up to date. */
export function staleReason() {
  if (!existsSync(outputIndexFile)) return 'no previous build';
  const builtMs = statSync(outputIndexFile).mtimeMs;
  const inputs = [sourceDirectory, configFile, join(uiDirectory, 'tsconfig.json')].filter((path) => existsSync(path));
  for (const input of inputs) {
    if (newestMtimeMs(input) > builtMs) return `${relative(rootDirectory, input)} changed`;
  }
  const stamp = readStamp();
  if (JSON.stringify(stamp?.toolchain) !== JSON.stringify(toolchainVersions())) return 'toolchain changed';
  return null;
}

/**
 * Builds the dashboard unless it is up to date (or `force`).
 * Returns { status: 'built' | 'fresh' | 'no-vite', durationMs, reason }.
 */
export async function buildUi({ force = false } = {}) {
  const startedMs = performance.now();
  const reason = force ? 'forced' : staleReason();
  if (reason === null) return { status: 'fresh', durationMs: performance.now() - startedMs, reason: 'up to date' };
  const versions = toolchainVersions();
  if (versions === null) {
    return { status: 'no-vite', durationMs: performance.now() - startedMs, reason: `missing one of ${toolchainPackages.join(', ')}` };
  }
  const { build } = await import('vite');
  await build({ configFile, logLevel: 'warn', mode: 'production' });
  writeFileSync(stampFile, `${JSON.stringify({ toolchain: versions, builtAt: new Date().toISOString() }, null, 2)}\n`);
  return { status: 'built', durationMs: performance.now() - startedMs, reason };
}

async function main() {
  const force = process.argv.includes('--force');
  const result = await buildUi({ force });
  const seconds = (result.durationMs / 1000).toFixed(1);
  if (result.status === 'built') console.log(`build-ui: built ui/dist/site in ${seconds} s (${result.reason})`);
  else if (result.status === 'fresh') console.log('build-ui: ui/dist/site is up to date, skipped (use --force to rebuild)');
  else {
    const served = existsSync(outputIndexFile) ? 'keeps serving the previous build' : 'serves no dashboard';
    console.log(`build-ui: skipped, ${result.reason} (an install without the UI toolchain); the hub ${served} until \`npm run build\` runs with vite installed`);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error) => {
    console.error('build-ui: the dashboard build failed');
    console.error(error);
    process.exitCode = 1;
  });
}
