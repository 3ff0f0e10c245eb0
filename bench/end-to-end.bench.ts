// End-to-end store-and-forward throughput: simulated gateways (common/mqtt MqttClient, v2 binary
// batches of 1000 points, a bounded window of batches awaiting the hub's end-to-end ack) → broker
// → hub (in-process startHub: decode, de-duplication, DuckDB append and commit in a temp dir) →
// ack back to the gateway. Points count only once acked, i.e. committed to DuckDB. Run with the
// hub's embedded broker (aedes) and with mosquitto as an external broker, in the same run.
// Peer measured in the same run, per broker: the broker's own ceiling, the same payloads
// published QoS 1 by the same clients with the same window to a subscriber that only counts
// them (no hub, no DuckDB). Goal: ≥ 200,000 points/s end to end on this 2-core machine.
// Also printed: payload bytes per point, v2 against plain JSON one point per message.
// usage: node --import tsx bench/end-to-end.bench.ts [--quick]
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../common/clock.ts';
import { createLogger } from '../common/log.ts';
import { MqttClient } from '../common/mqtt/mqtt-client.ts';
import { mosquittoPath } from '../common/mqtt/test-peers.ts';
import { seededRandom } from '../common/random.ts';
import { encodeBatch, topics } from '../common/wire.ts';
import { encodeBatchV2, wireBatchLimits, type BatchRecord } from '../common/wire-batch.ts';
import { startBroker } from '../hub/broker.ts';
import { startHub } from '../hub/hub.ts';
import type { BrokerConfig } from '../hub/hub-config.ts';
import { brokersUnderTest } from '../hub/test-brokers.ts';
import { fmt, ratio } from './lib/stats.ts';
import { heading, note, printResult, printTable, quick, verdict } from './lib/report.ts';

const bench = 'end-to-end';
const goalPointsPerS = 200_000;
const site = 'bench';
const limits = {
  batchPoints: 1000,
  gateways: 2,
  /** Batches per gateway awaiting the end-to-end ack (the hub commits every flushIntervalMs or batchPointsMax). */
  windowBatches: 32,
  warmupS: quick ? 0.5 : 1,
  measureS: quick ? 2 : 5,
} as const;
const quiet = createLogger({ component: 'bench', clock: systemClock, write: () => undefined });
const nowS = (): number => Number(process.hrtime.bigint()) / 1e9;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** 100 tags scanned every 10 ms: float values. */
function scanRecords(count: number, offsetMs: number): BatchRecord[] {
  const random = seededRandom(offsetMs);
  return Array.from({ length: count }, (_, index) => ({
    kind: 'point',
    tag: `line1/machine${String((index % 100) % 10).padStart(2, '0')}/temperature-${String(index % 100).padStart(2, '0')}`,
    ts: 1_767_225_600_000 + offsetMs + Math.floor(index / 100) * 10,
    value: 20 + random.next() * 60,
    quality: 'good',
  }));
}

function newClient(port: number, clientId: string, inflightMax: number): MqttClient {
  return new MqttClient({ host: '127.0.0.1', port, clientId, inflightMax, packetBytesMax: wireBatchLimits.payloadBytesMax + 4096, clock: systemClock, random: seededRandom(7), logger: quiet });
}

async function connected(client: MqttClient): Promise<void> {
  const ready = new Promise<void>((resolve) => client.onEvent((event) => event.type === 'connected' && resolve()));
  client.start();
  await ready;
}

interface BenchGateway {
  ackedPoints(): number;
  close(): Promise<void>;
}

/** One simulated gateway: keeps windowBatches batches un-acked end to end; counts acked points. */
async function startGateway(port: number, gateway: string, mode: 'end-to-end' | 'publish-only'): Promise<BenchGateway> {
  const client = newClient(port, `millwright-${site}-${gateway}`, limits.windowBatches + 4);
  const records = scanRecords(limits.batchPoints, 0);
  let nextSeq = 1n;
  let ackedSeq = 0n;
  let stopped = false;
  const pump = (): void => {
    while (!stopped && nextSeq - 1n - ackedSeq < BigInt(limits.windowBatches * limits.batchPoints) && client.canPublish()) {
      const payload = encodeBatchV2({ site, gateway, historical: false, firstSeq: nextSeq, records });
      nextSeq += BigInt(limits.batchPoints);
      const lastSeq = nextSeq - 1n;
      client.publish(topics.data(site, gateway), payload).then(
        () => {
          if (mode === 'publish-only' && lastSeq > ackedSeq) ackedSeq = lastSeq; // the broker's PUBACK is all there is
          pump();
        },
        () => undefined,
      );
    }
  };
  client.onMessage((_topic, payload) => {
    const ack = JSON.parse(payload.toString('utf8')) as { ackedSeq: string };
    const seq = BigInt(ack.ackedSeq);
    if (seq > ackedSeq) ackedSeq = seq;
    pump();
  });
  await connected(client);
  if (mode === 'end-to-end') await client.subscribe(topics.ack(site, gateway), 1);
  pump();
  return {
    ackedPoints: () => Number(ackedSeq),
    async close() {
      stopped = true;
      await client.close();
    },
  };
}

/** Points/s counted by `counter` over the measuring window, after a warm-up. */
async function measure(counter: () => number): Promise<number> {
  await sleep(limits.warmupS * 1000);
  const before = counter();
  const started = nowS();
  await sleep(limits.measureS * 1000);
  return (counter() - before) / (nowS() - started);
}

async function endToEnd(broker: BrokerConfig | 'mosquitto'): Promise<{ pointsPerS: number; stored: number; duplicates: number }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'millwright-e2e-bench-'));
  const external = broker === 'mosquitto' ? await brokersUnderTest.find((kind) => kind.name === 'mosquitto')!.launch() : undefined;
  const brokerConfig: BrokerConfig = external === undefined ? (broker as BrokerConfig) : { mode: 'external', host: '127.0.0.1', port: external.port, protocolVersion: 4, clientId: `millwright-hub-${site}` };
  const hub = await startHub(
    { site, dataDir, broker: brokerConfig, http: { host: '127.0.0.1', port: 0 }, ingest: { batchPointsMax: 20_000, flushIntervalMs: 20, queuePointsMax: 400_000 } },
    { logger: quiet },
  );
  const gateways: BenchGateway[] = [];
  try {
    for (let index = 0; index < limits.gateways; index++) gateways.push(await startGateway(hub.brokerPort, `gw-${index + 1}`, 'end-to-end'));
    const pointsPerS = await measure(() => gateways.reduce((sum, gateway) => sum + gateway.ackedPoints(), 0));
    const { stored, duplicates } = hub.ingest.counters();
    return { pointsPerS, stored, duplicates };
  } finally {
    for (const gateway of gateways) await gateway.close();
    await hub.close();
    await external?.dispose();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** The broker alone: same publishers and payloads, a subscriber that only counts. */
async function brokerCeiling(broker: 'embedded' | 'mosquitto'): Promise<number> {
  let delivered = 0;
  const external = broker === 'mosquitto' ? await brokersUnderTest.find((kind) => kind.name === 'mosquitto')!.launch() : undefined;
  const embedded = external === undefined ? await startBroker({ host: '127.0.0.1', port: 0, onData: () => void delivered++, onState: () => undefined, logger: quiet }) : undefined;
  const port = external?.port ?? embedded!.port;
  let subscriber: MqttClient | undefined;
  if (external !== undefined) {
    subscriber = newClient(port, 'bench-subscriber', 64);
    subscriber.onMessage(() => void delivered++);
    await connected(subscriber);
    await subscriber.subscribe(topics.allData, 1);
  }
  const gateways: BenchGateway[] = [];
  try {
    for (let index = 0; index < limits.gateways; index++) gateways.push(await startGateway(port, `gw-${index + 1}`, 'publish-only'));
    return await measure(() => delivered * limits.batchPoints);
  } finally {
    for (const gateway of gateways) await gateway.close();
    await subscriber?.close();
    await embedded?.close();
    await external?.dispose();
  }
}

function payloadSizes(): void {
  heading('payload bytes per point (1000-point batch, 100 tags)');
  const records = scanRecords(1000, 0);
  const v2 = encodeBatchV2({ site, gateway: 'gw-1', historical: false, firstSeq: 1n, records }).length / records.length;
  const v1 = encodeBatch(site, 'gw-1', 1n, records).length / records.length;
  const topic = topics.data(site, 'gw-1');
  const framing = 1 + 2 + 2 + Buffer.byteLength(topic) + 2; // PUBLISH header, remaining length, topic, packet id
  let plain = 0;
  for (const [index, record] of records.entries()) {
    plain += Buffer.byteLength(JSON.stringify({ site, gateway: 'gw-1', seq: String(index + 1), tag: record.tag, ts: record.ts, value: record.value, quality: record.quality }));
  }
  plain /= records.length;
  printTable(
    ['encoding', 'payload B/point', 'with MQTT framing B/point', 'vs plain JSON'],
    [
      ['v2 binary batch', fmt(v2), fmt(v2 + framing / records.length), fmt(v2 / plain)],
      ['v1 JSON batch', fmt(v1), fmt(v1 + framing / records.length), fmt(v1 / plain)],
      ['plain JSON, one point per message', fmt(plain), fmt(plain + framing), '1'],
    ],
  );
  printResult({ bench, measure: 'payload bytes per point, v2 batch', value: v2, unit: 'B', reference: 'plain JSON one point per message', referenceValue: plain, ratio: ratio(v2, plain) });
}

async function main(): Promise<void> {
  note(`${limits.gateways} gateways, batches of ${limits.batchPoints} points, ${limits.windowBatches} batches un-acked per gateway; ${limits.measureS} s measured after ${limits.warmupS} s warm-up`);
  note(`load average before the run: ${loadavg().map((load) => load.toFixed(2)).join(' ')} (2 shared cores: other work shows up in these figures)`);
  const runs: { name: string; config: BrokerConfig | 'mosquitto'; ceiling: 'embedded' | 'mosquitto' }[] = [{ name: 'embedded (aedes)', config: { mode: 'embedded', host: '127.0.0.1', port: 0 }, ceiling: 'embedded' }];
  if (existsSync(mosquittoPath)) runs.push({ name: 'mosquitto 2 (external)', config: 'mosquitto', ceiling: 'mosquitto' });
  else note(`mosquitto skipped: ${mosquittoPath} is not installed`);
  const rows: string[][] = [];
  for (const run of runs) {
    const e2e = await endToEnd(run.config);
    const ceiling = await brokerCeiling(run.ceiling);
    rows.push([run.name, fmt(e2e.pointsPerS), fmt(ceiling), fmt(ratio(e2e.pointsPerS, ceiling)), fmt(ratio(e2e.pointsPerS, goalPointsPerS)), verdict(e2e.pointsPerS >= goalPointsPerS), `${e2e.stored} / ${e2e.duplicates}`]);
    printResult({ bench, measure: `points/s end to end, ${run.name}`, value: e2e.pointsPerS, unit: 'points/s', reference: 'broker ceiling (publish → subscriber, no hub)', referenceValue: ceiling, ratio: ratio(e2e.pointsPerS, ceiling), goal: `≥ ${goalPointsPerS} points/s`, met: e2e.pointsPerS >= goalPointsPerS });
  }
  heading('end to end: gateway → broker → hub → DuckDB commit → ack');
  printTable(['broker', 'points/s acked', 'broker ceiling points/s', 'ratio to ceiling', 'ratio to goal 200k', 'goal', 'stored / duplicates'], rows);
  payloadSizes();
}

await main();
