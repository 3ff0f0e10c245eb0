import { describe, expect, it } from 'vitest';
import { RuleBatch } from './rule-batch.ts';
import { compileRule, RuleInstance } from './rule-instance.ts';
import { assembleRule, type WatRule } from './rule-test-modules.ts';

const publisher: WatRule = { inputs: ['m/in'], points: ['m/p'], tick: '(if (f64.gt (call $input (i32.const 0)) (f64.const 0)) (then (call $publish (i32.const 0) (f64.const 1))))' };
const trapper: WatRule = { tick: '(unreachable)' };

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
  it('steps every rule with a budget from `from` on, lists the ones with events in order, and counts ticks and fuel per rule', async () => {
    const rules = [await instance(publisher), await instance(publisher), await instance(publisher)];
    const batch = new RuleBatch(3);
    rules.forEach((rule, index) => {
      batch.bind(index, rule.stepFunction);
      batch.setBudget(index, 1000);
    });
    for (const index of [0, 2]) rules[index]!.f64[rules[index]!.slots.inputs[0]! / 8] = 1;
    batch.setBudget(1, 0);
    batch.clearEvents();
    batch.run(0, 7);
    expect([batch.eventCount, batch.eventRule(0), batch.eventRule(1)]).toEqual([2, 0, 2]);
    expect([batch.ticks(0), batch.ticks(1), batch.ticks(2)]).toEqual([1, 0, 1]);
    expect(batch.result(0)).toBeLessThan(0);
    expect(batch.fuelUsedMax(0)).toBe(1000 - (-1 - batch.result(0)));
    expect(rules[1]!.f64[rules[1]!.slots.header / 8]).toBe(0); // skipped: never stepped
    batch.clearEvents();
    batch.run(1, 8);
    expect([batch.eventCount, batch.eventRule(0), batch.ticks(0), batch.ticks(2)]).toEqual([1, 2, 1, 2]);
  });

  it('leaves `current` at the rule that trapped, so the host can resume after it', async () => {
    const rules = [await instance(publisher), await instance(trapper), await instance(publisher)];
    const batch = new RuleBatch(3);
    rules.forEach((rule, index) => {
      batch.bind(index, rule.stepFunction);
      batch.setBudget(index, 1000);
    });
    batch.clearEvents();
    expect(() => batch.run(0, 1)).toThrow();
    expect(batch.current).toBe(1);
    expect([batch.ticks(0), batch.ticks(1), batch.ticks(2)]).toEqual([1, 0, 0]);
    batch.run(2, 1);
    expect(batch.ticks(2)).toBe(1);
  });
});
