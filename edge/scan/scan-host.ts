// The main thread's side of the scan: allocates the shared tag table and rings, starts the scan
// worker, and drains what it produces — writes and alarms at once when the worker signals them
// (local actions must not wait for a timer), points every drain interval. Drivers write into
// `tags`; the gateway wires writes to drivers and points to the publisher.
// Once the worker reports its thread id, the host puts that thread under SCHED_FIFO (ADR 0006),
// logs once whether that worked, and demotes it again should it keep overrunning its period.
// Rule swaps go to the worker over a message port it polls between ticks; markers in the rings
// tell this side from which record on the new rules' tag and alarm names apply.
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { systemClock } from '../../common/clock.ts';
import { createLogger, type Logger } from '../../common/log.ts';
import type { Point } from '../../common/point.ts';
import { qualityFromCode } from '../../common/point.ts';
import { realtimeOverrunning, realtimeSpinRefusal, setThreadFifo, setThreadOther, type RealtimeOptions } from './realtime.ts';
import { Float64Ring } from './ring.ts';
import { allocateStats, readStats, statIndex, type ScanRealtimeStats, type ScanTimingStats } from './scan-stats.ts';
import { control, controlWords, swapMarker, type ScanWorkerData, type ScanWorkerMessage } from './scan-protocol.ts';
import { RuleCommands } from '../rules/rule-commands.ts';
import type { RuleFaultEvent } from '../rules/rule-host.ts';
import type { RulePlan } from '../rules/rule-plan.ts';
import type { RuleSwap } from './scan-program.ts';
import { SharedTagWriter, allocateSharedTags } from './shared-tags.ts';
import type { RuleAlarmDefinition, TraceHeader } from './trace.ts';

export interface AlarmTransition {
  readonly alarmIndex: number;
  readonly active: boolean;
  readonly value: number;
  readonly severity: number;
  /** The rule generation the alarm index belongs to (0 = the rules the scan started with). */
  readonly generation: number;
}

export interface ScanHostOptions {
  readonly header: TraceHeader;
  readonly tickMs: number;
  readonly spinUs?: number;
  readonly threadNice?: number;
  /** SCHED_FIFO priority of the scan thread, 1..99; 0 = stay SCHED_OTHER at threadNice. */
  readonly realtimePriority?: number;
  readonly realtime?: RealtimeOptions;
  /** Return a realtime scan that keeps overrunning to SCHED_OTHER (default true; off only for benches that switch the policy themselves). */
  readonly realtimeWatchdog?: boolean;
  /** Receives the one line saying whether realtime was applied (default: failures only, on stderr). */
  readonly logger?: Logger;
  readonly pointsRingMax?: number;
  readonly writesRingMax?: number;
  readonly drainIntervalMs?: number;
  /** Receives the raw trace bytes (header first) when recording. */
  readonly onTrace?: (chunk: Uint8Array) => void;
  readonly onPoints: (points: Point[]) => void;
  readonly onWrite: (tagIndex: number, value: number) => void;
  readonly onAlarm: (transition: AlarmTransition) => void;
  /** A rule trapped, ran out of fuel or exceeded memory (its safe values are already written). */
  readonly onRuleFault?: (event: RuleFaultEvent) => void;
  /** The worker switched to the rules of `generation` before tick `tick` (building them took swapMs). */
  readonly onRulesSwapped?: (generation: number, tick: number, swapMs: number, carried: readonly string[]) => void;
  /** The worker could not build the rules of `generation`; the previous rules keep running. */
  readonly onRulesRefused?: (generation: number, code: string, message: string) => void;
}

/**
 * How long the scan spins before each deadline, by default: 100 µs (a tenth of a 1 ms tick). Woken
 * under SCHED_FIFO the thread is on time to ~0.05 ms at p99, so a longer spin only burns CPU: 300 µs
 * cost twice the scan thread's CPU for a later p99 (bench/scan-lateness.bench.ts --spin-us).
 */
export function scanSpinUsDefault(tickMs: number): number {
  return Math.min(100, tickMs * 100);
}

/** The gateway's default (docs/adr/0006-realtime-scan-thread.md): below the kernel's IRQ threads (50). */
export const realtimePriorityDefault = 40;
/** How long the realtime watchdog looks at overruns before deciding. */
const realtimeWindowMs = 1000;

export class ScanHost {
  readonly tags: SharedTagWriter;
  readonly #options: ScanHostOptions;
  readonly #data: ScanWorkerData;
  readonly #control: Int32Array;
  readonly #points: Float64Ring;
  readonly #writes: Float64Ring;
  readonly #alarms: Float64Ring;
  #worker: Worker | undefined;
  #drainTimer: NodeJS.Timeout | undefined;
  #stopped: Promise<void> | undefined;
  #running = false;
  readonly ruleCommands: RuleCommands;
  readonly #rulesPort: MessagePort;
  #generation = 0;
  #tags: TraceHeader['tags'];
  #alarmGeneration = 0;
  readonly #swapTags = new Map<number, TraceHeader['tags']>();
  readonly #statsView: Float64Array;
  readonly #logger: Logger;
  #realtime: ScanRealtimeStats;
  #realtimeWork: Promise<void> | undefined;
  #realtimeWindow: { atMs: number; ticks: number; overruns: number } | undefined;

  constructor(options: ScanHostOptions) {
    this.#options = options;
    const tags = allocateSharedTags(options.header.tagCapacity ?? options.header.tags.length);
    const channel = new MessageChannel();
    this.#rulesPort = channel.port1;
    this.#tags = options.header.tags;
    this.tags = new SharedTagWriter(tags);
    this.#data = {
      control: new SharedArrayBuffer(controlWords * Int32Array.BYTES_PER_ELEMENT),
      stats: allocateStats(),
      tags,
      points: Float64Ring.allocate(4, options.pointsRingMax ?? 65_536),
      writes: Float64Ring.allocate(4, options.writesRingMax ?? 1024),
      alarms: Float64Ring.allocate(4, 1024),
      ruleCommands: RuleCommands.allocate(),
      rulesPort: channel.port2,
      tickMs: options.tickMs,
      spinUs: options.spinUs ?? scanSpinUsDefault(options.tickMs),
      threadNice: options.threadNice ?? -10,
      record: options.onTrace !== undefined,
      header: options.header,
    };
    this.#control = new Int32Array(this.#data.control);
    this.#points = new Float64Ring(this.#data.points);
    this.#writes = new Float64Ring(this.#data.writes);
    this.#alarms = new Float64Ring(this.#data.alarms);
    this.ruleCommands = new RuleCommands(this.#data.ruleCommands);
    this.#statsView = new Float64Array(this.#data.stats);
    this.#logger = options.logger ?? createLogger({ component: 'scan', clock: systemClock, level: 'warn' });
    const priority = options.realtimePriority ?? realtimePriorityDefault;
    const refusal = priority === 0 ? undefined : realtimeSpinRefusal(this.#data.tickMs, this.#data.spinUs);
    this.#realtime = { realtimeState: priority === 0 ? 'off' : 'pending', realtimePolicy: 'SCHED_OTHER', realtimePriority: 0, realtimeReason: '' };
    if (refusal !== undefined) this.#realtime = { ...this.#realtime, realtimeState: 'failed', realtimeReason: refusal };
  }

  /**
   * Hands the worker a new rule set (null = none), taken before its next tick. `tags` is the whole
   * tag list afterwards; it must fit the header's tagCapacity. Returns the swap's generation.
   */
  swapRules(plan: RulePlan | null, tags: TraceHeader['tags'], ruleAlarms: readonly RuleAlarmDefinition[]): number {
    const capacity = this.#options.header.tagCapacity ?? this.#options.header.tags.length;
    if (tags.length > capacity) throw new RangeError(`the new rules need ${tags.length} tags, more than the scan's room for ${capacity}`);
    const generation = ++this.#generation;
    this.#swapTags.set(generation, tags);
    this.#rulesPort.postMessage({ generation, plan, tags, ruleAlarms } satisfies RuleSwap);
    Atomics.add(this.#control, control.rulesPending, 1);
    return generation;
  }

  start(): void {
    if (this.#worker !== undefined) return;
    this.#running = true;
    const worker = new Worker(new URL('./scan-worker-entry.mjs', import.meta.url), { workerData: this.#data, transferList: [this.#data.rulesPort] });
    this.#worker = worker;
    let resolveStopped: () => void = () => undefined;
    this.#stopped = new Promise((resolve) => (resolveStopped = resolve));
    worker.on('message', (message: ScanWorkerMessage) => {
      if (message.kind === 'trace') this.#options.onTrace?.(message.chunk);
      else if (message.kind === 'rule-fault') this.#options.onRuleFault?.(message.event);
      else if (message.kind === 'rules-swapped') this.#options.onRulesSwapped?.(message.generation, message.tick, message.swapMs, message.carried);
      else if (message.kind === 'rules-refused') {
        this.#swapTags.delete(message.generation);
        this.#options.onRulesRefused?.(message.generation, message.code, message.message);
      }
      // Messages arrive in order: after 'stopped', every trace chunk has been delivered.
      if (message.kind === 'stopped') {
        this.#drain();
        resolveStopped();
      }
    });
    worker.on('error', (error) => {
      process.stderr.write(`scan worker failed: ${error.stack ?? error.message}\n`);
    });
    worker.on('exit', () => {
      this.#drain();
      resolveStopped();
    });
    this.#drainTimer = setInterval(() => {
      this.#drain();
      this.#superviseRealtime();
    }, this.#options.drainIntervalMs ?? 10);
    if (this.#realtime.realtimeState === 'failed') this.#logRealtime();
    void this.#watchUrgent();
  }

  /** Stops the worker after its current tick and delivers everything it produced. */
  async stop(): Promise<void> {
    if (this.#worker === undefined) return;
    this.#running = false;
    Atomics.store(this.#control, control.stop, 1);
    Atomics.notify(this.#control, control.stop);
    Atomics.notify(this.#control, control.urgent);
    await this.#stopped;
    if (this.#drainTimer !== undefined) clearInterval(this.#drainTimer);
    await this.#realtimeWork;
    this.#worker = undefined;
    this.#rulesPort.close();
  }

  /** Ticks run so far: one shared read, for callers that need only this (stats() computes percentiles). */
  get ticks(): number {
    return this.#statsView[statIndex.ticks]!;
  }

  stats(): ScanTimingStats & ScanRealtimeStats & { pointsQueued: number } {
    return { ...readStats(this.#data.stats), ...this.#realtime, pointsQueued: this.#points.length };
  }

  /** Applies SCHED_FIFO once the worker's thread id is known; then watches for sustained overruns. */
  #superviseRealtime(): void {
    if (this.#realtimeWork !== undefined) return;
    const threadId = this.#statsView[statIndex.threadId]!;
    const ticks = this.#statsView[statIndex.ticks]!;
    const overruns = this.#statsView[statIndex.overruns]!;
    const state = this.#realtime.realtimeState;
    if (state === 'pending' && threadId > 0) {
      const priority = this.#options.realtimePriority ?? realtimePriorityDefault;
      this.#realtimeWork = setThreadFifo(threadId, priority, this.#options.realtime).then((result) => {
        this.#realtime = result.applied
          ? { realtimeState: 'applied', realtimePolicy: 'SCHED_FIFO', realtimePriority: result.priority, realtimeReason: '' }
          : { ...this.#realtime, realtimeState: 'failed', realtimeReason: result.reason };
        this.#logRealtime();
        this.#realtimeWork = undefined;
      });
    } else if (state === 'pending' && ticks > 0) {
      this.#realtime = { ...this.#realtime, realtimeState: 'failed', realtimeReason: 'the scan thread did not report its thread id (no /proc/thread-self)' };
      this.#logRealtime();
    } else if (state === 'applied' && this.#options.realtimeWatchdog !== false) {
      const atMs = performance.now();
      const window = this.#realtimeWindow;
      if (window !== undefined && atMs - window.atMs < realtimeWindowMs) return;
      this.#realtimeWindow = { atMs, ticks, overruns };
      if (window === undefined) return;
      const seen = { elapsedMs: atMs - window.atMs, tickMs: this.#data.tickMs, ticks: ticks - window.ticks, overruns: overruns - window.overruns };
      if (!realtimeOverrunning(seen)) return;
      const reason = `demoted after ${seen.ticks} ticks with ${seen.overruns} overruns in ${Math.round(seen.elapsedMs)} ms`;
      this.#realtimeWork = setThreadOther(threadId, this.#options.realtime).then((result) => {
        this.#realtime = result.returned
          ? { realtimeState: 'demoted', realtimePolicy: 'SCHED_OTHER', realtimePriority: 0, realtimeReason: reason }
          : { ...this.#realtime, realtimeState: 'demoted', realtimeReason: `${reason}, but ${result.reason}` };
        this.#logRealtime();
        this.#realtimeWork = undefined;
      });
    }
  }

  #logRealtime(): void {
    const { realtimeState, realtimePriority, realtimeReason } = this.#realtime;
    const threadId = this.#statsView[statIndex.threadId]!;
    if (realtimeState === 'applied') this.#logger.info('scan thread runs SCHED_FIFO', { priority: realtimePriority, threadId });
    else this.#logger.warn(`scan thread stays SCHED_OTHER at nice ${this.#data.threadNice}: ${realtimeReason}`, { threadId });
  }

  async #watchUrgent(): Promise<void> {
    let seen = Atomics.load(this.#control, control.urgent);
    while (this.#running) {
      const waited = Atomics.waitAsync(this.#control, control.urgent, seen);
      if (waited.async) await waited.value;
      seen = Atomics.load(this.#control, control.urgent);
      this.#drainUrgent();
    }
  }

  #drainUrgent(): void {
    const { onWrite, onAlarm } = this.#options;
    this.#alarms.drain((records, offset) => {
      if (records[offset] === swapMarker) this.#alarmGeneration = records[offset + 1]!;
      else onAlarm({ alarmIndex: records[offset]!, active: records[offset + 1] === 1, value: records[offset + 2]!, severity: records[offset + 3]!, generation: this.#alarmGeneration });
    });
    this.#writes.drain((records, offset) => onWrite(records[offset]!, records[offset + 1]!));
  }

  #drain(): void {
    this.#drainUrgent();
    const points: Point[] = [];
    this.#points.drain((records, offset) => {
      if (records[offset] === swapMarker) {
        const generation = records[offset + 1]!;
        this.#tags = this.#swapTags.get(generation) ?? this.#tags;
        for (const older of this.#swapTags.keys()) if (older <= generation) this.#swapTags.delete(older);
        return;
      }
      const definition = this.#tags[records[offset]!]!;
      const value = records[offset + 1]!;
      points.push({ tag: definition.tag, value: definition.kind === 'boolean' ? value !== 0 : value, quality: qualityFromCode(records[offset + 2]!) ?? 'bad', ts: records[offset + 3]! });
    });
    if (points.length > 0) this.#options.onPoints(points);
  }
}
