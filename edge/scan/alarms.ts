// Built-in alarms of the gateway config, run inside the scan's step until the rule engine takes
// over the same step interface: a threshold with hysteresis and an on-delay counted in ticks, and
// on raise a list of writes (stop the line) issued in the same tick. Pure and allocation-free per
// tick: all state lives in typed arrays sized at construction.
import { assert } from '../../common/assert.ts';
import { qualityCode } from '../../common/point.ts';
import type { StepContext, StepProgram } from './step.ts';

export interface AlarmAction {
  /** Index of the writable tag in the tag table. */
  readonly tagIndex: number;
  readonly value: number;
}

export interface AlarmDefinition {
  readonly id: string;
  readonly tagIndex: number;
  /** 'above': raise when value > limit; 'below': raise when value < limit. */
  readonly direction: 'above' | 'below';
  readonly limit: number;
  /** The value must come back past limit ∓ hysteresis before the alarm clears. */
  readonly hysteresis: number;
  /** Ticks the condition must hold before the alarm raises (0 = the same tick). */
  readonly onDelayTicks: number;
  readonly severity: number;
  readonly actions: readonly AlarmAction[];
  /** Tag index of the alarm's own state point (published true/false on every change). */
  readonly stateTagIndex: number;
}

const good = qualityCode('good');

export class AlarmProgram implements StepProgram {
  readonly definitions: readonly AlarmDefinition[];
  readonly #active: Uint8Array;
  readonly #pendingTicks: Int32Array;

  constructor(definitions: readonly AlarmDefinition[]) {
    for (const definition of definitions) assert(definition.onDelayTicks >= 0 && definition.hysteresis >= 0, `alarm ${definition.id} has a negative delay or hysteresis`);
    this.definitions = definitions;
    this.#active = new Uint8Array(definitions.length);
    this.#pendingTicks = new Int32Array(definitions.length);
  }

  step(context: StepContext): void {
    const { values, qualities } = context;
    for (let index = 0; index < this.definitions.length; index++) {
      const alarm = this.definitions[index]!;
      const value = values[alarm.tagIndex]!;
      // Rules never act on frozen or failed values: a tag that is not good holds the alarm's
      // state as it is (neither raises nor clears) until the value is trustworthy again.
      if (qualities[alarm.tagIndex] !== good) {
        this.#pendingTicks[index] = 0;
        continue;
      }
      const beyond = alarm.direction === 'above' ? value > alarm.limit : value < alarm.limit;
      if (this.#active[index] === 0) {
        if (!beyond) {
          this.#pendingTicks[index] = 0;
          continue;
        }
        if (this.#pendingTicks[index]! < alarm.onDelayTicks) {
          this.#pendingTicks[index]!++;
          continue;
        }
        this.#active[index] = 1;
        this.#pendingTicks[index] = 0;
        context.alarm(index, true, value, alarm.severity);
        context.point(alarm.stateTagIndex, 1, good, context.nowMs);
        for (const action of alarm.actions) context.write(action.tagIndex, action.value);
      } else {
        const cleared = alarm.direction === 'above' ? value <= alarm.limit - alarm.hysteresis : value >= alarm.limit + alarm.hysteresis;
        if (!cleared) continue;
        this.#active[index] = 0;
        context.alarm(index, false, value, alarm.severity);
        context.point(alarm.stateTagIndex, 0, good, context.nowMs);
      }
    }
  }

  isActive(index: number): boolean {
    return this.#active[index] === 1;
  }
}
