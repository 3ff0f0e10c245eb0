import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedClock } from '../common/clock.ts';
import { createLogger } from '../common/log.ts';
import { encodeBatch, topics } from '../common/wire.ts';
import { buildHubApi } from './api.ts';
import { emptyIngestCounters, Ingest } from './ingest.ts';
import { LiveFeed } from './live.ts';
import { MemoryStore } from './memory-store.ts';

const site = 'site-a';
const t0 = 1_767_225_600_000;
let uiDir: string;
let outside: string;

beforeAll(async () => {
  const root = await mkdtemp(path.join(tmpdir(), 'hub-api-'));
  uiDir = path.join(root, 'ui');
  outside = path.join(root, 'secret.txt');
  await mkdir(path.join(uiDir, 'assets'), { recursive: true });
  await mkdir(path.join(uiDir, 'docs'));
  await writeFile(path.join(uiDir, 'index.html'), '<!doctype html><title>site</title>');
  await writeFile(path.join(uiDir, 'docs', 'index.html'), '<p>docs</p>');
  await writeFile(path.join(uiDir, 'assets', 'app-1234.js'), 'console.log(1)');
  await writeFile(path.join(uiDir, 'assets', 'app-1234.css'), 'body{}');
  await writeFile(path.join(uiDir, 'data.bin'), Buffer.from([1, 2, 3]));
  await writeFile(outside, 'TOP-SECRET-CONTENT');
  await symlink(outside, path.join(uiDir, 'escape.txt'));
});
afterAll(async () => {
  await rm(path.dirname(uiDir), { recursive: true, force: true });
});

let apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const app of apps) await app.close();
  apps = [];
});

type Broker = NonNullable<Parameters<typeof buildHubApi>[0]['broker']>;

async function setup(options: { withUi?: boolean; broker?: Broker } = {}) {
  const clock = new SimulatedClock(t0);
  const store = new MemoryStore();
  const live = new LiveFeed();
  const logs: string[] = [];
  const ingest = new Ingest({
    site,
    limits: { batchPointsMax: 10_000, flushIntervalMs: 200, queuePointsMax: 200_000 },
    store,
    clock,
    initialGateways: [],
    publishAck: () => undefined,
    logger: createLogger({ component: 'hub/ingest', clock, write: (line) => logs.push(line) }),
  });
  const app = buildHubApi({ site, clock, ingest, store, live, ...(options.broker !== undefined && { broker: options.broker }), uiDir: options.withUi === false ? undefined : uiDir, logger: createLogger({ component: 'hub/api', clock, write: (line) => logs.push(line) }) });
  apps.push(app);
  ingest.offerData(
    topics.data(site, 'gw-1'),
    encodeBatch(site, 'gw-1', 1n, [
      { tag: 'line1/press1/temperature', ts: t0 + 2, value: 71.5, quality: 'good' },
      { tag: 'line1/press1/temperature', ts: t0 + 1, value: 70.5, quality: 'uncertain' },
      { tag: 'line1/press1/running', ts: t0, value: true, quality: 'good' },
      { tag: 'line1/status', ts: t0, value: 'ok', quality: 'bad' },
    ]),
  );
  ingest.offerData(topics.data(site, 'gw-1'), Buffer.from('garbage'));
  await ingest.flush();
  clock.advanceMs(1500);
  return { app, store, logs };
}

describe('hub API', () => {
  it('GET /api/health reports site, uptime and ingest counters', async () => {
    const { app } = await setup();
    const response = await app.inject('/api/health');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      status: 'ok',
      site,
      uptimeMs: 1500,
      ingest: { ...emptyIngestCounters(), received: 4, stored: 4, rejected: 1, rejectedMalformed: 1 },
      live: { clients: 0, slowClientsDropped: 0, clientsRefused: 0 },
    });
  });

  it('GET /api/gateways lists gateways with the acked sequence as a string and stored counts', async () => {
    const { app } = await setup();
    const response = await app.inject('/api/gateways');
    expect(response.json()).toEqual({
      gateways: [{ gateway: 'gw-1', site, ackedSeq: '4', highestSeq: '4', gaps: 0, missingSeqs: '0', lostSeqs: '0', lastSeenMs: t0, state: 'unknown', points: 4 }],
    });
  });

  it('GET /api/machines groups the latest value per tag by line and machine', async () => {
    const { app } = await setup();
    const response = await app.inject('/api/machines');
    expect(response.json()).toEqual({
      machines: [
        { line: 'line1', machine: '-', tags: [{ tag: 'line1/status', name: 'status', value: 'ok', quality: 'bad', ts: t0 }] },
        {
          line: 'line1',
          machine: 'press1',
          tags: [
            { tag: 'line1/press1/running', name: 'running', value: true, quality: 'good', ts: t0 },
            { tag: 'line1/press1/temperature', name: 'temperature', value: 71.5, quality: 'good', ts: t0 + 2 },
          ],
        },
      ],
    });
  });

  it('GET /api/lost-ranges lists declared lost ranges newest first, by gateway, with 64-bit sequences as strings', async () => {
    const { app, store } = await setup();
    await store.commit({
      points: [],
      lostRanges: [
        { gateway: 'gw-1', first: 5n, last: 9n, reportedAtMs: t0 },
        { gateway: 'gw-2', first: 18_446_744_073_709_551_000n, last: 18_446_744_073_709_551_615n, reportedAtMs: t0 + 1 },
      ],
      gateways: [],
    });
    expect((await app.inject('/api/lost-ranges')).json()).toEqual({
      lostRanges: [
        { gateway: 'gw-2', firstSeq: '18446744073709551000', lastSeq: '18446744073709551615', reportedAtMs: t0 + 1 },
        { gateway: 'gw-1', firstSeq: '5', lastSeq: '9', reportedAtMs: t0 },
      ],
    });
    expect((await app.inject('/api/lost-ranges?gateway=gw-1&limit=1')).json().lostRanges).toHaveLength(1);
    expect((await app.inject('/api/lost-ranges?gateway=GW!')).statusCode).toBe(400);
  });

  it('GET /api/alarms lists alarms newest first with the severity and message of their payload', async () => {
    const { app, store } = await setup();
    const alarm = { gateway: 'gw-1', kind: 'alarm', tag: 'line1/_alarms/press1-overtemp', quality: 'good', historical: false } as const;
    const payload = '{"severity":"critical","value":97.5,"message":"Übertemperatur"}';
    await store.commit({
      points: [
        { ...alarm, seq: 10n, ts: t0 + 10, value: true, payload },
        { ...alarm, seq: 11n, ts: t0 + 20, value: false, payload: '{"value":80}' },
        { ...alarm, seq: 12n, ts: t0 + 30, value: true },
      ],
      gateways: [],
    });
    const common = { gateway: 'gw-1', tag: alarm.tag, quality: 'good', historical: false };
    expect((await app.inject('/api/alarms')).json()).toEqual({
      alarms: [
        { ...common, seq: '12', ts: t0 + 30, value: true, severity: null, message: null },
        { ...common, seq: '11', ts: t0 + 20, value: false, severity: null, message: null, payload: '{"value":80}' },
        { ...common, seq: '10', ts: t0 + 10, value: true, severity: 'critical', message: 'Übertemperatur', payload },
      ],
    });
    expect((await app.inject(`/api/alarms?gateway=gw-1&toMs=${t0 + 15}`)).json().alarms.map((a: { seq: string }) => a.seq)).toEqual(['10']);
    expect((await app.inject('/api/alarms?gateway=gw-2')).json()).toEqual({ alarms: [] });
    expect((await app.inject('/api/alarms?fromMs=5&toMs=4')).statusCode).toBe(400);
    expect((await app.inject('/api/alarms?limit=0')).statusCode).toBe(400);
  });

  it('GET /api/points returns one tag ordered by ts within the window and limit', async () => {
    const { app } = await setup();
    const all = await app.inject('/api/points?tag=line1/press1/temperature');
    expect(all.json()).toEqual({
      points: [
        { gateway: 'gw-1', seq: '2', kind: 'point', tag: 'line1/press1/temperature', ts: t0 + 1, value: 70.5, quality: 'uncertain', historical: false },
        { gateway: 'gw-1', seq: '1', kind: 'point', tag: 'line1/press1/temperature', ts: t0 + 2, value: 71.5, quality: 'good', historical: false },
      ],
    });
    const windowed = await app.inject(`/api/points?tag=line1/press1/temperature&fromMs=${t0 + 2}&toMs=${t0 + 5}&limit=1`);
    expect(windowed.json().points.map((p: { seq: string }) => p.seq)).toEqual(['1']);
  });

  it.each([
    ['a missing tag', '/api/points'],
    ['a non-numeric limit', '/api/points?tag=a&limit=lots'],
    ['a limit over 10000', '/api/points?tag=a&limit=10001'],
    ['a zero limit', '/api/points?tag=a&limit=0'],
    ['an invalid tag', '/api/points?tag=../etc'],
    ['fromMs after toMs', '/api/points?tag=a&fromMs=5&toMs=4'],
    ['an unknown parameter', '/api/points?tag=a&form=1'],
    ['a parameter on a route that takes none', '/api/health?verbose=1'],
  ])('answers 400 HUB_BAD_REQUEST for %s', async (_name, url) => {
    const { app } = await setup();
    const response = await app.inject(url);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ statusCode: 400, code: 'HUB_BAD_REQUEST' });
  });

  it('answers 503 HUB_UNAVAILABLE when the store is closed', async () => {
    const { app, store, logs } = await setup();
    await store.close();
    const response = await app.inject('/api/points?tag=a');
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ code: 'HUB_UNAVAILABLE' });
    expect(logs.some((line) => line.includes('HUB_UNAVAILABLE'))).toBe(true);
  });

  it('answers 404 JSON for unknown /api paths, with or without a dashboard', async () => {
    for (const withUi of [true, false]) {
      const { app } = await setup({ withUi });
      for (const url of ['/api/nope', '/api', '/api/gateways/extra']) {
        const response = await app.inject(url);
        expect(response.statusCode).toBe(404);
        expect(response.headers['content-type']).toMatch(/^application\/json/);
        expect(response.json()).toMatchObject({ code: 'HUB_NOT_FOUND' });
      }
    }
  });

  it('serves the dashboard: index.html at / and for directories, files with their content types', async () => {
    const { app } = await setup();
    const expectations: [string, string, string][] = [
      ['/', 'text/html; charset=utf-8', '<!doctype html><title>site</title>'],
      ['/index.html', 'text/html; charset=utf-8', '<!doctype html><title>site</title>'],
      ['/docs/', 'text/html; charset=utf-8', '<p>docs</p>'],
      ['/assets/app-1234.js?v=2', 'text/javascript; charset=utf-8', 'console.log(1)'],
      ['/assets/app-1234.css', 'text/css; charset=utf-8', 'body{}'],
      ['/data.bin', 'application/octet-stream', '\u0001\u0002\u0003'],
    ];
    for (const [url, type, body] of expectations) {
      const response = await app.inject(url);
      expect(response.statusCode, url).toBe(200);
      expect(response.headers['content-type'], url).toBe(type);
      expect(response.body, url).toBe(body);
    }
    expect((await app.inject('/assets/app-1234.js')).headers['cache-control']).toMatch(/immutable/);
    expect((await app.inject('/')).headers['cache-control']).toBe('no-cache');
  });

  it('never serves anything outside the dashboard directory', async () => {
    const { app } = await setup();
    for (const url of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/%2e%2e/%2e%2e/secret.txt', '/..%2fsecret.txt', '/escape.txt', '/%00', '/missing.js', '/assets/..%5c..%5csecret.txt']) {
      const response = await app.inject(url);
      expect(response.statusCode, url).toBe(404);
      expect(response.body, url).not.toContain('TOP-SECRET-CONTENT');
      expect(response.json(), url).toMatchObject({ code: 'HUB_NOT_FOUND' });
    }
    const malformed = await app.inject('/%zz');
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toMatchObject({ code: 'HUB_BAD_REQUEST' });
  });

  it('POST /api/gateways/:gateway/bundle relays a bundle file to a known gateway over the broker', async () => {
    const relayed: { site: string; gateway: string; bytes: number }[] = [];
    let refuse = false;
    const broker: Broker = {
      counters: () => ({ mode: 'embedded', connected: true, refusedPublishes: 0, clientErrors: 0, acksSent: 0, acksFailed: 0 }),
      publishBundle: async (bundleSite, gateway, bundle) => {
        if (refuse) throw new Error('broker closed');
        relayed.push({ site: bundleSite, gateway, bytes: bundle.length });
      },
    };
    const { app } = await setup({ broker });
    const file = Buffer.concat([Buffer.from('MWBUNDLE'), Buffer.alloc(100, 7)]);
    const post = (gateway: string, body: Buffer) => app.inject({ method: 'POST', url: `/api/gateways/${gateway}/bundle`, payload: body, headers: { 'content-type': 'application/octet-stream' } });
    const accepted = await post('gw-1', file);
    expect(accepted.statusCode).toBe(202);
    expect(accepted.json()).toEqual({ relayed: { gateway: 'gw-1', bytes: 108, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) } });
    expect(relayed).toEqual([{ site, gateway: 'gw-1', bytes: 108 }]);
    expect((await post('gw-9', file)).json()).toMatchObject({ code: 'HUB_NOT_FOUND' });
    expect((await post('gw-1', Buffer.from('not a bundle at all'))).statusCode).toBe(400);
    expect((await post('GW_1', file)).statusCode).toBe(400);
    expect((await post('gw-1', Buffer.concat([Buffer.from('MWBUNDLE'), Buffer.alloc(1_000_000)]))).statusCode).toBe(413);
    refuse = true;
    expect((await post('gw-1', file)).json()).toMatchObject({ code: 'HUB_UNAVAILABLE' });
    expect(relayed).toHaveLength(1);
  });
});
