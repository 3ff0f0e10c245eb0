// The long-outage proof of store and forward (issue 4): gateways poll a simulated plant at full
// load, the hub (and its embedded broker) is killed and stays down until each gateway's log has
// gone over its disk budget several times, machines fault and are reset by the gateways' local
// alarm actions meanwhile, and then the hub returns. Afterwards the hub's DuckDB must hold every
// alarm once, every durable sequence once or inside a range the gateway declared lost, no more
// telemetry in a thinned segment than the policy keeps, and backlog marked historical beside live
// data that is not. One gateway runs each overflow policy, side by side on one hub.
//
// Figures: the schema's smallest log (1 MiB budget, 64 KiB segments: 16 segments) so that seconds
// of outage overflow it. Each gateway polls 2 machines of 70 tags (the demo machine's 11 and 59
// float64 sensors, one input read of 125 registers and one more) every 10 ms: up to 14,000
// points/s at about 16 bytes each in the log (8 of value, 4 of checksum), so 1 MiB fills in 5 s at
// the full rate, and in about 9 s at the 7,000 points/s two busy shared cores manage. The outage
// lasts until the policy has been running for 2 s on both gateways. The backlog drains at up to
// 30,000 points/s beside live data, so the drain takes seconds and live data provably arrives
// before it ends. Seeded (sensor readings, fault times and order): MILLWRIGHT_OUTAGE_SEED replays
// a run; the seed is in the test's name and every failure message.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { seededRandom } from '../common/random.ts';
import {
  freePort,
  gatewayStats,
  historicalSplit,
  readSegmentSpans,
  sleep,
  storedAlarms,
  storeFacts,
  thinnedResidue,
  writeWideProfile,
  type GatewayCase,
  type GatewayStats,
  type SegmentSpan,
} from './outage-site.ts';
import { plantConfigFrom } from './plant-config.ts';
import { startPlant, type RunningPlant } from './plant.ts';
import { startChild, type SupervisedChild } from './supervisor.ts';

const seed = Number(process.env['MILLWRIGHT_OUTAGE_SEED'] ?? 20261126);
const folder = mkdtempSync(join(tmpdir(), 'mw-outage-'));
const children = new Set<SupervisedChild>();
let plant: RunningPlant | undefined;

const site = 'outage-site';
const budgetBytes = 1_048_576;
const segmentBytesMax = 65_536;
const sensorTags = 59;
const machines = ['m1', 'm2'] as const;
const faultsPerMachine = 2;
/** How long the policy must have been running on every gateway before the hub returns. */
const policyRunningMs = 2000;
const backlogPointsPerSecond = 30_000;
const gatewayCases: readonly GatewayCase[] = [
  { id: 'thin-gw', line: 'line1', policy: 'thin-oldest', residuePerTagMinute: 1 },
  { id: 'drop-gw', line: 'line2', policy: 'drop-oldest-telemetry', residuePerTagMinute: 0 },
];

interface RunningGateway {
  readonly spec: GatewayCase;
  readonly apiPort: number;
  readonly logDir: string;
  readonly lines: string[];
  readonly child: SupervisedChild;
}

async function start(name: string, args: string[], readyEvent: string, lines?: string[]): Promise<SupervisedChild> {
  const child = await startChild({ name, args, readyEvent, log: (line) => lines?.push(line) });
  children.add(child);
  void child.exited.then(() => children.delete(child));
  return child;
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`seed ${seed}: timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('a long hub outage under full load', () => {
  afterAll(async () => {
    for (const child of children) child.process.kill('SIGKILL');
    await Promise.all([...children].map((child) => child.exited));
    await plant?.close();
    rmSync(folder, { recursive: true, force: true });
  });

  it(`keeps every alarm and every sequence not thinned, within the disk budget (seed ${seed})`, async () => {
    const random = seededRandom(seed);
    const phases: string[] = [];
    let phaseStartedMs = Date.now();
    const phase = (name: string): void => {
      phases.push(`${name} ${Date.now() - phaseStartedMs} ms`);
      phaseStartedMs = Date.now();
    };
    const failure = (message: string): string => `seed ${seed}: ${message}`;
    const profilePath = join(folder, 'wide-machine.yaml');
    const sensors = writeWideProfile(profilePath, sensorTags);
    plant = await startPlant(
      plantConfigFrom({
        seed,
        stepMs: 20,
        profile: profilePath,
        lines: gatewayCases.map((spec) => ({ id: spec.line, machines: machines.map((id) => ({ id, faultRatePerHour: 0, operatorResetAfterMs: null })) })),
      }),
    );
    // The simulator leaves extra registers alone: give each sensor a reading that needs all 8 bytes.
    for (const unit of plant.model.units) for (const sensor of sensors) unit.tags.write(sensor, 100 * random.next());
    const brokerPort = await freePort();
    const hubPath = join(folder, 'hub.yaml');
    writeFileSync(hubPath, stringify({ site, dataDir: 'hub', broker: { host: '127.0.0.1', port: brokerPort }, http: { host: '127.0.0.1', port: await freePort() }, ingest: { flushIntervalMs: 50 } }));
    let hub = await start('hub', ['hub', '--config', hubPath], 'hub-ready');
    const hubUrl = (): string => String(hub.ready['url']);

    const gateways: RunningGateway[] = await Promise.all(
      gatewayCases.map(async (spec) => {
        const apiPort = await freePort();
        const configPath = join(folder, `${spec.id}.yaml`);
        writeFileSync(
          configPath,
          stringify({
            gateway: { id: spec.id, site, area: spec.line },
            dataDir: spec.id,
            scan: { tickMs: 10, seed, spinUs: 100 },
            uplink: { host: '127.0.0.1', port: brokerPort, publishIntervalMs: 20, reconnectMinMs: 50, reconnectMaxMs: 300, backlogPointsPerSecond, healthIntervalMs: 3_600_000 },
            log: { budgetBytes, segmentBytesMax, policy: spec.policy },
            api: { port: apiPort },
            alarms: machines.map((machine) => ({ id: `${machine}-fault`, tag: `${machine}/state`, above: 1.5, severity: 'high', message: `${machine} in fault: reset by the gateway`, actions: [{ write: `${machine}/fault_reset`, value: true }] })),
            devices: plant!.machines
              .filter((machine) => machine.line === spec.line)
              .map((machine) => ({ id: machine.machine, driver: 'modbus-tcp', host: machine.host, port: machine.port, unitId: machine.unitId, profile: profilePath, pollIntervalMs: 10 })),
          }),
        );
        const lines: string[] = [];
        const child = await start(spec.id, ['gateway', '--config', configPath], 'gateway-ready', lines);
        return { spec, apiPort, logDir: join(folder, spec.id, 'log'), lines, child };
      }),
    );
    const stats = (gateway: RunningGateway): Promise<GatewayStats> => gatewayStats(gateway.apiPort);
    phase('start');

    // Data flows end to end before the outage.
    for (const gateway of gateways) await until(`${gateway.spec.id} acked by the hub`, 15_000, async () => (BigInt((await stats(gateway)).forwarder.ackedSeq) > 5000n ? true : undefined));

    phase('flowing');
    // The outage: the hub and its broker are gone.
    hub.process.kill('SIGKILL');
    await hub.exited;
    const outageStartedMs = Date.now();
    await sleep(200); // acks the hub wrote before it died are read by now
    const atKill = await Promise.all(gateways.map(stats));
    const ticksAtKill = atKill.map((entry) => entry.scan.ticks);

    // Faults during the outage, early enough that their alarm records sit in segments the policy
    // rewrites; each one must be cleared by the gateway's own write (no simulated operator).
    const injected = new Map<string, number>();
    const resetLatenciesMs: number[] = [];
    for (let round = 0; round < faultsPerMachine; round++) {
      const order = gateways.flatMap((gateway) => machines.map((machine) => ({ gateway, machine })));
      for (let index = order.length - 1; index > 0; index--) {
        const other = random.int(0, index);
        [order[index], order[other]] = [order[other]!, order[index]!];
      }
      for (const { gateway, machine } of order) {
        await sleep(random.int(30, 200));
        const simulated = plant.model.unit(gateway.spec.line, machine)!.machine;
        const faultsBefore = simulated.snapshot().faults;
        simulated.injectFault();
        const injectedAt = Date.now();
        injected.set(`${gateway.spec.line}/_alarms/${machine}-fault`, (injected.get(`${gateway.spec.line}/_alarms/${machine}-fault`) ?? 0) + 1);
        await until(`the gateway's reset of ${gateway.spec.line}/${machine}`, 3000, async () => (simulated.state === 'running' ? true : undefined));
        expect(simulated.snapshot().faults, failure('one fault per injection')).toBe(faultsBefore + 1);
        resetLatenciesMs.push(Date.now() - injectedAt);
      }
    }

    phase('faults');
    // Keep the hub away until the policy has been running for a while on every gateway; watch
    // the budget meanwhile.
    let maxUsedBytes = 0;
    let maxFolderBytes = 0;
    const policySeenMs = new Map<string, number>();
    await until('the overflow policy on every gateway', 40_000, async () => {
      for (const gateway of gateways) {
        const current = await stats(gateway);
        maxUsedBytes = Math.max(maxUsedBytes, current.log.usedBytes);
        maxFolderBytes = Math.max(maxFolderBytes, readSegmentSpans(gateway.logDir).bytes);
        if (current.log.thinnedPoints > 0 && !policySeenMs.has(gateway.spec.id)) policySeenMs.set(gateway.spec.id, Date.now());
      }
      const ready = gateways.every((gateway) => Date.now() - (policySeenMs.get(gateway.spec.id) ?? Infinity) > policyRunningMs);
      return ready ? true : undefined;
    });
    phase('policy');
    const beforeReturn = await Promise.all(gateways.map(stats));
    const outageMs = Date.now() - outageStartedMs;
    const segments = gateways.map((gateway) => readSegmentSpans(gateway.logDir));

    // During the outage: the policy ran, no point was refused, nothing left the log, the scan kept
    // its ticks, and the log stayed within its budget plus the one segment the design lets the
    // active segment's points run over while the policy rolls it.
    gateways.forEach((gateway, index) => {
      const during = beforeReturn[index]!;
      const what = (text: string): string => failure(`${gateway.spec.id}: ${text}: ${JSON.stringify(during)}`);
      expect(during.log.thinnedPoints, what('points removed by the policy')).toBeGreaterThan(0);
      expect(during.log.lostSeqs, what('declared lost seqs')).toBeGreaterThan(0);
      expect(during.log.refusedPoints, what('points refused')).toBe(0);
      expect(during.log.refusedAlarmsEvents, what('alarms refused')).toBe(0);
      expect(during.forwarder.ackedSeq, what('nothing acked while the hub is down')).toBe(atKill[index]!.forwarder.ackedSeq);
      expect(during.scan.ticks - ticksAtKill[index]!, what('ticks during the outage')).toBeGreaterThan((0.5 * outageMs) / 10);
      expect(segments[index]!.spans.some((span) => span.thinned), what('a thinned segment on disk')).toBe(true);
    });
    expect(maxUsedBytes, failure('log bytes at most budget + one segment')).toBeLessThanOrEqual(budgetBytes + segmentBytesMax);
    expect(maxFolderBytes, failure('log folder at most budget + one segment')).toBeLessThanOrEqual(budgetBytes + segmentBytesMax);

    // The hub returns: live data reaches it while the backlog is still draining.
    const seqAtReturn = beforeReturn.map((entry) => BigInt(entry.log.durableSeq));
    const returnedMs = Date.now();
    hub = await start('hub', ['hub', '--config', hubPath], 'hub-ready');
    phase('hub back');
    // From the first live batch on, what a gateway commits is live; the hub shows the present
    // while the past is still filling in.
    const liveFrom = gateways.map(async (gateway) => {
      const sentBefore = (await stats(gateway)).forwarder.liveSent;
      return until(`live data from ${gateway.spec.id}`, 15_000, async () => {
        const current = await stats(gateway);
        return current.forwarder.liveSent > sentBefore ? BigInt(current.log.durableSeq) + 1n : undefined;
      });
    });
    const liveArrived = until('a live point at the hub', 15_000, async () => {
      const tag = `${gatewayCases[0]!.line}/m1/temperature`;
      const response = await fetch(`${hubUrl()}api/points?tag=${encodeURIComponent(tag)}&fromMs=${returnedMs}&limit=1000`);
      const body = (await response.json()) as { points?: { historical: boolean }[] };
      return body.points?.some((point) => !point.historical) === true ? BigInt((await stats(gateways[0]!)).forwarder.backlogRecords) : undefined;
    });
    const liveFromSeq = await Promise.all(liveFrom);
    const backlogWhenLiveArrived = await liveArrived;
    expect(backlogWhenLiveArrived, failure('live data arrives before the backlog has drained')).toBeGreaterThan(0n);
    for (const [index, gateway] of gateways.entries()) {
      await until(`the backlog of ${gateway.spec.id}`, 40_000, async () => {
        const current = await stats(gateway);
        return current.forwarder.backlogRecords === '0' && BigInt(current.forwarder.ackedSeq) >= seqAtReturn[index]! ? true : undefined;
      });
    }
    const drainedMs = Date.now() - returnedMs;
    phase('drain');

    // Quiesce: without the plant no new samples come once every device tag has turned bad (the
    // last points a gateway makes: alarms hold, health points are off); then wait for the acks.
    await plant.close();
    plant = undefined;
    const deviceTags = machines.length * (11 + sensorTags);
    for (const gateway of gateways) {
      await until(`every tag of ${gateway.spec.id} bad at the hub`, 20_000, async () => {
        const body = (await (await fetch(`${hubUrl()}api/machines`)).json()) as { machines: { line: string; machine: string; tags: { quality: string }[] }[] };
        const bad = body.machines.filter((view) => view.line === gateway.spec.line && (machines as readonly string[]).includes(view.machine)).flatMap((view) => view.tags.filter((tag) => tag.quality === 'bad'));
        return bad.length === deviceTags ? true : undefined;
      });
    }
    const durable: bigint[] = [];
    const thinnedPoints: number[] = [];
    for (const [index, gateway] of gateways.entries()) {
      let last = '';
      let stableSince = Date.now();
      durable.push(await until(`${gateway.spec.id} fully acked`, 20_000, async () => {
        const current = await stats(gateway);
        if (current.log.durableSeq !== last) [last, stableSince] = [current.log.durableSeq, Date.now()];
        thinnedPoints[index] = current.log.thinnedPoints;
        return current.forwarder.ackedSeq === last && Date.now() - stableSince > 500 ? BigInt(last) : undefined;
      }));
    }
    for (const gateway of gateways) await gateway.child.stop();
    await hub.stop();
    phase('quiesce and stop');

    const instance = await DuckDBInstance.create(join(folder, 'hub', 'hub.duckdb'), { access_mode: 'READ_ONLY' });
    const connection = await instance.connect();
    try {
      for (const [index, gateway] of gateways.entries()) {
        const id = gateway.spec.id;
        const facts = await storeFacts(connection, id, durable[index]!);
        const message = failure(`${id} (${gateway.spec.policy}): durable ${durable[index]}, ${JSON.stringify(facts, (_key, value: unknown) => (typeof value === 'bigint' ? String(value) : value))}`);
        // Every durable sequence is stored once or lost once, never both.
        expect(facts.stored, message).toBe(facts.distinct);
        expect(facts.lostOverlappingStored, message).toBe(0n);
        expect(facts.lostOverlappingLost, message).toBe(0n);
        expect(facts.lostOutside, message).toBe(0n);
        expect(facts.lowest, message).toBe(1n);
        expect(facts.highest, message).toBe(durable[index]);
        expect(facts.distinct + facts.lost, message).toBe(durable[index]);
        // Nothing is lost but what the policy removed (some of which the hub had stored before).
        expect(facts.lost, message).toBeGreaterThan(0n);
        expect(facts.lost, `${message}, thinned ${thinnedPoints[index]}`).toBeLessThanOrEqual(BigInt(thinnedPoints[index]!));

        // Every alarm the gateway logged arrived once, in order: one raise and one clear per fault.
        const expectedAlarms = gateway.lines.filter((line) => / alarm \S+ (raised|cleared)/.test(line) || /durable log (degraded|recovered|budget-exceeded|budget-ok)/.test(line)).length;
        const alarms = await storedAlarms(connection, id);
        expect(alarms.length, failure(`${id}: alarm records stored vs logged`)).toBe(expectedAlarms);
        for (const machine of machines) {
          const tag = `${gateway.spec.line}/_alarms/${machine}-fault`;
          const transitions = alarms.filter((alarm) => alarm.tag === tag).map((alarm) => alarm.active);
          const count = injected.get(tag) ?? 0;
          expect(transitions, failure(`${tag} transitions`)).toEqual(Array.from({ length: 2 * count }, (_, at) => at % 2 === 0));
        }

        // What the policy left of the telemetry in the segments it rewrote during the outage; and
        // alarms were among what it kept.
        const thinned: SegmentSpan[] = segments[index]!.spans.filter((span) => span.thinned);
        const residue = await thinnedResidue(connection, id, thinned);
        const residueMessage = failure(`${id}: ${thinned.length} thinned segments, residue ${JSON.stringify(residue, (_key, value: unknown) => (typeof value === 'bigint' ? String(value) : value))}`);
        expect(residue.worst, residueMessage).toBeLessThanOrEqual(BigInt(gateway.spec.residuePerTagMinute));
        expect(residue.alarms, residueMessage).toBeGreaterThan(0n);

        // Backlog is historical; data committed after the gateway reconnected is live.
        const outage = await historicalSplit(connection, id, BigInt(atKill[index]!.log.durableSeq) + 1n, seqAtReturn[index]!);
        const after = await historicalSplit(connection, id, liveFromSeq[index]!, durable[index]!);
        const splitMessage = failure(`${id}: outage ${outage.historical}/${outage.live} historical/live, after return ${after.historical}/${after.live}`);
        expect(outage.live, splitMessage).toBe(0n);
        expect(outage.historical, splitMessage).toBeGreaterThan(0n);
        expect(after.historical, splitMessage).toBe(0n);
        expect(after.live, splitMessage).toBeGreaterThan(0n);
        console.info(
          `${id} (${gateway.spec.policy}): outage ${outageMs} ms, drain ${drainedMs} ms, durable ${durable[index]}, lost ${facts.lost}, thinned points ${beforeReturn[index]!.log.thinnedPoints} by the return and ${thinnedPoints[index]} in all, ` +
            `${thinned.length}/${segments[index]!.spans.length} segments thinned, residue ${residue.points} points (worst ${residue.worst} per segment, tag and minute; ${residue.worstAcrossSegments} per tag and minute), alarms ${alarms.length} (${residue.alarms} in thinned segments)`,
        );
      }
      console.info(
        `seed ${seed}: max log ${maxUsedBytes} bytes (folder ${maxFolderBytes}) of ${budgetBytes}; fault resets ${Math.min(...resetLatenciesMs)}..${Math.max(...resetLatenciesMs)} ms; backlog at first live point ${backlogWhenLiveArrived}; ${phases.join(', ')}`,
      );
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  }, 120_000);
});
