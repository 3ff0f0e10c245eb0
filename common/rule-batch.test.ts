import { describe, expect, it } from 'vitest';
import { RuleArena } from './rule-arena.ts';
import { emitKind, eventAux, eventKind, eventRule, RuleBatch } from './rule-batch.ts';
import { compileRule, RuleInstance, type CompiledRule } from './rule-instance.ts';
import { assembleRule, slotAddress, type WatRule } from './rule-test-modules.ts';

const publisher: WatRule = { inputs: ['m/in'], points: ['m/p'], tick: '(if (f64.gt (call $input (i32.const 0)) (f64.const 0)) (then (call $publish (i32.const 0) (f64.const 1))))' };
const trapper: WatRule = { tick: '(unreachable)' };
/** Writes its output, publishes its point (quality 7 in the slot, a NaN with a payload as the value) and sets its alarm from its input. */
const producerDeclarations = { inputs: ['m/in'], outputs: [{ name: 'm/out', safe: 0 }], points: ['m/p'], alarms: ['high'], tick: '' };
const producer: WatRule = {
  ...producerDeclarations,
  tick: `(if (f64.gt (call $input (i32.const 0)) (f64.const 0)) (then
    (call $output (i32.const 0) (f64.const 3))
    (call $publish (i32.const 0) (f64.reinterpret_i64 (i64.const 0x7ff8000000000123)))
    (i32.store8 (i32.const ${slotAddress('point', 0, producerDeclarations) + 8}) (i32.const 7))))
    (call $raise (i32.const 0) (f64.gt (call $input (i32.const 0)) (f64.const 1)) (call $input (i32.const 0)))`,
};

async function instance(rule: WatRule): Promise<RuleInstance> {
  return new RuleInstance(compileRule(await assembleRule(rule)), 10, 1_000_000);
}

describe('mw_step, the per-tick entry the sandbox adds', () => {
  it('stores the tick into the header and returns the fuel left, or -1 - fuel left with the events word cleared', async () => {
    const rule = await instance(publisher);
    const header = rule.slots.header / 8;
    const quiet = rule.step(1000, 41);
    expect(rule.f64[header]).toBe(41);
    expect(quiet).toBeGreaterThan(0);
    expect(quiet).toBeLessThan(1000);
    rule.f64[rule.slots.inputs[0]! / 8] = 5;
    const busy = rule.step(1000, 42);
    expect(busy).toBeLessThan(0);
    expect(1000 - (-1 - busy)).toBeGreaterThan(1000 - quiet); // publishing cost fuel
    expect(rule.u32[(rule.slots.header + 16) / 4]).toBe(0);
  });
});

describe('the batch module', () => {
  it('keeps the rules\' frames in its table, in rule order; a rule whose frame moved there goes on with its globals', async () => {
    const counter: WatRule = { points: ['m/count'], extra: '(global $count (mut f64) (f64.const 0))', tick: '(global.set $count (f64.add (global.get $count) (f64.const 1))) (call $publish (i32.const 0) (global.get $count))' };
    const compiled = compileRule(await assembleRule(counter));
    const arena = new RuleArena();
    const rules = [0, 1, 2].map(() => new RuleInstance(compiled, 10, 1_000_000, arena.allocate(compiled.memoryPagesMax)));
    rules.forEach((rule, index) => {
      for (let tick = 0; tick <= index; tick++) rule.step(1000, tick);
    });
    const batch = new RuleBatch(arena, 3, 3, 0, rules.map((rule) => rule.frameBytes));
    const frames = rules.map((_, index) => batch.frame(index));
    expect(frames.every((frame, index) => frame % 64 === 0 && (index === 0 || frame === frames[index - 1]! + compiled.prepared.frameBytes))).toBe(true);
    rules.forEach((rule, index) => {
      const front = rule.frame;
      rule.moveFrame(frames[index]!);
      expect(arena.u8.subarray(front, front + rule.frameBytes).every((byte) => byte === 0)).toBe(true);
      batch.bind(index, rule.runFunction, rule.stepFunction, rule.frame);
      batch.setBudget(index, 1000);
      batch.setEntries(index, index, index + 1);
      batch.setEntry(index, emitKind.point, rule.slots.points[0]!, index);
    });
    batch.clearEvents();
    batch.run(0, 5);
    expect(events(arena, batch).map((event) => event.value)).toEqual([2, 3, 4]);
  });

  async function batchOf(rules: readonly WatRule[]): Promise<{ arena: RuleArena; batch: RuleBatch; instances: RuleInstance[] }> {
    const arena = new RuleArena();
    const instances: RuleInstance[] = [];
    // the same rule object is the same module: its rules run in one instance, and consecutive ones in one run
    const modules = new Map<WatRule, CompiledRule>();
    for (const rule of rules) {
      const compiled = modules.get(rule) ?? compileRule(await assembleRule(rule));
      modules.set(rule, compiled);
      instances.push(new RuleInstance(compiled, 10, 1_000_000, arena.allocate(compiled.memoryPagesMax)));
    }
    const entries = instances.map((instance) => instance.slots.outputs.length + instance.slots.points.length + instance.slots.alarms.length);
    const alarms = instances.reduce((sum, instance) => sum + instance.slots.alarms.length, 0);
    const batch = new RuleBatch(arena, instances.length, entries.reduce((a, b) => a + b, 0), alarms);
    let entry = 0;
    const next = { output: 0, point: 0, alarm: 0 };
    instances.forEach((instance, index) => {
      batch.bind(index, instance.runFunction, instance.stepFunction, instance.frame);
      batch.setBudget(index, 1000);
      batch.setEntries(index, entry, entry + entries[index]!);
      for (const slot of instance.slots.outputs) batch.setEntry(entry++, emitKind.output, slot, next.output++);
      for (const slot of instance.slots.points) batch.setEntry(entry++, emitKind.point, slot, next.point++);
      for (const slot of instance.slots.alarms) batch.setEntry(entry++, emitKind.alarm, slot, next.alarm++);
    });
    return { arena, batch, instances };
  }

  function events(arena: RuleArena, batch: RuleBatch): { kind: number; aux: number; rule: number; index: number; value: number; bits: bigint }[] {
    const bits = new BigUint64Array(arena.memory.buffer);
    return Array.from({ length: batch.eventCount }, (_, at) => {
      const f64 = batch.eventsF64 + at * 2;
      const code = arena.i32[f64 * 2 + 2]!;
      return { kind: eventKind(code), aux: eventAux(code), rule: eventRule(code), index: arena.i32[f64 * 2 + 3]!, value: arena.f64[f64]!, bits: bits[f64]! };
    });
  }

  it('steps every rule with a budget from `from` on, and counts ticks and fuel per rule', async () => {
    const { arena, batch, instances } = await batchOf([publisher, publisher, publisher]);
    batch.setBudget(1, 0);
    batch.clearEvents();
    batch.run(0, 7);
    expect([batch.ticks(0), batch.ticks(1), batch.ticks(2)]).toEqual([1, 0, 1]);
    expect(batch.result(0)).toBeGreaterThan(0);
    expect(batch.fuelUsedMax(0)).toBe(1000 - batch.result(0));
    expect(arena.f64[instances[1]!.slots.header / 8]).toBe(0); // skipped: never stepped
    expect(arena.f64[instances[2]!.slots.header / 8]).toBe(7);
    batch.run(1, 8);
    expect([batch.ticks(0), batch.ticks(2)]).toEqual([1, 2]);
  });

  it('reads each output written, point published and alarm transition of a rule with events, in rule order, and clears what it consumed', async () => {
    const { arena, batch, instances } = await batchOf([producer, publisher, producer]);
    const setInput = (rule: number, value: number): void => void (arena.f64[instances[rule]!.slots.inputs[0]! / 8] = value);
    setInput(0, 2);
    setInput(2, 0.5);
    batch.clearEvents();
    batch.run(0, 1);
    expect(batch.result(0)).toBeLessThan(0);
    expect(batch.result(1)).toBeGreaterThan(0); // no events: nothing read
    const first = events(arena, batch);
    expect(first.map(({ kind, aux, rule, index }) => [kind, aux, rule, index])).toEqual([
      [emitKind.output, 0, 0, 0],
      [emitKind.point, 2, 0, 0], // quality 7 clamped to bad
      [emitKind.alarm, 1, 0, 0], // raised
      [emitKind.output, 0, 2, 1],
      [emitKind.point, 2, 2, 2], // the publisher's point is index 1
    ]);
    expect(first[0]!.value).toBe(3);
    expect(first[1]!.bits).toBe(0x7ff8000000000000n); // the NaN's payload is gone
    expect(first[2]!.value).toBe(2);
    expect(batch.reported(0)).toBe(1);
    expect(batch.reported(1)).toBe(0);
    for (const rule of [0, 2]) {
      expect(arena.u8[instances[rule]!.slots.outputs[0]! + 8]).toBe(0); // dirty flag consumed
      expect(arena.u8[instances[rule]!.slots.points[0]! + 9]).toBe(0); // publish flag consumed
    }
    // the alarm stays active: no transition, so only the output and the point again; rule 2's alarm rises
    setInput(2, 5);
    batch.clearEvents();
    batch.run(0, 2);
    expect(events(arena, batch).map(({ kind, aux, rule }) => [kind, aux, rule])).toEqual([
      [emitKind.output, 0, 0],
      [emitKind.point, 2, 0],
      [emitKind.output, 0, 2],
      [emitKind.point, 2, 2],
      [emitKind.alarm, 1, 2],
    ]);
    // rule 0's input drops: no output or point, the alarm clears
    setInput(0, 0);
    batch.clearEvents();
    batch.run(0, 3);
    expect(events(arena, batch).filter(({ rule }) => rule === 0).map(({ kind, aux }) => [kind, aux])).toEqual([[emitKind.alarm, 0]]);
    expect(batch.reported(0)).toBe(0);
  });

  it('leaves `current` at the rule that trapped, with the events before it kept, so the host can resume after it', async () => {
    const { arena, batch, instances } = await batchOf([producer, trapper, producer]);
    for (const rule of [0, 2]) arena.f64[instances[rule]!.slots.inputs[0]! / 8] = 2;
    batch.clearEvents();
    expect(() => batch.run(0, 1)).toThrow();
    expect(batch.current).toBe(1);
    expect([batch.ticks(0), batch.ticks(1), batch.ticks(2)]).toEqual([1, 0, 0]);
    expect(new Set(events(arena, batch).map(({ rule }) => rule))).toEqual(new Set([0]));
    batch.run(2, 1);
    expect(batch.ticks(2)).toBe(1);
    expect(events(arena, batch).map(({ rule }) => rule)).toEqual([0, 0, 0, 2, 2, 2]);
  });

  it('runs consecutive rules of one module in one call to its instance, and resumes in the middle of such a run after a trap', async () => {
    const trapsAbove: WatRule = { inputs: ['m/in'], points: ['m/p'], tick: '(if (f64.gt (call $input (i32.const 0)) (f64.const 1)) (then (unreachable))) (call $publish (i32.const 0) (call $input (i32.const 0)))' };
    const { arena, batch, instances } = await batchOf([trapsAbove, trapsAbove, trapsAbove, publisher, trapsAbove]);
    expect(new Set(instances.map((instance) => instance.runFunction)).size).toBe(2);
    instances.forEach((instance, rule) => void (arena.f64[instance.slots.inputs[0]! / 8] = rule === 1 ? 5 : 0.5));
    batch.clearEvents();
    expect(() => batch.run(0, 1)).toThrow();
    expect(batch.current).toBe(1);
    batch.run(2, 1);
    expect([0, 1, 2, 3, 4].map((rule) => batch.ticks(rule))).toEqual([1, 0, 1, 1, 1]);
    expect(events(arena, batch).map(({ rule }) => rule)).toEqual([0, 2, 3, 4]);
    // bound to another module's run (here the publisher's, with rule 3's frame), rule 1 splits the run it was in
    batch.bind(1, instances[3]!.runFunction, instances[3]!.stepFunction, instances[3]!.frame);
    batch.clearEvents();
    expect(() => batch.run(0, 2)).not.toThrow();
    expect([0, 1, 2, 3, 4].map((rule) => batch.ticks(rule))).toEqual([2, 1, 2, 2, 2]);
  });
});
