// The scan's step interface: one synchronous, I/O-free call per tick over a snapshot of the tag
// table, emitting points, writes and alarm transitions through the context. Built-in alarms
// (alarms.ts) implement it today; the WebAssembly rule host of the rule engine implements the
// same interface. Emitters write into preallocated rings, so a step allocates nothing.

export interface StepContext {
  readonly tick: number;
  readonly nowMs: number;
  /** Snapshot for this tick, indexed by tag: engineering value, quality code (0 good, 1 uncertain, 2 bad), source ts. */
  readonly values: Float64Array;
  readonly qualities: Uint8Array;
  readonly sourceTsMs: Float64Array;
  /** 1 where a driver delivered a new sample (or quality) since the previous tick. */
  readonly changed: Uint8Array;
  /** The same tags as a list, in arrival order: changedTags[0 .. changedCount) (no duplicates). */
  readonly changedTags: Int32Array;
  readonly changedCount: number;
  point(tagIndex: number, value: number, quality: number, tsMs: number): void;
  write(tagIndex: number, value: number): void;
  alarm(alarmIndex: number, active: boolean, value: number, severity: number): void;
}

export interface StepProgram {
  step(context: StepContext): void;
}
