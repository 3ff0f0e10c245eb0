// End to end: `millwright demo` in a temporary folder, as a newcomer runs it. Waits until points
// from both lines are in the hub's DuckDB (read back through the hub API), checks the dashboard in
// a real browser, stops the site with SIGINT and checks that nothing is left running; then starts
// it again on the same folder and checks that the earlier data is still there.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { millwrightEntry } from './supervisor.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'mw-demo-'));
const running: ChildProcess[] = [];

interface Demo {
  readonly process: ChildProcess;
  readonly url: string;
  readonly output: string[];
}

function startDemo(): Promise<Demo> {
  const child = spawn(process.execPath, [millwrightEntry, 'demo', '--data', dataDir, '--http-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(child);
  const output: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => output.push(line));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not start:\n${output.join('\n')}`)), 60_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output.push(line);
      const match = /demo site is running: (http:\/\/\S+)/.exec(line);
      if (match !== null) {
        clearTimeout(timer);
        resolve({ process: child, url: match[1]!, output });
      }
    });
    child.once('exit', (code) => reject(new Error(`demo exited (${code}) before it was up:\n${output.join('\n')}`)));
  });
}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  expect(response.status, url).toBe(200);
  return (await response.json()) as T;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function processesUsing(folder: string): string[] {
  const result = spawnSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return result.stdout.split('\n').filter((line) => line.includes(folder) && !line.includes('ps -eo'));
}

async function stopDemo(demo: Demo): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => demo.process.once('exit', (code) => resolve(code)));
  demo.process.kill('SIGINT');
  return exited;
}

type PointsResponse = { points: { tag: string; ts: number; value: unknown; quality: string; seq: string }[] };

describe('millwright demo', () => {
  afterAll(() => {
    for (const child of running) if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  let firstRunEndMs = 0;

  it('gets points from both lines into the hub DuckDB and shows them in the browser', async () => {
    const demo = await startDemo();
    for (const line of ['line1', 'line2']) {
      const response = await until(`points from ${line}`, async () => {
        const body = await getJson<PointsResponse>(`${demo.url}api/points?tag=${line}/filler/temperature&limit=100`);
        return body.points.length >= 3 ? body : undefined;
      });
      for (const point of response.points) {
        expect(point.tag).toBe(`${line}/filler/temperature`);
        expect(typeof point.value).toBe('number');
        expect(point.quality).toBe('good');
      }
    }
    const gateways = await getJson<{ gateways: { gateway: string; state: string }[] }>(`${demo.url}api/gateways`);
    expect(gateways.gateways.map((gateway) => gateway.gateway).sort()).toEqual(['line1-gw', 'line2-gw']);

    // line1's filler is guarded by the compiled over-temperature rule; both gateways trust the demo root.
    const line1Api = /gateway line1: (http:\/\/\S+)/.exec(demo.output.find((line) => line.includes('gateway line1: http')) ?? '')?.[1];
    expect(line1Api, demo.output.join('\n')).toBeDefined();
    const stats = await getJson<{ rules: { rules: { name: string; faults: number }[]; bundle: { rootVersion: number | null } | null } }>(`${line1Api!}api/stats`);
    expect(stats.rules.rules.map((rule) => rule.name)).toEqual(['over-temperature']);
    expect(stats.rules.bundle?.rootVersion).toBe(1);

    if (existsSync('/usr/bin/chromium')) {
      const { chromium } = await import('playwright-core');
      const browser = await chromium.launch({
        executablePath: '/usr/bin/chromium',
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      });
      try {
        const page = await browser.newPage();
        await page.goto(demo.url);
        for (const line of ['line1', 'line2']) {
          const value = page.getByTestId(`value-${line}/filler/temperature`);
          await value.waitFor({ timeout: 15_000 });
          const first = await value.textContent();
          expect(first).toMatch(/\d/);
        }
        const counter = page.getByTestId('value-line1/filler/good_count');
        const before = await counter.textContent();
        await until('a live update in the page', async () => ((await counter.textContent()) !== before ? true : undefined), 20_000);
      } finally {
        await browser.close();
      }
    }

    firstRunEndMs = Date.now();
    expect(await stopDemo(demo)).toBe(0);
    expect(processesUsing(dataDir)).toEqual([]);
  }, 120_000);

  it('reuses the data folder on the next run', async () => {
    const demo = await startDemo();
    const earlier = await getJson<PointsResponse>(`${demo.url}api/points?tag=line1/filler/temperature&toMs=${firstRunEndMs}&limit=10000`);
    expect(earlier.points.length).toBeGreaterThanOrEqual(3);
    const later = await until('new points after the restart', async () => {
      const body = await getJson<PointsResponse>(`${demo.url}api/points?tag=line2/packer/good_count&fromMs=${firstRunEndMs}&limit=100`);
      return body.points.length > 0 ? body : undefined;
    });
    const earliestSeq = Math.min(...earlier.points.map((point) => Number(point.seq)));
    expect(Number(later.points[0]!.seq)).toBeGreaterThan(earliestSeq);
    expect(await stopDemo(demo)).toBe(0);
    expect(processesUsing(dataDir)).toEqual([]);
  }, 120_000);
});
