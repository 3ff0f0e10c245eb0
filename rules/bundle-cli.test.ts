// The signing workflow end to end through the two commands, in a temp folder: keys gen → root
// init → bundle pack → verify → inspect, root rotation, and every refusal's exit code and reason.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { tinyWasm } from '../common/bundle-testing.ts';
import { reportError } from '../common/cli.ts';
import { run as bundle } from './bundle-cli.ts';
import { run as keys } from './keys-cli.ts';

interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function cli(runner: (argv: readonly string[]) => Promise<number>, ...argv: string[]): Promise<Result> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (stdout.push(String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => (stderr.push(String(chunk)), true));
  try {
    const code = await runner(argv).catch(reportError);
    return { code, stdout: stdout.join(''), stderr: stderr.join('') };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

const folder = mkdtempSync(join(tmpdir(), 'mw-bundle-cli-'));
const path = (...parts: string[]): string => join(folder, ...parts);
const k = (name: string): string => path('keys', name);
afterAll(() => rmSync(folder, { recursive: true, force: true }));

beforeAll(async () => {
  for (const [role, name] of [['root', 'r1'], ['root', 'r2'], ['root', 'r3'], ['rules', 'k1'], ['rules', 'k2'], ['rules', 'k3'], ['firmware', 'f1'], ['root', 'r4'], ['root', 'r5']] as const) {
    const result = await cli(keys, 'gen', '--role', role, '--name', name, '--out', path('keys'));
    expect(result.code, result.stderr).toBe(0);
  }
  writeFileSync(path('press.wasm'), tinyWasm('press-overtemp'));
  writeFileSync(path('press.json'), JSON.stringify({ inputs: ['press/temperature'], alarms: [{ id: 'overtemp', severity: 'high' }] }, null, 2));
  const init = await cli(keys, 'root', 'init', '--keys', `root=${k('r1.pub')},${k('r2.pub')},${k('r3.pub')}`, '--threshold', 'root=2', '--keys', `rules=${k('k1.pub')},${k('k2.pub')}`, '--threshold', 'rules=2', '--keys', `firmware=${k('f1.pub')}`, '--sign-with', `${k('r1.pem')},${k('r2.pem')}`, '--out', path('root.json'));
  expect(init.code, init.stderr).toBe(0);
});

const pack = (out: string, ...extra: string[]): Promise<Result> =>
  cli(bundle, 'pack', '--name', 'line1-rules', '--version', '3', '--target', 'line1-gw', '--group', 'presses', '--expires', '30d', '--created', '2026-01-01T00:00:00Z', '--module', `press-overtemp=${path('press.wasm')},manifest=${path('press.json')},fuel=5000,pages=2`, '--out', out, ...extra);
const verifyAt = (file: string, ...extra: string[]): Promise<Result> => cli(bundle, 'verify', file, '--root', path('root.json'), '--now', '2026-01-02T00:00:00Z', ...extra);

describe('millwright keys and bundle', () => {
  it('generates key pairs with the private key readable by its owner only', async () => {
    expect(statSync(k('r1.pem')).mode & 0o777).toBe(0o600);
    expect(readFileSync(k('r1.pub'), 'utf8')).toMatch(/BEGIN PUBLIC KEY/);
    const again = await cli(keys, 'gen', '--role', 'rules', '--name', 'k1', '--out', path('keys'));
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/never overwritten/);
  });

  it('writes a root v1 only when its own root threshold signed it', async () => {
    const root = JSON.parse(readFileSync(path('root.json'), 'utf8')) as { signed: { version: number; roles: { root: { threshold: number } } }; signatures: unknown[] };
    expect(root.signed.version).toBe(1);
    expect(root.signed.roles.root.threshold).toBe(2);
    expect(root.signatures).toHaveLength(2);
    const short = await cli(keys, 'root', 'init', '--keys', `root=${k('r1.pub')},${k('r2.pub')}`, '--threshold', 'root=2', '--keys', `rules=${k('k1.pub')}`, '--keys', `firmware=${k('f1.pub')}`, '--sign-with', k('r1.pem'), '--out', path('short.json'));
    expect(short.code).toBe(1);
    expect(short.stderr).toMatch(/refused TRUST_THRESHOLD_NOT_MET/);
    expect(existsSync(path('short.json'))).toBe(false);
  });

  it('packs, verifies and inspects a bundle signed by 2 of the rules keys', async () => {
    const packed = await pack(path('b3.mwb'), '--key', `${k('k1.pem')},${k('k2.pem')}`);
    expect(packed.code, packed.stderr).toBe(0);
    expect(packed.stdout).toMatch(/b3\.mwb: \d+ bytes, 1 module\(s\), 2 signature/);
    const valid = await verifyAt(path('b3.mwb'), '--gateway', 'line1-gw', '--installed-version', '2');
    expect(valid.code, valid.stderr).toBe(0);
    expect(valid.stdout).toMatch(/^valid: bundle line1-rules v3, 1 module/);
    expect(valid.stdout).toMatch(/signed by 2 rules key\(s\) \(threshold 2 in root v1\)/);
    const shown = await cli(bundle, 'inspect', path('b3.mwb'));
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/press-overtemp: \d+ bytes, sha256 [0-9a-f]{64} ok/);
    expect(shown.stdout).toMatch(/covers this manifest/);
    const json = JSON.parse((await cli(bundle, 'inspect', '--json', path('b3.mwb'))).stdout) as { manifest: { version: number }; signatures: unknown[]; modules: { sha256Matches: boolean; limits: unknown }[] };
    expect(json.manifest.version).toBe(3);
    expect(json.signatures).toHaveLength(2);
    expect(json.modules[0]).toMatchObject({ sha256Matches: true, limits: { fuelPerTick: 5000, memoryPagesMax: 2 } });
  });

  it('refuses with exit 1 and the reason: threshold, rollback, target, expiry, truncation', async () => {
    await pack(path('b3-one.mwb'), '--key', k('k1.pem'));
    await pack(path('b3.mwb'), '--key', `${k('k1.pem')},${k('k2.pem')}`);
    writeFileSync(path('b3-cut.mwb'), readFileSync(path('b3.mwb')).subarray(0, 300));
    const cases: [Result, string][] = [
      [await verifyAt(path('b3-one.mwb')), 'TRUST_THRESHOLD_NOT_MET'],
      [await verifyAt(path('b3.mwb'), '--installed-version', '3'), 'BUNDLE_ROLLBACK'],
      [await verifyAt(path('b3.mwb'), '--gateway', 'line2-gw', '--group', 'mixers'), 'BUNDLE_NOT_TARGETED'],
      [await cli(bundle, 'verify', path('b3.mwb'), '--root', path('root.json'), '--now', '2026-03-01T00:00:00Z'), 'BUNDLE_EXPIRED'],
      [await verifyAt(path('b3-cut.mwb')), 'BUNDLE_TRUNCATED'],
      [await cli(bundle, 'inspect', path('b3-cut.mwb')), 'BUNDLE_TRUNCATED'],
    ];
    for (const [result, code] of cases) {
      expect(result.code, code).toBe(1);
      expect(result.stderr, code).toMatch(new RegExp(`^refused ${code}: `));
    }
    expect((await verifyAt(path('b3.mwb'), '--gateway', 'line7-gw', '--group', 'presses')).code).toBe(0);
  });

  it('rotates the rules key with root v2 and verifies through the chain', async () => {
    const rotated = await cli(keys, 'rotate', '--root', path('root.json'), '--keys', `rules=${k('k3.pub')}`, '--threshold', 'rules=1', '--sign-with', `${k('r1.pem')},${k('r3.pem')}`, '--out', path('root-v2.json'));
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.stdout).toMatch(/root v2 written/);
    await pack(path('b4.mwb'), '--key', k('k3.pem'), '--version', '4');
    expect((await verifyAt(path('b4.mwb'), '--root-chain', path('root-v2.json'))).code).toBe(0);
    const withoutChain = await verifyAt(path('b4.mwb'));
    expect(withoutChain.code).toBe(1);
    expect(withoutChain.stderr).toMatch(/refused TRUST_KEY_UNKNOWN/);
  });

  it('writes no rotated root unless the old and the new root thresholds both signed it', async () => {
    const oldOnly = await cli(keys, 'rotate', '--root', path('root.json'), '--keys', `root=${k('r4.pub')},${k('r5.pub')}`, '--threshold', 'root=2', '--sign-with', `${k('r1.pem')},${k('r2.pem')}`, '--out', path('root-bad.json'));
    expect(oldOnly.code).toBe(1);
    expect(oldOnly.stderr).toMatch(/refused TRUST_ROOT_ROTATION_INVALID: .*its own root keys/);
    const one = await cli(keys, 'rotate', '--root', path('root.json'), '--keys', `root=${k('r4.pub')},${k('r5.pub')}`, '--sign-with', `${k('r1.pem')},${k('r4.pem')},${k('r5.pem')}`, '--out', path('root-bad.json'));
    expect(one.stderr).toMatch(/old root v1/);
    expect(existsSync(path('root-bad.json'))).toBe(false);
    const both = await cli(keys, 'rotate', '--root', path('root.json'), '--keys', `root=${k('r4.pub')},${k('r5.pub')}`, '--sign-with', `${k('r1.pem')},${k('r2.pem')},${k('r4.pem')},${k('r5.pem')}`, '--out', path('root-v2b.json'));
    expect(both.code, both.stderr).toBe(0);
  });

  it('has --help everywhere and exits 2 for bad usage', async () => {
    for (const [runner, argv] of [[keys, ['--help']], [keys, ['gen', '--help']], [keys, ['root', 'init', '--help']], [keys, ['rotate', '--help']], [bundle, ['--help']], [bundle, ['pack', '--help']], [bundle, ['verify', '--help']], [bundle, ['inspect', '--help']], [bundle, ['install', '--help']]] as const) {
      const result = await cli(runner, ...argv);
      expect(result.code, argv.join(' ')).toBe(0);
      expect(result.stdout, argv.join(' ')).toMatch(/usage: millwright (keys|bundle)/);
    }
    const usage: Result[] = [
      await cli(bundle, 'verify', path('b3.mwb')),
      await cli(bundle, 'pack', '--name', 'x', '--bogus'),
      await cli(bundle, 'pack', '--name', 'x', '--version', '1', '--target', 'gw', '--module', 'x=a.wasm', '--key', k('k1.pem'), '--out', path('x.mwb')),
      await cli(keys, 'gen', '--role', 'admin', '--out', folder),
      await cli(keys, 'launch'),
      await cli(bundle, 'verify', path('missing.mwb'), '--root', path('root.json')),
    ];
    for (const result of usage) expect(result.code, result.stderr).toBe(2);
    expect(usage[2]!.stderr).toMatch(/manifest=FILE\.json is required/);
  });

  it('install sends the file to a gateway and reports what the gateway answered', async () => {
    const file = path('to-install.mwb');
    writeFileSync(file, Uint8Array.from([1, 2, 3, 4]));
    const received: Buffer[] = [];
    let answer = { status: 202, body: { staged: { name: 'line1-rules', version: 3, sha256: 'ab'.repeat(32) } } as unknown };
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        if (request.method === 'POST' && request.url === '/api/bundles') received.push(Buffer.concat(chunks));
        response.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const staged = await cli(bundle, 'install', file, '--gateway', url);
      expect(staged.code, staged.stderr).toBe(0);
      expect(staged.stdout).toMatch(/^staged line1-rules v3 \(abababababab\)/);
      expect([...received[0]!]).toEqual([1, 2, 3, 4]);
      answer = { status: 422, body: { code: 'BUNDLE_ROLLBACK', message: 'version 3 is not above 3' } };
      const refused = await cli(bundle, 'install', file, '--gateway', `${url}/`);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toBe('refused BUNDLE_ROLLBACK: version 3 is not above 3\n');
    answer = { status: 202, body: { relayed: { gateway: 'line1-gw', bytes: 4, sha256: 'cd'.repeat(32) } } };
    const relayedPaths: string[] = [];
    server.removeAllListeners('request');
    server.on('request', (request, response) => {
      relayedPaths.push(request.url ?? '');
      request.resume().on('end', () => response.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body)));
    });
    const relayed = await cli(bundle, 'install', file, '--hub', url, '--to', 'line1-gw');
    expect(relayed.code, relayed.stderr).toBe(0);
    expect(relayed.stdout).toMatch(/^relayed 4 bytes to line1-gw/);
    expect(relayedPaths).toEqual(['/api/gateways/line1-gw/bundle']);
    expect((await cli(bundle, 'install', file, '--hub', url)).code).toBe(2);
    expect((await cli(bundle, 'install', file, '--hub', url, '--gateway', url, '--to', 'x')).code).toBe(2);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    const unreachable = await cli(bundle, 'install', file, '--gateway', url);
    expect(unreachable.code).toBe(2);
    expect(unreachable.stderr).toMatch(/cannot reach/);
    expect((await cli(bundle, 'install', file)).code).toBe(2);
  });
});
