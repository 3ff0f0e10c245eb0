import { describe, expect, it } from 'vitest';
import { compileRule, RuleInstance } from './rule-instance.ts';
import { seededRandom } from './random.ts';
import { RuleSupervisor, type RuleSink } from './rule-supervisor.ts';
import { assembleRule, type WatRule } from './rule-test-modules.ts';

const quarantine = { faultsMax: 3, windowTicks: 10 };

async function supervisor(rule: WatRule, overrides: { fuelPerTick?: number; memory?: string } = {}) {
  const compiled = compileRule(await assembleRule(rule), { memoryPagesMax: 16, moduleBytesMax: 1 << 20 });
  return () => new RuleSupervisor({ name: 'test-rule', compiled, tickMs: 10, fuelPerTick: overrides.fuelPerTick ?? 10_000, startFuel: 100_000, quarantine });
}

/** A sink that prints every event as a line, values by their bits. */
function recorder(): { sink: RuleSink; lines: string[] } {
  const lines: string[] = [];
  const bits = (value: number): string => Buffer.from(Float64Array.of(value).buffer).toString('hex');
  return {
    lines,
    sink: {
      write: (index, value) => void lines.push(`write ${index} ${bits(value)}`),
      point: (index, value, quality) => void lines.push(`point ${index} ${bits(value)} q${quality}`),
      alarm: (index, active, value) => void lines.push(`alarm ${index} ${active} ${bits(value)}`),
      fault: (code, _message, quarantined) => void lines.push(`fault ${code}${quarantined ? ' quarantined' : ''}`),
    },
  };
}

const trapAbove10: WatRule = {
  inputs: ['m/in'],
  outputs: [{ name: 'm/out', safe: -1 }],
  tick: '(if (f64.gt (call $input (i32.const 0)) (f64.const 10)) (then unreachable)) (call $output (i32.const 0) (call $input (i32.const 0)))',
};

describe('rule supervisor', () => {
  it('writes the safe values in the tick that traps, then restarts the rule on the next tick', async () => {
    const rule = (await supervisor(trapAbove10))();
    const { sink, lines } = recorder();
    rule.input(0, 5, 0, 0);
    rule.run(0, sink);
    rule.input(0, 50, 0, 1);
    rule.run(1, sink);
    rule.input(0, 7, 0, 2);
    rule.run(2, sink);
    expect(lines).toEqual([`write 0 ${'0000000000001440'}`, `write 0 ${'000000000000f0bf'}`, 'fault RULE_TRAP', `write 0 ${'0000000000001c40'}`]);
    expect(rule.stats).toMatchObject({ faults: 1, restarts: 1, lastFault: 'RULE_TRAP' });
  });

  it('reports an endless loop as RULE_FUEL_EXHAUSTED within the tick', async () => {
    const rule = (await supervisor({ ...trapAbove10, tick: '(loop $forever (br $forever))' }, { fuelPerTick: 1_000_000 }))();
    const { sink, lines } = recorder();
    const startedMs = performance.now();
    rule.run(0, sink);
    expect(performance.now() - startedMs).toBeLessThan(200);
    expect(lines).toEqual([`write 0 000000000000f0bf`, 'fault RULE_FUEL_EXHAUSTED']);
  });

  it('reports a rule that outgrows its memory as RULE_MEMORY and an abort as RULE_ABORT', async () => {
    const hog = (await supervisor({ ...trapAbove10, tick: '(if (i32.eq (memory.grow (i32.const 10)) (i32.const -1)) (then unreachable))' }))();
    const aborting = (await supervisor({ ...trapAbove10, extra: '(import "env" "abort" (func $abort (param i32 i32 i32 i32)))', tick: '(call $abort (i32.const 0) (i32.const 0) (i32.const 12) (i32.const 3))' }))();
    const { sink, lines } = recorder();
    hog.run(0, sink);
    aborting.run(0, sink);
    expect(lines.filter((line) => line.startsWith('fault'))).toEqual(['fault RULE_MEMORY', 'fault RULE_ABORT']);
  });

  it('quarantines after N faults in M ticks and runs again once released', async () => {
    const rule = (await supervisor(trapAbove10))();
    const { sink, lines } = recorder();
    rule.input(0, 50, 0, 0);
    for (let tick = 0; tick < 6; tick++) rule.run(tick, sink);
    expect(lines.filter((line) => line.startsWith('fault'))).toEqual(['fault RULE_TRAP', 'fault RULE_TRAP', 'fault RULE_TRAP quarantined']);
    expect(rule.quarantined).toBe(true);
    lines.length = 0;
    rule.input(0, 3, 0, 6);
    rule.run(6, sink);
    expect(lines).toEqual([]); // quarantined: not run, outputs stay safe
    rule.release();
    rule.run(7, sink);
    expect(lines).toEqual(['write 0 0000000000000840']);
  });

  it('does not quarantine faults spread wider than the window', async () => {
    const rule = (await supervisor(trapAbove10))();
    const { sink, lines } = recorder();
    for (let tick = 0; tick < 60; tick++) {
      rule.input(0, tick % 20 === 0 ? 50 : 1, 0, tick);
      rule.run(tick, sink);
    }
    expect(lines.filter((line) => line.startsWith('fault'))).toEqual(['fault RULE_TRAP', 'fault RULE_TRAP', 'fault RULE_TRAP']);
    expect(rule.quarantined).toBe(false);
  });

  it('canonicalises NaN on the way in and on the way out', async () => {
    const rule = (await supervisor({
      inputs: ['m/in'],
      outputs: [{ name: 'm/out', safe: 0 }],
      points: ['m/in_is_canonical_nan'],
      tick: `(call $publish (i32.const 0) (f64.convert_i32_u (i64.eq (i64.reinterpret_f64 (call $input (i32.const 0))) (i64.const 0x7ff8000000000000))))
             (call $output (i32.const 0) (f64.reinterpret_i64 (i64.const 0xfff8000000000123)))`,
    }))();
    const payloadNaN = new Float64Array(new BigUint64Array([0x7ff4000000000abcn]).buffer)[0]!;
    const { sink, lines } = recorder();
    rule.input(0, payloadNaN, 0, 0);
    rule.run(0, sink);
    expect(lines).toEqual(['write 0 000000000000f87f', 'point 0 000000000000f03f q0']);
  });

  it('gives the same outputs, bit for bit, from two fresh instances fed the same inputs', async () => {
    const make = await supervisor({
      inputs: ['m/a', 'm/b'],
      outputs: [{ name: 'm/out', safe: 0 }],
      points: ['m/ratio'],
      tick: `(call $output (i32.const 0) (f64.sqrt (f64.mul (call $input (i32.const 0)) (call $input (i32.const 1)))))
             (call $publish (i32.const 0) (f64.div (call $input (i32.const 0)) (call $input (i32.const 1))))`,
    });
    const runs = [make(), make()].map((rule) => {
      const random = seededRandom(7);
      const { sink, lines } = recorder();
      for (let tick = 0; tick < 500; tick++) {
        const roll = random.next();
        rule.input(0, roll < 0.05 ? NaN : random.gaussian() * 10, 0, tick);
        rule.input(1, roll > 0.95 ? 0 : random.gaussian(), roll > 0.9 ? 1 : 0, tick);
        rule.run(tick, sink);
      }
      return lines;
    });
    expect(runs[0]!.length).toBe(1000);
    expect(runs[0]).toEqual(runs[1]);
  });

  it('meters fuel deterministically: the same work costs the same fuel on every run', async () => {
    const rule: WatRule = {
      inputs: ['m/n'],
      tick: '(local $i i32) (loop $count (local.set $i (i32.add (local.get $i) (i32.const 1))) (br_if $count (f64.lt (f64.convert_i32_u (local.get $i)) (call $input (i32.const 0)))))',
    };
    const compiled = compileRule(await assembleRule(rule));
    const fuelFor = (iterations: number): number => {
      const instance = new RuleInstance(compiled, 10, 100_000);
      new Float64Array(instance.f64.buffer)[instance.slots.inputs[0]! / 8] = iterations;
      return instance.tick(1_000_000);
    };
    const perIteration = fuelFor(11) - fuelFor(10);
    expect(perIteration).toBeGreaterThan(5);
    expect(fuelFor(1010) - fuelFor(10)).toBe(1000 * perIteration);
    expect(fuelFor(500)).toBe(fuelFor(500));
  });
});
