// The scan worker: runs the fixed tick on a thread of its own so that drivers, the uplink and
// garbage collection on the main thread cannot disturb its timing. Each tick it sleeps with
// Atomics.wait until shortly before the deadline, spins the rest, then collects, steps and
// applies. Nothing in the loop allocates: inputs come through the shared tag table, outputs go
// into shared rings, statistics into a shared histogram. Between ticks it applies operator
// commands for the rules and, when the main thread posts one, swaps in a new rule set.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { isMillwrightError } from '../../common/errors.ts';
import { RuleCommands } from '../rules/rule-commands.ts';
import { RuleHost, type RuleFaultEvent } from '../rules/rule-host.ts';
import { Float64Ring } from './ring.ts';
import { notAgedOf, ScanCore, teeOutputs, type ScanOutputs } from './scan-core.ts';
import { recordLateness, recordPhase, statIndex } from './scan-stats.ts';
import { SharedTagReader } from './shared-tags.ts';
import { TraceWriter } from './trace.ts';
import { buildScanProgram, recordedSwapOf, type RuleSwap } from './scan-program.ts';
import { control, swapMarker, type ScanWorkerData, type ScanWorkerMessage } from './scan-protocol.ts';

const data = workerData as ScanWorkerData;
const controlWords = new Int32Array(data.control);
const stats = new Float64Array(data.stats);
const points = new Float64Ring(data.points);
const writes = new Float64Ring(data.writes);
const alarms = new Float64Ring(data.alarms);
const reader = new SharedTagReader(data.tags);
let urgent = false;
const post = (message: ScanWorkerMessage): void => parentPort!.postMessage(message);

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
  ? new TraceWriter(data.header, (chunk) => post({ kind: 'trace', chunk: Uint8Array.from(chunk) }), 64 * 1024)
  : undefined;
// Time in milliseconds as doubles from performance.now(): unlike process.hrtime.bigint() it
// allocates nothing, and its resolution here is well under a microsecond.
const now = (): number => performance.now();
const outputs: ScanOutputs = recorder === undefined ? ringOutputs : teeOutputs(ringOutputs, recorder);
/** The clock reading of the last tick: a rule swap between ticks stamps what it emits with it. */
let lastNowMs = Date.now();
// A fault is rare and already costs an instance rebuild: posting it (an allocation) is fine.
const ruleHostOptions = { onFault: (event: RuleFaultEvent) => post({ kind: 'rule-fault', event }) };
const { program, rules } = buildScanProgram(data.header, ruleHostOptions);
const ruleCommands = new RuleCommands(data.ruleCommands);
// From 0, not the current count: a swap posted before this worker started must still be taken.
let rulesSeen = 0;

/** Between ticks: takes the latest posted swap, builds its rules, and switches to them (or refuses). */
function swapRules(): void {
  rulesSeen = Atomics.load(controlWords, control.rulesPending);
  let swap: RuleSwap | undefined;
  for (let received = receiveMessageOnPort(data.rulesPort); received !== undefined; received = receiveMessageOnPort(data.rulesPort)) swap = received.message as RuleSwap;
  if (swap === undefined) return;
  const started = now();
  let host: RuleHost | undefined;
  try {
    host = swap.plan === null ? undefined : new RuleHost(swap.plan, { ...ruleHostOptions, ...(rules.host !== undefined && { previous: rules.host }) });
  } catch (error) {
    post({ kind: 'rules-refused', generation: swap.generation, code: isMillwrightError(error) ? error.code : 'RULE_SWAP_FAILED', message: (error as Error).message });
    return;
  }
  // Alarms of rules that do not go on running are cleared under the old names, before the markers.
  rules.host?.retire(outputs, tick - 1, lastNowMs);
  rules.host = host;
  // Markers keep the main thread's names in step: outputs before them belong to the old rules.
  points.push4(swapMarker, swap.generation, 0, 0);
  alarms.push4(swapMarker, swap.generation, 0, 0);
  urgent = true;
  recorder?.swap(recordedSwapOf(swap));
  post({ kind: 'rules-swapped', generation: swap.generation, tick, swapMs: now() - started, carried: host?.carried ?? [] });
}

const core = new ScanCore({
  tagCount: data.header.tagCapacity ?? data.header.tags.length,
  program,
  outputs,
  publishInputs: data.header.publishInputs,
  ...(data.header.staleUncertainMs !== undefined && { staleUncertainMs: data.header.staleUncertainMs }),
  ...(data.header.staleBadMs !== undefined && { staleBadMs: data.header.staleBadMs }),
  notAged: notAgedOf(data.header),
  ...(recorder !== undefined && { onInput: (_tick: number, index: number, value: number, quality: number, tsMs: number) => recorder.input(index, value, quality, tsMs) }),
});

// On a busy machine the scheduler, not our code, decides how late a tick wakes: give the scan
// thread (and only it) a higher priority where the process may. /proc/thread-self names our TID.
stats[statIndex.threadNice] = 0;
try {
  const threadId = Number(readlinkSync('/proc/thread-self').split('/').pop());
  stats[statIndex.threadId] = threadId; // the main thread sets SCHED_FIFO on it (ADR 0006)
  setPriority(threadId, data.threadNice);
  stats[statIndex.threadNice] = data.threadNice;
  stats[statIndex.threadNiceApplied] = 1;
} catch {
  stats[statIndex.threadNiceApplied] = 0;
}

const periodMs = data.tickMs;
const spinMs = data.spinUs / 1000;
let deadline = now() + periodMs;
let tick = 0;

while (Atomics.load(controlWords, control.stop) === 0) {
  // Changes to the rules happen here, in the idle time before the next deadline.
  if (Atomics.load(controlWords, control.rulesPending) !== rulesSeen) swapRules();
  if (rules.host !== undefined) ruleCommands.apply(rules.host);
  const sleepMs = deadline - now() - spinMs;
  if (sleepMs > 0) Atomics.wait(controlWords, control.stop, 0, sleepMs);
  if (Atomics.load(controlWords, control.stop) !== 0) break;
  let started = now();
  while (started < deadline) started = now();
  const latenessUs = (started - deadline) * 1000;
  recordLateness(stats, latenessUs);
  if (latenessUs > data.tickMs * 500) stats[statIndex.lateTicks]!++;

  const nowMs = Date.now();
  lastNowMs = nowMs;
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
post({ kind: 'stopped', ticks: tick });
