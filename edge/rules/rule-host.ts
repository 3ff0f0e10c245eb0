// The gateway's rule host: runs every compiled rule of a plan inside the scan's step, as a
// StepProgram. Per tick and rule it copies the inputs that changed into the rule's memory, runs
// the tick on its fuel budget, and turns what the rule produced into scan outputs: writes,
// points, alarm transitions (with their state points). A rule that faults gets its safe values
// written in the same tick and is reported through onFault; every other rule keeps running.
// Allocation-free per tick except on a fault.
import { ruleLimitDefaults, severityCodes } from '../../common/rule-abi.ts';
import { compileRule, type CompiledRule } from '../../common/rule-instance.ts';
import { checkModuleHash, manifestDeclarations } from '../../common/rule-manifest.ts';
import type { RuleFaultCode } from '../../common/rule-errors.ts';
import { RuleSupervisor, type RuleSink } from '../../common/rule-supervisor.ts';
import type { StepContext, StepProgram } from '../scan/step.ts';
import type { RuleBinding, RulePlan } from './rule-plan.ts';

export interface RuleFaultEvent {
  readonly rule: string;
  readonly code: RuleFaultCode;
  readonly message: string;
  readonly tick: number;
  readonly quarantined: boolean;
}

export interface RuleHostOptions {
  /** Called on every fault (the scan worker forwards it to the main thread's log). */
  readonly onFault?: (event: RuleFaultEvent) => void;
}

export interface RuleStats {
  readonly name: string;
  readonly ticks: number;
  readonly faults: number;
  readonly restarts: number;
  readonly fuelUsedMax: number;
  readonly lastFault: string;
  readonly quarantined: boolean;
}

const good = 0;

/** One rule's sink: maps the rule's own indices to the scan's, for the tick's context. */
class RuleEmitter implements RuleSink {
  context: StepContext | undefined;
  readonly #binding: RuleBinding;
  readonly #severities: Int32Array;
  readonly #onFault: ((event: RuleFaultEvent) => void) | undefined;

  constructor(binding: RuleBinding, severities: Int32Array, onFault: ((event: RuleFaultEvent) => void) | undefined) {
    this.#binding = binding;
    this.#severities = severities;
    this.#onFault = onFault;
  }

  write(output: number, value: number): void {
    this.context!.write(this.#binding.outputTags[output]!, value);
  }

  point(point: number, value: number, quality: number): void {
    this.context!.point(this.#binding.pointTags[point]!, value, quality, this.context!.nowMs);
  }

  alarm(alarm: number, active: boolean, value: number): void {
    const context = this.context!;
    context.alarm(this.#binding.alarmIndices[alarm]!, active, value, this.#severities[alarm]!);
    context.point(this.#binding.alarmStateTags[alarm]!, active ? 1 : 0, good, context.nowMs);
  }

  fault(code: RuleFaultCode, message: string, quarantined: boolean): void {
    this.#onFault?.({ rule: this.#binding.name, code, message, tick: this.context!.tick, quarantined });
  }
}

interface HostedRule {
  readonly binding: RuleBinding;
  readonly supervisor: RuleSupervisor;
  readonly emitter: RuleEmitter;
  readonly inputTags: Int32Array;
  /** Until the first step, every input is copied whether it changed or not. */
  synced: boolean;
}

export class RuleHost implements StepProgram {
  readonly #rules: HostedRule[];

  /** Compiles and starts every rule; throws RULE_* errors for a module or manifest that is not acceptable. */
  constructor(plan: RulePlan, options: RuleHostOptions = {}) {
    // Rules built from the same source share one compiled module (each still has its own instance).
    const modules = new Map<string, CompiledRule>();
    this.#rules = plan.rules.map((binding) => {
      const { manifest } = binding;
      let compiled = modules.get(manifest.module.sha256);
      if (compiled === undefined) {
        checkModuleHash(manifest, binding.wasm);
        compiled = compileRule(binding.wasm, { memoryPagesMax: plan.memoryPagesMax, moduleBytesMax: ruleLimitDefaults.moduleBytesMax });
        modules.set(manifest.module.sha256, compiled);
      }
      const supervisor = new RuleSupervisor({
        name: binding.name,
        compiled,
        tickMs: plan.tickMs,
        fuelPerTick: manifest.limits.fuelPerTick,
        startFuel: plan.startFuel,
        quarantine: plan.quarantine,
        params: binding.params,
        expected: manifestDeclarations(manifest),
      });
      const severities = Int32Array.from(manifest.alarms, (alarm) => severityCodes[alarm.severity]);
      return { binding, supervisor, emitter: new RuleEmitter(binding, severities, options.onFault), inputTags: Int32Array.from(binding.inputTags), synced: false };
    });
  }

  step(context: StepContext): void {
    const { values, qualities, changed, tick } = context;
    const rules = this.#rules;
    for (let index = 0; index < rules.length; index++) {
      const rule = rules[index]!;
      const supervisor = rule.supervisor;
      if (supervisor.quarantined) continue;
      supervisor.copyInputs(rule.inputTags, values, qualities, changed, !rule.synced, tick);
      rule.synced = true;
      rule.emitter.context = context;
      supervisor.run(tick, rule.emitter);
    }
  }

  /** Names of the hosted rules, in plan order. */
  get names(): string[] {
    return this.#rules.map((rule) => rule.binding.name);
  }

  /** Releases a quarantined rule (operator action); false if there is no such rule. */
  release(rule: number | string): boolean {
    const hosted = this.#find(rule);
    hosted?.supervisor.release();
    return hosted !== undefined;
  }

  /** An operator acknowledges alarm `alarm` (index or name) of `rule`. */
  acknowledge(rule: number | string, alarm: number | string): boolean {
    const hosted = this.#find(rule);
    if (hosted === undefined) return false;
    const index = typeof alarm === 'number' ? alarm : hosted.binding.manifest.alarms.findIndex((entry) => entry.name === alarm);
    if (index < 0 || index >= hosted.binding.manifest.alarms.length) return false;
    hosted.supervisor.acknowledge(index);
    return true;
  }

  stats(): RuleStats[] {
    return this.#rules.map(({ binding, supervisor }) => ({ name: binding.name, ...supervisor.stats, quarantined: supervisor.quarantined }));
  }

  #find(rule: number | string): HostedRule | undefined {
    return typeof rule === 'number' ? this.#rules[rule] : this.#rules.find((entry) => entry.binding.name === rule);
  }
}

/** Runs several step programs in order in one step (the built-in alarms, then the rules). */
export function composePrograms(...programs: StepProgram[]): StepProgram {
  return {
    step(context: StepContext): void {
      for (const program of programs) program.step(context);
    },
  };
}
