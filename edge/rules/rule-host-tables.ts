// The rule host's per-tick data, flat: one entry per input, output, point and alarm of all hosted
// rules in typed arrays, with each rule's entries in one range. A tick touches these few arrays
// and the rules' shared memory (the arena), not a dozen small objects per rule (which cost a cache miss each: see
// docs/performance.md, "Rules"). Inputs are grouped by the tag they read, so copying a tick's
// changes is one pass over the watched tags; the host's own copy of every input and alarm state
// is replayed into a rule's instance when it (re)starts.
import { slotLayout, severityCodes } from '../../common/rule-abi.ts';
import type { RuleArena } from '../../common/rule-arena.ts';
import type { RuleInstance } from '../../common/rule-instance.ts';
import type { StepContext } from '../scan/step.ts';
import type { RuleBinding } from './rule-plan.ts';

const good = 0;
const noReader = -1;
const manyReaders = -2;

function ranges(bindings: readonly RuleBinding[], count: (binding: RuleBinding) => number): Int32Array {
  const start = new Int32Array(bindings.length + 1);
  bindings.forEach((binding, index) => (start[index + 1] = start[index]! + count(binding)));
  return start;
}

export class HostTables {
  readonly inputStart: Int32Array;
  readonly inputRule: Int32Array;
  readonly inputTag: Int32Array;
  /** f64 index of the value (the changed tick follows it) and byte index of the quality in the arena. */
  readonly inputValueAt: Int32Array;
  readonly inputQualityAt: Int32Array;
  readonly mirrorValue: Float64Array;
  readonly mirrorTick: Float64Array;
  readonly mirrorQuality: Uint8Array;
  /** Distinct tags read by any rule, ascending; inputs of watched tag w: readers[readerStart[w] .. readerStart[w + 1]). */
  readonly watched: Int32Array;
  readonly readerStart: Int32Array;
  readonly readers: Int32Array;

  readonly outputStart: Int32Array;
  readonly outputTag: Int32Array;
  readonly outputValueAt: Int32Array;
  readonly outputDirtyAt: Int32Array;
  readonly pointStart: Int32Array;
  readonly pointTag: Int32Array;
  readonly pointValueAt: Int32Array;
  readonly pointQualityAt: Int32Array;
  readonly pointPublishAt: Int32Array;
  readonly alarmStart: Int32Array;
  readonly alarmIndex: Int32Array;
  readonly alarmStateTag: Int32Array;
  readonly alarmSeverity: Int32Array;
  readonly alarmValueAt: Int32Array;
  readonly alarmActiveAt: Int32Array;
  /** The alarm states the host has reported (1 active), replayed into a restarted instance. */
  readonly alarmActive: Uint8Array;
  /** 1 for a rule whose instance is up (its region takes inputs), 0 while it is down. */
  readonly running: Uint8Array;
  /** Maps a tag to its watched entry (-1: no rule reads it), sized to the scan's tag table. */
  #watchIndex = new Int32Array(0);
  /** By tag: the one input that reads it, or noReader, or manyReaders. */
  #soleReader = new Int32Array(0);
  readonly #arena: RuleArena;

  constructor(bindings: readonly RuleBinding[], arena: RuleArena) {
    this.#arena = arena;
    this.running = new Uint8Array(bindings.length);
    this.inputStart = ranges(bindings, (binding) => binding.inputTags.length);
    this.outputStart = ranges(bindings, (binding) => binding.outputTags.length);
    this.pointStart = ranges(bindings, (binding) => binding.pointTags.length);
    this.alarmStart = ranges(bindings, (binding) => binding.alarmIndices.length);
    this.inputTag = Int32Array.from(bindings.flatMap((binding) => binding.inputTags));
    this.inputRule = Int32Array.from(bindings.flatMap((binding, index) => binding.inputTags.map(() => index)));
    this.outputTag = Int32Array.from(bindings.flatMap((binding) => binding.outputTags));
    this.pointTag = Int32Array.from(bindings.flatMap((binding) => binding.pointTags));
    this.alarmIndex = Int32Array.from(bindings.flatMap((binding) => binding.alarmIndices));
    this.alarmStateTag = Int32Array.from(bindings.flatMap((binding) => binding.alarmStateTags));
    this.alarmSeverity = Int32Array.from(bindings.flatMap((binding) => binding.manifest.alarms.map((alarm) => severityCodes[alarm.severity])));
    const inputs = this.inputTag.length;
    this.inputValueAt = new Int32Array(inputs);
    this.inputQualityAt = new Int32Array(inputs);
    this.mirrorValue = new Float64Array(inputs);
    this.mirrorTick = new Float64Array(inputs).fill(-1);
    this.mirrorQuality = new Uint8Array(inputs).fill(2);
    this.outputValueAt = new Int32Array(this.outputTag.length);
    this.outputDirtyAt = new Int32Array(this.outputTag.length);
    this.pointValueAt = new Int32Array(this.pointTag.length);
    this.pointQualityAt = new Int32Array(this.pointTag.length);
    this.pointPublishAt = new Int32Array(this.pointTag.length);
    this.alarmValueAt = new Int32Array(this.alarmIndex.length);
    this.alarmActiveAt = new Int32Array(this.alarmIndex.length);
    this.alarmActive = new Uint8Array(this.alarmIndex.length);
    const byTag = new Map<number, number[]>();
    this.inputTag.forEach((tag, input) => byTag.set(tag, [...(byTag.get(tag) ?? []), input]));
    this.watched = Int32Array.from([...byTag.keys()].sort((a, b) => a - b));
    this.readerStart = new Int32Array(this.watched.length + 1);
    this.readers = new Int32Array(inputs);
    let next = 0;
    this.watched.forEach((tag, index) => {
      for (const input of byTag.get(tag)!) this.readers[next++] = input;
      this.readerStart[index + 1] = next;
    });
  }

  /** Locates rule `rule`'s slots in a new instance, replays the host's inputs and alarm states into it, and marks it running. */
  locate(rule: number, instance: RuleInstance): void {
    this.running[rule] = 1;
    const { input, output, point, alarm } = slotLayout;
    const { slots } = instance;
    const { f64, u8 } = this.#arena;
    for (let at = this.inputStart[rule]!, own = 0; at < this.inputStart[rule + 1]!; at++, own++) {
      const slot = slots.inputs[own]!;
      this.inputValueAt[at] = (slot + input.value) / 8;
      this.inputQualityAt[at] = slot + input.quality;
      f64[this.inputValueAt[at]!] = this.mirrorValue[at]!;
      f64[this.inputValueAt[at]! + 1] = this.mirrorTick[at]!;
      u8[this.inputQualityAt[at]!] = this.mirrorQuality[at]!;
    }
    for (let at = this.outputStart[rule]!, own = 0; at < this.outputStart[rule + 1]!; at++, own++) {
      this.outputValueAt[at] = (slots.outputs[own]! + output.value) / 8;
      this.outputDirtyAt[at] = slots.outputs[own]! + output.dirty;
    }
    for (let at = this.pointStart[rule]!, own = 0; at < this.pointStart[rule + 1]!; at++, own++) {
      this.pointValueAt[at] = (slots.points[own]! + point.value) / 8;
      this.pointQualityAt[at] = slots.points[own]! + point.quality;
      this.pointPublishAt[at] = slots.points[own]! + point.publish;
    }
    for (let at = this.alarmStart[rule]!, own = 0; at < this.alarmStart[rule + 1]!; at++, own++) {
      this.alarmValueAt[at] = (slots.alarms[own]! + alarm.value) / 8;
      this.alarmActiveAt[at] = slots.alarms[own]! + alarm.active;
      if (this.alarmActive[at] === 1) u8[this.alarmActiveAt[at]!] = 1;
    }
  }

  /**
   * The tick's changed tags, from the scan's list: each sample into the host's copy and into the
   * regions of the rules that read it and are running. One loop over typed arrays, with no call
   * per sample (a double passed to a call that is not inlined is boxed: an allocation each).
   */
  copyChanged(context: StepContext): void {
    const { changedTags, changedCount, values, qualities, tick } = context;
    if (this.#soleReader.length !== values.length) this.#watch(values.length);
    const soleReader = this.#soleReader;
    const { inputRule, running, mirrorValue, mirrorTick, mirrorQuality, inputValueAt, inputQualityAt } = this;
    const { f64, u8 } = this.#arena;
    for (let at = 0; at < changedCount; at++) {
      const tag = changedTags[at]!;
      const input = soleReader[tag]!;
      if (input < 0) {
        if (input === manyReaders) this.#copyToReaders(tag, values[tag]!, qualities[tag]!, tick);
        continue;
      }
      // the common case, straight-line: one rule reads this tag
      const raw = values[tag]!;
      const value = raw !== raw ? NaN : raw;
      const quality = qualities[tag]!;
      mirrorValue[input] = value;
      mirrorTick[input] = tick;
      mirrorQuality[input] = quality;
      if (running[inputRule[input]!] === 0) continue;
      const valueAt = inputValueAt[input]!;
      f64[valueAt] = value;
      f64[valueAt + 1] = tick;
      u8[inputQualityAt[input]!] = quality;
    }
  }

  /** A tag several inputs read (the slow path: a loop per tag costs more than the copy itself). */
  #copyToReaders(tag: number, raw: number, quality: number, tick: number): void {
    const watched = this.#watchIndex[tag]!;
    const value = raw !== raw ? NaN : raw;
    for (let reader = this.readerStart[watched]!; reader < this.readerStart[watched + 1]!; reader++) this.write(this.readers[reader]!, value, quality, tick);
  }

  /** Indexes the watched tags by tag (once: the scan's tag table keeps its size). */
  #watch(tagCount: number): void {
    this.#watchIndex = new Int32Array(tagCount).fill(-1);
    this.#soleReader = new Int32Array(tagCount).fill(noReader);
    this.watched.forEach((tag, index) => {
      if (tag >= tagCount) return;
      this.#watchIndex[tag] = index;
      const readers = this.readerStart[index + 1]! - this.readerStart[index]!;
      this.#soleReader[tag] = readers === 1 ? this.readers[this.readerStart[index]!]! : manyReaders;
    });
  }

  /** Input `input` has a new sample: into the host's copy, and into the rule's region unless the rule is down. */
  write(input: number, value: number, quality: number, tick: number): void {
    this.mirrorValue[input] = value;
    this.mirrorTick[input] = tick;
    this.mirrorQuality[input] = quality;
    if (this.running[this.inputRule[input]!] === 0) return;
    const valueAt = this.inputValueAt[input]!;
    const arena = this.#arena;
    const f64 = arena.f64;
    f64[valueAt] = value;
    f64[valueAt + 1] = tick;
    arena.u8[this.inputQualityAt[input]!] = quality;
  }

  /** After a tick in which rule `rule` reported events: its writes, points and alarm transitions, NaN canonicalised. */
  emit(rule: number, context: StepContext): void {
    const { f64, u8 } = this.#arena;
    for (let at = this.outputStart[rule]!; at < this.outputStart[rule + 1]!; at++) {
      if (u8[this.outputDirtyAt[at]!] === 0) continue;
      u8[this.outputDirtyAt[at]!] = 0;
      const value = f64[this.outputValueAt[at]!]!;
      context.write(this.outputTag[at]!, value !== value ? NaN : value);
    }
    for (let at = this.pointStart[rule]!; at < this.pointStart[rule + 1]!; at++) {
      if (u8[this.pointPublishAt[at]!] === 0) continue;
      u8[this.pointPublishAt[at]!] = 0;
      const value = f64[this.pointValueAt[at]!]!;
      context.point(this.pointTag[at]!, value !== value ? NaN : value, Math.min(u8[this.pointQualityAt[at]!]!, 2), context.nowMs);
    }
    for (let at = this.alarmStart[rule]!; at < this.alarmStart[rule + 1]!; at++) {
      const active = u8[this.alarmActiveAt[at]!] === 0 ? 0 : 1;
      if (active === this.alarmActive[at]) continue;
      this.alarmActive[at] = active;
      const raw = f64[this.alarmValueAt[at]!]!;
      context.alarm(this.alarmIndex[at]!, active === 1, raw !== raw ? NaN : raw, this.alarmSeverity[at]!);
      context.point(this.alarmStateTag[at]!, active, good, context.nowMs);
    }
  }
}
