import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../common/clock.ts';
import { isMillwrightError } from '../common/errors.ts';
import { createLogger } from '../common/log.ts';
import { encodeBatch, topics, type AckMessage } from '../common/wire.ts';
import { baseUrl, startHub, type RunningHub } from './hub.ts';
import type { HubConfig } from './hub-config.ts';

const site = 'site-a';
const quiet = createLogger({ component: 'hub', clock: systemClock, write: () => undefined });
const t0 = 1_767_225_600_000;
let dataDir: string;
let hubs: RunningHub[] = [];
let clients: mqtt.MqttClient[] = [];

beforeEach(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'hub-it-'));
});
afterEach(async () => {
  for (const client of clients) await client.endAsync(true);
  for (const hub of hubs) await hub.close();
  clients = [];
  hubs = [];
  await rm(dataDir, { recursive: true, force: true });
});

function config(overrides: Partial<HubConfig> = {}): HubConfig {
  return {
    site,
    dataDir,
    broker: { host: '127.0.0.1', port: 0 },
    http: { host: '127.0.0.1', port: 0 },
    ingest: { batchPointsMax: 10_000, flushIntervalMs: 20, queuePointsMax: 200_000 },
    ...overrides,
  };
}

async function start(overrides: Partial<HubConfig> = {}): Promise<RunningHub> {
  const hub = await startHub(config(overrides), { logger: quiet });
  hubs.push(hub);
  return hub;
}

async function gateway(hub: RunningHub, id: string): Promise<{ client: mqtt.MqttClient; nextAck: () => Promise<AckMessage> }> {
  const client = await mqtt.connectAsync({ host: '127.0.0.1', port: hub.brokerPort, clientId: `millwright-${site}-${id}`, reconnectPeriod: 0 });
  clients.push(client);
  const acks: AckMessage[] = [];
  const waiters: ((ack: AckMessage) => void)[] = [];
  client.on('message', (_topic, payload) => {
    const ack = JSON.parse(payload.toString()) as AckMessage;
    const waiter = waiters.shift();
    if (waiter) waiter(ack);
    else acks.push(ack);
  });
  await client.subscribeAsync(topics.ack(site, id), { qos: 1 });
  const nextAck = (): Promise<AckMessage> => {
    const ready = acks.shift();
    return ready ? Promise.resolve(ready) : new Promise((resolve) => waiters.push(resolve));
  };
  return { client, nextAck };
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

describe('startHub', () => {
  it('acks an MQTT batch after the commit and serves the points over HTTP', async () => {
    const hub = await start();
    const { client, nextAck } = await gateway(hub, 'gw-1');
    const points = [
      { tag: 'line1/press1/temperature', ts: t0, value: 70.5, quality: 'good' as const },
      { tag: 'line1/press1/temperature', ts: t0 + 10, value: 71, quality: 'good' as const },
      { tag: 'line1/press1/running', ts: t0, value: true, quality: 'good' as const },
    ];
    await client.publishAsync(topics.data(site, 'gw-1'), encodeBatch(site, 'gw-1', 1n, points), { qos: 1 });
    expect(await nextAck()).toEqual({ v: 1, ackedSeq: '3' });

    const response = await fetch(`${hub.url}api/points?tag=line1/press1/temperature`);
    expect(await response.json()).toEqual({
      points: [
        { gateway: 'gw-1', seq: '1', kind: 'point', tag: 'line1/press1/temperature', ts: t0, value: 70.5, quality: 'good', historical: false },
        { gateway: 'gw-1', seq: '2', kind: 'point', tag: 'line1/press1/temperature', ts: t0 + 10, value: 71, quality: 'good', historical: false },
      ],
    });
    await client.publishAsync(topics.data(site, 'gw-1'), encodeBatch(site, 'gw-1', 1n, points), { qos: 1 }); // a resend
    expect(await nextAck()).toEqual({ v: 1, ackedSeq: '3' });
    const health = (await (await fetch(`${hub.url}api/health`)).json()) as { ingest: Record<string, number> };
    expect(health.ingest).toMatchObject({ stored: 3, duplicates: 3 });
  });

  it('records gateway state messages, and resumes acks from the database after a restart', async () => {
    const first = await start();
    const gw = await gateway(first, 'gw-1');
    await gw.client.publishAsync(topics.state(site, 'gw-1'), JSON.stringify({ v: 1, state: 'online', ts: t0 }), { qos: 1, retain: true });
    await gw.client.publishAsync(topics.data(site, 'gw-1'), encodeBatch(site, 'gw-1', 1n, [{ tag: 'a/b/c', ts: t0, value: 1, quality: 'good' }]), { qos: 1 });
    expect(await gw.nextAck()).toEqual({ v: 1, ackedSeq: '1' });
    const listed = (await (await fetch(`${first.url}api/gateways`)).json()) as { gateways: unknown[] };
    expect(listed.gateways).toEqual([expect.objectContaining({ gateway: 'gw-1', ackedSeq: '1', state: 'online', points: 1 })]);
    await gw.client.endAsync();
    await first.close();
    hubs = [];

    const second = await start();
    const again = await gateway(second, 'gw-1');
    await again.client.publishAsync(topics.data(site, 'gw-1'), encodeBatch(site, 'gw-1', 1n, [{ tag: 'a/b/c', ts: t0, value: 1, quality: 'good' }, { tag: 'a/b/c', ts: t0 + 1, value: 2, quality: 'good' }]), { qos: 1 });
    expect(await again.nextAck()).toEqual({ v: 1, ackedSeq: '2' });
    const counts = (await (await fetch(`${second.url}api/gateways`)).json()) as { gateways: { points: number; state: string }[] };
    expect(counts.gateways[0]).toMatchObject({ points: 2, state: 'online' });
  });

  it('close is idempotent and leaves nothing listening', async () => {
    const hub = await start();
    expect(await canConnect(hub.brokerPort)).toBe(true);
    await Promise.all([hub.close(), hub.close()]);
    await hub.close();
    expect(await canConnect(hub.brokerPort)).toBe(false);
    expect(await canConnect(hub.httpPort)).toBe(false);
  });

  it('closes what it started when a later step fails (http port taken)', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const takenPort = (blocker.address() as net.AddressInfo).port;
    try {
      const error = await startHub(config({ http: { host: '127.0.0.1', port: takenPort } }), { logger: quiet }).catch((e: unknown) => e);
      expect(isMillwrightError(error) && error.code).toBe('HUB_LISTEN_FAILED');
      // The database was closed: a new hub can open the same file at once.
      const hub = await start();
      expect(hub.httpPort).not.toBe(takenPort);
    } finally {
      blocker.close();
    }
  });

  it('refuses a uiDir that is not a directory before starting anything', async () => {
    const error = await startHub(config({ uiDir: path.join(dataDir, 'missing') }), { logger: quiet }).catch((e: unknown) => e);
    expect(isMillwrightError(error) && error.code).toBe('CONFIG_INVALID');
  });
});

describe('baseUrl', () => {
  it('maps wildcard listen addresses to loopback and brackets IPv6', () => {
    expect(baseUrl('0.0.0.0', 80)).toBe('http://127.0.0.1:80/');
    expect(baseUrl('::1', 8080)).toBe('http://[::1]:8080/');
    expect(baseUrl('127.0.0.1', 8080)).toBe('http://127.0.0.1:8080/');
  });
});
