// The scan worker: runs the fixed tick on a thread of its own so that drivers, the uplink and
// garbage collection on the main thread cannot disturb its timing. Each tick it sleeps with
// Atomics.wait until shortly before the deadline, spins the rest, then collects, steps and
// applies. Nothing in the loop allocates: inputs come through the shared tag table, outputs go
// into shared rings, statistics into a shared histogram.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { AlarmProgram } from './alarms.ts';
import { Float64Ring } from './ring.ts';
import { notAgedOf, ScanCore, teeOutputs, type ScanOutputs } from './scan-core.ts';
import { recordLateness, recordPhase, statIndex } from './scan-stats.ts';
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

// Time in milliseconds as doubles from performance.now(): unlike process.hrtime.bigint() it
// allocates nothing, and its resolution here is well under a microsecond.
// On a busy machine the scheduler, not our code, decides how late a tick wakes: give the scan
// thread (and only it) a higher priority where the process may. /proc/thread-self names our TID.
stats[statIndex.threadNice] = 0;
try {
  const threadId = Number(readlinkSync('/proc/thread-self').split('/').pop());
  setPriority(threadId, data.threadNice);
  stats[statIndex.threadNice] = data.threadNice;
  stats[statIndex.threadNiceApplied] = 1;
} catch {
  stats[statIndex.threadNiceApplied] = 0;
}

const periodMs = data.tickMs;
const spinMs = data.spinUs / 1000;
const now = (): number => performance.now();
let deadline = now() + periodMs;
let tick = 0;

while (Atomics.load(controlWords, control.stop) === 0) {
  const sleepMs = deadline - now() - spinMs;
  if (sleepMs > 0) Atomics.wait(controlWords, control.stop, 0, sleepMs);
  if (Atomics.load(controlWords, control.stop) !== 0) break;
  let started = now();
  while (started < deadline) started = now();
  const latenessUs = (started - deadline) * 1000;
  recordLateness(stats, latenessUs);
  if (latenessUs > data.tickMs * 500) stats[statIndex.lateTicks]!++;

  const nowMs = Date.now();
  recorder?.tick(tick, nowMs);
  core.begin(tick, nowMs);
  reader.collect(core.input);
  const collected = now();
  core.step();
  const stepped = now();
  core.apply();
  if (urgent) {
    urgent = false;
    Atomics.add(controlWords, control.urgent, 1);
    Atomics.notify(controlWords, control.urgent);
  }
  if (recorder !== undefined && tick % 100 === 99) recorder.flush();
  const applied = now();
  recordPhase(stats, statIndex.collectUsTotal, statIndex.collectUsMax, (collected - started) * 1000);
  recordPhase(stats, statIndex.stepUsTotal, statIndex.stepUsMax, (stepped - collected) * 1000);
  recordPhase(stats, statIndex.applyUsTotal, statIndex.applyUsMax, (applied - stepped) * 1000);
  stats[statIndex.ticks]!++;
  tick++;
  deadline += periodMs;
  const after = now();
  if (after > deadline) {
    // Overrun: skip the deadlines already missed instead of running ticks back to back.
    const missed = Math.floor((after - deadline) / periodMs) + 1;
    stats[statIndex.overruns]! += missed;
    deadline += missed * periodMs;
  }
}
recorder?.flush();
parentPort!.postMessage({ kind: 'stopped', ticks: tick });
