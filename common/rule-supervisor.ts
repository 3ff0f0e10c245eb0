// Runs one rule tick by tick and owns what happens around it: the host-side copy of its inputs
// and parameters (replayed into a fresh instance after a fault), NaN canonicalisation at the
// boundary, reading outputs, points and alarm transitions back, and faults: a tick that traps,
// runs out of fuel or out of memory emits the rule's safe values in the same tick, reports the
// fault, and counts towards quarantine. Shared by `rules test` and the gateway's rule host: the
// host runs its rules in one batch call and keeps the per-tick copies of inputs and outputs in its
// own flat tables (edge/rules/rule-host-tables.ts), but restarts, fault classification, safe
// values and quarantine all go through here, so both see the same behaviour. Allocation-free per
// tick except on a fault.
import { MillwrightError } from './errors.ts';
import { slotLayout } from './rule-abi.ts';
import { sameDeclarations, type RuleDeclarations } from './rule-declarations.ts';
import { ruleErrors, ruleFaultCodes, type RuleFaultCode } from './rule-errors.ts';
import { FaultWindow, type QuarantinePolicy } from './rule-faults.ts';
import { RuleArena, type RuleRegion } from './rule-arena.ts';
import { RuleInstance, type CompiledRule } from './rule-instance.ts';

export interface RuleSink {
  write(output: number, value: number): void;
  point(point: number, value: number, quality: number): void;
  alarm(alarm: number, active: boolean, value: number): void;
  fault(code: RuleFaultCode, message: string, quarantined: boolean): void;
}

export interface SupervisorOptions {
  readonly name: string;
  readonly compiled: CompiledRule;
  readonly tickMs: number;
  /** The budget to run with (already checked against the gateway's ceiling). */
  readonly fuelPerTick: number;
  readonly startFuel: number;
  readonly quarantine: QuarantinePolicy;
  /** Parameter values by name; absent = the declared default. */
  readonly params?: Readonly<Record<string, number>>;
  /** The manifest's declarations: the module must declare exactly these, or it is refused. */
  readonly expected?: RuleDeclarations;
  /** The region of the gateway's rule memory the rule runs in (cleared for each restart); default: a memory of its own. */
  readonly region?: RuleRegion;
}

/** Offsets of one instance's slots as indices into its f64 / u8 / u32 views. */
interface InstanceIo {
  readonly instance: RuleInstance;
  readonly inputValue: Int32Array;
  readonly inputQuality: Int32Array;
  readonly outputValue: Int32Array;
  readonly outputDirty: Int32Array;
  readonly paramValue: Int32Array;
  readonly pointValue: Int32Array;
  readonly pointQuality: Int32Array;
  readonly pointPublish: Int32Array;
  readonly alarmValue: Int32Array;
  readonly alarmActive: Int32Array;
  readonly alarmAckRequest: Int32Array;
}

const at = (slots: readonly number[], offset: number, size: number): Int32Array => Int32Array.from(slots, (slot) => (slot + offset) / size);

export class RuleSupervisor {
  readonly name: string;
  readonly declarations: RuleDeclarations;
  readonly stats = { ticks: 0, faults: 0, restarts: 0, fuelUsedMax: 0, lastFault: '' as RuleFaultCode | '' };
  readonly #options: SupervisorOptions;
  readonly #window: FaultWindow;
  readonly #inputValues: Float64Array;
  readonly #inputQualities: Uint8Array;
  readonly #inputChangedTicks: Float64Array;
  readonly #params: Float64Array;
  readonly #alarmsActive: Uint8Array;
  readonly #safe: Float64Array;
  readonly region: RuleRegion;
  /** Where the rule's frame lives (the host's table of frames); undefined: in its region's front. */
  #frame: number | undefined;
  #io: InstanceIo | undefined;
  #quarantined = false;

  constructor(options: SupervisorOptions) {
    this.name = options.name;
    this.#options = options;
    this.#window = new FaultWindow(options.quarantine);
    this.region = options.region ?? RuleArena.single(options.compiled.memoryPagesMax);
    const instance = new RuleInstance(options.compiled, options.tickMs, options.startFuel, this.region);
    const declared = instance.declarations;
    if (options.expected !== undefined && !sameDeclarations(declared, options.expected)) {
      throw new MillwrightError(ruleErrors.manifestMismatch, `rule ${options.name}: the module's declarations differ from its manifest`, { declared, manifest: options.expected });
    }
    this.declarations = declared;
    this.#inputValues = new Float64Array(declared.inputs.length);
    this.#inputQualities = new Uint8Array(declared.inputs.length).fill(2);
    this.#inputChangedTicks = new Float64Array(declared.inputs.length).fill(-1);
    this.#params = Float64Array.from(declared.params, (param) => param.default);
    for (const [name, value] of Object.entries(options.params ?? {})) this.setParam(name, value);
    this.#alarmsActive = new Uint8Array(declared.alarms.length);
    this.#safe = Float64Array.from(declared.outputs, (output) => output.safe);
    this.#io = this.#attach(instance);
  }

  /** The compiled module the rule runs. */
  get compiled(): CompiledRule {
    return this.#options.compiled;
  }

  get frameBytes(): number {
    return this.#options.compiled.prepared.frameBytes;
  }

  /** Keeps the rule's frame at `to` from now on (host memory of compiled.prepared.frameBytes, 8-byte aligned), moving the running instance's. */
  setFrame(to: number): void {
    this.#frame = to;
    this.#io?.instance.moveFrame(to);
  }

  get quarantined(): boolean {
    return this.#quarantined;
  }

  /** The running instance; undefined after a fault until begin() restarts it. */
  get instance(): RuleInstance | undefined {
    return this.#io?.instance;
  }

  /** A new sample (or quality) for input `index` in this tick. */
  input(index: number, value: number, quality: number, tick: number): void {
    const canonical = value !== value ? NaN : value;
    this.#inputValues[index] = canonical;
    this.#inputQualities[index] = quality;
    this.#inputChangedTicks[index] = tick;
    const io = this.#io;
    if (io === undefined) return;
    const slot = io.inputValue[index]!;
    io.instance.f64[slot] = canonical;
    io.instance.f64[slot + 1] = tick;
    io.instance.u8[io.inputQuality[index]!] = quality;
  }

  /** Sets a parameter between ticks; throws RULE_PARAM_INVALID for an unknown name or a value out of range. */
  setParam(name: string, value: number): void {
    const index = this.declarations.params.findIndex((param) => param.name === name);
    const param = this.declarations.params[index];
    if (param === undefined) throw new MillwrightError(ruleErrors.paramInvalid, `rule ${this.name} has no parameter '${name}' (it declares: ${this.declarations.params.map((entry) => entry.name).join(', ') || 'none'})`);
    if (!Number.isFinite(value) || value < param.min || value > param.max) throw new MillwrightError(ruleErrors.paramInvalid, `rule ${this.name}: parameter ${name} = ${value} is outside ${param.min}..${param.max}`);
    this.#params[index] = value;
    if (this.#io !== undefined) this.#io.instance.f64[this.#io.paramValue[index]!] = value;
  }

  /** An operator acknowledges alarm `index`; the rule sees it in its next tick. */
  acknowledge(index: number): void {
    if (this.#io !== undefined) this.#io.instance.u8[this.#io.alarmAckRequest[index]!] = 1;
  }

  /** Lets a quarantined rule run again (fresh instance, fault history cleared). */
  release(): void {
    this.#quarantined = false;
    this.#window.reset();
  }

  /**
   * One tick: begin, mw_step, then the outputs or the fault. `rules test` runs rules this way; the
   * gateway's rule host calls begin() and trapped() around its batch call and reads the outputs
   * and counts fuel itself (edge/rules/rule-host.ts).
   */
  run(tick: number, sink: RuleSink): void {
    const instance = this.begin(tick, sink);
    if (instance === undefined) return;
    let result: number;
    try {
      result = instance.step(this.#options.fuelPerTick, tick);
    } catch (error) {
      this.trapped(tick, error, sink);
      return;
    }
    const used = this.#options.fuelPerTick - (result < 0 ? -1 - result : result);
    this.stats.ticks++;
    if (used > this.stats.fuelUsedMax) this.stats.fuelUsedMax = used;
    this.#emit(result, sink);
  }

  /** The fuel each tick runs on. */
  get fuelPerTick(): number {
    return this.#options.fuelPerTick;
  }

  /**
   * Before a tick: the instance to step, restarted first after a fault; undefined when the rule is
   * quarantined or its restart failed (then faulted, with its safe values emitted).
   */
  begin(tick: number, sink: RuleSink): RuleInstance | undefined {
    if (this.#quarantined) return undefined;
    const io = this.#io;
    if (io !== undefined) return io.instance;
    try {
      this.region.arena.clear(this.region); // a restart starts from a fresh memory, as the first start did
      this.#io = this.#attach(new RuleInstance(this.#options.compiled, this.#options.tickMs, this.#options.startFuel, this.region, this.#frame));
      this.stats.restarts++;
      return this.#io.instance;
    } catch (error) {
      this.#fault(tick, ruleFaultCodes.restartFailed, (error as Error).message, sink);
      return undefined;
    }
  }

  /** The tick threw (a trap, an abort, fuel or memory): safe values, fault report, quarantine count. */
  trapped(tick: number, error: unknown, sink: RuleSink): void {
    const io = this.#io;
    if (io === undefined) return;
    const fault = io.instance.classify(error);
    this.#fault(tick, fault.code, fault.message, sink);
  }

  /** After a tick whose mw_step returned `result`: when it is negative (events, or a grown memory), the outputs, points and alarm transitions. */
  #emit(result: number, sink: RuleSink): void {
    const io = this.#io;
    if (io === undefined || result >= 0) return;
    const { f64, u8 } = io.instance;
    for (let index = 0; index < io.outputDirty.length; index++) {
      if (u8[io.outputDirty[index]!] === 0) continue;
      u8[io.outputDirty[index]!] = 0;
      const value = f64[io.outputValue[index]!]!;
      sink.write(index, value !== value ? NaN : value);
    }
    for (let index = 0; index < io.pointPublish.length; index++) {
      if (u8[io.pointPublish[index]!] === 0) continue;
      u8[io.pointPublish[index]!] = 0;
      const value = f64[io.pointValue[index]!]!;
      sink.point(index, value !== value ? NaN : value, Math.min(u8[io.pointQuality[index]!]!, 2));
    }
    for (let index = 0; index < io.alarmActive.length; index++) {
      const active = u8[io.alarmActive[index]!] === 0 ? 0 : 1;
      if (active === this.#alarmsActive[index]) continue;
      this.#alarmsActive[index] = active;
      const value = f64[io.alarmValue[index]!]!;
      sink.alarm(index, active === 1, value !== value ? NaN : value);
    }
  }

  #fault(tick: number, code: RuleFaultCode, message: string, sink: RuleSink): void {
    this.#io = undefined;
    for (let index = 0; index < this.#safe.length; index++) sink.write(index, this.#safe[index]!);
    this.stats.faults++;
    this.stats.lastFault = code;
    this.#quarantined = this.#window.record(tick);
    sink.fault(code, message, this.#quarantined);
  }

  /** Offsets for a new instance, with the inputs, parameters and alarm states replayed into it. */
  #attach(instance: RuleInstance): InstanceIo {
    if (!sameDeclarations(instance.declarations, this.declarations)) {
      throw new MillwrightError(ruleErrors.manifestMismatch, `rule ${this.name}: a restarted instance declared something else`);
    }
    const { slots } = instance;
    const { input, output, param, point, alarm } = slotLayout;
    const io: InstanceIo = {
      instance,
      inputValue: at(slots.inputs, input.value, 8),
      inputQuality: at(slots.inputs, input.quality, 1),
      outputValue: at(slots.outputs, output.value, 8),
      outputDirty: at(slots.outputs, output.dirty, 1),
      paramValue: at(slots.params, param.value, 8),
      pointValue: at(slots.points, point.value, 8),
      pointQuality: at(slots.points, point.quality, 1),
      pointPublish: at(slots.points, point.publish, 1),
      alarmValue: at(slots.alarms, alarm.value, 8),
      alarmActive: at(slots.alarms, alarm.active, 1),
      alarmAckRequest: at(slots.alarms, alarm.ackRequest, 1),
    };
    const { f64, u8 } = instance;
    for (let index = 0; index < io.inputValue.length; index++) {
      f64[io.inputValue[index]!] = this.#inputValues[index]!;
      f64[io.inputValue[index]! + 1] = this.#inputChangedTicks[index]!;
      u8[io.inputQuality[index]!] = this.#inputQualities[index]!;
    }
    for (let index = 0; index < io.paramValue.length; index++) f64[io.paramValue[index]!] = this.#params[index]!;
    for (let index = 0; index < io.alarmActive.length; index++) if (this.#alarmsActive[index] === 1) u8[io.alarmActive[index]!] = 1;
    return io;
  }
}
