// One rule running in the shared instance of its module: lays the rule's frame (its mutable
// globals, page count and header address) and data into its region of the gateway's shared rule
// memory (common/rule-arena.ts), runs its start function on a fuel budget while recording its
// declarations, and then exposes the memory views and slot addresses (in the arena) the
// supervisor reads and writes each tick. Every rule built from one module, in one arena, runs in
// one instance (SharedInstance): its code, its fixed tables and the host's fuel and status
// globals are shared, and each call is handed the rule's frame; so a tick touches one instance for
// all of them instead of an instance, a globals buffer and a wrapper frame per rule. A fault
// leaves the rule's state unusable; the supervisor clears the region and starts it afresh.
// Nothing here allocates per tick.
import { createHash } from 'node:crypto';
import { assert } from './assert.ts';
import { MillwrightError } from './errors.ts';
import { declarationKind, hostExports, slotLayout, trapStatus } from './rule-abi.ts';
import { DeclarationRecorder, type RuleDeclarations, type RuleSlots } from './rule-declarations.ts';
import { ruleErrors, ruleFaultCodes, type RuleFaultCode } from './rule-errors.ts';
import { RuleArena, type RuleRegion } from './rule-arena.ts';
import { frameLayout, prepareRuleModule, type PreparedModule, type SandboxLimits } from './rule-sandbox.ts';
import { webAssembly, type WasmGlobal, type WasmModule } from './rule-webassembly.ts';

export interface CompiledRule {
  /** One compiled module for every region: the running rule's frame is a global its wrappers set. */
  readonly module: WasmModule;
  /** SHA-256 of the sandboxed code (prepared.bytes: without the data, which each rule lays into its own region). */
  readonly codeHash: string;
  readonly prepared: PreparedModule;
  readonly memoryPagesMax: number;
  readonly hasStart: boolean;
}

/** Compiled code by codeHash: rules whose sandboxed code is the same (copies of a rule that differ only in their strings) share one module, and so one instance. */
export type CompiledCode = Map<string, WasmModule>;

/**
 * Checks, instruments and compiles a rule module (synchronously: fine in the scan worker at load).
 * With `code`, a module whose sandboxed code is already there is not compiled again.
 */
export function compileRule(bytes: Uint8Array, limits?: SandboxLimits, code?: CompiledCode): CompiledRule {
  const prepared = prepareRuleModule(bytes, limits);
  const codeHash = createHash('sha256').update(prepared.bytes).digest('hex');
  let module = code?.get(codeHash);
  if (module === undefined) {
    try {
      module = new webAssembly.Module(prepared.bytes);
    } catch (error) {
      // The original validated, so this is a limit the rewrite crossed (or a sandbox bug): refused, with a code.
      throw new MillwrightError(ruleErrors.moduleInvalid, `not a valid rule module once sandboxed: ${(error as Error).message}`);
    }
    code?.set(codeHash, module);
  }
  return { module, codeHash, prepared, memoryPagesMax: prepared.memoryPagesMax, hasStart: prepared.hasStart };
}

/** The one instance per compiled module and arena that every rule of that code in that arena runs in (made at first use). */
const sharedInstances = new WeakMap<WasmModule, WeakMap<RuleArena, SharedInstance>>();

export interface RuleFault {
  readonly code: RuleFaultCode;
  readonly message: string;
}

type Declare = (kind: number, slot: number, name: number, nameBytes: number, text: number, textBytes: number, a: number, b: number, c: number, flags: number) => void;
type Wrapper = (fuel: number, frame: number) => number;
/** mw_step(fuel, tick, frame): see RuleInstance.stepFunction. */
export type StepFunction = (fuel: number, tick: number, frame: number) => number;
/** mw_run(area, from, to, tick): steps a batch's rules from..to-1, all of this module (common/rule-run-loop.ts). */
export type RunFunction = (area: number, from: number, to: number, tick: number) => void;

class RuleAbort extends Error {}
const slotBytes: readonly number[] = [slotLayout.header.bytes, slotLayout.input.bytes, slotLayout.output.bytes, slotLayout.param.bytes, slotLayout.point.bytes, slotLayout.alarm.bytes];
const utf16 = new TextDecoder('utf-16le');

/**
 * The instance of a rule module that every rule built from it runs in, in one arena: its code,
 * its (fixed) tables and the host's globals are shared; each rule's own state is its region and
 * its frame (its mutable globals, its page count, its header's address), which the wrappers are
 * handed on every call. Rules run one at a time, so the fuel and status globals are each rule's
 * while it runs.
 */
export class SharedInstance {
  readonly exports: Readonly<Record<string, unknown>>;
  readonly tick: Wrapper;
  readonly start: Wrapper | undefined;
  readonly step: StepFunction;
  readonly run: RunFunction;
  readonly status: WasmGlobal;
  readonly frame: WasmGlobal;
  /** The declare of the rule whose start function runs; declarations at any other time are refused. */
  starting: Declare | undefined;

  constructor(compiled: CompiledRule, arena: RuleArena) {
    const { regionBytes } = compiled.prepared;
    const imports = {
      millwright: {
        memory: arena.memory,
        declare: (...args: Parameters<Declare>): void => {
          if (this.starting === undefined) throw new MillwrightError(ruleErrors.declarationInvalid, 'declarations are only allowed at the top level of a rule (while it starts)');
          this.starting(...args);
        },
      },
      env: {
        abort: (message: number, file: number, line: number, column: number): never => {
          const region: RuleRegion = { arena, base: arena.i32[((this.frame.value as number) + frameLayout.base) / 4]!, bytes: regionBytes };
          throw new RuleAbort(`${readAsString(region, message) || 'abort'} at ${readAsString(region, file) || '?'}:${line}:${column}`);
        },
      },
    };
    const { exports } = new webAssembly.Instance(compiled.module, imports);
    this.exports = exports;
    this.tick = exports[hostExports.tick] as Wrapper;
    this.start = exports[hostExports.start] as Wrapper | undefined;
    this.step = exports[hostExports.step] as StepFunction;
    this.run = exports[hostExports.run] as RunFunction;
    this.status = exports[hostExports.status] as WasmGlobal;
    this.frame = exports[hostExports.frame] as WasmGlobal;
  }

  static of(compiled: CompiledRule, arena: RuleArena): SharedInstance {
    let byArena = sharedInstances.get(compiled.module);
    if (byArena === undefined) {
      byArena = new WeakMap();
      sharedInstances.set(compiled.module, byArena);
    }
    let shared = byArena.get(arena);
    if (shared === undefined) {
      shared = new SharedInstance(compiled, arena);
      byArena.set(arena, shared);
    }
    return shared;
  }
}

export class RuleInstance {
  readonly declarations: RuleDeclarations;
  /** Slot addresses in the arena (the region's base added). */
  readonly slots: RuleSlots;
  readonly region: RuleRegion;
  /** The rule's frame: the byte address in the arena its module's wrappers are called with (moveFrame moves it). */
  frame: number;
  readonly frameBytes: number;
  /** The module's exports, bound to this rule (its functions run with its frame; its mutable globals read its frame), for tools and tests. */
  readonly exports: Readonly<Record<string, unknown>>;
  /**
   * mw_step(fuel, tick, frame): stores the tick into the header, runs the tick on `fuel`, and returns
   * the fuel left, or -1 - fuel left when the rule noted events (the events word is cleared). Shared by
   * every rule of the module; the gateway calls it from its batch module (common/rule-batch.ts) with
   * this rule's frame, tools through step().
   */
  readonly stepFunction: StepFunction;
  /** mw_run of the module's instance, which the batch calls for each run of consecutive rules of this module. */
  readonly runFunction: RunFunction;
  readonly #shared: SharedInstance;
  readonly #memoryPagesMax: number;

  /**
   * Lays the rule's frame and data into `region` (a region of its own by default) and runs its start
   * function. The frame goes at `frame` (host memory of prepared.frameBytes, 8-byte aligned, out of
   * every rule's reach), by default in the region's front. Throws RULE_START_FAILED or
   * RULE_DECLARATION_INVALID. The region must be zeroed (fresh or cleared).
   */
  constructor(compiled: CompiledRule, tickMs: number, startFuel: number, region: RuleRegion = RuleArena.single(compiled.memoryPagesMax), frame = region.base - compiled.prepared.frameBytes) {
    const { prepared } = compiled;
    if (region.bytes < prepared.regionBytes) throw new MillwrightError(ruleErrors.memoryRefused, `a region of ${region.bytes} bytes is too small for a rule that may use ${prepared.regionBytes}`);
    this.region = region;
    this.#memoryPagesMax = compiled.memoryPagesMax;
    const { arena, base, bytes: regionBytes } = region;
    const shared = SharedInstance.of(compiled, arena);
    this.#shared = shared;
    this.stepFunction = shared.step;
    this.runFunction = shared.run;
    assert(frame % 8 === 0 && frame >= 0 && frame + prepared.frameBytes <= arena.u8.length, 'a rule frame lies in the arena, 8-byte aligned');
    this.frame = frame;
    this.frameBytes = prepared.frameBytes;
    arena.u8.set(prepared.frameImage, frame);
    arena.i32[(frame + frameLayout.base) / 4] = base;
    for (const segment of prepared.segments) arena.u8.set(segment.bytes, base + segment.offset);
    this.exports = this.#boundExports(prepared);
    const recorder = new DeclarationRecorder();
    if (shared.start !== undefined) {
      shared.starting = (kind, slot, name, nameBytes, text, textBytes, a, b, c, flags) => {
        const size = slotBytes[kind];
        if (size !== undefined && (slot % 8 !== 0 || slot <= 0 || slot + size > regionBytes)) throw new MillwrightError(ruleErrors.declarationInvalid, `declaration slot ${slot} is outside memory or misaligned`);
        const at = size === undefined ? slot : base + slot;
        recorder.record({ kind, slot: at, name: readUtf16(region, name, nameBytes), text: readUtf16(region, text, textBytes), a, b, c, flags });
        if (kind === declarationKind.header) arena.f64.set([0, tickMs], at / 8);
      };
      try {
        shared.start(startFuel, this.frame);
      } catch (error) {
        if (error instanceof MillwrightError) throw error;
        const fault = this.classify(error);
        throw new MillwrightError(ruleErrors.startFailed, `the rule's start (top-level code) failed: ${fault.code}: ${fault.message}`, { fault: fault.code });
      } finally {
        shared.starting = undefined;
      }
    }
    if (recorder.slots.header === -1) throw new MillwrightError(ruleErrors.declarationInvalid, 'the module declares nothing: a rule imports the millwright SDK');
    this.declarations = recorder.declarations;
    this.slots = recorder.slots;
    arena.i32[(this.frame + frameLayout.header) / 4] = recorder.slots.header; // checked in the region and aligned by declare
  }

  /** Moves the rule's frame to `to` (host memory of frameBytes, 8-byte aligned), between ticks; the caller rebinds the batch. */
  moveFrame(to: number): void {
    if (to === this.frame) return;
    const bytes = this.region.arena.u8;
    bytes.copyWithin(to, this.frame, this.frame + this.frameBytes);
    bytes.fill(0, this.frame, this.frame + this.frameBytes);
    this.frame = to;
  }

  /** Views over the whole arena (slot addresses index into them). */
  get f64(): Float64Array {
    return this.region.arena.f64;
  }

  get u8(): Uint8Array {
    return this.region.arena.u8;
  }

  get u32(): Uint32Array {
    return this.region.arena.u32;
  }

  /** Runs one tick on `fuel`; returns the fuel used. Throws whatever the rule's fault was (see classify). */
  tick(fuel: number): number {
    return fuel - this.#shared.tick(fuel, this.frame);
  }

  /** Runs one tick through mw_step (see stepFunction); returns its result. Throws the rule's fault. */
  step(fuel: number, tick: number): number {
    return this.stepFunction(fuel, tick, this.frame);
  }

  /** Turns what a tick or the start function threw into a fault code and message (right after it threw: the status global is the module's). */
  classify(error: unknown): RuleFault {
    if (error instanceof RuleAbort) return { code: ruleFaultCodes.abort, message: error.message };
    const status = this.#shared.status.value as number;
    if (status === trapStatus.fuel) return { code: ruleFaultCodes.fuelExhausted, message: 'the tick ran out of fuel' };
    if (status === trapStatus.memoryGrowFailed) return { code: ruleFaultCodes.memory, message: `the rule needed more than its ${this.#memoryPagesMax} pages of memory` };
    if (error instanceof RangeError) return { code: ruleFaultCodes.trap, message: 'call stack exhausted (recursion too deep)' };
    if (error instanceof webAssembly.RuntimeError) return { code: ruleFaultCodes.trap, message: error.message };
    return { code: ruleFaultCodes.trap, message: error instanceof Error ? error.message : String(error) };
  }

  /** The rule's own exports as this rule sees them: functions set its frame first; mutable globals are views of its frame. */
  #boundExports(prepared: PreparedModule): Record<string, unknown> {
    const shared = this.#shared;
    const arena = this.region.arena;
    const bound: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(shared.exports)) {
      if (name.startsWith('mw_')) continue;
      bound[name] = typeof value === 'function'
        ? (...args: unknown[]): unknown => {
            shared.frame.value = this.frame;
            return (value as (...args: unknown[]) => unknown)(...args);
          }
        : value;
    }
    for (const { name, type, offset } of prepared.frameExports) {
      const view = (): DataView => new DataView(arena.memory.buffer, this.frame + offset, 8);
      bound[name] = {
        get value(): number | bigint {
          const data = view();
          return type === 0x7f ? data.getInt32(0, true) : type === 0x7e ? data.getBigInt64(0, true) : type === 0x7d ? data.getFloat32(0, true) : data.getFloat64(0, true);
        },
        set value(next: number | bigint) {
          const data = view();
          if (type === 0x7f) data.setInt32(0, Number(next), true);
          else if (type === 0x7e) data.setBigInt64(0, BigInt(next), true);
          else if (type === 0x7d) data.setFloat32(0, Number(next), true);
          else data.setFloat64(0, Number(next), true);
        },
      };
    }
    return bound;
  }
}

function readUtf16(region: RuleRegion, pointer: number, length: number): string {
  if (length === 0) return '';
  if (pointer % 2 !== 0 || length % 2 !== 0 || length > 4096 || pointer < 0 || pointer + length > region.bytes) throw new MillwrightError(ruleErrors.declarationInvalid, `a declared name at ${pointer} (${length} bytes) is outside memory`);
  return utf16.decode(region.arena.u8.subarray(region.base + pointer, region.base + pointer + length));
}

/** An AssemblyScript string (byte length in the 4 bytes before it) in the rule's region, for abort messages. */
function readAsString(region: RuleRegion, pointer: number): string {
  if (pointer < 4 || pointer >= region.bytes) return '';
  const bytes = region.arena.u8;
  const at = region.base + pointer;
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(at - 4, true);
  if (length % 2 !== 0 || length > 2048 || pointer + length > region.bytes) return '';
  return utf16.decode(bytes.subarray(at, at + length));
}
