#!/usr/bin/env node
// `npm run bench`: runs every bench/*.bench.ts in sequence, each in its own `node --import tsx`
// process (so one bench's threads, timers and heap cannot disturb the next), passes `--quick`
// through, and ends with a summary table of the BENCH-RESULT lines the benches printed.
// usage: node bench/run.mjs [--quick] [name-filter ...]
//   e.g. `node bench/run.mjs --quick`, `node bench/run.mjs scan` (only benches whose file name
//   contains "scan"). A bench that crashes or outlives its time limit fails the run; a goal that
//   was not met is reported in the table, not as a failure: on a shared machine it is a figure.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = dirname(benchDir);
const quick = process.argv.includes('--quick');
const filters = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const timeLimitMs = quick ? 60_000 : 180_000;
/** Full runs that need longer: backlog-drain moves a 10-million-point backlog through two brokers. */
const fullTimeLimitsMs = { 'backlog-drain.bench.ts': 480_000 };
const resultPrefix = 'BENCH-RESULT ';

const files = readdirSync(benchDir)
  .filter((name) => name.endsWith('.bench.ts'))
  .filter((name) => filters.length === 0 || filters.some((filter) => name.includes(filter)))
  .sort();
if (files.length === 0) {
  process.stderr.write(`bench: no bench/*.bench.ts matches ${filters.join(', ')}\n`);
  process.exit(2);
}

/** Runs one bench; resolves with its results and how it ended. */
function runBench(file) {
  return new Promise((resolve) => {
    const started = performance.now();
    const limitMs = quick ? timeLimitMs : (fullTimeLimitsMs[file] ?? timeLimitMs);
    const args = ['--import', 'tsx', join(benchDir, file), ...(quick ? ['--quick'] : [])];
    // Its own process group, so a bench that overstays is stopped together with the peers it started.
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    const results = [];
    let partial = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith(resultPrefix)) results.push(JSON.parse(line.slice(resultPrefix.length)));
        else process.stdout.write(`${line}\n`);
      }
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      process.kill(-child.pid, 'SIGTERM');
      setTimeout(() => child.exitCode === null && process.kill(-child.pid, 'SIGKILL'), 3000).unref();
    }, limitMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ file, results, ok: code === 0 && !timedOut, how: timedOut ? `timed out after ${limitMs / 1000} s` : signal ?? `exit ${code}`, seconds: (performance.now() - started) / 1000 });
    });
  });
}

const format = (value) => (typeof value !== 'number' || !Number.isFinite(value) ? String(value) : Math.abs(value) >= 1000 ? Math.round(value).toLocaleString('en-US') : String(Number(value.toPrecision(3))));

function table(headers, rows) {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => row[column].length)));
  const line = (cells) => cells.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd();
  return [line(headers), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}

const runs = [];
for (const file of files) {
  process.stdout.write(`\n### ${file}${quick ? ' --quick' : ''}\n`);
  runs.push(await runBench(file));
}

const rows = runs.flatMap((run) =>
  run.results.map((result) => [
    result.bench,
    result.measure,
    `${format(result.value)} ${result.unit}`,
    `${result.reference} ${format(result.referenceValue)}`,
    format(result.ratio),
    result.goal ?? '-',
    result.met === undefined ? '-' : result.met ? 'met' : 'NOT met',
  ]),
);
process.stdout.write(`\n## Summary${quick ? ' (quick: short runs, rough figures)' : ''}\n`);
process.stdout.write(`${table(['bench', 'measure', 'value', 'reference (same run)', 'ratio', 'goal', 'result'], rows)}\n\n`);
for (const run of runs) process.stdout.write(`${run.ok ? 'ok    ' : 'FAILED'} ${run.file} (${run.how}, ${run.seconds.toFixed(1)} s)\n`);
const notMet = runs.flatMap((run) => run.results).filter((result) => result.met === false).length;
if (notMet > 0) process.stdout.write(`${notMet} goal(s) not met on this run; see the table above.\n`);
process.exit(runs.every((run) => run.ok) ? 0 : 1);
