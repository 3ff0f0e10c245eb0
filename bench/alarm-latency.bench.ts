// Local action latency: how long from a device's input changing to the gateway's alarm action
// landing in the device. A simulated press (hil ModbusTcpServer + data store, demo-machine
// profile) runs in this process; the gateway path is the real one: ModbusTcpDriver polled by a
// DevicePoller into the ScanHost's shared tag table, a built-in alarm (temperature above 80) whose
// action writes run_command = false, and that write sent back by the driver. At random moments the
// bench raises the temperature register and times, with process.hrtime, until the coil write
// arrives in the store (its onClientWrite hook); it also notes when the alarm reached the main
// thread, splitting the total into detect (poll wait + read + tick) and act (the write's round trip).
// Target: p99 ≤ poll interval + one tick + 2 ms.
// The scan runs as a gateway runs it, under SCHED_FIFO at scan.realtimePriority's default where the
// process may (ADR 0006). As the reference that tells what the policy buys, every other event runs
// with the scan thread returned to SCHED_OTHER (chrt between events): interleaved, so background
// load on the shared machine falls on both alike.
// usage: node --import tsx bench/alarm-latency.bench.ts [--quick] [--seed=N] [--realtime-priority=N]
import { setTimeout as sleep } from 'node:timers/promises';
import { systemClock } from '../common/clock.ts';
import { loadConfigFile } from '../common/config.ts';
import { deviceProfileSchema, type DeviceProfile } from '../common/device-profile.ts';
import { createLogger } from '../common/log.ts';
import { seededRandom } from '../common/random.ts';
import { DevicePoller } from '../edge/device-poller.ts';
import { ModbusTcpDriver } from '../edge/drivers/modbus-tcp.ts';
import type { AlarmDefinition } from '../edge/scan/alarms.ts';
import { setThreadFifo, setThreadOther } from '../edge/scan/realtime.ts';
import { realtimePriorityDefault, ScanHost } from '../edge/scan/scan-host.ts';
import type { TraceHeader } from '../edge/scan/trace.ts';
import { createDataStore } from '../hil/modbus-data-store.ts';
import { ModbusTcpServer } from '../hil/modbus-tcp-server.ts';
import { TagMap, storeSizesFor } from '../hil/register-codec.ts';
import { fmt, ratio, summarize } from './lib/stats.ts';
import { heading, note, printResult, printTable, quick, verdict } from './lib/report.ts';

const bench = 'alarm-latency';
const configurations = [
  { pollMs: 10, tickMs: 1, events: quick ? 40 : 300 },
  { pollMs: 50, tickMs: 10, events: quick ? 25 : 200 },
] as const;
const option = (name: string): string | undefined => process.argv.find((arg) => arg.startsWith(`--${name}=`))?.split('=')[1];
const seed = Number(option('seed') ?? 20_260_101);
const realtimePriority = Number(option('realtime-priority') ?? realtimePriorityDefault);
const profilePath = new URL('../hil/profiles/demo-machine.yaml', import.meta.url).pathname;
const eventTimeoutMs = 2000;
const warmupEvents = 5; // run, not counted: the first raise and write run cold code
const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/** A promise that the next call of `fire` resolves, with the time it was fired. */
function signal(): { wait: (what: string) => Promise<number>; fire: () => void } {
  let resolve: ((at: number) => void) | undefined;
  return {
    wait: (what) => new Promise<number>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`no ${what} within ${eventTimeoutMs} ms`)), eventTimeoutMs);
      resolve = (at) => {
        clearTimeout(timer);
        done(at);
      };
    }),
    fire: () => {
      const at = nowMs();
      const waiting = resolve;
      resolve = undefined;
      waiting?.(at);
    },
  };
}

type Samples = { total: number[]; detect: number[]; act: number[] };

async function runConfiguration(pollMs: number, tickMs: number, events: number): Promise<void> {
  const targetMs = pollMs + tickMs + 2;
  heading(`poll ${pollMs} ms, tick ${tickMs} ms: ${events} temperature steps at random moments (seed ${seed}) per scan policy, target p99 ≤ ${targetMs} ms`);
  const random = seededRandom(seed);
  const profile = loadConfigFile<DeviceProfile>(profilePath, deviceProfileSchema);
  const store = createDataStore(storeSizesFor(profile));
  const device = new TagMap(profile, store);
  device.write('temperature', 20);
  device.write('run_command', true);
  const server = new ModbusTcpServer({ store });
  const port = await server.listen(0, '127.0.0.1');
  const driver = new ModbusTcpDriver({ id: 'press', driver: 'modbus-tcp', host: '127.0.0.1', port, unitId: 1, profile: 'demo-machine.yaml', pollIntervalMs: pollMs, timeoutMs: 500, batchGapMax: 8 }, profile, systemClock);
  const tagIndex = (name: string): number => driver.tags.findIndex((tag) => tag.name === name);
  const tags: TraceHeader['tags'][number][] = driver.tags.map((tag) => ({ tag: `line1/press/${tag.name}`, kind: tag.kind }));
  const alarm: AlarmDefinition = { id: 'hot', tagIndex: tagIndex('temperature'), direction: 'above', limit: 80, hysteresis: 5, onDelayTicks: 0, severity: 3, actions: [{ tagIndex: tagIndex('run_command'), value: 0 }], stateTagIndex: tags.length };
  tags.push({ tag: 'line1/alarms/hot', kind: 'boolean' });

  const raised = signal();
  const cleared = signal();
  const coilWritten = signal();
  let writesFailed = 0;
  const host = new ScanHost({
    header: { version: 1, gateway: 'gw1', tickMs, publishInputs: true, staleUncertainMs: 2000, staleBadMs: 10_000, tags, alarms: [alarm] },
    tickMs,
    realtimePriority,
    realtimeWatchdog: false, // the bench switches the policy itself between events
    onPoints: () => undefined,
    onWrite: (index, value) => {
      const tag = driver.tags[index]!;
      driver.write(tag.name, tag.kind === 'boolean' ? value !== 0 : value).catch(() => void writesFailed++);
    },
    onAlarm: (transition) => (transition.active ? raised : cleared).fire(),
  });
  const runCoil = profile.tags.find((tag) => tag.name === 'run_command')!.address;
  store.onClientWrite = (area, address) => {
    if (area === 'coil' && address === runCoil && store.coils[runCoil] === 0) coilWritten.fire();
  };
  const quiet = createLogger({ component: 'bench', clock: systemClock, write: () => undefined });
  const poller = new DevicePoller({
    driver,
    sink: { write: (index, value, quality, ts) => host.tags.write(index, value, quality, ts), markQuality: (index, quality, ts) => host.tags.markQuality(index, quality, ts) },
    clock: systemClock,
    random,
    logger: quiet,
    backoffMinMs: 200,
    backoffMaxMs: 5000,
  });
  host.start();
  poller.start();
  const realtime: Samples = { total: [], detect: [], act: [] };
  const ordinary: Samples = { total: [], detect: [], act: [] };
  try {
    // The scan worker needs a moment to boot (tsx compiles it): start once it ticks, its policy is set and polls land.
    while (host.stats().ticks < 10 || host.stats().realtimeState === 'pending' || driver.health().polls < 3) await sleep(pollMs);
    const { threadId, realtimeState, realtimePolicy, realtimePriority: priority } = host.stats();
    const interleave = realtimeState === 'applied';
    const policy = `${realtimePolicy}${priority > 0 ? ` ${priority}` : ''}`;
    let pollsBefore = driver.health().polls;
    let startedMs = nowMs();
    let fifo = interleave;
    for (let event = -warmupEvents; event < (interleave ? 2 * events : events); event++) {
      const wantFifo = interleave && event % 2 === 0;
      if (wantFifo !== fifo) {
        const switched = wantFifo ? (await setThreadFifo(threadId, realtimePriority)).applied : (await setThreadOther(threadId)).returned;
        if (!switched) throw new Error('could not switch the scan thread between SCHED_FIFO and SCHED_OTHER');
        fifo = wantFifo;
      }
      const samples = fifo || !interleave ? realtime : ordinary;
      await sleep(random.next() * (pollMs + tickMs)); // a random phase against the poll and the tick
      const alarmSeen = raised.wait('alarm raise');
      const written = coilWritten.wait('coil write');
      const changedAt = nowMs();
      device.write('temperature', 95);
      const [alarmAt, writtenAt] = await Promise.all([alarmSeen, written]);
      if (event >= 0) {
        samples.total.push(writtenAt - changedAt);
        samples.detect.push(alarmAt - changedAt);
        samples.act.push(writtenAt - alarmAt);
      }
      const clear = cleared.wait('alarm clear');
      device.write('temperature', 20);
      await clear;
      device.write('run_command', true); // the operator restarts the press
      if (event === -1) [pollsBefore, startedMs] = [driver.health().polls, nowMs()];
    }
    const pollPeriodMs = (nowMs() - startedMs) / (driver.health().polls - pollsBefore);
    const scan = host.stats();
    note(`scan thread: ${policy} (${realtimeState}${scan.realtimeReason === '' ? '' : `: ${scan.realtimeReason}`})${interleave ? ', every other event SCHED_OTHER' : ''}`);
    const row = (name: string, s: ReturnType<typeof summarize>): string[] => [name, fmt(s.p50), fmt(s.p99), fmt(s.max), fmt(s.mean)];
    const rows = (label: string, samples: Samples): string[][] => [
      row(`${label}: input change → coil written (total)`, summarize(samples.total)),
      row('  input change → alarm on main thread', summarize(samples.detect)),
      row('  alarm → coil written (write round trip)', summarize(samples.act)),
    ];
    printTable(['segment (ms)', 'p50', 'p99', 'max', 'mean'], [...rows(`scan ${policy}`, realtime), ...(interleave ? rows('scan SCHED_OTHER', ordinary) : [])]);
    const all = summarize(realtime.total);
    const met = all.p99 <= targetMs;
    note(`p99 ${fmt(all.p99)} ms vs target ${targetMs} ms (poll ${pollMs} + tick ${tickMs} + 2): ratio ${fmt(ratio(all.p99, targetMs))}: ${verdict(met)}`);
    note(`poller's actual period ${fmt(pollPeriodMs)} ms (configured ${pollMs}); scan p99 lateness over the run ${fmt(scan.latenessP99Ms)} ms; failed writes ${writesFailed}; events ${all.count}`);
    printResult({ bench, measure: `p99 input→coil, poll ${pollMs} ms / tick ${tickMs} ms`, value: all.p99, unit: 'ms', reference: 'target poll + tick + 2 ms', referenceValue: targetMs, ratio: ratio(all.p99, targetMs), goal: 'ratio ≤ 1', met });
    if (interleave) {
      const other = summarize(ordinary.total);
      note(`p99 with the scan SCHED_FIFO / SCHED_OTHER, interleaved = ${fmt(ratio(all.p99, other.p99))}; SCHED_OTHER p99 / target = ${fmt(ratio(other.p99, targetMs))}`);
      printResult({ bench, measure: `p99 input→coil SCHED_FIFO vs SCHED_OTHER, poll ${pollMs} ms / tick ${tickMs} ms`, value: all.p99, unit: 'ms', reference: 'interleaved events, scan SCHED_OTHER', referenceValue: other.p99, ratio: ratio(all.p99, other.p99) });
    }
  } finally {
    await poller.stop();
    await host.stop();
    await server.close();
  }
}

for (const { pollMs, tickMs, events } of configurations) await runConfiguration(pollMs, tickMs, events);
note('\nOne process holds the device and the gateway, as on a shared 2-core machine; compare the ratio to the target.');
