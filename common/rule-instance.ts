// One running instance of a rule module: instantiates the sandboxed module, relocated to its
// region of the gateway's shared rule memory (common/rule-arena.ts), with the host ABI, runs its
// start function on a fuel budget while recording its declarations, and then exposes the memory
// views and slot addresses (in the arena) the supervisor reads and writes each tick. A fault
// leaves the instance unusable; the supervisor clears the region and makes a fresh one. Nothing
// here allocates per tick.
import { MillwrightError } from './errors.ts';
import { declarationKind, hostExports, slotLayout, trapStatus } from './rule-abi.ts';
import { DeclarationRecorder, type RuleDeclarations, type RuleSlots } from './rule-declarations.ts';
import { ruleErrors, ruleFaultCodes, type RuleFaultCode } from './rule-errors.ts';
import { RuleArena, type RuleRegion } from './rule-arena.ts';
import { prepareRuleModule, type PreparedModule, type SandboxLimits } from './rule-sandbox.ts';
import { webAssembly, type WasmGlobal, type WasmModule } from './rule-webassembly.ts';

export interface CompiledRule {
  /** One compiled module for every region: the region's base is an import. */
  readonly module: WasmModule;
  readonly prepared: PreparedModule;
  readonly memoryPagesMax: number;
  readonly hasStart: boolean;
}

/** Checks, instruments and compiles a rule module (synchronously: fine in the scan worker at load). */
export function compileRule(bytes: Uint8Array, limits?: SandboxLimits): CompiledRule {
  const prepared = prepareRuleModule(bytes, limits);
  let module: WasmModule;
  try {
    module = new webAssembly.Module(prepared.bytes);
  } catch (error) {
    // The original validated, so this is a limit the rewrite crossed (or a sandbox bug): refused, with a code.
    throw new MillwrightError(ruleErrors.moduleInvalid, `not a valid rule module once sandboxed: ${(error as Error).message}`);
  }
  return { module, prepared, memoryPagesMax: prepared.memoryPagesMax, hasStart: prepared.hasStart };
}

export interface RuleFault {
  readonly code: RuleFaultCode;
  readonly message: string;
}

class RuleAbort extends Error {}
const slotBytes: readonly number[] = [slotLayout.header.bytes, slotLayout.input.bytes, slotLayout.output.bytes, slotLayout.param.bytes, slotLayout.point.bytes, slotLayout.alarm.bytes];
const utf16 = new TextDecoder('utf-16le');

export class RuleInstance {
  readonly declarations: RuleDeclarations;
  /** Slot addresses in the arena (the region's base added). */
  readonly slots: RuleSlots;
  readonly region: RuleRegion;
  /** The module's exports, for tools and tests; the host itself calls only mw_step. */
  readonly exports: Readonly<Record<string, unknown>>;
  /**
   * mw_step(fuel, tick): stores the tick into the header, runs the tick on `fuel`, and returns the
   * fuel left, or -1 - fuel left when the rule noted events (the events word is cleared). The gateway
   * calls it from its batch module (common/rule-batch.ts), tools through step().
   */
  readonly stepFunction: (fuel: number, tick: number) => number;
  readonly #tick: (fuel: number) => number;
  readonly #status: WasmGlobal;
  readonly #memoryPagesMax: number;
  #abortMessage = '';
  #started = false;

  /**
   * Instantiates into `region` (a region of its own by default) and runs the start function.
   * Throws RULE_START_FAILED or RULE_DECLARATION_INVALID. The region must be zeroed (fresh or cleared).
   */
  constructor(compiled: CompiledRule, tickMs: number, startFuel: number, region: RuleRegion = RuleArena.single(compiled.memoryPagesMax)) {
    if (region.bytes < compiled.prepared.regionBytes) throw new MillwrightError(ruleErrors.memoryRefused, `a region of ${region.bytes} bytes is too small for a rule that may use ${compiled.prepared.regionBytes}`);
    this.region = region;
    this.#memoryPagesMax = compiled.memoryPagesMax;
    const { arena, base, bytes: regionBytes } = region;
    const recorder = new DeclarationRecorder();
    const imports = {
      millwright: {
        memory: arena.memory,
        base: base | 0,
        declare: (kind: number, slot: number, name: number, nameBytes: number, text: number, textBytes: number, a: number, b: number, c: number, flags: number): void => {
          if (this.#started) throw new MillwrightError(ruleErrors.declarationInvalid, 'declarations are only allowed at the top level of a rule (while it starts)');
          const size = slotBytes[kind];
          if (size !== undefined && (slot % 8 !== 0 || slot <= 0 || slot + size > regionBytes)) throw new MillwrightError(ruleErrors.declarationInvalid, `declaration slot ${slot} is outside memory or misaligned`);
          const at = size === undefined ? slot : base + slot;
          recorder.record({ kind, slot: at, name: readUtf16(region, name, nameBytes), text: readUtf16(region, text, textBytes), a, b, c, flags });
          if (kind === declarationKind.header) arena.f64.set([0, tickMs], at / 8);
        },
      },
      env: {
        abort: (message: number, file: number, line: number, column: number): never => {
          this.#abortMessage = `${readAsString(region, message) || 'abort'} at ${readAsString(region, file) || '?'}:${line}:${column}`;
          throw new RuleAbort(this.#abortMessage);
        },
      },
    };
    const instance = new webAssembly.Instance(compiled.module, imports);
    for (const segment of compiled.prepared.segments) arena.u8.set(segment.bytes, base + segment.offset);
    const exports = instance.exports;
    this.exports = exports;
    this.#tick = exports[hostExports.tick] as (fuel: number) => number;
    this.#status = exports[hostExports.status] as WasmGlobal;
    this.stepFunction = exports[hostExports.step] as (fuel: number, tick: number) => number;
    if (compiled.hasStart) {
      try {
        (exports[hostExports.start] as (fuel: number) => number)(startFuel);
      } catch (error) {
        if (error instanceof MillwrightError) throw error;
        const fault = this.classify(error);
        throw new MillwrightError(ruleErrors.startFailed, `the rule's start (top-level code) failed: ${fault.code}: ${fault.message}`, { fault: fault.code });
      }
    }
    this.#started = true;
    if (recorder.slots.header === -1) throw new MillwrightError(ruleErrors.declarationInvalid, 'the module declares nothing: a rule imports the millwright SDK');
    this.declarations = recorder.declarations;
    this.slots = recorder.slots;
    (exports[hostExports.header] as WasmGlobal).value = recorder.slots.header | 0; // checked in the region and aligned by declare
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
    return fuel - this.#tick(fuel);
  }

  /** Runs one tick through mw_step (see stepFunction); returns its result. Throws the rule's fault. */
  step(fuel: number, tick: number): number {
    return this.stepFunction(fuel, tick);
  }

  /** Turns what a tick or the start function threw into a fault code and message. */
  classify(error: unknown): RuleFault {
    if (error instanceof RuleAbort) return { code: ruleFaultCodes.abort, message: this.#abortMessage };
    const status = this.#status.value as number;
    if (status === trapStatus.fuel) return { code: ruleFaultCodes.fuelExhausted, message: 'the tick ran out of fuel' };
    if (status === trapStatus.memoryGrowFailed) return { code: ruleFaultCodes.memory, message: `the rule needed more than its ${this.#memoryPagesMax} pages of memory` };
    if (error instanceof RangeError) return { code: ruleFaultCodes.trap, message: 'call stack exhausted (recursion too deep)' };
    if (error instanceof webAssembly.RuntimeError) return { code: ruleFaultCodes.trap, message: error.message };
    return { code: ruleFaultCodes.trap, message: error instanceof Error ? error.message : String(error) };
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
