import { describe, expect, it } from 'vitest';
import { SimulatedClock } from '../common/clock.ts';
import { createLogger } from '../common/log.ts';
import type { Point } from '../common/point.ts';
import { encodeBatch, topics, type AckMessage } from '../common/wire.ts';
import { Ingest, type IngestLimits, type LivePoint } from './ingest.ts';
import { MemoryStore } from './memory-store.ts';
import type { GatewaySnapshot } from './store.ts';

const site = 'site-a';
const t0 = 1_767_225_600_000;

function harness(options: { limits?: Partial<IngestLimits>; initialGateways?: GatewaySnapshot[]; store?: MemoryStore } = {}) {
  const store = options.store ?? new MemoryStore();
  const clock = new SimulatedClock(t0);
  const acks: { topic: string; ack: AckMessage }[] = [];
  const flushes: LivePoint[][] = [];
  const logs: string[] = [];
  const ingest = new Ingest({
    site,
    limits: { batchPointsMax: 10_000, flushIntervalMs: 200, queuePointsMax: 200_000, ...options.limits },
    store,
    clock,
    initialGateways: options.initialGateways ?? [],
    publishAck: (ackSite, gateway, ack) => acks.push({ topic: topics.ack(ackSite, gateway), ack }),
    onFlush: (points) => flushes.push([...points]),
    logger: createLogger({ component: 'hub/ingest', clock, write: (line) => logs.push(line) }),
  });
  return { ingest, store, clock, acks, flushes, logs };
}

const points = (count: number, tag = 'line1/press1/temperature', tsStart = t0): Point[] =>
  Array.from({ length: count }, (_, index) => ({ tag, ts: tsStart + index, value: index, quality: 'good' as const }));

const offer = (ingest: Ingest, gateway: string, firstSeq: bigint, batch: Point[], payloadSite = site) =>
  ingest.offerData(topics.data(site, gateway), encodeBatch(payloadSite, gateway, firstSeq, batch));

describe('Ingest', () => {
  it('stores a batch, then acks the highest contiguous sequence on the gateway ack topic', async () => {
    const { ingest, store, acks } = harness();
    expect(offer(ingest, 'gw-1', 1n, points(3))).toBe('queued');
    await ingest.flush();
    expect(store.points.map((p) => p.seq)).toEqual([1n, 2n, 3n]);
    expect(acks).toEqual([{ topic: 'millwright/v1/site-a/gw-1/ack', ack: { v: 1, ackedSeq: '3' } }]);
    expect(ingest.counters()).toMatchObject({ received: 3, stored: 3, duplicates: 0, queuedPoints: 0 });
  });

  it('drops resent points by (gateway, seq) and still acks the gateway', async () => {
    const { ingest, store, acks } = harness();
    offer(ingest, 'gw-1', 1n, points(3));
    await ingest.flush();
    offer(ingest, 'gw-1', 2n, points(3)); // 2, 3 are duplicates, 4 is new
    offer(ingest, 'gw-1', 4n, points(1)); // duplicate of 4 inside the same flush
    await ingest.flush();
    expect(store.points.map((p) => p.seq)).toEqual([1n, 2n, 3n, 4n]);
    expect(ingest.counters()).toMatchObject({ stored: 4, duplicates: 3 });
    expect(acks.at(-1)?.ack.ackedSeq).toBe('4');
  });

  it('stores points past a gap but keeps the ack at the contiguous mark until the gap fills', async () => {
    const { ingest, store, acks } = harness();
    offer(ingest, 'gw-1', 1n, points(2));
    offer(ingest, 'gw-1', 5n, points(2));
    await ingest.flush();
    expect(store.points.map((p) => p.seq)).toEqual([1n, 2n, 5n, 6n]);
    expect(acks.at(-1)?.ack.ackedSeq).toBe('2');
    offer(ingest, 'gw-1', 3n, points(4)); // 3, 4 fill the gap; 5, 6 were already stored
    await ingest.flush();
    expect(store.points.map((p) => p.seq)).toEqual([1n, 2n, 5n, 6n, 3n, 4n]);
    expect(acks.at(-1)?.ack.ackedSeq).toBe('6');
    expect(ingest.counters().duplicates).toBe(2);
  });

  it('resumes from the store: acked mark and ranges past a gap survive a restart', async () => {
    const first = harness();
    offer(first.ingest, 'gw-1', 1n, points(2));
    offer(first.ingest, 'gw-1', 4n, points(1));
    await first.ingest.close();
    const second = harness({ store: first.store, initialGateways: await first.store.loadGateways() });
    offer(second.ingest, 'gw-1', 1n, points(4));
    await second.ingest.flush();
    expect(first.store.points.map((p) => p.seq)).toEqual([1n, 2n, 4n, 3n]);
    expect(second.acks.at(-1)?.ack.ackedSeq).toBe('4');
  });

  it.each([
    ['not JSON', Buffer.from('{nope')],
    ['the wrong version', Buffer.from(JSON.stringify({ v: 2, site, gateway: 'gw-1', firstSeq: '1', records: [] }))],
    ['a bad record', Buffer.from(JSON.stringify({ v: 1, site, gateway: 'gw-1', firstSeq: '1', records: [['line1/a', 'soon', 1, 0]] }))],
    ['sequence 0', encodeBatch(site, 'gw-1', 0n, points(1))],
    ['a sequence past 64 bits', encodeBatch(site, 'gw-1', 18_446_744_073_709_551_615n, points(2))],
  ])('rejects a payload with %s, counts it and never touches stored data', async (_name, payload) => {
    const { ingest, store, acks, logs } = harness();
    offer(ingest, 'gw-1', 1n, points(2));
    await ingest.flush();
    expect(ingest.offerData(topics.data(site, 'gw-1'), payload)).toBe('rejected');
    await ingest.flush();
    expect(store.points.map((p) => p.seq)).toEqual([1n, 2n]);
    expect(ingest.counters()).toMatchObject({ rejected: 1, received: 2, stored: 2 });
    expect(acks).toHaveLength(1);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/rejected gateway message gateway=gw-1 reason="malformed batch \((invalid|unsupported-version)\): /);
  });

  it('refuses batches whose site or gateway disagree with the topic, or another site', () => {
    const { ingest } = harness();
    expect(ingest.offerData(topics.data(site, 'gw-1'), encodeBatch(site, 'gw-2', 1n, points(1)))).toBe('rejected');
    expect(ingest.offerData(topics.data(site, 'gw-1'), encodeBatch('site-b', 'gw-1', 1n, points(1)))).toBe('rejected');
    expect(ingest.offerData(topics.data('site-b', 'gw-1'), encodeBatch('site-b', 'gw-1', 1n, points(1)))).toBe('rejected');
    expect(ingest.offerData('millwright/v1/site-a/GW!/data', encodeBatch(site, 'GW!', 1n, points(1)))).toBe('rejected');
    expect(ingest.counters()).toMatchObject({ rejected: 4, received: 0 });
  });

  it('rate-limits reject log lines per gateway and reports how many it suppressed', () => {
    const { ingest, clock, logs } = harness();
    for (let index = 0; index < 5; index++) ingest.offerData(topics.data(site, 'gw-1'), Buffer.from('x'));
    clock.advanceMs(10_000);
    ingest.offerData(topics.data(site, 'gw-1'), Buffer.from('x'));
    expect(logs).toHaveLength(2);
    expect(logs[1]).toMatch(/ suppressed=4\n$/);
    expect(ingest.counters().rejected).toBe(6);
  });

  it('refuses (does not queue or ack) a batch when the queue is full, and counts it', async () => {
    const { ingest, store, acks } = harness({ limits: { queuePointsMax: 5, batchPointsMax: 5 } });
    expect(offer(ingest, 'gw-1', 1n, points(4))).toBe('queued');
    expect(offer(ingest, 'gw-1', 5n, points(2))).toBe('queue-full');
    expect(ingest.counters()).toMatchObject({ queueFullRefusals: 1, queuedPoints: 4 });
    await ingest.flush();
    expect(store.points).toHaveLength(4);
    expect(acks.map((a) => a.ack.ackedSeq)).toEqual(['4']);
    expect(offer(ingest, 'gw-1', 5n, points(2))).toBe('queued'); // the resend fits now
  });

  it('commits at most batchPointsMax points per transaction, in whole batches', async () => {
    const store = new MemoryStore();
    const commits: number[] = [];
    const commit = store.commit.bind(store);
    store.commit = async (request) => {
      commits.push(request.points.length);
      await commit(request);
    };
    const { ingest, acks } = harness({ store, limits: { batchPointsMax: 5 } });
    offer(ingest, 'gw-1', 1n, points(3));
    offer(ingest, 'gw-1', 4n, points(3));
    offer(ingest, 'gw-1', 7n, points(7)); // larger than a flush: committed alone
    await ingest.flush();
    expect(commits).toEqual([3, 3, 7]);
    expect(acks.map((a) => a.ack.ackedSeq)).toEqual(['3', '6', '13']);
  });

  it('does not ack when the commit fails, and stores the resend later', async () => {
    const { ingest, store, acks, logs } = harness();
    store.failNextCommit = new Error('disk full');
    offer(ingest, 'gw-1', 1n, points(2));
    await ingest.flush();
    expect(acks).toEqual([]);
    expect(ingest.counters()).toMatchObject({ storeFailures: 1, stored: 0 });
    expect(logs[0]).toMatch(/disk full/);
    offer(ingest, 'gw-1', 1n, points(2));
    await ingest.flush();
    expect(store.points.map((p) => p.seq)).toEqual([1n, 2n]);
    expect(acks.map((a) => a.ack.ackedSeq)).toEqual(['2']);
  });

  it('keeps the latest value per tag by timestamp and reports the latest of each flush', async () => {
    const { ingest, flushes } = harness();
    offer(ingest, 'gw-1', 1n, [...points(3, 'line1/press1/temperature'), ...points(1, 'line1/press1/running', t0 + 50)]);
    await ingest.flush();
    offer(ingest, 'gw-1', 5n, points(1, 'line1/press1/temperature', t0 - 1000)); // older backlog point
    await ingest.flush();
    expect(flushes[0]).toEqual([
      { tag: 'line1/press1/temperature', ts: t0 + 2, value: 2, quality: 'good' },
      { tag: 'line1/press1/running', ts: t0 + 50, value: 0, quality: 'good' },
    ]);
    expect(ingest.latest().find((p) => p.tag === 'line1/press1/temperature')?.ts).toBe(t0 + 2);
  });

  it('records gateway state messages and persists them with the next flush', async () => {
    const { ingest, store, clock } = harness();
    clock.advanceMs(500);
    const state = Buffer.from(JSON.stringify({ v: 1, state: 'online', ts: t0 }));
    expect(ingest.offerState(topics.state(site, 'gw-1'), state)).toBe('queued');
    expect(ingest.offerState(topics.state(site, 'gw-1'), Buffer.from('{"v":1,"state":"sleepy","ts":1}'))).toBe('rejected');
    expect(ingest.gateways()).toEqual([{ gateway: 'gw-1', site, ackedSeq: 0n, highestSeq: 0n, gaps: 0, missingSeqs: 0n, lostSeqs: 0n, lastSeenMs: t0 + 500, state: 'online' }]);
    await ingest.flush();
    expect(store.gateways.get('gw-1')).toEqual({ gateway: 'gw-1', site, ackedSeq: 0n, lastSeenMs: t0 + 500, state: 'online' });
  });

  it('close commits what is queued and refuses what arrives afterwards', async () => {
    const { ingest, store } = harness();
    offer(ingest, 'gw-1', 1n, points(2));
    await Promise.all([ingest.close(), ingest.close()]);
    expect(store.points).toHaveLength(2);
    expect(offer(ingest, 'gw-1', 3n, points(1))).toBe('closed');
  });
});
