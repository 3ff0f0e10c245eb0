// The end-to-end suite, run against every broker the hub supports: a simulated gateway (common/mqtt
// MqttClient sending v2 batches) → broker → hub → DuckDB → ack. Through duplicates, out-of-order
// sends, declared lost ranges, a held-back historical backlog, resends of acked data, a hub
// restart in the middle of a resend and a broker restart, DuckDB ends holding every sequence
// exactly once, every declared-lost sequence it never received in lost_ranges, and nothing else;
// alarms keep the payload (severity, message) they travelled with, served by /api/alarms.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../common/clock.ts';
import { createLogger } from '../common/log.ts';
import { seededRandom, type RandomSource } from '../common/random.ts';
import { topics } from '../common/wire.ts';
import { encodeBatchV2, type BatchRecord, type SeqRange } from '../common/wire-batch.ts';
import { startHub, type RunningHub } from './hub.ts';
import { databaseFileName, type BrokerConfig, type HubConfig } from './hub-config.ts';
import { SimGateway } from './test-gateway.ts';
import { brokersUnderTest, type BrokerUnderTest, type ExternalTestBroker } from './test-brokers.ts';

const site = 'site-a';
const gateway = 'gw-1';
const t0 = 1_767_225_600_000;
const ackTimeoutMs = 20_000;
const quiet = createLogger({ component: 'e2e', clock: systemClock, write: process.env['E2E_LOG'] ? (line) => process.stderr.write(line) : () => undefined });
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** What the gateway sends with an alarm (edge/gateway.ts onAlarm). */
function alarmPayload(index: number): string {
  return JSON.stringify({ severity: 'critical', value: 90 + (index % 10), message: `Presse 1: Übertemperatur (${index})` });
}

function records(random: RandomSource, count: number): BatchRecord[] {
  return Array.from({ length: count }, (_, index): BatchRecord => {
    const roll = random.int(0, 19);
    if (roll === 0) return { kind: 'alarm', tag: 'line1/_alarms/press1-overtemp', ts: t0 + index, value: random.next() < 0.5, quality: 'good', payload: alarmPayload(index) };
    if (roll === 1) return { kind: 'event', tag: 'line1/press1/operator', ts: t0 + index, value: `note ${index}`, quality: 'uncertain', ...(index % 2 === 0 && { payload: '{"by":"operator 7"}' }) };
    return { kind: 'point', tag: `line1/press${random.int(1, 4)}/temperature`, ts: t0 + index * 10, value: 20 + random.next() * 60, quality: 'good' };
  });
}

/** A hub on a temp dataDir, restartable on the same broker port. */
async function hubHarness(kind: BrokerUnderTest, external: ExternalTestBroker | undefined) {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'hub-e2e-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const broker = (port: number): BrokerConfig =>
    external === undefined
      ? { mode: 'embedded', host: '127.0.0.1', port }
      : { mode: 'external', host: '127.0.0.1', port: external.port, protocolVersion: kind.protocolVersion, clientId: `millwright-hub-${site}` };
  const config = (port: number): HubConfig => ({
    site,
    dataDir,
    broker: broker(port),
    http: { host: '127.0.0.1', port: 0 },
    ingest: { batchPointsMax: 5_000, flushIntervalMs: 20, queuePointsMax: 100_000, historicalQueuePointsMax: 50_000 },
  });
  let hub: RunningHub = await startHub(config(0), { logger: quiet });
  const port = hub.brokerPort;
  let closed = false;
  cleanups.push(async () => {
    if (!closed) await hub.close();
  });
  return {
    dataDir,
    port,
    get hub() {
      return hub;
    },
    async restart() {
      await hub.close();
      hub = await startHub(config(port), { logger: quiet });
    },
    async close() {
      closed = true;
      await hub.close();
    },
  };
}

async function sim(port: number, kind: BrokerUnderTest, options: { gateway?: string; clientId?: string } = {}): Promise<SimGateway> {
  const clientId = options.clientId === undefined ? {} : { clientId: options.clientId };
  const gatewaySim = new SimGateway({ site, gateway: options.gateway ?? gateway, host: '127.0.0.1', port, protocolVersion: kind.protocolVersion, resendAfterMs: 500, logger: quiet, ...clientId });
  cleanups.push(() => gatewaySim.close());
  await gatewaySim.start();
  return gatewaySim;
}

function toSet(ranges: readonly SeqRange[]): Set<number> {
  const set = new Set<number>();
  for (const range of ranges) for (let seq = Number(range.first); seq <= Number(range.last); seq++) set.add(seq);
  return set;
}

/** Reads the closed database file and checks the exactly-once invariants against what the gateway did. */
async function checkExactlyOnce(file: string, gatewaySim: SimGateway): Promise<{ points: number; lost: number; historical: number }> {
  const instance = await DuckDBInstance.create(file);
  try {
    const connection = await instance.connect();
    const seqs = (await connection.runAndReadAll(`SELECT seq FROM points WHERE gateway = '${gateway}' ORDER BY seq`)).getRows().map((row) => Number(row[0] as bigint));
    const lostRows = (await connection.runAndReadAll(`SELECT first_seq, last_seq FROM lost_ranges WHERE gateway = '${gateway}' ORDER BY first_seq`)).getRows();
    const historical = Number((await connection.runAndReadAll(`SELECT count(*) FROM points WHERE historical`)).getRows()[0]?.[0] as bigint);
    const alarms = (await connection.runAndReadAll(`SELECT count(*) AS n, count(payload) AS with_payload, count(*) FILTER (WHERE payload LIKE '%"severity":"critical"%') AS critical FROM points WHERE kind = 1`)).getRowObjectsJS()[0]!;
    expect(Number(alarms['n']), 'alarms were sent').toBeGreaterThan(0);
    expect(alarms, 'every alarm keeps its payload').toEqual({ n: alarms['n'], with_payload: alarms['n'], critical: alarms['n'] });
    connection.closeSync();
    const stored = new Set(seqs);
    expect(stored.size, 'a sequence is stored twice').toBe(seqs.length);
    const lost = toSet(lostRows.map((row) => ({ first: row[0] as bigint, last: row[1] as bigint })));
    for (const seq of lost) expect(stored.has(seq), `sequence ${seq} is both stored and recorded lost`).toBe(false);
    const last = Number(gatewaySim.nextSeq - 1n);
    expect(stored.size + lost.size, 'stored and lost together cover 1..last exactly').toBe(last);
    const recorded = toSet(gatewaySim.recorded);
    const declared = toSet(gatewaySim.declaredLost);
    for (let seq = 1; seq <= last; seq++) {
      if (recorded.has(seq) && !declared.has(seq)) expect(stored.has(seq), `sequence ${seq} was sent and never declared lost`).toBe(true);
      if (!recorded.has(seq)) expect(lost.has(seq), `sequence ${seq} was declared lost before it was sent`).toBe(true);
    }
    return { points: seqs.length, lost: lost.size, historical };
  } finally {
    instance.closeSync();
  }
}

describe.each(brokersUnderTest)('gateway → $name → hub → DuckDB → ack', (kind) => {
  if (kind.unavailable !== undefined) process.stderr.write(`end-to-end: skipping ${kind.name}: ${kind.unavailable}\n`);

  async function setUp() {
    let external: ExternalTestBroker | undefined;
    if (kind.mode === 'external') {
      external = await kind.launch();
      const launched = external;
      cleanups.push(() => launched.dispose());
    }
    const hubs = await hubHarness(kind, external);
    return { external, hubs, gatewayPort: external?.port ?? hubs.port };
  }

  it.skipIf(kind.unavailable !== undefined)('stores every sequence exactly once through duplicates, gaps, lost ranges, backlog and restarts', async () => {
    const seed = 7_000 + kind.name.length;
    const random = seededRandom(seed);
    const { external, hubs, gatewayPort } = await setUp();
    const gatewaySim = await sim(gatewayPort, kind);
    const note = `${kind.name} seed ${seed}`;

    // 1. Live batches: one declared lost before it, one with a lost range inside, duplicates in flight.
    for (let index = 0; index < 12; index++) {
      gatewaySim.append(records(random, random.int(20, 60)), { skipBefore: index === 3 ? 25 : 0, ...(index === 6 ? { lostInside: { after: 10, count: 5 } } : {}) });
    }
    gatewaySim.pump();
    gatewaySim.publishAgain(1n);
    await gatewaySim.waitForAck(gatewaySim.nextSeq - 1n, ackTimeoutMs);

    // 2. An outage's backlog held back while live data goes first: the ack waits at the gap.
    const backlog = gatewaySim.append(records(random, 200), { historical: true, hold: true });
    gatewaySim.append(records(random, 200), { historical: true, hold: true });
    for (let index = 0; index < 4; index++) gatewaySim.append(records(random, 50));
    gatewaySim.pump();
    await expect.poll(() => hubs.hub.ingest.gateways()[0]?.highestSeq ?? 0n, { timeout: ackTimeoutMs }).toBe(gatewaySim.nextSeq - 1n);
    expect(hubs.hub.ingest.gateways()[0], note).toMatchObject({ ackedSeq: backlog.first - 1n, gaps: 1, missingSeqs: 400n });
    gatewaySim.release();
    await gatewaySim.waitForAck(gatewaySim.nextSeq - 1n, ackTimeoutMs);

    // 3. Resends of acked data (sequences going backwards), then a hub restart while batches are in flight.
    const early = encodeBatchV2({ site, gateway, historical: false, firstSeq: 1n, records: records(seededRandom(seed), 30) });
    await gatewaySim.publishRaw(early);
    for (let index = 0; index < 10; index++) gatewaySim.append(records(random, random.int(40, 80)));
    gatewaySim.pump();
    await hubs.restart();
    gatewaySim.resendUnacked();
    await gatewaySim.waitForAck(gatewaySim.nextSeq - 1n, ackTimeoutMs);

    // 4. A broker restart (the embedded broker restarts with its hub) with data appended meanwhile.
    for (let index = 0; index < 5; index++) gatewaySim.append(records(random, 40));
    gatewaySim.pump();
    if (external !== undefined) {
      await external.stop();
      for (let index = 0; index < 5; index++) gatewaySim.append(records(random, 40));
      await external.start();
    } else {
      await hubs.restart();
      for (let index = 0; index < 5; index++) gatewaySim.append(records(random, 40));
    }
    gatewaySim.pump();
    await gatewaySim.waitForAck(gatewaySim.nextSeq - 1n, ackTimeoutMs);

    // 5. A batch sent and then evicted by the overflow policy before its ack: declared lost after the fact.
    const evictedRange = gatewaySim.append(records(random, 30), { hold: true });
    const evictedPayload = encodeBatchV2({ site, gateway, historical: false, firstSeq: evictedRange.first, records: records(seededRandom(seed + 1), 30) });
    await gatewaySim.publishRaw(evictedPayload);
    const evicted = gatewaySim.evictOldest();
    expect(evicted).toEqual(evictedRange);
    gatewaySim.append(records(random, 30), { evicted: [evictedRange] });
    gatewaySim.pump();
    await gatewaySim.waitForAck(gatewaySim.nextSeq - 1n, ackTimeoutMs);

    const counters = hubs.hub.ingest.counters();
    expect(counters.duplicates, note).toBeGreaterThan(0);
    expect(counters.batchesBelowAck, note).toBeGreaterThan(0);
    await gatewaySim.close();
    await hubs.close();
    const result = await checkExactlyOnce(path.join(hubs.dataDir, databaseFileName), gatewaySim);
    expect(result.lost, note).toBeGreaterThanOrEqual(30); // 25 before a batch + 5 inside one (+ 30 evicted unless stored)
    expect(result.historical, note).toBe(400);
  }, 90_000);

  it.skipIf(kind.unavailable !== undefined)('refuses payloads naming another gateway and malformed bytes, counting them, with nothing stored touched', async () => {
    const { hubs, gatewayPort } = await setUp();
    const gatewaySim = await sim(gatewayPort, kind);
    gatewaySim.append(records(seededRandom(1), 10));
    gatewaySim.pump();
    await gatewaySim.waitForAck(10n, ackTimeoutMs);
    await gatewaySim.publishRaw(encodeBatchV2({ site, gateway: 'gw-2', historical: false, firstSeq: 11n, records: records(seededRandom(2), 5) }));
    await gatewaySim.publishRaw(Buffer.from([0x4d, 0x57, 2, 0, 200]));
    await gatewaySim.publishRaw(Buffer.from('{"v":1,"site":"site-a"'));
    const alarm = encodeBatchV2({ site, gateway, historical: false, firstSeq: 11n, records: [{ kind: 'alarm', tag: 'line1/_alarms/press1-overtemp', ts: t0, value: true, quality: 'good', payload: '{"severity":"high"}' }] });
    alarm[alarm.indexOf('high')] = 0xff; // not UTF-8 any more
    await gatewaySim.publishRaw(alarm);
    await expect.poll(() => hubs.hub.ingest.counters().rejected, { timeout: ackTimeoutMs }).toBe(4);
    expect(hubs.hub.ingest.counters()).toMatchObject({ rejectedIdentity: 1, rejectedMalformed: 3, rejectedPayload: 1, stored: 10 });
    gatewaySim.append(records(seededRandom(3), 10));
    gatewaySim.pump();
    await gatewaySim.waitForAck(20n, ackTimeoutMs);
    expect(hubs.hub.ingest.counters().stored).toBe(20);
  }, 60_000);

  it.skipIf(kind.unavailable !== undefined)("stores an alarm's severity and message end to end and serves them at /api/alarms", async () => {
    const { hubs, gatewayPort } = await setUp();
    const gatewaySim = await sim(gatewayPort, kind);
    const raised = { severity: 'critical', value: 97.5, message: 'Presse 1: Übertemperatur, Linie gestoppt' };
    gatewaySim.append([
      { kind: 'point', tag: 'line1/press1/temperature', ts: t0, value: 97.5, quality: 'good' },
      { kind: 'alarm', tag: 'line1/_alarms/press1-overtemp', ts: t0 + 1, value: true, quality: 'good', payload: JSON.stringify(raised) },
      { kind: 'alarm', tag: 'line1/_alarms/disk-failing', ts: t0 + 2, value: true, quality: 'good', payload: '{"kind":"degraded","code":"EDGE_LOG_IO","message":"EIO"}' },
      { kind: 'alarm', tag: 'line1/_alarms/press1-overtemp', ts: t0 + 3, value: false, quality: 'good', payload: JSON.stringify({ ...raised, value: 80, message: null }) },
    ]);
    gatewaySim.pump();
    await gatewaySim.waitForAck(4n, ackTimeoutMs);
    const response = await fetch(`${hubs.hub.url}api/alarms?gateway=${gateway}`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { alarms: Record<string, unknown>[] };
    expect(body.alarms.map(({ seq, value, severity, message }) => ({ seq, value, severity, message }))).toEqual([
      { seq: '4', value: false, severity: 'critical', message: null },
      { seq: '3', value: true, severity: null, message: 'EIO' },
      { seq: '2', value: true, severity: 'critical', message: raised.message },
    ]);
    expect(body.alarms[2]).toMatchObject({ gateway, tag: 'line1/_alarms/press1-overtemp', ts: t0 + 1, quality: 'good', historical: false, payload: JSON.stringify(raised) });
  }, 60_000);

  it.skipIf(kind.mode !== 'embedded')('refuses a client that publishes as another gateway or publishes acks, and disconnects it', async () => {
    const { hubs, gatewayPort } = await setUp();
    const impostor = await sim(gatewayPort, kind, { clientId: `millwright-${site}-gw-2` });
    const payload = encodeBatchV2({ site, gateway, historical: false, firstSeq: 1n, records: records(seededRandom(4), 10) });
    void impostor.publishRaw(payload).catch(() => undefined); // never acknowledged: the broker drops the client
    await expect.poll(() => hubs.hub.broker.counters().refusedPublishes, { timeout: ackTimeoutMs }).toBeGreaterThanOrEqual(1);
    const honest = await sim(gatewayPort, kind, { gateway: 'gw-3' }); // its own topics are fine, acks are not
    await impostor.close();
    const before = hubs.hub.broker.counters().refusedPublishes;
    void honest.publishRaw(Buffer.from('{"v":1,"ackedSeq":"99"}'), topics.ack(site, gateway)).catch(() => undefined);
    await expect.poll(() => hubs.hub.broker.counters().refusedPublishes, { timeout: ackTimeoutMs }).toBe(before + 1);
    await honest.close();
    await hubs.hub.ingest.flush();
    expect(hubs.hub.ingest.counters()).toMatchObject({ received: 0, stored: 0 });
  }, 60_000);
});
