import { describe, expect, it } from 'vitest';
import type { WatRule } from '../../common/rule-test-modules.ts';
import { AlarmProgram } from '../scan/alarms.ts';
import { ScanCore } from '../scan/scan-core.ts';
import { OutputPrinter, type TraceHeader } from '../scan/trace.ts';
import { RuleCommands } from './rule-commands.ts';
import { composePrograms, RuleHost, type RuleFaultEvent } from './rule-host.ts';
import { deserializeRulePlan, planRules, serializeRulePlan, type PlanContext } from './rule-plan.ts';
import { loadedWatRule, testPlanContext, testRuleLimits } from './rule-testing.ts';

const deviceTags = [
  { tag: 'line1/m/in', kind: 'number' as const, writable: false },
  { tag: 'line1/m/out', kind: 'number' as const, writable: true },
  { tag: 'line1/m/stop', kind: 'number' as const, writable: true },
  { tag: 'line1/m/speed', kind: 'number' as const, writable: false },
];
const limits = testRuleLimits;
const planContext = (firstAlarmIndex = 0): PlanContext => testPlanContext(deviceTags, firstAlarmIndex);
const loaded = loadedWatRule;

const doubler: WatRule = { inputs: ['m/in'], outputs: [{ name: 'm/out', safe: 0 }], points: ['m/doubled'], tick: '(call $output (i32.const 0) (f64.mul (f64.const 2) (call $input (i32.const 0)))) (call $publish (i32.const 0) (f64.mul (f64.const 2) (call $input (i32.const 0))))' };
const looper: WatRule = { inputs: ['m/in'], outputs: [{ name: 'm/stop', safe: 1 }], tick: '(loop $forever (br $forever))' };

function scan(header: TraceHeader, program: ConstructorParameters<typeof ScanCore>[0]['program']) {
  const lines: string[] = [];
  const core = new ScanCore({ tagCount: header.tags.length, program, outputs: new OutputPrinter(header, (line) => lines.push(line)), publishInputs: false });
  return {
    lines,
    tick(tick: number, input?: number): void {
      core.begin(tick, 1000 + tick * 10);
      if (input !== undefined) core.input(0, input, 0, 1000 + tick * 10);
      core.run();
    },
  };
}

describe('gateway rule host', () => {
  it('traps an endless loop by fuel while another rule still produces its output in the same tick', async () => {
    const { plan, tags } = planRules([await loaded('looper', looper), await loaded('doubler', doubler)], planContext());
    const faults: RuleFaultEvent[] = [];
    const host = new RuleHost(plan, { onFault: (event) => faults.push(event) });
    const header: TraceHeader = { version: 1, gateway: 'g', tickMs: 10, publishInputs: false, tags: [...deviceTags, ...tags], alarms: [] };
    const core = scan(header, host);
    const startedMs = performance.now();
    core.tick(0, 21);
    expect(performance.now() - startedMs).toBeLessThan(100);
    expect(core.lines).toEqual(['tick 0 write line1/m/stop 1', 'tick 0 write line1/m/out 42', 'tick 0 point line1/m/doubled 42 good 1000']);
    expect(faults).toEqual([{ rule: 'looper', code: 'RULE_FUEL_EXHAUSTED', message: 'the tick ran out of fuel', tick: 0, quarantined: false }]);
  });

  it('quarantines a rule that keeps faulting, keeps the others running, and runs it again once released', async () => {
    const { plan, tags } = planRules([await loaded('looper', looper), await loaded('doubler', doubler)], planContext());
    const faults: RuleFaultEvent[] = [];
    const host = new RuleHost(plan, { onFault: (event) => faults.push(event) });
    const commands = new RuleCommands(RuleCommands.allocate());
    const core = scan({ version: 1, gateway: 'g', tickMs: 10, publishInputs: false, tags: [...deviceTags, ...tags], alarms: [] }, host);
    for (let tick = 0; tick < 5; tick++) core.tick(tick, tick);
    expect(faults.map((event) => `${event.tick} ${event.code} ${event.quarantined}`)).toEqual(['0 RULE_FUEL_EXHAUSTED false', '1 RULE_FUEL_EXHAUSTED true']);
    expect(host.stats().map((rule) => [rule.name, rule.quarantined])).toEqual([['looper', true], ['doubler', false]]);
    expect(core.lines.filter((line) => line.includes('write line1/m/out')).length).toBe(5); // the doubler ran every tick
    expect(commands.release(0)).toBe(true);
    expect(commands.apply(host)).toBe(1);
    core.tick(5, 5);
    expect(faults.length).toBe(3);
  });

  it('numbers rule alarms after the built-in ones and publishes their state tags', async () => {
    const alarming: WatRule = { inputs: ['m/in'], alarms: ['high'], tick: '(call $raise (i32.const 0) (f64.gt (call $input (i32.const 0)) (f64.const 10)) (call $input (i32.const 0)))' };
    const builtIn = [{ id: 'speed-low', tagIndex: 3, direction: 'below' as const, limit: -1, hysteresis: 0, onDelayTicks: 0, severity: 2, actions: [], stateTagIndex: 0 }];
    const { plan, tags, alarms } = planRules([await loaded('alarming', alarming)], planContext(builtIn.length));
    expect(alarms).toEqual([{ id: 'alarming/high', rule: 'alarming', severity: 3, message: 'high message' }]);
    expect(tags).toEqual([{ tag: 'line1/_alarms/alarming/high', kind: 'boolean', aged: false }]);
    const header: TraceHeader = { version: 1, gateway: 'g', tickMs: 10, publishInputs: false, tags: [...deviceTags, ...tags], alarms: builtIn };
    const core = scan(header, composePrograms(new AlarmProgram(builtIn), new RuleHost(plan)));
    core.tick(0, 5);
    core.tick(1, 12);
    core.tick(2, 3);
    expect(core.lines).toEqual(['tick 1 alarm #1 raise 12 severity=3', 'tick 1 point line1/_alarms/alarming/high true good 1010', 'tick 2 alarm #1 clear 3 severity=3', 'tick 2 point line1/_alarms/alarming/high false good 1020']);
  });
});

describe('rule plans in trace headers', () => {
  it('survive JSON, so a replay runs the same rules on the same tags', async () => {
    const { plan } = planRules([await loaded('doubler', doubler)], planContext());
    const restored = deserializeRulePlan(JSON.parse(JSON.stringify(serializeRulePlan(plan))));
    expect(restored).toEqual(plan);
    expect(() => new RuleHost(restored)).not.toThrow();
  });
});

describe('binding rules to the gateway tag map', () => {
  const refusal = async (rule: WatRule, context: Partial<PlanContext> = {}, params: Record<string, number> = {}, second?: WatRule): Promise<string> => {
    const rules = [await loaded('r', rule, params), ...(second === undefined ? [] : [await loaded('s', second)])];
    try {
      planRules(rules, { ...planContext(), ...context });
    } catch (error) {
      return `${(error as { code: string }).code}: ${(error as Error).message}`;
    }
    return 'accepted';
  };

  it('refuses unknown tags, tags that are not writable, and a tag two rules write', async () => {
    expect(await refusal({ inputs: ['m/nope'], tick: '' })).toBe("RULE_BINDING_REFUSED: rule r (r.wasm): input 'm/nope' is not a tag of any device on this gateway");
    expect(await refusal({ outputs: [{ name: 'm/speed', safe: 0 }], tick: '' })).toBe("RULE_BINDING_REFUSED: rule r (r.wasm): output 'm/speed' is not writable in its device profile");
    expect(await refusal({ outputs: [{ name: 'm/out', safe: 0 }], tick: '' }, {}, {}, { outputs: [{ name: 'm/out', safe: 0 }], tick: '' })).toBe("RULE_BINDING_REFUSED: rule s (s.wasm): output 'm/out' is already written by rule r");
    expect(await refusal({ points: ['m/speed'], tick: '' })).toBe("RULE_BINDING_REFUSED: rule r (r.wasm): point 'm/speed' has the name of a device tag");
  });

  it('refuses a rule that asks for more fuel or memory than the gateway allows', async () => {
    expect(await refusal({ fuelPerTick: 5_000_000, tick: '' })).toBe("RULE_LIMIT_REFUSED: rule r (r.wasm): asks for 5000000 fuel per tick, above this gateway's 1000000");
    expect(await refusal({ tick: '' }, { limits: { ...limits, memoryPagesMax: 1 } })).toBe("RULE_LIMIT_REFUSED: rule r (r.wasm): asks for 2 memory pages, above this gateway's 1");
  });

  it('refuses parameters the rule does not declare', async () => {
    expect(await refusal({ tick: '' }, {}, { limit: 3 })).toBe("RULE_PARAM_INVALID: rule r (r.wasm): has no parameter 'limit' (it declares: none)");
  });

  it('keeps an unchanged running rule across a swap (its state goes on) and starts a changed one afresh', async () => {
    const counter: WatRule = { inputs: ['m/in'], points: ['m/count'], extra: '(global $count (mut f64) (f64.const 0))', tick: '(global.set $count (f64.add (global.get $count) (f64.const 1))) (call $publish (i32.const 0) (global.get $count))' };
    const first = planRules([await loaded('counter', counter)], planContext());
    const header: TraceHeader = { version: 1, gateway: 'g', tickMs: 10, publishInputs: false, tags: [...deviceTags, ...first.tags], alarms: [] };
    const old = new RuleHost(first.plan);
    const before = scan(header, old);
    for (let tick = 0; tick < 3; tick++) before.tick(tick, tick);
    expect(before.lines.at(-1)).toBe('tick 2 point line1/m/count 3 good 1020');

    // The same rule with a doubler added: the counter carries on from 3.
    const second = planRules([await loaded('counter', counter), await loaded('doubler', doubler)], planContext());
    const swapped = new RuleHost(second.plan, { previous: old });
    expect(swapped.carried).toEqual(['counter']);
    const after = scan({ ...header, tags: [...deviceTags, ...second.tags] }, swapped);
    after.tick(3, 3);
    expect(after.lines).toContain('tick 3 point line1/m/count 4 good 1030');

    // A new module under the same name is a different rule: it starts from its top-level code.
    const rebuilt: WatRule = { ...counter, extra: '(global $count (mut f64) (f64.const 100))' };
    const third = planRules([await loaded('counter', rebuilt)], planContext());
    const restarted = new RuleHost(third.plan, { previous: swapped });
    expect(restarted.carried).toEqual([]);
    const fresh = scan({ ...header, tags: [...deviceTags, ...third.tags] }, restarted);
    fresh.tick(4, 4);
    expect(fresh.lines).toContain('tick 4 point line1/m/count 101 good 1040');
  });

  it('runs copies of a rule that differ only in their names in one compiled module, the carried ones included', async () => {
    const copy = (point: string): WatRule => ({ inputs: ['m/in'], points: [point], tick: '(call $publish (i32.const 0) (f64.mul (f64.const 2) (call $input (i32.const 0))))' });
    const first = planRules([await loaded('a', copy('m/p1'))], planContext());
    const old = new RuleHost(first.plan);
    expect(old.moduleCount).toBe(1);
    const second = planRules([await loaded('a', copy('m/p1')), await loaded('b', copy('m/p2')), await loaded('doubler', doubler)], planContext());
    expect(second.plan.rules[0]!.manifest.module.sha256).not.toBe(second.plan.rules[1]!.manifest.module.sha256);
    const swapped = new RuleHost(second.plan, { previous: old });
    expect(swapped.carried).toEqual(['a']);
    expect(swapped.moduleCount).toBe(2); // a and b share one; the doubler is other code
    const header: TraceHeader = { version: 1, gateway: 'g', tickMs: 10, publishInputs: false, tags: [...deviceTags, ...second.tags], alarms: [] };
    const after = scan(header, swapped);
    after.tick(0, 21);
    expect(after.lines).toEqual(expect.arrayContaining(['tick 0 point line1/m/p1 42 good 1000', 'tick 0 point line1/m/p2 42 good 1000']));
  });

  it('gives back every region it took when a swap fails part-way, and leaves the running host as it was', async () => {
    const first = planRules([await loaded('doubler', doubler)], planContext());
    const old = new RuleHost(first.plan);
    const used = old.arena.usedPages;
    const second = planRules([await loaded('fresh', { ...doubler, outputs: [], points: ['m/other'] }), await loaded('looper', looper)], planContext());
    // the second rule's module no longer matches its manifest: refused after the first one took its region
    const [fresh, broken] = second.plan.rules;
    const tampered = Uint8Array.from(broken!.wasm);
    tampered[tampered.length - 1] = tampered[tampered.length - 1]! ^ 1;
    expect(() => new RuleHost({ ...second.plan, rules: [fresh!, { ...broken!, wasm: tampered }] }, { previous: old })).toThrow(/SHA-256|sha256|hash/i);
    expect(old.arena.usedPages).toBe(used);
    const header: TraceHeader = { version: 1, gateway: 'g', tickMs: 10, publishInputs: false, tags: [...deviceTags, ...first.tags], alarms: [] };
    const still = scan(header, old);
    still.tick(0, 4);
    expect(still.lines).toContain('tick 0 write line1/m/out 8');
  });

  it('clears, at a swap, the active alarms of rules that do not go on running, under their old names', async () => {
    const alarming: WatRule = { inputs: ['m/in'], alarms: ['high'], tick: '(call $raise (i32.const 0) (f64.gt (call $input (i32.const 0)) (f64.const 10)) (call $input (i32.const 0)))' };
    const counter: WatRule = { inputs: ['m/in'], points: ['m/count'], tick: '(call $publish (i32.const 0) (f64.const 1))' };
    const first = planRules([await loaded('counter', counter), await loaded('alarming', alarming)], planContext());
    const header: TraceHeader = { version: 1, gateway: 'g', tickMs: 10, publishInputs: false, tags: [...deviceTags, ...first.tags], alarms: [], ruleAlarms: first.alarms };
    const old = new RuleHost(first.plan);
    const before = scan(header, old);
    before.tick(0, 12);
    expect(before.lines).toContain('tick 0 alarm alarming/high raise 12 severity=3');

    const second = planRules([await loaded('counter', counter)], planContext());
    const swapped = new RuleHost(second.plan, { previous: old });
    expect(swapped.carried).toEqual(['counter']);
    expect(swapped.arena).toBe(old.arena); // one rule memory: the carried rule keeps its region
    const usedBefore = old.arena.usedPages;
    const retired: string[] = [];
    const printer = new OutputPrinter(header, (line) => retired.push(line));
    old.retire(printer, 0, 1005);
    expect(retired).toEqual(['tick 0 alarm alarming/high clear NaN severity=3', 'tick 0 point line1/_alarms/alarming/high false good 1005']);
    expect(old.arena.usedPages).toBeLessThan(usedBefore); // the removed rule's region is given back
    old.retire(printer, 0, 1005);
    expect(retired).toHaveLength(2); // once only
  });

  it('keeps what it reported of a carried rule\'s alarms across a swap: no second raise, and a clear once the rule is removed', async () => {
    const alarming: WatRule = { inputs: ['m/in'], alarms: ['high'], tick: '(call $raise (i32.const 0) (f64.gt (call $input (i32.const 0)) (f64.const 10)) (call $input (i32.const 0)))' };
    const counter: WatRule = { inputs: ['m/in'], points: ['m/count'], tick: '(call $publish (i32.const 0) (f64.const 1))' };
    const first = planRules([await loaded('alarming', alarming)], planContext());
    const header: TraceHeader = { version: 1, gateway: 'g', tickMs: 10, publishInputs: false, tags: [...deviceTags, ...first.tags], alarms: [], ruleAlarms: first.alarms };
    const old = new RuleHost(first.plan);
    const before = scan(header, old);
    before.tick(0, 12);
    expect(before.lines).toContain('tick 0 alarm alarming/high raise 12 severity=3');

    const second = planRules([await loaded('alarming', alarming), await loaded('counter', counter)], planContext());
    const swapped = new RuleHost(second.plan, { previous: old });
    expect(swapped.carried).toEqual(['alarming']);
    old.retire(new OutputPrinter(header, () => undefined), 0, 1005);
    const after = scan({ ...header, tags: [...deviceTags, ...second.tags] }, swapped);
    after.tick(1, 13);
    expect(after.lines.filter((line) => line.includes('alarm alarming/high'))).toEqual([]); // still active, already reported

    const third = planRules([await loaded('counter', counter)], planContext());
    new RuleHost(third.plan, { previous: swapped });
    const retired: string[] = [];
    swapped.retire(new OutputPrinter(header, (line) => retired.push(line)), 1, 1015);
    expect(retired).toEqual(['tick 1 alarm alarming/high clear NaN severity=3', 'tick 1 point line1/_alarms/alarming/high false good 1015']);
  });
});
