import { describe, expect, it } from 'vitest';
import { ruleLimitDefaults } from './rule-abi.ts';
import { compileRule, RuleInstance } from './rule-instance.ts';
import { prepareRuleModule } from './rule-sandbox.ts';
import { assemble, assembleRule, ruleWat } from './rule-test-modules.ts';
import { parseModule } from './rule-wasm.ts';
import { webAssembly } from './rule-webassembly.ts';
import { thrownCode } from './assert.ts';

const limits = { memoryPagesMax: 16, moduleBytesMax: 1 << 20 };
const passThrough = { inputs: ['m/in'], outputs: [{ name: 'm/out', safe: 0 }], tick: '(call $output (i32.const 0) (call $input (i32.const 0)))' };

const codeOf = thrownCode;

describe('rule sandbox at load', () => {
  it('accepts a module that imports only the host ABI and returns it instrumented and valid', async () => {
    const prepared = prepareRuleModule(await assembleRule(passThrough), limits);
    expect(webAssembly.validate(prepared.bytes)).toBe(true);
    const exports = parseModule(prepared.bytes).exports.map((entry) => entry.name);
    expect(exports).toEqual(expect.arrayContaining(['tick', 'mw_tick', 'mw_start', 'mw_step', 'mw_status', 'mw_frame']));
    expect(exports).not.toContain('memory'); // its memory is the gateway's shared rule memory, imported
    expect(parseModule(prepared.bytes).imports.map((entry) => `${entry.module}.${entry.name}`)).toContain('millwright.memory');
    expect(parseModule(prepared.bytes).start).toBeUndefined(); // no rule code runs at instantiation
  });

  it('refuses any other import: WASI, a clock, a random seed', async () => {
    for (const extra of ['(import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))', '(import "env" "seed" (func (result f64)))', '(import "env" "Date.now" (func (result f64)))']) {
      const bytes = await assembleRule({ ...passThrough, extra });
      expect(codeOf(() => prepareRuleModule(bytes, limits))).toBe('RULE_IMPORT_REFUSED');
    }
  });

  it('refuses a memory without a maximum, or above the limit', async () => {
    const noMax = await assemble('(module (memory 1) (export "memory" (memory 0)) (func $t) (export "tick" (func $t)))');
    expect(codeOf(() => prepareRuleModule(noMax, limits))).toBe('RULE_MEMORY_REFUSED');
    const big = await assembleRule({ ...passThrough, memory: '1 64' });
    expect(codeOf(() => prepareRuleModule(big, limits))).toBe('RULE_MEMORY_REFUSED');
    expect(() => prepareRuleModule(big, { ...limits, memoryPagesMax: 64 })).not.toThrow();
  });

  it('refuses a module above the size limit', async () => {
    const bytes = await assembleRule(passThrough);
    expect(codeOf(() => prepareRuleModule(bytes, { ...limits, moduleBytesMax: bytes.length - 1 }))).toBe('RULE_MODULE_TOO_LARGE');
  });

  it('refuses a module without a tick export, or with a tick that takes arguments', async () => {
    const noTick = await assemble(ruleWat(passThrough).replace('(export "tick" (func $tick))', '(export "tock" (func $tick))'));
    expect(codeOf(() => prepareRuleModule(noTick, limits))).toBe('RULE_EXPORT_MISSING');
    const withArgument = await assemble(ruleWat({ ...passThrough, tick: '(param i32)' }));
    expect(codeOf(() => prepareRuleModule(withArgument, limits))).toBe('RULE_EXPORT_MISSING');
  });

  it('refuses SIMD instructions and exports named like the host ones', async () => {
    const simd = await assemble('(module (memory 1 1) (export "memory" (memory 0)) (func $t (drop (v128.const i32x4 0 0 0 0))) (export "tick" (func $t)))');
    expect(codeOf(() => prepareRuleModule(simd, limits))).toBe('RULE_MODULE_INVALID');
    const reserved = await assembleRule({ ...passThrough, extra: '(global $g (mut i32) (i32.const 0)) (export "mw_fuel" (global $g))' });
    expect(codeOf(() => prepareRuleModule(reserved, limits))).toBe('RULE_MODULE_INVALID');
  });

  it('refuses a module that does not validate on its own: its code could otherwise name the globals the rewrite adds', () => {
    // (func (drop (global.get 0))) in a module without globals: after the rewrite, global 1 would be the fuel counter
    const section = (id: number, content: number[]): number[] => [id, content.length, ...content];
    const name = (text: string): number[] => [text.length, ...Buffer.from(text)];
    const bytes = Uint8Array.from([
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
      ...section(1, [1, 0x60, 0, 0]),
      ...section(3, [1, 0]),
      ...section(5, [1, 0x01, 1, 2]),
      ...section(7, [2, ...name('tick'), 0x00, 0, ...name('memory'), 0x02, 0]),
      ...section(10, [1, 5, 0, 0x23, 0, 0x1a, 0x0b]),
    ]);
    expect(() => prepareRuleModule(bytes, limits)).toThrow(/WebAssembly validation failed/);
    expect(codeOf(() => prepareRuleModule(bytes, limits))).toBe('RULE_MODULE_INVALID');
  });

  it('refuses passive data segments and memory.init: a rule\'s data is laid into its region by the host', async () => {
    const passive = await assembleRule({ ...passThrough, extra: '(data $blob "abc")', tick: '(memory.init $blob (i32.const 0) (i32.const 0) (i32.const 3))' });
    let message = '';
    try {
      prepareRuleModule(passive, limits);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/memory.init and data.drop are not allowed|passive/);
  });

  it('stops a start function that loops, with its fuel, and refuses the rule', async () => {
    const looping = await assembleRule({ ...passThrough, start: '(loop $forever (br $forever))' });
    const compiled = compileRule(looping, limits);
    const startedMs = performance.now();
    let error: unknown;
    try {
      new RuleInstance(compiled, 10, ruleLimitDefaults.startFuel);
    } catch (caught) {
      error = caught;
    }
    expect((error as { code: string }).code).toBe('RULE_START_FAILED');
    expect((error as Error).message).toContain('RULE_FUEL_EXHAUSTED');
    expect(performance.now() - startedMs).toBeLessThan(1000);
  });

  it('refuses a rule that declares after it started, or declares an invalid name', async () => {
    const late = await assembleRule({ ...passThrough, tick: '(call $declare (i32.const 1) (i32.const 2048) (i32.const 8192) (i32.const 2) (i32.const 0) (i32.const 0) (f64.const 0) (f64.const 0) (f64.const 0) (i32.const 0))' });
    const instance = new RuleInstance(compileRule(late, limits), 10, 1000);
    let thrown: unknown;
    try {
      instance.tick(1000);
    } catch (error) {
      thrown = error;
    }
    expect((thrown as { code: string }).code).toBe('RULE_DECLARATION_INVALID');
    const badName = await assembleRule({ ...passThrough, inputs: ['no-slash'] });
    expect(codeOf(() => new RuleInstance(compileRule(badName, limits), 10, 1000))).toBe('RULE_DECLARATION_INVALID');
  });

  it('keeps a frame global in a local only in a call that nothing writes it in: a write by a callee, direct or indirect, is seen', async () => {
    const rule = {
      points: ['m/direct', 'm/indirect', 'm/read'],
      extra: `(global $g (mut i32) (i32.const 1)) (global $h (mut f64) (f64.const 0.5))
        (func $bump (global.set $g (i32.add (global.get $g) (i32.const 10))))
        (func $direct (result f64) (local $before i32) (local.set $before (global.get $g)) (call $bump) (f64.convert_i32_s (i32.sub (global.get $g) (local.get $before))))
        (func $indirect (result f64) (local $before i32) (local.set $before (global.get $g)) (call_indirect (type $void) (i32.const 0)) (f64.convert_i32_s (i32.sub (global.get $g) (local.get $before))))
        (func $read (result f64) (f64.add (f64.convert_i32_s (global.get $g)) (global.get $h)))
        (table 1 1 funcref) (elem (i32.const 0) $bump) (type $void (func))`,
      tick: '(call $publish (i32.const 0) (call $direct)) (call $publish (i32.const 1) (call $indirect)) (call $publish (i32.const 2) (call $read))',
    };
    const instance = new RuleInstance(compileRule(await assembleRule(rule)), 10, 1_000_000);
    instance.tick(1_000_000);
    instance.tick(1_000_000);
    expect(instance.slots.points.map((slot) => instance.f64[slot / 8])).toEqual([10, 10, 41.5]);
  });
});
