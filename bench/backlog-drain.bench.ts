// How fast a gateway drains a 10-million-point backlog while live traffic continues. A real
// DurableLog (FsStorage in a temp dir) is filled with 10M points of 2,000 tags, timestamps spread
// as if recorded during an 8-minute outage, by group commit (the fill time is printed too). Then,
// per broker (the hub's embedded aedes, and mosquitto when installed), a hub (DuckDB in the temp
// dir, hub-config ingest defaults) and a gateway's Forwarder + MqttClient wired as edge/gateway.ts
// wires them (uplink defaults, backlog rate at the schema's maximum, as a site sets it for a fast
// drain) drain that log while the same forwarder carries live traffic: 2,000 tags every 100 ms
// (200 per 10 ms scan tick, 20,000 points/s). A live point counts as delivered once the hub has
// committed it to DuckDB (its acks cannot move past the backlog's seqs until the drain is over),
// seen by sampling the hub's ingest counters every 2 ms; live points are stamped with their
// scheduled tick time, so a busy event loop on the gateway side counts against them.
// References, same run, same hub: the end-to-end acked throughput of pre-encoded batches without
// a backlog (bench/end-to-end.bench.ts's gateway), the same live traffic from a gateway without a
// backlog (its p99 is the latency reference), and the log's own fill rate. At the end the DuckDB
// file must hold exactly the backlog (historical) plus every live point, once each, or the bench fails.
// usage: node --import tsx bench/backlog-drain.bench.ts [--quick]
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { systemClock } from '../common/clock.ts';
import { createLogger } from '../common/log.ts';
import { MqttClient } from '../common/mqtt/mqtt-client.ts';
import { mosquittoPath } from '../common/mqtt/test-peers.ts';
import type { Point, PointValue } from '../common/point.ts';
import { seededRandom, type RandomSource } from '../common/random.ts';
import { topics } from '../common/wire.ts';
import { encodeBatchV2, type BatchRecord } from '../common/wire-batch.ts';
import { Forwarder, forwarderDefaults } from '../edge/forwarder.ts';
import { DurableLog } from '../edge/log/durable-log.ts';
import { FsStorage } from '../edge/log/fs-storage.ts';
import type { LogInput } from '../edge/log/log-types.ts';
import { startHub, type RunningHub } from '../hub/hub.ts';
import { databaseFileName, type BrokerConfig } from '../hub/hub-config.ts';
import { brokersUnderTest, type ExternalTestBroker } from '../hub/test-brokers.ts';
import { heading, note, printResult, printTable, quick } from './lib/report.ts';
import { fmt, ratio } from './lib/stats.ts';

const bench = 'backlog-drain';
const site = 'bench';
const backlogPoints = Number(process.argv.find((arg) => arg.startsWith('--backlog-points='))?.split('=')[1] ?? (quick ? 200_000 : 10_000_000));
const tagCount = 2000;
const tickMs = 10;
const tagsPerTick = 200;
const livePointsPerS = (tagsPerTick * 1000) / tickMs;
/** Gateway uplink defaults (edge/gateway-config.ts), except the backlog rate. */
const uplink = { publishIntervalMs: 100, batchPointsMax: 1000, inflightMax: 32, ackTimeoutMs: 10_000 } as const;
/** The schema's maximum for uplink.backlogPointsPerSecond: as fast as the forwarder goes. */
const backlogPointsPerSecondFast = 10_000_000;
/** Hub ingest defaults (hub/hub-config.ts). */
const hubIngest = { batchPointsMax: 10_000, flushIntervalMs: 200, queuePointsMax: 200_000 } as const;
const logLimits = { budgetBytes: 2 * 1024 ** 3, pendingRecordsMax: 20_000 } as const;
const fillBatchPoints = 1000;
const phases = { referenceS: quick ? 1.5 : 3, baselineS: quick ? 3 : 5, afterDrainS: quick ? 1 : 3, drainTimeoutS: quick ? 40 : 200, settleTimeoutS: 30 } as const;
const samplePeriodMs = 2;
const outageStartMs = 1_767_225_600_000;
const quiet = createLogger({ component: 'bench', clock: systemClock, write: () => undefined });
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** 2,000 tags: 60% analog (float noise), 20% counters, 20% states; 200 of them per 10 ms tick. */
class PointSource {
  readonly #tags = Array.from({ length: tagCount }, (_, index) => `line${index % 10}/machine${Math.floor(index / 10) % 20}/signal${index}`);
  readonly #counters = new Float64Array(tagCount);
  readonly #random: RandomSource;
  #tag = 0;

  constructor(seed: number) {
    this.#random = seededRandom(seed);
  }

  /** The next tag and its value, round robin. */
  next(): { tag: string; value: PointValue } {
    const tag = this.#tag;
    this.#tag = (tag + 1) % tagCount;
    const kind = tag % 5;
    const value = kind < 3 ? Math.round((20 + this.#random.gaussian() * 5) * 100) / 100 : kind === 3 ? (this.#counters[tag]! += this.#random.int(0, 3)) : this.#random.next() < 0.5;
    return { tag: this.#tags[tag]!, value };
  }
}

function openLog(directory: string, gatewayId: string): Promise<DurableLog> {
  return FsStorage.open(directory).then((storage) => DurableLog.open({ storage, gatewayId, clock: systemClock, logger: quiet, limits: logLimits }));
}

/** Appends the outage's points in batches of 1,000, group commit (never waiting for a sync unless the pending batch is full). */
async function fillLog(directory: string): Promise<{ seconds: number; commits: number; usedBytes: number }> {
  const log = await openLog(directory, 'gw-1');
  const source = new PointSource(1);
  const batch: { -readonly [K in keyof LogInput]: LogInput[K] }[] = Array.from({ length: fillBatchPoints }, () => ({ kind: 'point', ts: 0, tag: '', value: 0, quality: 'good' }));
  let inFlight: Promise<unknown> | undefined;
  const started = performance.now();
  for (let appended = 0; appended < backlogPoints; appended += fillBatchPoints) {
    while (log.pendingRecords + fillBatchPoints > logLimits.pendingRecordsMax) await (inFlight ?? log.commit());
    for (const [index, input] of batch.entries()) {
      const point = source.next();
      input.ts = outageStartMs + Math.floor((appended + index) / tagsPerTick) * tickMs;
      input.tag = point.tag;
      input.value = point.value;
    }
    const result = log.appendMany(batch);
    if (result.refusals.length > 0) throw new Error(`fill: the log refused ${result.refusals.length} points: ${result.refusals[0]!.refusal.reason}`);
    inFlight ??= log.commit().then(() => (inFlight = undefined));
    await turn();
  }
  await log.commit();
  const seconds = (performance.now() - started) / 1000;
  const stats = log.stats();
  await log.close();
  if (stats.durableSeq !== String(backlogPoints) || stats.lostSeqs !== 0) throw new Error(`fill: durable seq ${stats.durableSeq}, ${stats.lostSeqs} lost; expected ${backlogPoints}, 0`);
  return { seconds, commits: stats.commits, usedBytes: stats.usedBytes };
}

interface BenchGateway {
  readonly forwarder: Forwarder;
  readonly log: DurableLog;
  close(): Promise<void>;
}

/** A gateway's uplink as edge/gateway.ts wires it: log → forwarder → MqttClient, acks back, flush every publishIntervalMs. */
async function startUplink(port: number, id: string, logDirectory: string, backlogPointsPerSecond: number): Promise<BenchGateway> {
  const client = new MqttClient({ host: '127.0.0.1', port, clientId: `millwright-${site}-${id}`, inflightMax: uplink.inflightMax, clock: systemClock, random: seededRandom(2), logger: quiet });
  const log = await openLog(logDirectory, id);
  const forwarder = new Forwarder({
    site,
    gateway: id,
    log,
    transport: { publish: (topic, payload, options) => client.publish(topic, payload, options), canPublish: () => client.canPublish(), isConnected: () => client.state === 'connected' },
    clock: systemClock,
    logger: quiet,
    limits: { batchRecordsMax: uplink.batchPointsMax, backlogRecordsPerSecond: backlogPointsPerSecond, ackTimeoutMs: uplink.ackTimeoutMs },
  });
  client.onEvent((event) => event.type === 'connected' && forwarder.onConnected());
  client.onMessage((topic, payload) => {
    if (topic !== topics.ack(site, id)) return;
    const ack = JSON.parse(payload.toString('utf8')) as { ackedSeq: string };
    void forwarder.onAck(BigInt(ack.ackedSeq));
  });
  const connected = new Promise<void>((resolve) => client.onEvent((event) => event.type === 'connected' && resolve()));
  client.start();
  await connected;
  await client.subscribe(topics.ack(site, id), 1);
  let flushError: unknown;
  const flushing = forwarder.startFlushing(uplink.publishIntervalMs, (error: unknown) => void (flushError ??= error));
  return {
    forwarder,
    log,
    async close() {
      await flushing.stop();
      await client.close();
      await log.close();
      if (flushError !== undefined) throw flushError;
    },
  };
}

/**
 * Live traffic: 200 points per 10 ms tick, every tick due by now generated (stamped with its
 * scheduled time) and handed to forwarder.accept as the scan's apply phase does. sample() turns
 * the hub's count of committed live points into per-point latencies (weighted by point count).
 */
class LiveTraffic {
  readonly #source = new PointSource(2);
  readonly #ticks: { endCount: number; scheduledMs: number }[] = [];
  readonly #latencies: number[] = [];
  readonly #weights: number[] = [];
  #next = 0;
  #timer: NodeJS.Timeout | undefined;
  #dueMs = 0;
  #consumed = 0;
  accepted = 0;
  refused = 0;

  start(forwarder: Forwarder): void {
    this.#dueMs = performance.now();
    this.#timer = setInterval(() => {
      for (const now = performance.now(); this.#dueMs <= now; this.#dueMs += tickMs) {
        const ts = Math.round(performance.timeOrigin + this.#dueMs);
        const points: Point[] = [];
        for (let index = 0; index < tagsPerTick; index++) points.push({ ...this.#source.next(), ts, quality: 'good' });
        const refused = forwarder.accept(points); // pending-full while a commit stalls: counted, as the gateway counts them
        this.refused += refused;
        this.accepted += points.length - refused;
        this.#ticks.push({ endCount: this.accepted, scheduledMs: this.#dueMs });
      }
    }, tickMs);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** `stored` live points of this traffic are committed at the hub, seen at `nowMs`. */
  sample(stored: number, nowMs: number): void {
    while (this.#consumed < stored && this.#next < this.#ticks.length) {
      const tick = this.#ticks[this.#next]!;
      const taken = Math.min(tick.endCount, stored) - this.#consumed;
      this.#latencies.push(nowMs - tick.scheduledMs);
      this.#weights.push(taken);
      this.#consumed += taken;
      if (this.#consumed === tick.endCount) this.#next++;
    }
    if (this.#next > 4096) {
      this.#ticks.splice(0, this.#next);
      this.#next = 0;
    }
  }

  /** Latency percentiles (ms) of the points sampled since the last call, and their count. */
  takeSummary(): { points: number; p50: number; p99: number; max: number } {
    const order = this.#latencies.map((_, index) => index).sort((a, b) => this.#latencies[a]! - this.#latencies[b]!);
    const total = this.#weights.reduce((sum, weight) => sum + weight, 0);
    const at = (fraction: number): number => {
      let seen = 0;
      for (const index of order) if ((seen += this.#weights[index]!) >= total * fraction) return this.#latencies[index]!;
      return Number.NaN;
    };
    const summary = { points: total, p50: at(0.5), p99: at(0.99), max: at(1) };
    this.#latencies.length = 0;
    this.#weights.length = 0;
    return summary;
  }
}

/** Live (not historical) points the hub has committed, from every gateway. */
const liveStored = (hub: RunningHub): number => {
  const counters = hub.ingest.counters();
  return counters.stored - counters.storedHistorical;
};

async function waitFor(what: string, timeoutS: number, done: () => boolean): Promise<void> {
  const until = performance.now() + timeoutS * 1000;
  while (!done()) {
    if (performance.now() > until) throw new Error(`${what}: not done within ${timeoutS} s`);
    await sleep(20);
  }
}

/** The pipe without a backlog: end-to-end.bench.ts's gateway, 32 pre-encoded 1,000-point batches un-acked. */
async function endToEndReference(hub: RunningHub): Promise<number> {
  const id = 'gw-e2e-reference';
  const client = new MqttClient({ host: '127.0.0.1', port: hub.brokerPort, clientId: `millwright-${site}-${id}`, inflightMax: uplink.inflightMax + 4, clock: systemClock, random: seededRandom(3), logger: quiet });
  const source = new PointSource(3);
  const records: BatchRecord[] = Array.from({ length: uplink.batchPointsMax }, (_, index) => ({ kind: 'point', ...source.next(), ts: outageStartMs + Math.floor(index / tagsPerTick) * tickMs, quality: 'good' }));
  let nextSeq = 1n;
  let ackedSeq = 0n;
  let stopped = false;
  const pump = (): void => {
    while (!stopped && nextSeq - 1n - ackedSeq < BigInt(uplink.inflightMax * uplink.batchPointsMax) && client.canPublish()) {
      const payload = encodeBatchV2({ site, gateway: id, historical: false, firstSeq: nextSeq, records });
      nextSeq += BigInt(records.length);
      client.publish(topics.data(site, id), payload).then(pump, () => undefined);
    }
  };
  client.onMessage((_topic, payload) => {
    const seq = BigInt((JSON.parse(payload.toString('utf8')) as { ackedSeq: string }).ackedSeq);
    if (seq > ackedSeq) ackedSeq = seq;
    pump();
  });
  const connected = new Promise<void>((resolve) => client.onEvent((event) => event.type === 'connected' && resolve()));
  client.start();
  await connected;
  await client.subscribe(topics.ack(site, id), 1);
  try {
    pump();
    await sleep(500);
    const before = ackedSeq;
    const started = performance.now();
    await sleep(phases.referenceS * 1000);
    return Number(ackedSeq - before) / ((performance.now() - started) / 1000);
  } finally {
    stopped = true;
    await waitFor('end-to-end reference: last acks', phases.settleTimeoutS, () => ackedSeq === nextSeq - 1n);
    await client.close();
  }
}

interface BrokerRun {
  readonly broker: string;
  readonly e2ePointsPerS: number;
  readonly baseline: ReturnType<LiveTraffic['takeSummary']>;
  readonly reopenMs: number;
  readonly drainS: number;
  readonly during: ReturnType<LiveTraffic['takeSummary']>;
  readonly after: ReturnType<LiveTraffic['takeSummary']>;
  readonly livePoints: number;
  readonly liveRefused: number;
  readonly hubDuplicates: number;
  readonly queueFullRefusals: number;
  readonly resends: number;
}

/** Runs `traffic` through `forwarder` while `run` lasts, sampling the hub every 2 ms (other gateways are idle by then). */
async function withLive(hub: RunningHub, traffic: LiveTraffic, forwarder: Forwarder, run: (offset: number) => Promise<void>): Promise<void> {
  const offset = liveStored(hub);
  const sampler = setInterval(() => traffic.sample(liveStored(hub) - offset, performance.now()), samplePeriodMs);
  traffic.start(forwarder);
  try {
    await run(offset);
  } finally {
    traffic.stop();
    clearInterval(sampler);
  }
}

async function runBroker(name: string, brokerConfig: BrokerConfig, directory: string, backlogDirectory: string): Promise<BrokerRun> {
  const dataDir = join(directory, `hub-${name}`);
  const hub = await startHub({ site, dataDir, broker: brokerConfig, http: { host: '127.0.0.1', port: 0 }, ingest: hubIngest }, { logger: quiet });
  let result: Omit<BrokerRun, 'hubDuplicates' | 'queueFullRefusals'>;
  try {
    const e2ePointsPerS = await endToEndReference(hub);

    // The same live traffic from a gateway with nothing to drain: the latency reference.
    const reference = await startUplink(hub.brokerPort, 'gw-live-reference', join(directory, `log-reference-${name}`), backlogPointsPerSecondFast);
    const referenceTraffic = new LiveTraffic();
    await withLive(hub, referenceTraffic, reference.forwarder, async (offset) => {
      await sleep(phases.baselineS * 1000);
      referenceTraffic.stop();
      await waitFor('reference live traffic: stored', phases.settleTimeoutS, () => liveStored(hub) - offset >= referenceTraffic.accepted);
    });
    const baseline = referenceTraffic.takeSummary();
    await reference.close();

    const reopenStarted = performance.now();
    const gateway = await startUplink(hub.brokerPort, 'gw-1', backlogDirectory, backlogPointsPerSecondFast);
    const reopenMs = performance.now() - reopenStarted; // includes the MQTT connect, which is ~1 ms here
    const traffic = new LiveTraffic();
    let drainS = Number.NaN;
    let during = baseline;
    let after = baseline;
    const historicalOffset = hub.ingest.counters().storedHistorical;
    await withLive(hub, traffic, gateway.forwarder, async (offset) => {
      const started = performance.now();
      let reported = started;
      await waitFor(`drain of ${backlogPoints} points`, phases.drainTimeoutS, () => {
        if (performance.now() - reported > 10_000) {
          reported = performance.now();
          const hubCounters = hub.ingest.counters();
          const gatewayStats = gateway.forwarder.stats();
          note(
            `  ${name}: ${fmt((hubCounters.storedHistorical - historicalOffset) / 1e6)} M of ${fmt(backlogPoints / 1e6)} M backlog points stored after ${fmt((reported - started) / 1000)} s` +
              ` (gateway: acked ${gatewayStats.ackedSeq}, backlog sent ${gatewayStats.backlogSent}, resends ${gatewayStats.resends}, live queued ${gatewayStats.liveQueued};` +
              ` hub: queued ${hubCounters.queuedPoints} (historical ${hubCounters.queuedHistoricalPoints}), queue-full ${hubCounters.queueFullRefusals}, gaps ${hubCounters.gapsDetected}, duplicates ${hubCounters.duplicates})`,
          );
        }
        return hub.ingest.counters().storedHistorical - historicalOffset >= backlogPoints;
      });
      drainS = (performance.now() - started) / 1000;
      during = traffic.takeSummary();
      await sleep(phases.afterDrainS * 1000);
      traffic.stop();
      await waitFor('live traffic after the drain: stored', phases.settleTimeoutS, () => liveStored(hub) - offset >= traffic.accepted);
      after = traffic.takeSummary();
    });
    await waitFor('gw-1: every record acked', phases.settleTimeoutS, () => gateway.forwarder.stats().ackedSeq === gateway.forwarder.stats().durableSeq);
    const stats = gateway.forwarder.stats();
    await gateway.close();
    if (stats.liveSent !== traffic.accepted) throw new Error(`${name}: ${traffic.accepted} live points accepted but ${stats.liveSent} sent live (the rest went historical): latencies would be wrong`);
    result = { broker: name, e2ePointsPerS, baseline, reopenMs, drainS, during, after, livePoints: traffic.accepted, liveRefused: traffic.refused, resends: stats.resends };
  } finally {
    await hub.close();
  }
  const counters = hub.ingest.counters();
  await checkStored(join(dataDir, databaseFileName), result.livePoints);
  rmSync(dataDir, { recursive: true, force: true });
  return { ...result, hubDuplicates: counters.duplicates, queueFullRefusals: counters.queueFullRefusals };
}

/** The hub's DuckDB file must hold seqs 1..backlog historical and every live point after them, once each. */
async function checkStored(file: string, livePoints: number): Promise<void> {
  const instance = await DuckDBInstance.create(file, { access_mode: 'READ_ONLY' });
  try {
    const connection = await instance.connect();
    const sql = `SELECT count(*) AS total, count(*) FILTER (WHERE historical) AS historical, count(*) FILTER (WHERE historical AND seq <= ${backlogPoints}) AS historical_in_range,
      count(DISTINCT seq) AS seqs, min(seq) AS first, max(seq) AS last FROM points WHERE gateway = 'gw-1'`;
    const row = (await connection.runAndReadAll(sql)).getRowObjectsJS()[0]!;
    connection.closeSync();
    const got = Object.fromEntries(Object.entries(row).map(([key, value]) => [key, Number(value)]));
    const total = backlogPoints + livePoints;
    const want = { total, historical: backlogPoints, historical_in_range: backlogPoints, seqs: total, first: 1, last: total };
    const wrong = Object.entries(want).filter(([key, value]) => got[key] !== value);
    if (wrong.length > 0) throw new Error(`DuckDB does not hold exactly the backlog and the live points: ${wrong.map(([key, value]) => `${key} ${got[key]} (expected ${value})`).join(', ')}`);
    note(`  DuckDB check: ${fmt(total)} rows for gw-1 = ${fmt(backlogPoints)} historical (seqs 1..${fmt(backlogPoints)}) + ${fmt(livePoints)} live, each seq once: OK`);
  } finally {
    instance.closeSync();
  }
}

async function main(): Promise<void> {
  const directory = mkdtempSync(join(tmpdir(), 'millwright-drain-bench-'));
  // Also when the bench dies of an uncaught error, where finally blocks never run.
  const removeOnExit = (): void => rmSync(directory, { recursive: true, force: true });
  process.once('exit', removeOnExit);
  // bench/run.mjs stops a bench that outlives its limit with SIGTERM, which skips 'exit' handlers.
  const stopOnSignal = (): void => process.exit(143);
  process.once('SIGTERM', stopOnSignal);
  let external: ExternalTestBroker | undefined;
  try {
    note(`backlog ${fmt(backlogPoints)} points of ${tagCount} tags (${fmt(backlogPoints / livePointsPerS / 60)} min of outage at the live rate); live ${tagsPerTick} tags per ${tickMs} ms = ${fmt(livePointsPerS)} points/s`);
    note(`forwarder: batches of ${uplink.batchPointsMax}, ${uplink.inflightMax} in flight, flush every ${uplink.publishIntervalMs} ms, backlog rate limit ${fmt(backlogPointsPerSecondFast)} points/s (the schema's maximum; default ${fmt(forwarderDefaults.backlogRecordsPerSecond)}); hub ingest defaults ${JSON.stringify(hubIngest)}`);
    note(`load average before the run: ${loadavg().map((load) => load.toFixed(2)).join(' ')} (2 shared cores: other work shows up in these figures)`);
    const filled = join(directory, 'backlog-filled');
    const fill = await fillLog(filled);
    const fillRate = backlogPoints / fill.seconds;
    note(`fill: ${fmt(backlogPoints)} points in ${fmt(fill.seconds)} s = ${fmt(fillRate)} durable points/s, ${fill.commits} group commits, ${fmt(fill.usedBytes / 1e6)} MB (${fmt(fill.usedBytes / backlogPoints)} bytes/point)`);

    const runs: { name: string; config: () => Promise<BrokerConfig> }[] = [{ name: 'aedes', config: () => Promise.resolve({ mode: 'embedded', host: '127.0.0.1', port: 0 }) }];
    if (existsSync(mosquittoPath)) {
      runs.push({
        name: 'mosquitto',
        config: async () => {
          external = await brokersUnderTest.find((kind) => kind.name === 'mosquitto')!.launch();
          return { mode: 'external', host: '127.0.0.1', port: external.port, protocolVersion: 4, clientId: `millwright-hub-${site}` };
        },
      });
    } else {
      note(`mosquitto skipped: ${mosquittoPath} is not installed`);
    }
    const results: BrokerRun[] = [];
    for (const run of runs) {
      const backlogDirectory = join(directory, `backlog-${run.name}`);
      cpSync(filled, backlogDirectory, { recursive: true });
      results.push(await runBroker(run.name, await run.config(), directory, backlogDirectory));
      await external?.dispose();
      external = undefined;
      rmSync(backlogDirectory, { recursive: true, force: true });
    }
    report(results, fill.seconds, fillRate);
  } finally {
    await external?.dispose();
    rmSync(directory, { recursive: true, force: true });
    process.off('exit', removeOnExit);
    process.off('SIGTERM', stopOnSignal);
  }
}

function report(results: readonly BrokerRun[], fillSeconds: number, fillRate: number): void {
  heading(`backlog drain: ${fmt(backlogPoints)} points while ${fmt(livePointsPerS)} live points/s continue`);
  printTable(
    ['broker', 'drain s', 'backlog points/s', 'e2e points/s (no backlog)', 'drain / e2e', 'drain / log fill', 'live p50 / p99 / max ms during', 'without backlog', 'p99 during / without', 'after drain p99', 'log reopen ms', 'live refused', 'resends / dup / queue-full'],
    results.map((run) => {
      const drainRate = backlogPoints / run.drainS;
      return [
        run.broker,
        fmt(run.drainS),
        fmt(drainRate),
        fmt(run.e2ePointsPerS),
        fmt(ratio(drainRate, run.e2ePointsPerS)),
        fmt(ratio(drainRate, fillRate)),
        `${fmt(run.during.p50)} / ${fmt(run.during.p99)} / ${fmt(run.during.max)}`,
        `${fmt(run.baseline.p50)} / ${fmt(run.baseline.p99)} / ${fmt(run.baseline.max)}`,
        fmt(ratio(run.during.p99, run.baseline.p99)),
        fmt(run.after.p99),
        fmt(run.reopenMs),
        String(run.liveRefused),
        `${run.resends} / ${run.hubDuplicates} / ${run.queueFullRefusals}`,
      ];
    }),
  );
  note(`log fill: ${fmt(backlogPoints)} points in ${fmt(fillSeconds)} s`);
  printResult({ bench, measure: `log fill, ${fmt(backlogPoints)} points, group commit`, value: fillRate, unit: 'points/s', reference: 'durable-log goal points/s', referenceValue: 500_000, ratio: ratio(fillRate, 500_000) });
  for (const run of results) {
    const drainRate = backlogPoints / run.drainS;
    printResult({ bench, measure: `drain ${fmt(backlogPoints)} points beside live, ${run.broker}`, value: drainRate, unit: 'points/s', reference: 'end-to-end acked points/s, no backlog', referenceValue: run.e2ePointsPerS, ratio: ratio(drainRate, run.e2ePointsPerS) });
    printResult({ bench, measure: `drain time, ${run.broker}`, value: run.drainS, unit: 's', reference: 'log fill s', referenceValue: fillSeconds, ratio: ratio(run.drainS, fillSeconds) });
    printResult({ bench, measure: `live p99 during the drain, ${run.broker}`, value: run.during.p99, unit: 'ms', reference: 'live p99 without backlog', referenceValue: run.baseline.p99, ratio: ratio(run.during.p99, run.baseline.p99) });
  }
}

await main();
