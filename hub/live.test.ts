import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from '../common/clock.ts';
import { createLogger } from '../common/log.ts';
import { buildHubApi } from './api.ts';
import { emptyIngestCounters } from './ingest.ts';
import { LiveFeed, type LiveFeedLimits } from './live.ts';
import { MemoryStore } from './memory-store.ts';

const counters = emptyIngestCounters();
let running: { app: FastifyInstance; requests: http.ClientRequest[] } | undefined;

afterEach(async () => {
  for (const request of running?.requests ?? []) request.destroy();
  await running?.app.close();
  running = undefined;
});

async function serve(limits: Partial<LiveFeedLimits> = {}) {
  const live = new LiveFeed(limits);
  const app = buildHubApi({
    site: 'site-a',
    clock: new SimulatedClock(),
    ingest: { counters: () => counters, gateways: () => [], latest: () => [] },
    store: new MemoryStore(),
    live,
    logger: createLogger({ component: 'hub/api', clock: new SimulatedClock(), write: () => undefined }),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  running = { app, requests: [] };
  return { live, app, port: (app.server.address() as AddressInfo).port };
}

/** Opens /api/live and collects its text as it arrives. */
function connect(port: number): Promise<{ response: http.IncomingMessage; text: () => string; waitFor: (needle: string) => Promise<void> }> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path: '/api/live' }, (response) => {
      let text = '';
      const waiters: (() => void)[] = [];
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        text += chunk;
        for (const wake of waiters.splice(0)) wake();
      });
      const waitFor = async (needle: string): Promise<void> => {
        while (!text.includes(needle)) await new Promise<void>((wake) => waiters.push(wake));
      };
      resolve({ response, text: () => text, waitFor });
    });
    request.on('error', reject);
    running?.requests.push(request);
  });
}

const until = async (condition: () => boolean): Promise<void> => {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
};

describe('GET /api/live (server-sent events)', () => {
  it('streams one points event per flush and heartbeat comments', async () => {
    const { live, port } = await serve({ heartbeatIntervalMs: 20 });
    const client = await connect(port);
    expect(client.response.statusCode).toBe(200);
    expect(client.response.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    await client.waitFor(': connected\n\n');
    live.broadcast([{ tag: 'line1/press1/temperature', ts: 5, value: 71.5, quality: 'good' }]);
    await client.waitFor('event: points\ndata: {"points":[{"tag":"line1/press1/temperature","ts":5,"value":71.5,"quality":"good"}]}\n\n');
    await client.waitFor(': heartbeat\n\n');
    expect(live.counters()).toMatchObject({ clients: 1, eventsSent: 1 });
  });

  it('forgets a client that disconnects', async () => {
    const { live, port } = await serve();
    const client = await connect(port);
    await client.waitFor(': connected');
    expect(live.counters().clients).toBe(1);
    client.response.destroy();
    await until(() => live.counters().clients === 0);
  });

  it('drops a client that stops reading once its buffer passes the bound, and counts it', async () => {
    const { live, port } = await serve({ clientBufferBytesMax: 64 * 1024 });
    const slow = await connect(port);
    await slow.waitFor(': connected');
    slow.response.pause();
    const big = 'x'.repeat(64 * 1024);
    for (let round = 0; round < 2000 && live.counters().slowClientsDropped === 0; round++) {
      live.broadcast([{ tag: 'line1/big', ts: round, value: big, quality: 'good' }]);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(live.counters()).toMatchObject({ slowClientsDropped: 1, clients: 0 });
  });

  it('refuses clients past clientsMax with 503 JSON', async () => {
    const { port } = await serve({ clientsMax: 1 });
    const first = await connect(port);
    await first.waitFor(': connected');
    const second = await connect(port);
    expect(second.response.statusCode).toBe(503);
    await second.waitFor('HUB_UNAVAILABLE');
  });

  it('ends open streams when the server closes', async () => {
    const { app, live, port } = await serve();
    const client = await connect(port);
    await client.waitFor(': connected');
    const ended = new Promise((resolve) => client.response.on('close', resolve));
    await app.close();
    await ended;
    expect(live.counters().clients).toBe(0);
  });
});
