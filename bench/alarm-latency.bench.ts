// Local action latency: how long from a device's input changing to the gateway's alarm action
// landing in the device. A simulated press (hil ModbusTcpServer + data store, demo-machine
// profile) runs in this process; the gateway path is the real one: ModbusTcpDriver polled by a
// DevicePoller into the ScanHost's shared tag table, a built-in alarm (temperature above 80) whose
// action writes run_command = false, and that write sent back by the driver. At random moments the
// bench raises the temperature register and times, with process.hrtime, until the coil write
// arrives in the store (its onClientWrite hook); it also notes when the alarm reached the main
// thread, splitting the total into detect (poll wait + read + tick) and act (the write's round trip).
// Target: p99 ≤ poll interval + one tick + 2 ms.
// usage: node --import tsx bench/alarm-latency.bench.ts [--quick] [--seed=N]
import { setTimeout as sleep } from 'node:timers/promises';
import { systemClock } from '../common/clock.ts';
import { loadConfigFile } from '../common/config.ts';
import { deviceProfileSchema, type DeviceProfile } from '../common/device-profile.ts';
import { createLogger } from '../common/log.ts';
import { seededRandom } from '../common/random.ts';
import { DevicePoller } from '../edge/device-poller.ts';
import { ModbusTcpDriver } from '../edge/drivers/modbus-tcp.ts';
import type { AlarmDefinition } from '../edge/scan/alarms.ts';
import { ScanHost } from '../edge/scan/scan-host.ts';
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
const seed = Number(process.argv.find((arg) => arg.startsWith('--seed='))?.split('=')[1] ?? 20_260_101);
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

async function runConfiguration(pollMs: number, tickMs: number, events: number): Promise<void> {
  const targetMs = pollMs + tickMs + 2;
  heading(`poll ${pollMs} ms, tick ${tickMs} ms: ${events} temperature steps at random moments (seed ${seed}), target p99 ≤ ${targetMs} ms`);
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
  const total: number[] = [];
  const detect: number[] = [];
  const act: number[] = [];
  try {
    // The scan worker needs a moment to boot (tsx compiles it): start once it ticks and polls land.
    while (host.stats().ticks < 10 || driver.health().polls < 3) await sleep(pollMs);
    let pollsBefore = driver.health().polls;
    let startedMs = nowMs();
    for (let event = -warmupEvents; event < events; event++) {
      await sleep(random.next() * (pollMs + tickMs)); // a random phase against the poll and the tick
      const alarmSeen = raised.wait('alarm raise');
      const written = coilWritten.wait('coil write');
      const changedAt = nowMs();
      device.write('temperature', 95);
      const [alarmAt, writtenAt] = await Promise.all([alarmSeen, written]);
      if (event >= 0) {
        total.push(writtenAt - changedAt);
        detect.push(alarmAt - changedAt);
        act.push(writtenAt - alarmAt);
      }
      const clear = cleared.wait('alarm clear');
      device.write('temperature', 20);
      await clear;
      device.write('run_command', true); // the operator restarts the press
      if (event === -1) [pollsBefore, startedMs] = [driver.health().polls, nowMs()];
    }
    const pollPeriodMs = (nowMs() - startedMs) / (driver.health().polls - pollsBefore);
    const [all, detected, acted] = [summarize(total), summarize(detect), summarize(act)];
    const row = (name: string, s: ReturnType<typeof summarize>): string[] => [name, fmt(s.p50), fmt(s.p99), fmt(s.max), fmt(s.mean)];
    printTable(['segment (ms)', 'p50', 'p99', 'max', 'mean'], [
      row('input change → coil written (total)', all),
      row('  input change → alarm on main thread', detected),
      row('  alarm → coil written (write round trip)', acted),
    ]);
    const met = all.p99 <= targetMs;
    note(`p99 ${fmt(all.p99)} ms vs target ${targetMs} ms (poll ${pollMs} + tick ${tickMs} + 2): ratio ${fmt(ratio(all.p99, targetMs))}: ${verdict(met)}`);
    note(`poller's actual period ${fmt(pollPeriodMs)} ms (configured ${pollMs}); scan p99 lateness ${fmt(host.stats().latenessP99Ms)} ms; failed writes ${writesFailed}; events ${all.count}`);
    printResult({ bench, measure: `p99 input→coil, poll ${pollMs} ms / tick ${tickMs} ms`, value: all.p99, unit: 'ms', reference: 'target poll + tick + 2 ms', referenceValue: targetMs, ratio: ratio(all.p99, targetMs), goal: 'ratio ≤ 1', met });
  } finally {
    await poller.stop();
    await host.stop();
    await server.close();
  }
}

for (const { pollMs, tickMs, events } of configurations) await runConfiguration(pollMs, tickMs, events);
note('\nOne process holds the device and the gateway, as on a shared 2-core machine; compare the ratio to the target.');
