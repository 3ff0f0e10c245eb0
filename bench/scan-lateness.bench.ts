// Tick start lateness of the gateway's scan worker (ScanHost) at 10 ms and at 1 ms while the
// main thread is as busy as a real gateway's: a feeder rewrites 2,000 tags every tick period, 200
// built-in alarms run in the step, and every sample is published through the gateway's
// durable log + forwarder + MqttClient into an in-process hub (aedes, batch decode, DuckDB appends).
// Measured in the same run, under the same load:
//   - the reference: the same step driven by a plain setInterval on the main thread, its lateness
//     measured the same way (absolute deadlines, missed ones skipped);
//   - the machine's own limit: a bare thread that waits and spins like the scan but does nothing
//     (also measured for a few seconds before the load starts, to tell the VM's share from the load's),
//     once as an ordinary thread and once under SCHED_FIFO at the scan's priority.
// The scan runs as a gateway runs it: ScanHost's defaults, so SCHED_FIFO at scan.realtimePriority's
// default where the process may (ADR 0006); what it got is printed.
// Goals: scan p99 ≤ ¼ of setInterval's p99 at both ticks, and < 5% of the period at 10 ms.
// Also printed: the CPU the scan's threads cost (it spins before each deadline) and what the load
// achieved, so a run whose main thread had nothing to do cannot pass unnoticed.
// usage: node --import tsx bench/scan-lateness.bench.ts [--quick] [--spin-us=N] [--scan-nice=N] [--realtime-priority=N]
//   --spin-us, --scan-nice and --realtime-priority are what-ifs (scan spin before each deadline; Linux
//   nice of the scan's threads; SCHED_FIFO priority of the scan and the realtime floor, 0 = off: both
//   need CAP_SYS_NICE), never used by `npm run bench`.
import { setPriority } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { setThreadFifo, type RealtimeResult } from '../edge/scan/realtime.ts';
import { realtimePriorityDefault, ScanHost, scanSpinUsDefault } from '../edge/scan/scan-host.ts';
import { IntervalScan } from './lib/interval-scan.ts';
import { fmt, ratio } from './lib/stats.ts';
import { heading, note, printResult, printTable, quick, verdict } from './lib/report.ts';
import { alarmCount, inputTags, scanHeader, startFeeder } from './lib/scan-workload.ts';
import { threadCpuMs, threadIds, threadsCpuMs } from './lib/thread-cpu.ts';
import { startTimingFloor, type TimingFloor } from './lib/timing-floor.ts';
import { startUplinkLoad } from './lib/uplink-load.ts';

const bench = 'scan-lateness';
const configurations = [
  { tickMs: 10, seconds: quick ? 3 : 20 },
  { tickMs: 1, seconds: quick ? 2 : 10 },
] as const;
const idleFloorSeconds = quick ? 1 : 3;
const ratioGoal = 0.25;
const periodShareGoal = 0.05; // at 10 ms
const option = (name: string): number => Number(process.argv.find((arg) => arg.startsWith(`--${name}=`))?.split('=')[1] ?? Number.NaN);
const spinUsOption = option('spin-us');
const scanNice = option('scan-nice');
const realtimePriorityOption = option('realtime-priority');
const realtimePriority = Number.isFinite(realtimePriorityOption) ? realtimePriorityOption : realtimePriorityDefault;

/** A bare floor thread, optionally under SCHED_FIFO: its thread is the one that appeared as it started. */
async function startFloor(tickMs: number, spinUs: number, samplesMax: number, priority: number): Promise<{ floor: TimingFloor; realtime: RealtimeResult | undefined }> {
  const before = new Set(threadIds());
  const floor = startTimingFloor(tickMs, spinUs, samplesMax);
  const appeared = threadIds().filter((tid) => !before.has(tid));
  if (priority === 0) return { floor, realtime: undefined };
  const realtime = appeared.length === 1 ? await setThreadFifo(Number(appeared[0]), priority) : { applied: false as const, reason: `${appeared.length} new threads, cannot tell the floor's` };
  return { floor, realtime };
}

const policyOf = (result: RealtimeResult | undefined): string => (result === undefined ? 'off' : result.applied ? `SCHED_FIFO ${result.priority}` : `not applied: ${result.reason}`);

async function runConfiguration(tickMs: number, seconds: number): Promise<void> {
  // ScanHost's default spin, unless the what-if asks for another; the floor thread uses the same.
  const spinUs = Number.isFinite(spinUsOption) ? spinUsOption : scanSpinUsDefault(tickMs);
  heading(`scan tick ${tickMs} ms, ${seconds} s, spin ${spinUs} µs: ${inputTags} tags rewritten every ${tickMs} ms, ${alarmCount} alarms, points → MQTT → in-process hub`);
  const idleSamples = Math.ceil((idleFloorSeconds * 1000) / tickMs) + 100;
  const idleFloor = await startFloor(tickMs, spinUs, idleSamples, 0);
  const idleFloorRealtime = await startFloor(tickMs, spinUs, idleSamples, realtimePriority);
  await sleep(idleFloorSeconds * 1000);
  const idle = await idleFloor.floor.stop();
  const idleRealtime = await idleFloorRealtime.floor.stop();
  const header = scanHeader(tickMs);
  const uplink = await startUplinkLoad();
  const counts = { delivered: 0, transitions: 0, writes: 0 };
  const host = new ScanHost({
    header,
    tickMs,
    spinUs,
    realtimePriority,
    onPoints: (points) => {
      counts.delivered += points.length;
      uplink.enqueue(points);
    },
    onWrite: () => void counts.writes++,
    onAlarm: () => void counts.transitions++,
  });
  const samplesMax = Math.ceil((seconds * 1000) / tickMs) + 1000;
  const reference = new IntervalScan(header, tickMs, samplesMax);
  const tidsBefore = new Set(threadIds());
  host.start();
  try {
    while (host.stats().ticks < 20) await sleep(20); // the worker is up and ticking
    const scanTids = threadIds().filter((tid) => !tidsBefore.has(tid)); // the scan thread and its module-loader thread
    if (Number.isInteger(scanNice)) for (const tid of scanTids) setPriority(Number(tid), scanNice);
    while (host.stats().realtimeState === 'pending') await sleep(5); // the policy is settled before measuring
    const floor = (await startFloor(tickMs, spinUs, samplesMax, 0)).floor;
    const floorRealtime = await startFloor(tickMs, spinUs, samplesMax, realtimePriority);
    const feeder = startFeeder([host.tags, reference.tags], tickMs);
    reference.start();
    const cpuBefore = { scan: threadsCpuMs(scanTids), main: threadCpuMs(String(process.pid)), process: process.cpuUsage() };
    const startedMs = performance.now();
    await sleep(seconds * 1000);
    const elapsedMs = performance.now() - startedMs;
    const cpuProcess = process.cpuUsage(cpuBefore.process);
    const cpuShare = { scan: (threadsCpuMs(scanTids) - cpuBefore.scan) / elapsedMs, main: (threadCpuMs(String(process.pid)) - cpuBefore.main) / elapsedMs, process: (cpuProcess.user + cpuProcess.system) / 1000 / elapsedMs };
    reference.stop();
    const feeds = feeder.stop();
    const bare = await floor.stop();
    const bareRealtime = await floorRealtime.floor.stop();
    const scan = host.stats();
    const interval = reference.stats();
    const load = uplink.stats();

    printTable(['loop', 'ticks', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'overruns'], [
      ['scan worker (ScanHost)', fmt(scan.ticks), fmt(scan.latenessP50Ms), fmt(scan.latenessP99Ms), fmt(scan.latenessP999Ms), fmt(scan.latenessMaxMs), fmt(scan.overruns)],
      ['bare wait+spin thread (machine floor)', fmt(bare.count), fmt(bare.p50), fmt(bare.p99), fmt(bare.p999), fmt(bare.max), '-'],
      [`  same, idle process, ${idleFloorSeconds} s before the load`, fmt(idle.count), fmt(idle.p50), fmt(idle.p99), fmt(idle.p999), fmt(idle.max), '-'],
      [`bare wait+spin thread, ${policyOf(floorRealtime.realtime)}`, fmt(bareRealtime.count), fmt(bareRealtime.p50), fmt(bareRealtime.p99), fmt(bareRealtime.p999), fmt(bareRealtime.max), '-'],
      [`  same, idle process, ${idleFloorSeconds} s before the load`, fmt(idleRealtime.count), fmt(idleRealtime.p50), fmt(idleRealtime.p99), fmt(idleRealtime.p999), fmt(idleRealtime.max), '-'],
      ['setInterval, same step (main thread)', fmt(interval.ticks), fmt(interval.lateness.p50), fmt(interval.lateness.p99), fmt(interval.lateness.p999), fmt(interval.lateness.max), fmt(interval.overruns)],
    ]);
    const p99Ratio = ratio(scan.latenessP99Ms, interval.lateness.p99);
    const periodShare = scan.latenessP99Ms / tickMs;
    note(`p99 scan / setInterval = ${fmt(p99Ratio)} (goal ≤ ${ratioGoal}): ${verdict(p99Ratio <= ratioGoal)}`);
    note(`p99 scan / period = ${fmt(periodShare * 100)}%${tickMs === 10 ? ` (goal < ${periodShareGoal * 100}%): ${verdict(periodShare < periodShareGoal)}` : ' (no goal at 1 ms)'}; machine floor p99 / period = ${fmt((bare.p99 / tickMs) * 100)}%`);
    note(`scan thread: ${scan.realtimePolicy}${scan.realtimePriority > 0 ? ` ${scan.realtimePriority}` : ''} (${scan.realtimeState}${scan.realtimeReason === '' ? '' : `: ${scan.realtimeReason}`}), nice ${scan.threadNiceApplied ? scan.threadNice : 'unchanged'}`);
    note(`p99 scan / machine floor = ${fmt(ratio(scan.latenessP99Ms, bare.p99))}, / realtime floor = ${fmt(ratio(scan.latenessP99Ms, bareRealtime.p99))}; ticks later than half a period: ${fmt(scan.lateTicks)}`);
    note(`scan phases mean / max ms: collect ${fmt(scan.collectMsMean)} / ${fmt(scan.collectMsMax)}, step ${fmt(scan.stepMsMean)} / ${fmt(scan.stepMsMax)}, apply ${fmt(scan.applyMsMean)} / ${fmt(scan.applyMsMax)}`);
    note(`CPU: scan threads ${fmt(cpuShare.scan * 100)}% of a core, main thread ${fmt(cpuShare.main * 100)}%, whole process ${fmt(cpuShare.process * 100)}% (of 2 cores shared with others)`);
    note(`load: feeder ${fmt((feeds * 1000) / elapsedMs)} rounds/s (asked ${fmt(1000 / tickMs)}), scan delivered ${fmt((counts.delivered * 1000) / elapsedMs)} points/s, hub stored ${fmt((load.ingest.stored * 1000) / elapsedMs)} points/s, ` +
      `log refused ${fmt(load.forwarder.refused)} (live queued ${fmt(load.forwarder.liveQueued)}, backlog ${load.forwarder.backlogRecords}), hub queue ${fmt(load.ingest.queuedPoints)} points, hub refused ${fmt(load.ingest.queueFullRefusals)} batches (queue full), scan ring refused ${fmt(scan.pointsRefused)}, alarm transitions ${fmt(counts.transitions)}, action writes ${fmt(counts.writes)}, early setInterval callbacks ${interval.early}`);

    printResult({ bench, measure: `scan p99 lateness @ ${tickMs} ms`, value: scan.latenessP99Ms, unit: 'ms', reference: 'setInterval p99', referenceValue: interval.lateness.p99, ratio: p99Ratio, goal: `ratio ≤ ${ratioGoal}`, met: p99Ratio <= ratioGoal });
    if (tickMs === 10) printResult({ bench, measure: 'scan p99 lateness / period @ 10 ms', value: scan.latenessP99Ms, unit: 'ms', reference: 'period', referenceValue: tickMs, ratio: periodShare, goal: `< ${periodShareGoal}`, met: periodShare < periodShareGoal });
    printResult({ bench, measure: `scan p99 vs machine floor @ ${tickMs} ms`, value: scan.latenessP99Ms, unit: 'ms', reference: 'bare wait+spin p99', referenceValue: bare.p99, ratio: ratio(scan.latenessP99Ms, bare.p99) });
    if (floorRealtime.realtime?.applied === true) printResult({ bench, measure: `scan p99 vs realtime floor @ ${tickMs} ms`, value: scan.latenessP99Ms, unit: 'ms', reference: `bare wait+spin SCHED_FIFO ${realtimePriority} p99`, referenceValue: bareRealtime.p99, ratio: ratio(scan.latenessP99Ms, bareRealtime.p99) });
    printResult({ bench, measure: `scan threads CPU @ ${tickMs} ms`, value: cpuShare.scan * 100, unit: '% of a core', reference: 'main thread CPU %', referenceValue: cpuShare.main * 100, ratio: ratio(cpuShare.scan, cpuShare.main) });
  } finally {
    reference.stop();
    await host.stop();
    await uplink.close();
  }
}

if (Number.isFinite(spinUsOption) || Number.isFinite(scanNice) || Number.isFinite(realtimePriorityOption)) {
  note(`what-if run: spin ${Number.isFinite(spinUsOption) ? `${spinUsOption} µs` : 'default'}, scan nice ${Number.isFinite(scanNice) ? scanNice : 'unchanged'}, realtime priority ${realtimePriority}`);
}
for (const { tickMs, seconds } of configurations) await runConfiguration(tickMs, seconds);
note('\nScan figures are upper edges of 10 µs histogram buckets (the engine\'s own stats, counted from the worker\'s first tick);');
note('the others are exact. The machine is shared: compare the ratios, measured side by side, not the absolute figures.');
