import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isMillwrightError } from '../common/errors.ts';
import { run, type HubReadyLine } from './cli.ts';

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'hub-cli-'));
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(directory, { recursive: true, force: true });
});

async function writeConfig(yaml: string): Promise<string> {
  const file = path.join(directory, 'hub.yaml');
  await writeFile(file, yaml);
  return file;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const canConnect = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

async function runError(argv: string[]): Promise<unknown> {
  return run(argv, () => new Promise(() => undefined)).then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('millwright hub', () => {
  it('prints help and returns 0 for --help', async () => {
    const writes: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => writes.push(String(chunk)) > 0);
    expect(await run(['--help'])).toBe(0);
    expect(writes.join('')).toMatch(/^usage: millwright hub/);
  });

  it('requires --config (usage error, exit 2)', async () => {
    const error = await runError([]);
    expect(isMillwrightError(error) && [error.code, error.exit]).toEqual(['COMMON_USAGE', 2]);
  });

  it('lets a bad config error propagate with exit 2, and leaves nothing listening', async () => {
    const brokerPort = await freePort();
    const httpPort = await freePort();
    const file = await writeConfig(`site: plant-a\ndataDir: data\nbroker: { port: ${brokerPort} }\nhttp: { port: ${httpPort}, colour: blue }\n`);
    const error = await runError(['--config', file]);
    expect(isMillwrightError(error) && error.exit).toBe(2);
    expect((error as Error).message).toMatch(/colour/);
    expect(await canConnect(brokerPort)).toBe(false);
    expect(await canConnect(httpPort)).toBe(false);
    expect(existsSync(path.join(directory, 'data'))).toBe(false);
  });

  it('closes the broker again when the http port is taken', async () => {
    const brokerPort = await freePort();
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const httpPort = (blocker.address() as net.AddressInfo).port;
      const file = await writeConfig(`site: plant-a\ndataDir: data\nbroker: { port: ${brokerPort} }\nhttp: { port: ${httpPort} }\n`);
      vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
      const error = await runError(['--config', file]);
      expect(isMillwrightError(error) && error.code).toBe('HUB_LISTEN_FAILED');
      expect(await canConnect(brokerPort)).toBe(false);
    } finally {
      blocker.close();
    }
  });

  it('runs as a process: one JSON ready line on stdout, stops cleanly on SIGTERM with exit 0', async () => {
    const file = await writeConfig('site: plant-a\ndataDir: ./data\nbroker: { port: 0 }\nhttp: { port: 0 }\n');
    const entry = path.resolve(import.meta.dirname, '..', 'bin', 'millwright.mjs');
    const child = spawn(process.execPath, [entry, 'hub', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const lines = createInterface({ input: child.stdout });
      const first = await new Promise<string>((resolve, reject) => {
        lines.once('line', resolve);
        child.once('exit', () => reject(new Error(`hub exited before its ready line:\n${stderr}`)));
      });
      const ready = JSON.parse(first) as HubReadyLine;
      expect(ready).toEqual({ event: 'hub-ready', site: 'plant-a', brokerPort: expect.any(Number), httpPort: expect.any(Number), url: `http://127.0.0.1:${ready.httpPort}/` });
      const health = (await (await fetch(`${ready.url}api/health`)).json()) as { status: string; site: string };
      expect(health).toMatchObject({ status: 'ok', site: 'plant-a' });
      expect(existsSync(path.join(directory, 'data', 'hub.duckdb'))).toBe(true);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stderr).toMatch(/stopped/);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
