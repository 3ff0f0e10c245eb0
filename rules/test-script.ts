// Tick-by-tick rule test scripts (NAME.test.yaml beside NAME.ts). Each case starts a fresh rule;
// its steps set inputs (held until changed), parameters and operator acknowledgements at their
// tick, and state what must be true after that tick ran (or after every tick from `tick` through
// `through`). Steps at the same tick apply in file order. Validated like any config file: errors
// name the file, line and field.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { parseConfigText } from '../common/config.ts';
import { MillwrightError } from '../common/errors.ts';
import { ruleErrors } from '../common/rule-errors.ts';

export type Scalar = number | boolean;
export type AlarmExpectation = 'active' | 'inactive' | 'raised' | 'cleared';

export interface Step {
  readonly tick: number;
  readonly through?: number;
  readonly inputs?: Readonly<Record<string, Scalar | { readonly value: Scalar; readonly quality?: 'good' | 'uncertain' | 'bad' }>>;
  readonly params?: Readonly<Record<string, number>>;
  readonly acknowledge?: readonly string[];
  readonly expect?: {
    readonly writes?: Readonly<Record<string, Scalar | 'none'>>;
    readonly outputs?: Readonly<Record<string, Scalar | 'none'>>;
    readonly points?: Readonly<Record<string, Scalar | 'none'>>;
    readonly alarms?: Readonly<Record<string, AlarmExpectation>>;
    readonly fault?: string;
    readonly quarantined?: boolean;
  };
  /** Line of the step in the script, for failure messages. */
  readonly line: number;
}

export interface TestCase {
  readonly name: string;
  readonly steps: readonly Step[];
}

export interface TestScript {
  readonly file: string;
  readonly rule: string;
  readonly tickMs: number;
  readonly params: Readonly<Record<string, number>>;
  readonly quarantine?: { readonly faultsMax: number; readonly windowTicks: number };
  readonly cases: readonly TestCase[];
}

const scalar = { type: ['number', 'boolean'] } as const;
const tagMap = (values: object) => ({ type: 'object', additionalProperties: values });
export const ticksMax = 10_000_000;

export const testScriptSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['cases'],
  properties: {
    rule: { type: 'string', minLength: 1 },
    tickMs: { type: 'number', exclusiveMinimum: 0, maximum: 10_000, default: 10 },
    params: tagMap({ type: 'number' }),
    quarantine: {
      type: 'object',
      additionalProperties: false,
      required: ['faultsMax', 'windowTicks'],
      properties: { faultsMax: { type: 'integer', minimum: 1 }, windowTicks: { type: 'integer', minimum: 1 } },
    },
    cases: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'steps'],
        properties: {
          name: { type: 'string', minLength: 1 },
          steps: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['tick'],
              properties: {
                tick: { type: 'integer', minimum: 0, maximum: ticksMax },
                through: { type: 'integer', minimum: 0, maximum: ticksMax },
                inputs: tagMap({
                  oneOf: [
                    scalar,
                    { type: 'object', additionalProperties: false, required: ['value'], properties: { value: scalar, quality: { enum: ['good', 'uncertain', 'bad'] } } },
                  ],
                }),
                params: tagMap({ type: 'number' }),
                acknowledge: { type: 'array', items: { type: 'string' } },
                expect: {
                  type: 'object',
                  additionalProperties: false,
                  properties: {
                    writes: tagMap({ oneOf: [scalar, { const: 'none' }] }),
                    outputs: tagMap({ oneOf: [scalar, { const: 'none' }] }),
                    points: tagMap({ oneOf: [scalar, { const: 'none' }] }),
                    alarms: tagMap({ enum: ['active', 'inactive', 'raised', 'cleared'] }),
                    fault: { type: 'string' },
                    quarantined: { type: 'boolean' },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
} as const;

function scriptError(file: string, line: number, message: string): MillwrightError {
  return new MillwrightError(ruleErrors.testScriptInvalid, `${file}:${line}: ${message}`);
}

export function parseTestScript(text: string, file: string): TestScript {
  const raw = parseConfigText<Omit<TestScript, 'file' | 'rule' | 'params' | 'cases'> & { rule?: string; params?: Record<string, number>; cases: { name: string; steps: Omit<Step, 'line'>[] }[] }>(text, file, testScriptSchema);
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter });
  const lineOf = (path: (string | number)[]): number => {
    const node = document.getIn(path, true) as { range?: [number, number, number] } | undefined;
    return node?.range === undefined ? 0 : lineCounter.linePos(node.range[0]).line;
  };
  const cases = raw.cases.map((testCase, caseIndex) => {
    const steps = testCase.steps.map((step, stepIndex): Step => {
      const line = lineOf(['cases', caseIndex, 'steps', stepIndex]);
      if (step.through !== undefined && step.through < step.tick) throw scriptError(file, line, `through (${step.through}) is before tick (${step.tick})`);
      return { ...step, line };
    });
    return { name: testCase.name, steps };
  });
  const rule = raw.rule ?? basename(file).replace(/\.test\.ya?ml$/, '');
  return { file, rule, tickMs: raw.tickMs, params: raw.params ?? {}, ...(raw.quarantine !== undefined && { quarantine: raw.quarantine }), cases };
}

export function readTestScript(path: string): TestScript {
  return parseTestScript(readFileSync(path, 'utf8'), path);
}
