// The main thread's side of the scan: allocates the shared tag table and rings, starts the scan
// worker, and drains what it produces — writes and alarms at once when the worker signals them
// (local actions must not wait for a timer), points every drain interval. Drivers write into
// `tags`; the gateway wires writes to drivers and points to the publisher.
import { Worker } from 'node:worker_threads';
import type { Point } from '../../common/point.ts';
import { qualityFromCode } from '../../common/point.ts';
import { Float64Ring } from './ring.ts';
import { allocateStats, readStats, type ScanTimingStats } from './scan-stats.ts';
import { control, type ScanWorkerData } from './scan-protocol.ts';
import { SharedTagWriter, allocateSharedTags } from './shared-tags.ts';
import type { TraceHeader } from './trace.ts';

export interface AlarmTransition {
  readonly alarmIndex: number;
  readonly active: boolean;
  readonly value: number;
  readonly severity: number;
}

export interface ScanHostOptions {
  readonly header: TraceHeader;
  readonly tickMs: number;
  readonly spinUs?: number;
  readonly threadNice?: number;
  readonly pointsRingMax?: number;
  readonly writesRingMax?: number;
  readonly drainIntervalMs?: number;
  /** Receives the raw trace bytes (header first) when recording. */
  readonly onTrace?: (chunk: Uint8Array) => void;
  readonly onPoints: (points: Point[]) => void;
  readonly onWrite: (tagIndex: number, value: number) => void;
  readonly onAlarm: (transition: AlarmTransition) => void;
}

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

  constructor(options: ScanHostOptions) {
    this.#options = options;
    const tags = allocateSharedTags(options.header.tags.length);
    this.tags = new SharedTagWriter(tags);
    this.#data = {
      control: new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT),
      stats: allocateStats(),
      tags,
      points: Float64Ring.allocate(4, options.pointsRingMax ?? 65_536),
      writes: Float64Ring.allocate(4, options.writesRingMax ?? 1024),
      alarms: Float64Ring.allocate(4, 1024),
      tickMs: options.tickMs,
      spinUs: options.spinUs ?? Math.min(300, options.tickMs * 200),
      threadNice: options.threadNice ?? -10,
      record: options.onTrace !== undefined,
      header: options.header,
    };
    this.#control = new Int32Array(this.#data.control);
    this.#points = new Float64Ring(this.#data.points);
    this.#writes = new Float64Ring(this.#data.writes);
    this.#alarms = new Float64Ring(this.#data.alarms);
  }

  start(): void {
    if (this.#worker !== undefined) return;
    this.#running = true;
    const worker = new Worker(new URL('./scan-worker-entry.mjs', import.meta.url), { workerData: this.#data });
    this.#worker = worker;
    let resolveStopped: () => void = () => undefined;
    this.#stopped = new Promise((resolve) => (resolveStopped = resolve));
    worker.on('message', (message: { kind: string; chunk?: Uint8Array }) => {
      if (message.kind === 'trace' && message.chunk !== undefined) this.#options.onTrace?.(message.chunk);
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
    this.#drainTimer = setInterval(() => this.#drain(), this.#options.drainIntervalMs ?? 10);
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
    this.#worker = undefined;
  }

  stats(): ScanTimingStats & { pointsQueued: number } {
    return { ...readStats(this.#data.stats), pointsQueued: this.#points.length };
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
    this.#alarms.drain((records, offset) => onAlarm({ alarmIndex: records[offset]!, active: records[offset + 1] === 1, value: records[offset + 2]!, severity: records[offset + 3]! }));
    this.#writes.drain((records, offset) => onWrite(records[offset]!, records[offset + 1]!));
  }

  #drain(): void {
    this.#drainUrgent();
    const tags = this.#options.header.tags;
    const points: Point[] = [];
    this.#points.drain((records, offset) => {
      const definition = tags[records[offset]!]!;
      const value = records[offset + 1]!;
      points.push({ tag: definition.tag, value: definition.kind === 'boolean' ? value !== 0 : value, quality: qualityFromCode(records[offset + 2]!) ?? 'bad', ts: records[offset + 3]! });
    });
    if (points.length > 0) this.#options.onPoints(points);
  }
}
