// The rule host runs every rule in one batch call (common/rule-batch.ts). These tests prove that
// batching keeps what the sandbox promises per rule: a trap, an abort or fuel exhaustion faults
// only its own rule while the rules before and after it still run and emit in the same tick, in
// rule order; fuel is counted per rule; a grown memory, a restart and a release from quarantine all
// see the current inputs; and two hosts fed the same ticks produce the same trace.
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../common/random.ts';
import { headerSlotAddress, slotAddress, type WatRule } from '../../common/rule-test-modules.ts';
import { ScanCore } from '../scan/scan-core.ts';
import { OutputPrinter } from '../scan/trace.ts';
import type { LoadedRule } from './load-rules.ts';
import { RuleHost, type RuleFaultEvent } from './rule-host.ts';
import { planRules } from './rule-plan.ts';
import { loadedWatRule, testPlanContext } from './rule-testing.ts';

const deviceTags = ['m/in', 'm/a', 'm/b', 'm/c', 'm/d', 'm/e'].map((tag) => ({ tag: `line1/${tag}`, kind: 'number' as const, writable: tag !== 'm/in' }));
const context = testPlanContext(deviceTags);
const loaded = (name: string, rule: WatRule): Promise<LoadedRule> => loadedWatRule(name, rule);

/** Writes input × factor to `output` every tick. */
const scaler = (output: string, factor: number): WatRule => ({ inputs: ['m/in'], outputs: [{ name: output, safe: -1 }], tick: `(call $output (i32.const 0) (f64.mul (f64.const ${factor}) (call $input (i32.const 0))))` });
/** Like scaler, but faults in its own way when the input is above 50. */
const faulty = (output: string, fault: string): WatRule => ({ ...scaler(output, 3), tick: `(if (f64.gt (call $input (i32.const 0)) (f64.const 50)) (then ${fault})) ${scaler(output, 3).tick}` });
const endless = '(loop $forever (br $forever))';
const trap = '(unreachable)';
const abort = '(call $abort (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 1))';
const abortImport = '(import "env" "abort" (func $abort (param i32 i32 i32 i32)))';

async function hostFor(rules: readonly [string, WatRule][]) {
  const { plan, tags } = planRules(await Promise.all(rules.map(([name, rule]) => loaded(name, rule))), context);
  const faults: RuleFaultEvent[] = [];
  const host = new RuleHost(plan, { onFault: (event) => faults.push(event) });
  const lines: string[] = [];
  const header = { version: 1 as const, gateway: 'g', tickMs: 10, publishInputs: false, tags: [...deviceTags, ...tags], alarms: [] };
  const core = new ScanCore({ tagCount: header.tags.length, program: host, outputs: new OutputPrinter(header, (line) => lines.push(line)), publishInputs: false });
  return {
    host,
    faults,
    lines,
    tick(tick: number, input?: number): string[] {
      const before = lines.length;
      core.begin(tick, 1000 + tick * 10);
      if (input !== undefined) core.input(0, input, 0, 1000 + tick * 10);
      core.run();
      return lines.slice(before);
    },
  };
}

describe('rule host batch', () => {
  it('faults only the rule that traps, aborts or runs out of fuel; the rules before and after still emit in the same tick, in rule order', async () => {
    const rig = await hostFor([
      ['first', scaler('m/a', 2)],
      ['looping', faulty('m/b', endless)],
      ['trapping', faulty('m/c', trap)],
      ['aborting', { ...faulty('m/d', abort), extra: abortImport }],
      ['last', scaler('m/e', 5)],
    ]);
    expect(rig.tick(0, 10)).toEqual(['tick 0 write line1/m/a 20', 'tick 0 write line1/m/b 30', 'tick 0 write line1/m/c 30', 'tick 0 write line1/m/d 30', 'tick 0 write line1/m/e 50']);
    expect(rig.tick(1, 60)).toEqual(['tick 1 write line1/m/a 120', 'tick 1 write line1/m/b -1', 'tick 1 write line1/m/c -1', 'tick 1 write line1/m/d -1', 'tick 1 write line1/m/e 300']);
    expect(rig.faults.map((event) => `${event.rule} ${event.code} ${event.tick}`)).toEqual(['looping RULE_FUEL_EXHAUSTED 1', 'trapping RULE_TRAP 1', 'aborting RULE_ABORT 1']);
    // restarted on the next tick with the input they faulted on: they fault again and are quarantined
    expect(rig.tick(2)).toEqual(['tick 2 write line1/m/a 120', 'tick 2 write line1/m/b -1', 'tick 2 write line1/m/c -1', 'tick 2 write line1/m/d -1', 'tick 2 write line1/m/e 300']);
    expect(rig.host.stats().map((rule) => [rule.name, rule.ticks, rule.faults, rule.restarts, rule.quarantined])).toEqual([
      ['first', 3, 0, 0, false],
      ['looping', 1, 2, 1, true],
      ['trapping', 1, 2, 1, true],
      ['aborting', 1, 2, 1, true],
      ['last', 3, 0, 0, false],
    ]);
    expect(rig.tick(3, 7)).toEqual(['tick 3 write line1/m/a 14', 'tick 3 write line1/m/e 35']);
  });

  it('faults a rule that recurses without end or outgrows its memory, and only that rule', async () => {
    const recursing: WatRule = { ...faulty('m/b', '(call $deep)'), extra: '(func $deep (call $deep))' };
    const growing: WatRule = { ...faulty('m/c', '(if (i32.eq (memory.grow (i32.const 5)) (i32.const -1)) (then (unreachable)))') };
    const rig = await hostFor([['recursing', recursing], ['growing', growing], ['last', scaler('m/e', 5)]]);
    expect(rig.tick(0, 60)).toEqual(['tick 0 write line1/m/b -1', 'tick 0 write line1/m/c -1', 'tick 0 write line1/m/e 300']);
    expect(rig.faults.map((event) => `${event.rule} ${event.code}`)).toEqual(['recursing RULE_TRAP', 'growing RULE_MEMORY']);
  });

  it('canonicalises NaN where inputs cross into a rule', async () => {
    const highBits: WatRule = { inputs: ['m/in'], outputs: [{ name: 'm/a', safe: 0 }], tick: '(call $output (i32.const 0) (f64.convert_i64_u (i64.shr_u (i64.reinterpret_f64 (call $input (i32.const 0))) (i64.const 32))))' };
    const rig = await hostFor([['bits', highBits]]);
    rig.tick(0, 1);
    const payload = new Float64Array(new BigUint64Array([0x7ffc_0000_0000_0001n]).buffer)[0]!;
    expect(rig.tick(1, payload)).toEqual([`tick 1 write line1/m/a ${0x7ff8_0000}`]);
  });

  it('counts fuel per rule: a rule that exhausts its budget leaves the others their whole budget', async () => {
    const busy: WatRule = { inputs: ['m/in'], outputs: [{ name: 'm/a', safe: 0 }], tick: '(local $i i32) (loop $again (local.set $i (i32.add (local.get $i) (i32.const 1))) (br_if $again (i32.lt_u (local.get $i) (i32.const 8000)))) (call $output (i32.const 0) (f64.const 1))' };
    const rig = await hostFor([['spinning', faulty('m/b', endless)], ['busy', busy]]);
    rig.tick(0, 60);
    const [spinning, used] = rig.host.stats();
    expect(spinning!.lastFault).toBe('RULE_FUEL_EXHAUSTED');
    expect(used!.fuelUsedMax).toBeGreaterThan(40_000); // its own work, on its own 100,000: the spinning rule took nothing from it
    expect(used!.fuelUsedMax).toBeLessThan(100_000);
    expect(rig.lines).toContain('tick 0 write line1/m/a 1');
  });

  it('writes inputs into a memory that grew during a tick', async () => {
    const growing: WatRule = { ...scaler('m/a', 2), tick: `(if (i32.eq (memory.size) (i32.const 1)) (then (drop (memory.grow (i32.const 1))))) ${scaler('m/a', 2).tick}` };
    const rig = await hostFor([['growing', growing]]);
    expect(rig.tick(0, 4)).toEqual(['tick 0 write line1/m/a 8']);
    expect(rig.tick(1, 9)).toEqual(['tick 1 write line1/m/a 18']);
    expect(rig.tick(2, 11)).toEqual(['tick 2 write line1/m/a 22']);
  });

  it('gives a rule released from quarantine the inputs that changed while it was quarantined', async () => {
    const rig = await hostFor([['trapping', faulty('m/a', trap)]]);
    rig.tick(0, 60);
    rig.tick(1);
    expect(rig.host.stats()[0]!.quarantined).toBe(true);
    rig.tick(2, 8);
    expect(rig.tick(3)).toEqual([]);
    expect(rig.host.release('trapping')).toBe(true);
    expect(rig.tick(4)).toEqual(['tick 4 write line1/m/a 24']);
  });

  it('replays into a restarted rule each input as the scan holds it, changed at the tick it last came in', async () => {
    const base: WatRule = { inputs: ['m/in'], outputs: [{ name: 'm/a', safe: -1 }, { name: 'm/b', safe: -1 }], tick: '' };
    const input = slotAddress('input', 0, base);
    // faults once, at tick 1; writes the input's changed tick to m/a and its quality to m/b
    const restarting: WatRule = { ...base, tick: `(if (f64.eq (f64.load (i32.const ${headerSlotAddress})) (f64.const 1)) (then (unreachable))) (call $output (i32.const 0) (f64.load (i32.const ${input + 8}))) (call $output (i32.const 1) (f64.convert_i32_u (i32.load8_u (i32.const ${input + 16}))))` };
    const rig = await hostFor([['restarting', restarting]]);
    expect(rig.tick(0, 7)).toEqual(['tick 0 write line1/m/a 0', 'tick 0 write line1/m/b 0']);
    expect(rig.tick(1)).toEqual(['tick 1 write line1/m/a -1', 'tick 1 write line1/m/b -1']);
    expect(rig.tick(2)).toEqual(['tick 2 write line1/m/a 0', 'tick 2 write line1/m/b 0']); // restarted: the sample of tick 0, still good
  });

  it('keeps an alarm active across a fault and restart, and reports only real transitions', async () => {
    const alarming: WatRule = { inputs: ['m/in'], alarms: ['high'], tick: '(if (f64.gt (call $input (i32.const 0)) (f64.const 50)) (then (unreachable))) (call $raise (i32.const 0) (f64.gt (call $input (i32.const 0)) (f64.const 10)) (call $input (i32.const 0)))' };
    const rig = await hostFor([['alarming', alarming]]);
    const transitions = (tick: number, input: number): string[] => rig.tick(tick, input).map((line) => line.replace(/point \S+\/high/, 'point high'));
    expect(transitions(0, 20)).toEqual(['tick 0 alarm #0 raise 20 severity=3', 'tick 0 point high true good 1000']);
    expect(transitions(1, 60)).toEqual([]);
    expect(rig.faults.map((event) => event.code)).toEqual(['RULE_TRAP']);
    expect(transitions(2, 30)).toEqual([]);
    expect(transitions(3, 5)).toEqual(['tick 3 alarm #0 clear 5 severity=3', 'tick 3 point high false good 1030']);
  });

  it('is deterministic: two hosts fed the same ticks produce the same trace, faults and fuel', async () => {
    const rules: [string, WatRule][] = [['first', scaler('m/a', 2)], ['looping', faulty('m/b', endless)], ['trapping', faulty('m/c', trap)], ['last', scaler('m/e', 5)]];
    const seed = 7;
    const run = async () => {
      const rig = await hostFor(rules);
      const random = seededRandom(seed);
      for (let tick = 0; tick < 400; tick++) {
        rig.tick(tick, random.next() < 0.3 ? Math.round(random.next() * 60) : undefined);
        if (tick % 97 === 0) rig.host.release('looping');
      }
      return { lines: rig.lines, faults: rig.faults, stats: rig.host.stats() };
    };
    const [a, b] = [await run(), await run()];
    expect(a.faults.length).toBeGreaterThan(2);
    expect(b).toEqual(a);
  });
});
