// One running instance of a rule module: instantiates the sandboxed module with the host ABI,
// runs its start function on a fuel budget while recording its declarations, and then exposes
// the memory views and slot offsets the supervisor reads and writes each tick. A fault leaves
// the instance unusable; the supervisor makes a fresh one. Nothing here allocates per tick.
import { MillwrightError } from './errors.ts';
import { declarationKind, hostExports, slotLayout, trapStatus } from './rule-abi.ts';
import { DeclarationRecorder, type RuleDeclarations, type RuleSlots } from './rule-declarations.ts';
import { ruleErrors, ruleFaultCodes, type RuleFaultCode } from './rule-errors.ts';
import { prepareRuleModule, type SandboxLimits } from './rule-sandbox.ts';
import { webAssembly, type WasmGlobal, type WasmMemory, type WasmModule } from './rule-webassembly.ts';

export interface CompiledRule {
  readonly module: WasmModule;
  readonly memoryPagesMax: number;
  readonly hasStart: boolean;
}

/** Checks, instruments and compiles a rule module (synchronously: fine in the scan worker at load). */
export function compileRule(bytes: Uint8Array, limits?: SandboxLimits): CompiledRule {
  const prepared = prepareRuleModule(bytes, limits);
  return { module: new webAssembly.Module(prepared.bytes), memoryPagesMax: prepared.memoryPagesMax, hasStart: prepared.hasStart };
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
  readonly slots: RuleSlots;
  f64: Float64Array;
  u8: Uint8Array;
  u32: Uint32Array;
  /** The module's exports, for tools and tests; the host itself calls only mw_step. */
  readonly exports: Readonly<Record<string, unknown>>;
  /**
   * mw_step(fuel, tick): stores the tick into the header, runs the tick on `fuel`, and returns the
   * fuel left, or -1 - fuel left when the rule noted events (the events word is cleared). The gateway
   * calls it from its batch module (common/rule-batch.ts), tools through step().
   */
  readonly stepFunction: (fuel: number, tick: number) => number;
  readonly #memory: WasmMemory;
  readonly #tick: (fuel: number) => number;
  readonly #status: WasmGlobal;
  #abortMessage = '';
  #started = false;

  /** Instantiates and runs the start function. Throws RULE_START_FAILED or RULE_DECLARATION_INVALID. */
  constructor(compiled: CompiledRule, tickMs: number, startFuel: number) {
    const recorder = new DeclarationRecorder();
    const bound: { memory?: WasmMemory } = {};
    const imports = {
      millwright: {
        declare: (kind: number, slot: number, name: number, nameBytes: number, text: number, textBytes: number, a: number, b: number, c: number, flags: number): void => {
          const memory = bound.memory;
          if (this.#started || memory === undefined) throw new MillwrightError(ruleErrors.declarationInvalid, 'declarations are only allowed at the top level of a rule (while it starts)');
          const bytes = new Uint8Array(memory.buffer);
          const size = slotBytes[kind];
          if (size !== undefined && (slot % 8 !== 0 || slot <= 0 || slot + size > bytes.length)) throw new MillwrightError(ruleErrors.declarationInvalid, `declaration slot ${slot} is outside memory or misaligned`);
          recorder.record({ kind, slot, name: readUtf16(bytes, name, nameBytes), text: readUtf16(bytes, text, textBytes), a, b, c, flags });
          if (kind === declarationKind.header) new Float64Array(memory.buffer, slot, 2).set([0, tickMs]);
        },
      },
      env: {
        abort: (message: number, file: number, line: number, column: number): never => {
          const bytes = bound.memory === undefined ? new Uint8Array(0) : new Uint8Array(bound.memory.buffer);
          this.#abortMessage = `${readAsString(bytes, message) || 'abort'} at ${readAsString(bytes, file) || '?'}:${line}:${column}`;
          throw new RuleAbort(this.#abortMessage);
        },
      },
    };
    const instance = new webAssembly.Instance(compiled.module, imports);
    const exports = instance.exports;
    this.exports = exports;
    const memory = exports['memory'] as WasmMemory;
    bound.memory = memory;
    this.#memory = memory;
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
    (exports[hostExports.header] as WasmGlobal).value = recorder.slots.header; // checked in bounds and aligned by declare
    this.f64 = new Float64Array(memory.buffer);
    this.u8 = new Uint8Array(memory.buffer);
    this.u32 = new Uint32Array(memory.buffer);
  }

  /** Runs one tick on `fuel`; returns the fuel used. Throws whatever the rule's fault was (see classify). */
  tick(fuel: number): number {
    const left = this.#tick(fuel);
    if (this.f64.length === 0) this.#refreshViews(); // the memory grew: old views are detached
    return fuel - left;
  }

  /** Runs one tick through mw_step (see stepFunction); returns its result. Throws the rule's fault. */
  step(fuel: number, tick: number): number {
    const result = this.stepFunction(fuel, tick);
    this.checkViews();
    return result;
  }

  /** After a tick: renews the views if the rule's memory grew (growing detaches the old buffer). */
  checkViews(): void {
    if (this.f64.length === 0) this.#refreshViews();
  }

  /** Turns what a tick or the start function threw into a fault code and message. */
  classify(error: unknown): RuleFault {
    if (error instanceof RuleAbort) return { code: ruleFaultCodes.abort, message: this.#abortMessage };
    const status = this.#status.value as number;
    if (status === trapStatus.fuel) return { code: ruleFaultCodes.fuelExhausted, message: 'the tick ran out of fuel' };
    if (status === trapStatus.memoryGrowFailed) return { code: ruleFaultCodes.memory, message: `the rule needed more than its ${this.#memory.buffer.byteLength / 65_536} pages of memory` };
    if (error instanceof RangeError) return { code: ruleFaultCodes.trap, message: 'call stack exhausted (recursion too deep)' };
    if (error instanceof webAssembly.RuntimeError) return { code: ruleFaultCodes.trap, message: error.message };
    return { code: ruleFaultCodes.trap, message: error instanceof Error ? error.message : String(error) };
  }

  #refreshViews(): void {
    this.f64 = new Float64Array(this.#memory.buffer);
    this.u8 = new Uint8Array(this.#memory.buffer);
    this.u32 = new Uint32Array(this.#memory.buffer);
  }
}

function readUtf16(bytes: Uint8Array, pointer: number, length: number): string {
  if (length === 0) return '';
  if (pointer % 2 !== 0 || length % 2 !== 0 || length > 4096 || pointer + length > bytes.length) throw new MillwrightError(ruleErrors.declarationInvalid, `a declared name at ${pointer} (${length} bytes) is outside memory`);
  return utf16.decode(bytes.subarray(pointer, pointer + length));
}

/** An AssemblyScript string (byte length in the 4 bytes before it), for abort messages. */
function readAsString(bytes: Uint8Array, pointer: number): string {
  if (pointer < 4 || pointer >= bytes.length) return '';
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(pointer - 4, true);
  if (length % 2 !== 0 || length > 2048 || pointer + length > bytes.length) return '';
  return utf16.decode(bytes.subarray(pointer, pointer + length));
}
