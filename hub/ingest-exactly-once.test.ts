// Exactly-once ingest of binary (v2) batches: duplicates by (gateway, seq), gaps, declared lost
// ranges, historical backlog beside live data, and a restart from DuckDB in the middle of a resend.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from '../common/clock.ts';
import { createLogger } from '../common/log.ts';
import { topics, type AckMessage } from '../common/wire.ts';
import { encodeBatchV2, type BatchRecord, type SeqRange } from '../common/wire-batch.ts';
import { openDuckDbStore } from './duckdb-store.ts';
import { Ingest, type IngestLimits } from './ingest.ts';
import { MemoryStore } from './memory-store.ts';
import type { GatewaySnapshot, HubStore } from './store.ts';

const site = 'site-a';
const t0 = 1_767_225_600_000;
const opened: HubStore[] = [];
const directories: string[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
  for (const directory of directories.splice(0)) await rm(directory, { recursive: true, force: true });
});

function harness(options: { store?: HubStore; initialGateways?: GatewaySnapshot[]; limits?: Partial<IngestLimits> } = {}) {
  const store = options.store ?? new MemoryStore();
  const clock = new SimulatedClock(t0);
  const acks: AckMessage[] = [];
  const logs: string[] = [];
  const ingest = new Ingest({
    site,
    limits: { batchPointsMax: 10_000, flushIntervalMs: 200, queuePointsMax: 200_000, ...options.limits },
    store,
    clock,
    initialGateways: options.initialGateways ?? [],
    publishAck: (_site, _gateway, ack) => acks.push(ack),
    logger: createLogger({ component: 'hub/ingest', clock, write: (line) => logs.push(line) }),
  });
  const lastAck = (): string | undefined => acks.at(-1)?.ackedSeq;
  return { ingest, store, clock, acks, logs, lastAck };
}

const records = (count: number, tag = 'line1/press1/temperature'): BatchRecord[] =>
  Array.from({ length: count }, (_, index) => ({ kind: 'point', tag, ts: t0 + index, value: index + 0.5, quality: 'good' }));

function send(ingest: Ingest, firstSeq: bigint, count: number, options: { lost?: SeqRange[]; historical?: boolean; gateway?: string; claims?: string } = {}) {
  const gateway = options.gateway ?? 'gw-1';
  const payload = encodeBatchV2({ site, gateway: options.claims ?? gateway, historical: options.historical ?? false, firstSeq, lost: options.lost ?? [], records: records(count) });
  return ingest.offerData(topics.data(site, gateway), payload);
}

const seqsOf = (store: MemoryStore): bigint[] => store.points.map((point) => point.seq).sort((a, b) => (a < b ? -1 : 1));

describe('exactly-once ingest of v2 batches', () => {
  it('records declared lost ranges, counts them as filled for the ack, and stores the rest once', async () => {
    const { ingest, store, lastAck } = harness();
    send(ingest, 1n, 3);
    send(ingest, 8n, 2, { lost: [{ first: 4n, last: 7n }, { first: 10n, last: 11n }] }); // 8, 9, then 12
    await ingest.flush();
    expect(seqsOf(store as MemoryStore)).toEqual([1n, 2n, 3n, 8n, 9n]);
    expect((store as MemoryStore).lostRanges.map(({ first, last }) => [first, last])).toEqual([[4n, 7n], [10n, 11n]]);
    expect(lastAck()).toBe('11');
    expect(ingest.counters()).toMatchObject({ stored: 5, lostSeqsDeclared: 6, lostRangesDeclared: 2, gapsDetected: 0 });
    expect(ingest.gateways()[0]).toMatchObject({ ackedSeq: 11n, lostSeqs: 6n, gaps: 0 });
  });

  it('records only the part of a lost range that was not already stored', async () => {
    const { ingest, store, lastAck } = harness();
    send(ingest, 1n, 2);
    send(ingest, 5n, 1); // stored past a gap, then evicted from the gateway's log before its ack
    await ingest.flush();
    send(ingest, 7n, 1, { lost: [{ first: 3n, last: 6n }] });
    await ingest.flush();
    expect((store as MemoryStore).lostRanges.map(({ first, last }) => [first, last])).toEqual([[3n, 4n], [6n, 6n]]);
    expect(seqsOf(store as MemoryStore)).toEqual([1n, 2n, 5n, 7n]);
    expect(lastAck()).toBe('7');
  });

  it('detects gaps and shows them per gateway until they fill', async () => {
    const { ingest, lastAck, logs } = harness();
    send(ingest, 1n, 10);
    send(ingest, 21n, 10);
    send(ingest, 41n, 5);
    await ingest.flush();
    expect(lastAck()).toBe('10');
    expect(ingest.counters().gapsDetected).toBe(2);
    expect(ingest.gateways()[0]).toMatchObject({ ackedSeq: 10n, highestSeq: 45n, gaps: 2, missingSeqs: 20n });
    expect(logs.join('')).toMatch(/sequence gap: .* gateway=gw-1 expectedSeq=11 firstSeq=21/);
    send(ingest, 11n, 10);
    send(ingest, 31n, 10);
    await ingest.flush();
    expect(lastAck()).toBe('45');
    expect(ingest.gateways()[0]).toMatchObject({ ackedSeq: 45n, gaps: 0, missingSeqs: 0n });
  });

  it('drops sequences that go backwards below the acked mark, counts them and acks again', async () => {
    const { ingest, store, acks } = harness();
    send(ingest, 1n, 100);
    await ingest.flush();
    send(ingest, 50n, 20); // a resend of what is stored, or a gateway that went backwards
    await ingest.flush();
    expect((store as MemoryStore).points).toHaveLength(100);
    expect(ingest.counters()).toMatchObject({ duplicates: 20, batchesBelowAck: 1, stored: 100 });
    expect(acks.map((ack) => ack.ackedSeq)).toEqual(['100', '100']);
  });

  it('stores the historical flag and commits live batches before historical ones', async () => {
    const store = new MemoryStore();
    const order: boolean[][] = [];
    const commit = store.commit.bind(store);
    store.commit = async (request) => {
      order.push(request.points.map((point) => point.historical));
      await commit(request);
    };
    const { ingest } = harness({ store, limits: { batchPointsMax: 5 } });
    send(ingest, 1n, 5, { historical: true });
    send(ingest, 100n, 5);
    await ingest.flush();
    expect(order).toEqual([[false, false, false, false, false], [true, true, true, true, true]]);
    expect(ingest.counters()).toMatchObject({ stored: 10, storedHistorical: 5 });
  });

  it('refuses historical batches past their share of the queue while live ones still fit', () => {
    const { ingest } = harness({ limits: { queuePointsMax: 100, historicalQueuePointsMax: 20, batchPointsMax: 10 } });
    expect(send(ingest, 1n, 15, { historical: true })).toBe('queued');
    expect(send(ingest, 16n, 10, { historical: true })).toBe('queue-full');
    expect(send(ingest, 1000n, 50)).toBe('queued');
    expect(ingest.counters()).toMatchObject({ queueFullRefusals: 1, queuedPoints: 65, queuedHistoricalPoints: 15 });
  });

  it('refuses a payload that claims another gateway, and bad bytes, without touching stored data', async () => {
    const { ingest, store, acks } = harness();
    send(ingest, 1n, 2);
    await ingest.flush();
    expect(send(ingest, 1n, 5, { gateway: 'gw-1', claims: 'gw-2' })).toBe('rejected');
    const truncated = encodeBatchV2({ site, gateway: 'gw-1', historical: false, firstSeq: 3n, records: records(3) }).subarray(0, 40);
    expect(ingest.offerData(topics.data(site, 'gw-1'), truncated)).toBe('rejected');
    await ingest.flush();
    expect(seqsOf(store as MemoryStore)).toEqual([1n, 2n]);
    expect(acks).toHaveLength(1);
    expect(ingest.counters()).toMatchObject({ rejected: 2, rejectedIdentity: 1, rejectedMalformed: 1 });
  });

  it('survives a restart from DuckDB in the middle of a resend: nothing stored twice, nothing lost', async () => {
    const directory = await mkdtemp(path.join(tmpdir(), 'hub-exactly-once-'));
    directories.push(directory);
    const file = path.join(directory, 'hub.duckdb');
    const first = harness({ store: await openDuckDbStore(file) });
    send(first.ingest, 1n, 100);
    send(first.ingest, 151n, 50, { lost: [{ first: 201n, last: 210n }] }); // gap 101..150, lost 201..210
    send(first.ingest, 211n, 40, { historical: true });
    await first.ingest.close();
    expect(first.lastAck()).toBe('100');
    await first.store.close();

    const store = await openDuckDbStore(file);
    opened.push(store);
    const second = harness({ store, initialGateways: await store.loadGateways() });
    expect(second.ingest.gateways()[0]).toMatchObject({ ackedSeq: 100n, highestSeq: 250n, gaps: 1, missingSeqs: 50n, lostSeqs: 10n });
    // The gateway resends everything it has not seen acked: 101..250 less the lost 201..210.
    send(second.ingest, 101n, 140, { lost: [{ first: 201n, last: 210n }] });
    await second.ingest.flush();
    expect(second.lastAck()).toBe('250');
    expect(second.ingest.counters()).toMatchObject({ stored: 50, duplicates: 90, lostRangesDeclared: 0 });
    const counts = await store.pointCounts();
    expect(counts.get('gw-1')).toBe(240);
    expect(await store.queryLostRanges({ limit: 10 })).toEqual([{ gateway: 'gw-1', first: 201n, last: 210n, reportedAtMs: t0 }]);
  });
});
