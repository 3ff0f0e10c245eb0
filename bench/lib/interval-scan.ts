// The reference for bench/scan-lateness.bench.ts: the same scan step (collect from a shared tag
// table, ageing, the same built-in alarms, every input published) run by a plain setInterval on
// the main thread. Its lateness is measured as the scan worker measures its own: against absolute
// deadlines start + k·period, with missed deadlines skipped and counted as overruns. Samples are
// kept exactly (the scan's histogram stops at 20 ms, which setInterval passes under load). A
// callback that fires before its deadline (libuv keeps whole-millisecond time) counts as on time
// and is counted as early.
import { ScanCore, notAgedOf, type ScanOutputs } from '../../edge/scan/scan-core.ts';
import { AlarmProgram } from '../../edge/scan/alarms.ts';
import { SharedTagReader, SharedTagWriter, allocateSharedTags } from '../../edge/scan/shared-tags.ts';
import type { TraceHeader } from '../../edge/scan/trace.ts';
import { summarize, type Summary } from './stats.ts';

export class IntervalScan {
  readonly tags: SharedTagWriter;
  readonly #reader: SharedTagReader;
  readonly #core: ScanCore;
  readonly #latenessMs: number[] = [];
  readonly #samplesMax: number;
  readonly #tickMs: number;
  #timer: NodeJS.Timeout | undefined;
  #deadline = 0;
  #tick = 0;
  #overruns = 0;
  #early = 0;
  outputs = 0;

  constructor(header: TraceHeader, tickMs: number, samplesMax: number) {
    const buffers = allocateSharedTags(header.tags.length);
    this.tags = new SharedTagWriter(buffers);
    this.#reader = new SharedTagReader(buffers);
    this.#tickMs = tickMs;
    this.#samplesMax = samplesMax;
    const count = (): void => void this.outputs++;
    const outputs: ScanOutputs = { point: count, write: count, alarm: count };
    this.#core = new ScanCore({
      tagCount: header.tags.length,
      program: new AlarmProgram(header.alarms),
      outputs,
      publishInputs: header.publishInputs,
      ...(header.staleUncertainMs !== undefined && { staleUncertainMs: header.staleUncertainMs }),
      ...(header.staleBadMs !== undefined && { staleBadMs: header.staleBadMs }),
      notAged: notAgedOf(header),
    });
  }

  start(): void {
    this.#deadline = performance.now() + this.#tickMs;
    this.#timer = setInterval(() => this.#step(), this.#tickMs);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  stats(): { lateness: Summary; ticks: number; overruns: number; early: number } {
    return { lateness: summarize(this.#latenessMs), ticks: this.#tick, overruns: this.#overruns, early: this.#early };
  }

  #step(): void {
    const latenessMs = performance.now() - this.#deadline;
    if (latenessMs < 0) this.#early++;
    if (this.#latenessMs.length < this.#samplesMax) this.#latenessMs.push(Math.max(0, latenessMs));
    this.#core.begin(this.#tick, Date.now());
    this.#reader.collect(this.#core.input);
    this.#core.run();
    this.#tick++;
    this.#deadline += this.#tickMs;
    const after = performance.now();
    if (after > this.#deadline) {
      const missed = Math.floor((after - this.#deadline) / this.#tickMs) + 1;
      this.#overruns += missed;
      this.#deadline += missed * this.#tickMs;
    }
  }
}
