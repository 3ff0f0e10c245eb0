// The scan worker: runs the fixed tick on a thread of its own so that drivers, the uplink and
// garbage collection on the main thread cannot disturb its timing. Each tick it sleeps with
// Atomics.wait until shortly before the deadline, spins the rest, then collects, steps and
// applies. Nothing in the loop allocates: inputs come through the shared tag table, outputs go
// into shared rings, statistics into a shared histogram.
import { parentPort, workerData } from 'node:worker_threads';
import { AlarmProgram } from './alarms.ts';
import { Float64Ring } from './ring.ts';
import { notAgedOf, ScanCore, teeOutputs, type ScanOutputs } from './scan-core.ts';
import { recordLateness, statIndex } from './scan-stats.ts';
import { SharedTagReader } from './shared-tags.ts';
import { TraceWriter } from './trace.ts';
import { control, type ScanWorkerData } from './scan-protocol.ts';

const data = workerData as ScanWorkerData;
const controlWords = new Int32Array(data.control);
const stats = new Float64Array(data.stats);
const points = new Float64Ring(data.points);
const writes = new Float64Ring(data.writes);
const alarms = new Float64Ring(data.alarms);
const reader = new SharedTagReader(data.tags);
let urgent = false;

const ringOutputs: ScanOutputs = {
  point: (_tick, tagIndex, value, quality, tsMs) => {
    if (!points.push4(tagIndex, value, quality, tsMs)) stats[statIndex.pointsRefused]!++;
  },
  write: (tick, tagIndex, value) => {
    if (!writes.push4(tagIndex, value, tick, 0)) stats[statIndex.writesRefused]!++;
    urgent = true;
  },
  alarm: (_tick, alarmIndex, active, value, severity) => {
    if (!alarms.push4(alarmIndex, active ? 1 : 0, value, severity)) stats[statIndex.alarmsRefused]!++;
    urgent = true;
  },
};

const recorder = data.record
  ? new TraceWriter(data.header, (chunk) => parentPort!.postMessage({ kind: 'trace', chunk: Uint8Array.from(chunk) }), 64 * 1024)
  : undefined;
const core = new ScanCore({
  tagCount: data.header.tags.length,
  program: new AlarmProgram(data.header.alarms),
  outputs: recorder === undefined ? ringOutputs : teeOutputs(ringOutputs, recorder),
  publishInputs: data.header.publishInputs,
  ...(data.header.staleUncertainMs !== undefined && { staleUncertainMs: data.header.staleUncertainMs }),
  ...(data.header.staleBadMs !== undefined && { staleBadMs: data.header.staleBadMs }),
  notAged: notAgedOf(data.header),
  ...(recorder !== undefined && { onInput: (_tick: number, index: number, value: number, quality: number, tsMs: number) => recorder.input(index, value, quality, tsMs) }),
});

const periodNs = BigInt(Math.round(data.tickMs * 1e6));
const spinNs = BigInt(Math.round(data.spinUs * 1e3));
const now = (): bigint => process.hrtime.bigint();
let deadline = now() + periodNs;
let tick = 0;

while (Atomics.load(controlWords, control.stop) === 0) {
  const sleepNs = deadline - now() - spinNs;
  if (sleepNs > 0n) Atomics.wait(controlWords, control.stop, 0, Number(sleepNs) / 1e6);
  if (Atomics.load(controlWords, control.stop) !== 0) break;
  let started = now();
  while (started < deadline) started = now();
  const latenessUs = Number(started - deadline) / 1e3;
  recordLateness(stats, latenessUs);
  if (latenessUs > data.tickMs * 500) stats[statIndex.lateTicks]!++;

  const nowMs = Date.now();
  recorder?.tick(tick, nowMs);
  core.begin(tick, nowMs);
  reader.collect(core.input);
  core.run();
  if (urgent) {
    urgent = false;
    Atomics.add(controlWords, control.urgent, 1);
    Atomics.notify(controlWords, control.urgent);
  }
  if (recorder !== undefined && tick % 100 === 99) recorder.flush();

  const stepUs = Number(now() - started) / 1e3;
  stats[statIndex.stepUsTotal]! += stepUs;
  if (stepUs > stats[statIndex.stepUsMax]!) stats[statIndex.stepUsMax] = stepUs;
  stats[statIndex.ticks]!++;
  tick++;
  deadline += periodNs;
  const after = now();
  if (after > deadline) {
    // Overrun: skip the deadlines already missed instead of running ticks back to back.
    const missed = (after - deadline) / periodNs + 1n;
    stats[statIndex.overruns]! += Number(missed);
    deadline += missed * periodNs;
  }
}
recorder?.flush();
parentPort!.postMessage({ kind: 'stopped', ticks: tick });
