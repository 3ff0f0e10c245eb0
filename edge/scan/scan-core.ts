// The deterministic heart of the scan, shared by the live scan worker and by replay: it holds the
// tick's snapshot, takes collected inputs, runs the step program and sends every output through
// one ScanOutputs sink. Given the same inputs per tick it produces the same outputs, in the same
// order, on every run. It allocates nothing per tick.
import type { StepContext, StepProgram } from './step.ts';

export interface ScanOutputs {
  point(tick: number, tagIndex: number, value: number, quality: number, tsMs: number): void;
  write(tick: number, tagIndex: number, value: number): void;
  alarm(tick: number, alarmIndex: number, active: boolean, value: number, severity: number): void;
}

export interface ScanCoreOptions {
  readonly tagCount: number;
  readonly program: StepProgram;
  readonly outputs: ScanOutputs;
  /** Publish every collected input sample as a point (true until rules filter them). */
  readonly publishInputs: boolean;
  /** A good tag whose source timestamp is older than this turns uncertain; older than bad, bad. */
  readonly staleUncertainMs?: number;
  readonly staleBadMs?: number;
  /** Tags exempt from staleness (1 = exempt), by index; absent = none. */
  readonly notAged?: Uint8Array;
  /** Called for every collected input, before the step (the trace recorder listens here). */
  readonly onInput?: (tick: number, index: number, value: number, quality: number, tsMs: number) => void;
}

export class ScanCore {
  readonly values: Float64Array;
  readonly qualities: Uint8Array;
  readonly sourceTsMs: Float64Array;
  readonly changed: Uint8Array;
  readonly #changedList: Int32Array;
  #changedCount = 0;
  readonly #options: ScanCoreOptions;
  readonly #context: StepContext & { tick: number; nowMs: number; changedCount: number };

  constructor(options: ScanCoreOptions) {
    const size = options.tagCount;
    this.#options = options;
    this.values = new Float64Array(size);
    this.qualities = new Uint8Array(size).fill(2);
    this.sourceTsMs = new Float64Array(size);
    this.changed = new Uint8Array(size);
    this.#changedList = new Int32Array(size);
    const outputs = options.outputs;
    const context = {
      tick: 0,
      nowMs: 0,
      values: this.values,
      qualities: this.qualities,
      sourceTsMs: this.sourceTsMs,
      changed: this.changed,
      changedTags: this.#changedList,
      changedCount: 0,
      point: (tagIndex: number, value: number, quality: number, tsMs: number) => outputs.point(context.tick, tagIndex, value, quality, tsMs),
      write: (tagIndex: number, value: number) => outputs.write(context.tick, tagIndex, value),
      alarm: (alarmIndex: number, active: boolean, value: number, severity: number) => outputs.alarm(context.tick, alarmIndex, active, value, severity),
    };
    this.#context = context;
  }

  /** Collect phase: one sample from a driver (or from a trace). */
  readonly input = (index: number, value: number, quality: number, tsMs: number): void => {
    this.#options.onInput?.(this.#context.tick, index, value, quality, tsMs);
    this.values[index] = value;
    this.qualities[index] = quality;
    this.sourceTsMs[index] = tsMs;
    if (this.changed[index] === 0) {
      this.changed[index] = 1;
      this.#changedList[this.#changedCount++] = index;
    }
  };

  /** Starts a tick: inputs collected after this belong to it. */
  begin(tick: number, nowMs: number): void {
    this.#context.tick = tick;
    this.#context.nowMs = nowMs;
  }

  /** Step and apply in one call (replay and tests); the live worker times the two phases apart. */
  run(): void {
    this.step();
    this.apply();
  }

  /** Step phase: ages stale tags and runs the program, whose outputs go straight to the sink. */
  step(): void {
    this.#ageStaleTags(this.#context.nowMs);
    this.#context.changedCount = this.#changedCount;
    this.#options.program.step(this.#context);
  }

  /** Apply phase: publishes this tick's collected inputs as points and resets the changed set. */
  apply(): void {
    const context = this.#context;
    const outputs = this.#options.outputs;
    for (let i = 0; i < this.#changedCount; i++) {
      const index = this.#changedList[i]!;
      if (this.#options.publishInputs) outputs.point(context.tick, index, this.values[index]!, this.qualities[index]!, this.sourceTsMs[index]!);
      this.changed[index] = 0;
    }
    this.#changedCount = 0;
  }

  /** Rules never act on silently frozen values: a tag its driver stopped refreshing loses quality. */
  #ageStaleTags(nowMs: number): void {
    const uncertainMs = this.#options.staleUncertainMs;
    const badMs = this.#options.staleBadMs;
    if (uncertainMs === undefined && badMs === undefined) return;
    for (let index = 0; index < this.qualities.length; index++) {
      const quality = this.qualities[index]!;
      if (quality === 2 || this.#options.notAged?.[index] === 1) continue;
      const ageMs = nowMs - this.sourceTsMs[index]!;
      const aged = badMs !== undefined && ageMs > badMs ? 2 : uncertainMs !== undefined && ageMs > uncertainMs ? 1 : quality;
      if (aged <= quality) continue;
      this.qualities[index] = aged;
      if (this.changed[index] === 0) {
        this.changed[index] = 1;
        this.#changedList[this.#changedCount++] = index;
      }
    }
  }
}

/** Sends every output to both sinks, in order (the live scan feeds its rings and the recorder). */
export function teeOutputs(first: ScanOutputs, second: ScanOutputs): ScanOutputs {
  return {
    point: (tick, tagIndex, value, quality, tsMs) => {
      first.point(tick, tagIndex, value, quality, tsMs);
      second.point(tick, tagIndex, value, quality, tsMs);
    },
    write: (tick, tagIndex, value) => {
      first.write(tick, tagIndex, value);
      second.write(tick, tagIndex, value);
    },
    alarm: (tick, alarmIndex, active, value, severity) => {
      first.alarm(tick, alarmIndex, active, value, severity);
      second.alarm(tick, alarmIndex, active, value, severity);
    },
  };
}

/** The staleness exemptions of a trace header's tags, as the core's lookup array. */
export function notAgedOf(header: { readonly tags: readonly { readonly aged?: boolean }[] }): Uint8Array {
  return Uint8Array.from(header.tags, (tag) => (tag.aged === false ? 1 : 0));
}
