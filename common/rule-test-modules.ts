// Test support: hand-written rule modules in WebAssembly text, assembled with binaryen (a dev
// tool; never loaded by the runtime). They speak the host ABI directly, without the SDK, so the
// runtime's tests (common/, edge/) prove the ABI itself and need no AssemblyScript compiler.
// Slots sit at fixed addresses: header at 1024, then inputs, outputs and points, 24 bytes apart.
import { declarationKind } from './rule-abi.ts';
import type { RuleSink } from './rule-supervisor.ts';

export interface WatRule {
  readonly inputs?: readonly string[];
  readonly outputs?: readonly { readonly name: string; readonly safe: number }[];
  readonly points?: readonly string[];
  readonly alarms?: readonly string[];
  /** Body of tick(): may call $input(i) -> f64, $output(i, f64), $publish(i, f64), $raise(i, active, f64). */
  readonly tick: string;
  /** Extra instructions at the end of the start function. */
  readonly start?: string;
  /** Memory limits, default "1 2". */
  readonly memory?: string;
  /** Extra module fields (imports, functions, exports). */
  readonly extra?: string;
  /** Declare a fuel budget. */
  readonly fuelPerTick?: number;
}

const headerSlot = 1024;
/** Where a test rule keeps its header slot (the tick count is its first f64). */
export const headerSlotAddress = headerSlot;
const slotStride = 24;
const namesBase = 8192;

function utf16(text: string): string {
  return [...text].map((char) => `\\${char.charCodeAt(0).toString(16).padStart(2, '0')}\\00`).join('');
}

export function slotAddress(kind: 'input' | 'output' | 'point' | 'alarm', index: number, rule: WatRule): number {
  const inputs = rule.inputs?.length ?? 0;
  const outputs = rule.outputs?.length ?? 0;
  const points = rule.points?.length ?? 0;
  const before = kind === 'input' ? 0 : kind === 'output' ? inputs : kind === 'point' ? inputs + outputs : inputs + outputs + points;
  return headerSlot + slotStride * (1 + before + index);
}

export function ruleWat(rule: WatRule): string {
  const data: string[] = [];
  const calls: string[] = [];
  let nameAt = namesBase;
  const declare = (kind: number, slot: number, name: string, a = 0, flags = 0, text = ''): void => {
    const nameBytes = name.length * 2;
    data.push(`(data (i32.const ${nameAt}) "${utf16(name)}${utf16(text)}")`);
    calls.push(`(call $declare (i32.const ${kind}) (i32.const ${slot}) (i32.const ${nameAt}) (i32.const ${nameBytes}) (i32.const ${nameAt + nameBytes}) (i32.const ${text.length * 2}) (f64.const ${a}) (f64.const 0) (f64.const 0) (i32.const ${flags}))`);
    nameAt += nameBytes + text.length * 2 + 8;
  };
  declare(declarationKind.header, headerSlot, '');
  rule.inputs?.forEach((name, index) => declare(declarationKind.input, slotAddress('input', index, rule), name));
  rule.outputs?.forEach((output, index) => declare(declarationKind.output, slotAddress('output', index, rule), output.name, output.safe));
  rule.points?.forEach((name, index) => declare(declarationKind.point, slotAddress('point', index, rule), name));
  rule.alarms?.forEach((name, index) => declare(declarationKind.alarm, slotAddress('alarm', index, rule), name, 0, 3, `${name} message`));
  if (rule.fuelPerTick !== undefined) declare(declarationKind.limits, 0, '', rule.fuelPerTick);
  const inputBase = slotAddress('input', 0, rule);
  const outputBase = slotAddress('output', 0, rule);
  const pointBase = slotAddress('point', 0, rule);
  const alarmBase = slotAddress('alarm', 0, rule);
  return `(module
  (import "millwright" "declare" (func $declare (param i32 i32 i32 i32 i32 i32 f64 f64 f64 i32)))
  ${rule.extra ?? ''}
  (memory $memory ${rule.memory ?? '1 2'})
  (export "memory" (memory $memory))
  ${data.join('\n  ')}
  (func $event (i32.store (i32.const ${headerSlot + 16}) (i32.add (i32.load (i32.const ${headerSlot + 16})) (i32.const 1))))
  (func $input (param $i i32) (result f64) (f64.load (i32.add (i32.const ${inputBase}) (i32.mul (local.get $i) (i32.const ${slotStride})))))
  (func $output (param $i i32) (param $v f64)
    (f64.store (i32.add (i32.const ${outputBase}) (i32.mul (local.get $i) (i32.const ${slotStride}))) (local.get $v))
    (i32.store8 offset=8 (i32.add (i32.const ${outputBase}) (i32.mul (local.get $i) (i32.const ${slotStride}))) (i32.const 1))
    (call $event))
  (func $publish (param $i i32) (param $v f64)
    (f64.store (i32.add (i32.const ${pointBase}) (i32.mul (local.get $i) (i32.const ${slotStride}))) (local.get $v))
    (i32.store8 offset=9 (i32.add (i32.const ${pointBase}) (i32.mul (local.get $i) (i32.const ${slotStride}))) (i32.const 1))
    (call $event))
  (func $raise (param $i i32) (param $active i32) (param $v f64)
    (f64.store (i32.add (i32.const ${alarmBase}) (i32.mul (local.get $i) (i32.const ${slotStride}))) (local.get $v))
    (i32.store8 offset=8 (i32.add (i32.const ${alarmBase}) (i32.mul (local.get $i) (i32.const ${slotStride}))) (local.get $active))
    (call $event))
  (func $start ${calls.join(' ')} ${rule.start ?? ''})
  (start $start)
  (func $tick ${rule.tick})
  (export "tick" (func $tick)))`;
}

interface BinaryenModule {
  setFeatures(features: number): void;
  validate(): number;
  emitBinary(): Uint8Array;
  dispose(): void;
}

/** Assembles WebAssembly text into a module (binaryen, loaded on first use). */
export async function assemble(wat: string): Promise<Uint8Array> {
  const binaryen = (await import('binaryen')).default as unknown as { parseText(text: string): BinaryenModule; Features: { All: number } };
  const module = binaryen.parseText(wat);
  try {
    module.setFeatures(binaryen.Features.All);
    if (module.validate() !== 1) throw new Error(`test module does not validate:\n${wat}`);
    return module.emitBinary();
  } finally {
    module.dispose();
  }
}

export async function assembleRule(rule: WatRule): Promise<Uint8Array> {
  return assemble(ruleWat(rule));
}

/** A rule sink that records the outputs written and the fault codes, in order. */
export interface RecordingSink extends RuleSink {
  readonly writes: number[];
  readonly faults: string[];
}

export function recordingSink(): RecordingSink {
  const writes: number[] = [];
  const faults: string[] = [];
  return { writes, faults, write: (_output, value) => void writes.push(value), point: () => undefined, alarm: () => undefined, fault: (code) => void faults.push(code) };
}
