import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildRule, type BuiltRule } from './build.ts';
import { compileCached } from './compile-cache.ts';
import { formatResults, runTestScript } from './test-runner.ts';
import { parseTestScript } from './test-script.ts';

let built: BuiltRule;

beforeAll(async () => {
  built = await buildRule(fileURLToPath(new URL('./examples/over-temperature.ts', import.meta.url)), { compile: compileCached });
}, 120_000);

const script = (steps: string) => parseTestScript(`tickMs: 100\ncases:\n  - name: wrong on purpose\n    steps:\n${steps}`, 'wrong.test.yaml');

describe('rule test scripts', () => {
  it('print each failing tick as an expected/got table with the inputs at that tick', () => {
    const wrong = script(`      - tick: 0
        inputs: { filler/temperature: 90, filler/running: true }
      - tick: 10
        expect: { alarms: { over-temperature: raised }, writes: { filler/run_command: false } }
`);
    const results = runTestScript(wrong, built);
    expect(formatResults(wrong, results)).toBe(
      [
        '  FAIL  wrong on purpose',
        '        at tick 10 (expected by wrong.test.yaml:7):',
        '          write  filler/run_command               expected false      got (none)',
        '          alarm  over-temperature                 expected raised     got inactive',
        '          inputs: filler/temperature=90 good, filler/running=1 good',
      ].join('\n'),
    );
  });

  it('refuse a name the rule does not declare, with the line of the step', () => {
    const unknown = script(`      - tick: 0
        inputs: { filler/temprature: 90 }
`);
    expect(() => runTestScript(unknown, built)).toThrow("wrong.test.yaml:5: 'filler/temprature' is not an input of rule over-temperature (it declares: filler/temperature, filler/running)");
  });
});
