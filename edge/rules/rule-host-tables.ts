// The rule host's per-tick data, flat: one entry per input, output, point and alarm of all hosted
// rules in typed arrays, with each rule's entries in one range. A tick touches these few arrays
// and the rules' shared memory (the arena), not a dozen small objects per rule (which cost a cache miss each: see
// docs/performance.md, "Rules"). A tick's changed samples are staged in the rule memory and
// scattered into the input slots of the rules that read them by a small WebAssembly module
// (common/rule-input-scatter.ts); a rule that (re)starts gets every input replayed from the scan's
// snapshot (with the tick each tag last changed, which the scatter keeps) and the alarm states the
// host reported.
// What rules produce is read by the batch module (common/rule-batch.ts) from the emit entries
// written here: each output, point and alarm slot with its index in these tables.
import { slotLayout, severityCodes } from '../../common/rule-abi.ts';
import type { RuleArena } from '../../common/rule-arena.ts';
import { emitKind, RuleBatch } from '../../common/rule-batch.ts';
import { InputScatter, stagedWord } from '../../common/rule-input-scatter.ts';
import type { RuleInstance } from '../../common/rule-instance.ts';
import type { StepContext } from '../scan/step.ts';
import type { RuleBinding } from './rule-plan.ts';

const { input: inputSlot } = slotLayout;

/** The f64 index of an input slot's value in the arena (its changed tick is the next f64). */
function slotValueAt(slot: number): number {
  return (slot + inputSlot.value) / 8;
}

/** The byte index of an input slot's quality, from the f64 index of its value. */
function qualityAt(valueAt: number): number {
  return valueAt * 8 - inputSlot.value + inputSlot.quality;
}

function ranges(bindings: readonly RuleBinding[], count: (binding: RuleBinding) => number): Int32Array {
  const start = new Int32Array(bindings.length + 1);
  bindings.forEach((binding, index) => (start[index + 1] = start[index]! + count(binding)));
  return start;
}

export class HostTables {
  readonly inputStart: Int32Array;
  readonly inputTag: Int32Array;
  /** f64 index of the value in the arena; the changed tick follows it, and the quality byte follows that. */
  readonly inputValueAt: Int32Array;

  readonly outputStart: Int32Array;
  readonly outputTag: Int32Array;
  readonly pointStart: Int32Array;
  readonly pointTag: Int32Array;
  readonly alarmStart: Int32Array;
  readonly alarmIndex: Int32Array;
  readonly alarmStateTag: Int32Array;
  readonly alarmSeverity: Int32Array;
  /** Steps the rules and reads what they produced; it keeps the alarm states the host reported. Undefined without rules. */
  readonly batch: RuleBatch | undefined;
  /** Made at the first step, when the scan's tag count is known (it keeps it). */
  #scatter: InputScatter | undefined;
  /** By input: its place in the scatter's list of readers. */
  #readerPosition = new Int32Array(0);
  readonly #arena: RuleArena;

  /** `frameBytes`: each rule's frame size, for the batch's table of frames. */
  constructor(bindings: readonly RuleBinding[], arena: RuleArena, frameBytes: readonly number[] = []) {
    this.#arena = arena;
    this.inputStart = ranges(bindings, (binding) => binding.inputTags.length);
    this.outputStart = ranges(bindings, (binding) => binding.outputTags.length);
    this.pointStart = ranges(bindings, (binding) => binding.pointTags.length);
    this.alarmStart = ranges(bindings, (binding) => binding.alarmIndices.length);
    this.inputTag = Int32Array.from(bindings.flatMap((binding) => binding.inputTags));
    this.outputTag = Int32Array.from(bindings.flatMap((binding) => binding.outputTags));
    this.pointTag = Int32Array.from(bindings.flatMap((binding) => binding.pointTags));
    this.alarmIndex = Int32Array.from(bindings.flatMap((binding) => binding.alarmIndices));
    this.alarmStateTag = Int32Array.from(bindings.flatMap((binding) => binding.alarmStateTags));
    this.alarmSeverity = Int32Array.from(bindings.flatMap((binding) => binding.manifest.alarms.map((alarm) => severityCodes[alarm.severity])));
    const inputs = this.inputTag.length;
    this.inputValueAt = new Int32Array(inputs);
    const alarms = this.alarmIndex.length;
    this.batch = bindings.length === 0 ? undefined : new RuleBatch(arena, bindings.length, this.outputTag.length + this.pointTag.length + alarms, alarms, frameBytes);
    for (let rule = 0; rule < bindings.length; rule++) this.batch!.setEntries(rule, this.#firstEntry(rule), this.#firstEntry(rule + 1));
  }

  /** A rule's emit entries: its outputs, then its points, then its alarms. */
  #firstEntry(rule: number): number {
    return this.outputStart[rule]! + this.pointStart[rule]! + this.alarmStart[rule]!;
  }

  /** 1 if the host has reported alarm `at` (of all hosted alarms) active. */
  reported(at: number): number {
    return this.batch!.reported(at);
  }

  setReported(at: number, active: number): void {
    this.batch!.setReported(at, active);
  }

  /**
   * Locates rule `rule`'s slots in a new instance and replays into it the alarm states the host
   * reported and every input: from `snapshot` once the host has stepped (a restart), else as never
   * sampled (value 0, bad, changed at tick -1; the host's first step then copies every input).
   */
  locate(rule: number, instance: RuleInstance, snapshot?: StepContext): void {
    const { alarm } = slotLayout;
    const { slots } = instance;
    const { f64, u8 } = this.#arena;
    const scatter = this.#scatter;
    for (let at = this.inputStart[rule]!, own = 0; at < this.inputStart[rule + 1]!; at++, own++) {
      const valueAt = slotValueAt(slots.inputs[own]!);
      this.inputValueAt[at] = valueAt;
      scatter?.setReader(this.#readerPosition[at]!, valueAt);
      const tag = this.inputTag[at]!;
      const sampled = snapshot !== undefined && scatter !== undefined && tag < scatter.layout.tags;
      const raw = sampled ? snapshot.values[tag]! : 0;
      f64[valueAt] = raw !== raw ? NaN : raw;
      f64[valueAt + 1] = sampled ? scatter.changedTick(tag) : -1;
      u8[qualityAt(valueAt)] = sampled ? snapshot.qualities[tag]! : 2;
    }
    const batch = this.batch!;
    let entry = this.#firstEntry(rule);
    for (let at = this.outputStart[rule]!, own = 0; at < this.outputStart[rule + 1]!; at++, own++) batch.setEntry(entry++, emitKind.output, slots.outputs[own]!, at);
    for (let at = this.pointStart[rule]!, own = 0; at < this.pointStart[rule + 1]!; at++, own++) batch.setEntry(entry++, emitKind.point, slots.points[own]!, at);
    for (let at = this.alarmStart[rule]!, own = 0; at < this.alarmStart[rule + 1]!; at++, own++) {
      batch.setEntry(entry++, emitKind.alarm, slots.alarms[own]!, at);
      if (batch.reported(at) === 1) u8[slots.alarms[own]! + alarm.active] = 1;
    }
  }

  /**
   * The tick's changed tags, from the scan's list: staged in one sequential pass (the value, and
   * the tag with its quality in one word), then scattered in WebAssembly into the slots of the
   * rules that read them. A rule that is down gets them too: its region stays its own until it
   * restarts, and a restart clears it and replays from the snapshot.
   */
  copyChanged(context: StepContext): void {
    const { changedTags, changedCount, values, qualities, tick } = context;
    if (this.#scatter?.layout.tags !== values.length) this.#watch(values.length);
    const scatter = this.#scatter!;
    const { f64, i32 } = this.#arena;
    let at = scatter.stageF64;
    for (let k = 0; k < changedCount; k++, at += 2) {
      const tag = changedTags[k]!;
      f64[at] = values[tag]!;
      i32[at * 2 + 2] = stagedWord(tag, qualities[tag]!);
    }
    scatter.copy(changedCount, tick);
  }

  /** Sizes the scatter to the scan's tag table (once: the table keeps its size) and lists every input's slot in it. */
  #watch(tagCount: number): void {
    if (this.#scatter !== undefined) this.#arena.release(this.#scatter.area);
    const scatter = new InputScatter(this.#arena, tagCount, this.inputTag);
    this.#scatter = scatter;
    this.#readerPosition = scatter.group(this.inputTag);
    this.inputValueAt.forEach((valueAt, input) => scatter.setReader(this.#readerPosition[input]!, valueAt));
  }

  /** Gives back the host areas of the rule memory (at retire; the host does not step again). */
  release(): void {
    if (this.batch !== undefined) this.#arena.release(this.batch.area);
    if (this.#scatter !== undefined) this.#arena.release(this.#scatter.area);
  }

  /** Input `input` has a sample (NaN canonicalised here), in the tick `tick`. */
  write(input: number, raw: number, quality: number, tick: number): void {
    const valueAt = this.inputValueAt[input]!;
    const arena = this.#arena;
    arena.f64[valueAt] = raw !== raw ? NaN : raw;
    arena.f64[valueAt + 1] = tick;
    arena.u8[qualityAt(valueAt)] = quality;
  }

  /** The host's first step: every input of every rule is new (a tag's changed tick is this one). */
  copyAll(context: StepContext): void {
    const { values, qualities, tick } = context;
    if (this.#scatter?.layout.tags !== values.length) this.#watch(values.length);
    const scatter = this.#scatter!;
    const { inputTag } = this;
    for (let input = 0; input < inputTag.length; input++) {
      const tag = inputTag[input]!;
      if (tag >= values.length) continue;
      scatter.setChangedTick(tag, tick);
      this.write(input, values[tag]!, qualities[tag]!, tick);
    }
  }
}
