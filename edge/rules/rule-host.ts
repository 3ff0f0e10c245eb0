// The gateway's rule host: runs every compiled rule of a plan inside the scan's step, as a
// StepProgram. Every rule runs in its own region of one shared rule memory (common/rule-arena.ts,
// ADR 0010), which a replacing host inherits, so a rule carried across a swap keeps its instance.
// Per tick it copies each rule's changed inputs into the rule's region, runs every
// rule on its own fuel budget in one call through the batch module (common/rule-batch.ts), and
// then, in rule order, turns what each rule produced into scan outputs: writes, points, alarm
// transitions (with their state points). A rule that faults unwinds the batch call; the host
// notes the fault and resumes the batch at the next rule, so every other rule still runs in the
// tick, and the faulted rule's safe values are written in the same tick and reported through
// onFault. Allocation-free per tick except on a fault.
import { ruleLimitDefaults, severityCodes } from '../../common/rule-abi.ts';
import { RuleArena, type RuleRegion } from '../../common/rule-arena.ts';
import { emitKind, eventAux, eventKind, eventRule, type RuleBatch } from '../../common/rule-batch.ts';
import { compileRule, type CompiledCode, type CompiledRule, type RuleInstance } from '../../common/rule-instance.ts';
import { checkModuleHash, manifestDeclarations } from '../../common/rule-manifest.ts';
import type { RuleFaultCode } from '../../common/rule-errors.ts';
import { RuleSupervisor, type RuleSink } from '../../common/rule-supervisor.ts';
import type { StepContext, StepProgram } from '../scan/step.ts';
import { HostTables } from './rule-host-tables.ts';
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
  /**
   * The host this one replaces at a rule swap: a rule that is unchanged (same name, module,
   * parameters, bound tags and limits) and running keeps its instance, and with it its timers,
   * counters and latched alarms; every other rule starts afresh.
   */
  readonly previous?: RuleHost;
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

/** The tick's context, shared by every rule's emitter (set once per step). */
interface ContextHolder {
  context: StepContext | undefined;
}

/** One rule's sink: maps the rule's own indices to the scan's, for the tick's context. */
class RuleEmitter implements RuleSink {
  readonly #holder: ContextHolder;
  readonly #binding: RuleBinding;
  readonly #severities: Int32Array;
  readonly #onFault: ((event: RuleFaultEvent) => void) | undefined;

  constructor(holder: ContextHolder, binding: RuleBinding, severities: Int32Array, onFault: ((event: RuleFaultEvent) => void) | undefined) {
    this.#holder = holder;
    this.#binding = binding;
    this.#severities = severities;
    this.#onFault = onFault;
  }

  write(output: number, value: number): void {
    this.#holder.context!.write(this.#binding.outputTags[output]!, value);
  }

  point(point: number, value: number, quality: number): void {
    const context = this.#holder.context!;
    context.point(this.#binding.pointTags[point]!, value, quality, context.nowMs);
  }

  alarm(alarm: number, active: boolean, value: number): void {
    const context = this.#holder.context!;
    context.alarm(this.#binding.alarmIndices[alarm]!, active, value, this.#severities[alarm]!);
    context.point(this.#binding.alarmStateTags[alarm]!, active ? 1 : 0, good, context.nowMs);
  }

  fault(code: RuleFaultCode, message: string, quarantined: boolean): void {
    this.#onFault?.({ rule: this.#binding.name, code, message, tick: this.#holder.context!.tick, quarantined });
  }
}

interface HostedRule {
  readonly binding: RuleBinding;
  readonly supervisor: RuleSupervisor;
  readonly emitter: RuleEmitter;
  /** The instance the batch table steps; undefined while the rule is down (faulted or quarantined). */
  instance: RuleInstance | undefined;
  /** What this tick's step threw, kept until the rule's turn to emit. */
  error: unknown;
  /** Taken over, running, by the host that replaced this one at a swap. */
  movedOut: boolean;
}

/** Where retire() sends the clears: the scan's outputs, or replay's printer. */
export interface RetireOutputs {
  alarm(tick: number, alarmIndex: number, active: boolean, value: number, severity: number): void;
  point(tick: number, tagIndex: number, value: number, quality: number, tsMs: number): void;
}

/** Two bindings run the same rule the same way. */
function sameRule(a: RuleBinding, b: RuleBinding): boolean {
  const sameList = (x: readonly number[], y: readonly number[]): boolean => x.length === y.length && x.every((value, index) => value === y[index]);
  const params = (binding: RuleBinding): string => JSON.stringify(Object.entries(binding.params).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
  return (
    a.name === b.name &&
    a.manifest.module.sha256 === b.manifest.module.sha256 &&
    a.manifest.limits.fuelPerTick === b.manifest.limits.fuelPerTick &&
    params(a) === params(b) &&
    sameList(a.inputTags, b.inputTags) &&
    sameList(a.outputTags, b.outputTags) &&
    sameList(a.pointTags, b.pointTags) &&
    sameList(a.alarmIndices, b.alarmIndices) &&
    sameList(a.alarmStateTags, b.alarmStateTags)
  );
}

export class RuleHost implements StepProgram {
  /** The rules' shared memory: this host's own, or the one of the host it replaced. */
  readonly arena: RuleArena;
  readonly #rules: HostedRule[];
  readonly #plan: Omit<RulePlan, 'rules'>;
  /** Names of the rules taken over running from the previous host, in plan order. */
  readonly carried: readonly string[];
  readonly #batch: RuleBatch | undefined;
  readonly #tables: HostTables;
  readonly #holder: ContextHolder = { context: undefined };
  /** Rules that are down (to restart at the next step, or quarantined); the step looks at them only when this is not 0. */
  #downCount = 0;
  /** Rules that faulted in this step, ascending. */
  readonly #faulted: number[] = [];
  #synced = false;

  /** Compiles and starts every rule; throws RULE_* errors for a module or manifest that is not acceptable. */
  constructor(plan: RulePlan, options: RuleHostOptions = {}) {
    // Rules built from the same source share one compiled module, and so one instance of it (each with its own region and frame);
    // so do rules whose sandboxed code is the same (copies of a rule that differ only in their strings), the carried ones included.
    const modules = new Map<string, CompiledRule>();
    const code: CompiledCode = new Map();
    if (options.previous !== undefined) for (const rule of options.previous.#rules) code.set(rule.supervisor.compiled.codeHash, rule.supervisor.compiled.module);
    const { rules: _rules, ...settings } = plan;
    this.#plan = settings;
    const carried: string[] = [];
    // Taken from the previous host only once every new rule has started: a swap that fails leaves it intact.
    const taken: HostedRule[] = [];
    /** By new index: the index a carried rule had in the previous host (-1: started here). */
    const carriedFrom: number[] = [];
    const arena = options.previous?.arena ?? new RuleArena();
    this.arena = arena;
    const regions: RuleRegion[] = [];
    try {
      this.#rules = plan.rules.map((binding) => {
        const { manifest } = binding;
        const severities = Int32Array.from(manifest.alarms, (alarm) => severityCodes[alarm.severity]);
        const previous = options.previous;
        const kept = previous === undefined ? undefined : previous.#runningSame(binding, settings);
        carriedFrom.push(kept === undefined ? -1 : previous!.#rules.indexOf(kept));
        if (kept !== undefined) {
          carried.push(binding.name);
          taken.push(kept);
          return { binding, supervisor: kept.supervisor, emitter: new RuleEmitter(this.#holder, binding, severities, options.onFault), instance: undefined, error: undefined, movedOut: false };
        }
        let compiled = modules.get(manifest.module.sha256);
        if (compiled === undefined) {
          checkModuleHash(manifest, binding.wasm);
          compiled = compileRule(binding.wasm, { memoryPagesMax: plan.memoryPagesMax, moduleBytesMax: ruleLimitDefaults.moduleBytesMax }, code);
          modules.set(manifest.module.sha256, compiled);
        }
        const region = arena.allocate(compiled.memoryPagesMax);
        regions.push(region);
        const supervisor = new RuleSupervisor({
          name: binding.name,
          compiled,
          tickMs: plan.tickMs,
          fuelPerTick: manifest.limits.fuelPerTick,
          startFuel: plan.startFuel,
          quarantine: plan.quarantine,
          params: binding.params,
          expected: manifestDeclarations(manifest),
          region,
        });
        const emitter = new RuleEmitter(this.#holder, binding, severities, options.onFault);
        return { binding, supervisor, emitter, instance: undefined, error: undefined, movedOut: false };
      });
      this.#tables = new HostTables(plan.rules, arena, this.#rules.map((rule) => rule.supervisor.frameBytes));
    } catch (error) {
      for (const region of regions) arena.release(region);
      throw error;
    }
    for (const rule of taken) {
      rule.instance = undefined;
      rule.movedOut = true;
    }
    this.carried = carried;
    this.#batch = this.#tables.batch;
    // A carried rule's alarms stay as the previous host reported them: not raised twice, and cleared if it is later removed.
    const previousTables = options.previous === undefined ? undefined : options.previous.#tables;
    carriedFrom.forEach((from, index) => {
      if (from < 0 || previousTables === undefined) return;
      const count = this.#tables.alarmStart[index + 1]! - this.#tables.alarmStart[index]!;
      for (let alarm = 0; alarm < count; alarm++) this.#tables.setReported(this.#tables.alarmStart[index]! + alarm, previousTables.reported(previousTables.alarmStart[from]! + alarm));
    });
    // Every rule's frame moves into the batch's table, in rule order (a carried rule's from the previous host's), so a tick streams through them.
    this.#rules.forEach((rule, index) => rule.supervisor.setFrame(this.#batch!.frame(index)));
    this.#rules.forEach((rule, index) => this.#bind(index, rule.supervisor.instance!));
  }

  step(context: StepContext): void {
    const batch = this.#batch;
    if (batch === undefined) return;
    this.#holder.context = context;
    const { tick } = context;
    const rules = this.#rules;
    // 1. copy what changed (everything on the first step), restart rules that faulted
    if (this.#synced) this.#tables.copyChanged(context);
    else {
      this.#tables.copyAll(context);
      this.#synced = true;
    }
    if (this.#downCount > 0) this.#restart(context);
    // 2. one call runs every rule; a fault ends the call, and the batch resumes after that rule
    batch.clearEvents();
    for (let from = 0; from < rules.length; ) {
      try {
        batch.run(from, tick);
        break;
      } catch (error) {
        const index = batch.current;
        const rule = rules[index]!;
        rule.error = error;
        rule.instance = undefined;
        batch.setBudget(index, 0);
        this.#downCount++;
        this.#faulted.push(index);
        from = index + 1;
      }
    }
    // 3. in rule order: the events the batch read from the rules' slots, and each faulted rule's safe values
    const faulted = this.#faulted;
    let nextFault = 0;
    const events = batch.eventCount;
    if (events > 0) {
      const { f64, i32 } = this.arena;
      const { outputTag, pointTag, alarmIndex, alarmStateTag, alarmSeverity } = this.#tables;
      const { nowMs } = context;
      for (let at = batch.eventsF64, last = at + events * 2; at < last; at += 2) {
        const code = i32[at * 2 + 2]!;
        const index = i32[at * 2 + 3]!;
        if (faulted.length > 0) while (nextFault < faulted.length && faulted[nextFault]! < eventRule(code)) this.#emitFault(faulted[nextFault++]!, tick);
        const value = f64[at]!;
        const kind = eventKind(code);
        if (kind === emitKind.point) context.point(pointTag[index]!, value, eventAux(code), nowMs);
        else if (kind === emitKind.output) context.write(outputTag[index]!, value);
        else {
          const active = eventAux(code);
          context.alarm(alarmIndex[index]!, active === 1, value, alarmSeverity[index]!);
          context.point(alarmStateTag[index]!, active, good, nowMs);
        }
      }
    }
    while (nextFault < faulted.length) this.#emitFault(faulted[nextFault++]!, tick);
    faulted.length = 0;
  }

  /**
   * At a swap, after the replacing host was built: clears every alarm this host reported active
   * for a rule the new host did not take over running (removed, changed, or down), with its state
   * point, so no alarm stays raised at the hub for a rule that no longer runs as it was, and gives
   * those rules' regions back to the arena. Called between ticks, with the last tick's number and
   * clock, by the scan worker and by replay alike; this host does not step again.
   */
  retire(outputs: RetireOutputs, tick: number, nowMs: number): void {
    const tables = this.#tables;
    this.#rules.forEach((rule, index) => {
      if (rule.movedOut) return;
      rule.instance = undefined;
      this.arena.release(rule.supervisor.region);
      for (let at = tables.alarmStart[index]!; at < tables.alarmStart[index + 1]!; at++) {
        if (tables.reported(at) !== 1) continue;
        tables.setReported(at, 0);
        outputs.alarm(tick, tables.alarmIndex[at]!, false, NaN, tables.alarmSeverity[at]!);
        outputs.point(tick, tables.alarmStateTag[at]!, 0, good, nowMs);
      }
    });
    tables.release();
  }

  /** The running rule a replacing host may take over unchanged (the old host is discarded after the swap). */
  #runningSame(binding: RuleBinding, settings: Omit<RulePlan, 'rules'>): HostedRule | undefined {
    const same = this.#plan.tickMs === settings.tickMs && this.#plan.startFuel === settings.startFuel && this.#plan.memoryPagesMax === settings.memoryPagesMax && JSON.stringify(this.#plan.quarantine) === JSON.stringify(settings.quarantine);
    if (!same) return undefined;
    const rule = this.#rules.find((entry) => entry.binding.name === binding.name);
    if (rule === undefined || rule.instance === undefined || rule.supervisor.quarantined || !sameRule(rule.binding, binding)) return undefined;
    return rule;
  }

  #emitFault(index: number, tick: number): void {
    const rule = this.#rules[index]!;
    rule.supervisor.trapped(tick, rule.error, rule.emitter);
    rule.error = undefined;
  }

  /** Restarts the rules that are down and not quarantined; a failed restart is a fault (emitted now). */
  #restart(context: StepContext): void {
    const rules = this.#rules;
    for (let index = 0; index < rules.length; index++) {
      const rule = rules[index]!;
      if (rule.instance !== undefined || rule.supervisor.quarantined) continue;
      const instance = rule.supervisor.begin(context.tick, rule.emitter);
      if (instance === undefined) continue;
      this.#bind(index, instance, context);
      this.#downCount--;
    }
  }

  /** Puts an instance into the batch table, locates its slots and replays the inputs (from `snapshot` once stepping) and alarm states into it. */
  #bind(index: number, instance: RuleInstance, snapshot?: StepContext): void {
    const rule = this.#rules[index]!;
    this.#tables.locate(index, instance, snapshot);
    rule.instance = instance;
    this.#batch!.bind(index, instance.runFunction, instance.stepFunction, instance.frame);
    this.#batch!.setBudget(index, rule.supervisor.fuelPerTick);
  }

  /** Names of the hosted rules, in plan order. */
  get names(): string[] {
    return this.#rules.map((rule) => rule.binding.name);
  }

  /** How many compiled modules the rules run in (one instance each): rules whose sandboxed code is the same share one. */
  get moduleCount(): number {
    return new Set(this.#rules.map((rule) => rule.supervisor.compiled.module)).size;
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

  /** Ticks run and the most fuel used come from the batch module, which counts them per rule. */
  stats(): RuleStats[] {
    return this.#rules.map(({ binding, supervisor }, index) => ({
      name: binding.name,
      ...supervisor.stats,
      ticks: this.#batch!.ticks(index),
      fuelUsedMax: this.#batch!.fuelUsedMax(index),
      quarantined: supervisor.quarantined,
    }));
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
