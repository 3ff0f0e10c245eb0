// What a rule declares while its start function runs: inputs, outputs (with safe values),
// parameters, derived points, alarms and its fuel budget. The recorder validates each
// declaration as it arrives (names, ranges, duplicates, counts); the result is the body of the
// rule's manifest, and what the gateway binds to its tag map.
import { MillwrightError } from './errors.ts';
import { alarmFlags, declarationKind, ruleLimitDefaults, severityCodes, type SeverityName } from './rule-abi.ts';
import { ruleErrors } from './rule-errors.ts';
import { isTagPath, tagSegmentsMax } from './point.ts';

export interface AlarmDeclaration {
  readonly name: string;
  readonly severity: SeverityName;
  readonly message: string;
  readonly hysteresis: number;
  readonly onDelayMs: number;
  readonly latching: boolean;
}

export interface RuleDeclarations {
  /** The rule's own fuel budget per tick; absent = the host's default. */
  readonly fuelPerTick?: number;
  readonly inputs: readonly { readonly name: string }[];
  readonly outputs: readonly { readonly name: string; readonly safe: number }[];
  readonly params: readonly { readonly name: string; readonly default: number; readonly min: number; readonly max: number }[];
  readonly points: readonly { readonly name: string }[];
  readonly alarms: readonly AlarmDeclaration[];
}

/** Where each declaration's slot lives in this instance's memory, in declaration order. */
export interface RuleSlots {
  header: number;
  readonly inputs: number[];
  readonly outputs: number[];
  readonly params: number[];
  readonly points: number[];
  readonly alarms: number[];
}

/** `device/tag`, as the gateway's alarm config names tags. */
export const deviceTagPattern = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}\/[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;
/** Parameter and alarm names. */
export const ruleItemPattern = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const onDelayMsMax = 86_400_000;

export interface DeclarationCall {
  readonly kind: number;
  readonly slot: number;
  readonly name: string;
  readonly text: string;
  readonly a: number;
  readonly b: number;
  readonly c: number;
  readonly flags: number;
}

export class DeclarationRecorder {
  readonly slots: RuleSlots = { header: -1, inputs: [], outputs: [], params: [], points: [], alarms: [] };
  readonly #inputs: { name: string }[] = [];
  readonly #outputs: { name: string; safe: number }[] = [];
  readonly #params: { name: string; default: number; min: number; max: number }[] = [];
  readonly #points: { name: string }[] = [];
  readonly #alarms: AlarmDeclaration[] = [];
  #fuelPerTick: number | undefined;
  #count = 0;

  get declarations(): RuleDeclarations {
    const base = { inputs: this.#inputs, outputs: this.#outputs, params: this.#params, points: this.#points, alarms: this.#alarms };
    return this.#fuelPerTick === undefined ? base : { fuelPerTick: this.#fuelPerTick, ...base };
  }

  record(call: DeclarationCall): void {
    if (++this.#count > ruleLimitDefaults.declarationsMax) refuse(`more than ${ruleLimitDefaults.declarationsMax} declarations`);
    const { kind, slot, name } = call;
    switch (kind) {
      case declarationKind.header:
        if (this.slots.header !== -1) refuse('the SDK header is declared twice');
        this.slots.header = slot;
        return;
      case declarationKind.input:
        unique(this.#inputs, deviceTag(name, 'input'), 'input');
        this.#inputs.push({ name });
        this.slots.inputs.push(slot);
        return;
      case declarationKind.output:
        unique(this.#outputs, deviceTag(name, 'output'), 'output');
        if (!Number.isFinite(call.a)) refuse(`output ${name}: the safe value must be a finite number`);
        this.#outputs.push({ name, safe: call.a });
        this.slots.outputs.push(slot);
        return;
      case declarationKind.param:
        unique(this.#params, item(name, 'parameter'), 'parameter');
        if (![call.a, call.b, call.c].every(Number.isFinite) || call.b > call.a || call.a > call.c) refuse(`parameter ${name}: needs finite min <= default <= max (got ${call.b} <= ${call.a} <= ${call.c})`);
        this.#params.push({ name, default: call.a, min: call.b, max: call.c });
        this.slots.params.push(slot);
        return;
      case declarationKind.point:
        if (!isTagPath(name) || name.split('/').length >= tagSegmentsMax) refuse(`point '${name}' is not a tag path of at most ${tagSegmentsMax - 1} segments`);
        unique(this.#points, name, 'point');
        this.#points.push({ name });
        this.slots.points.push(slot);
        return;
      case declarationKind.alarm:
        this.#alarm(call);
        return;
      case declarationKind.limits:
        if (!Number.isInteger(call.a) || call.a < 1 || call.a > 2 ** 31 - 1) refuse(`fuel per tick must be an integer from 1 to 2^31-1 (got ${call.a})`);
        this.#fuelPerTick = call.a;
        return;
      default:
        refuse(`unknown declaration kind ${kind}`);
    }
  }

  #alarm(call: DeclarationCall): void {
    const name = item(call.name, 'alarm');
    unique(this.#alarms, name, 'alarm');
    const code = call.flags & alarmFlags.severityMask;
    const severity = (Object.keys(severityCodes) as SeverityName[]).find((key) => severityCodes[key] === code);
    if (severity === undefined) refuse(`alarm ${name}: severity ${code} is not 1 (low) to 4 (critical)`);
    if (!Number.isFinite(call.a) || call.a < 0) refuse(`alarm ${name}: hysteresis must be a finite number >= 0`);
    if (!Number.isFinite(call.b) || call.b < 0 || call.b > onDelayMsMax) refuse(`alarm ${name}: on-delay must be 0 to ${onDelayMsMax} ms`);
    if (call.text.length > ruleLimitDefaults.messageLengthMax) refuse(`alarm ${name}: message longer than ${ruleLimitDefaults.messageLengthMax} characters`);
    this.#alarms.push({ name, severity, message: call.text, hysteresis: call.a, onDelayMs: call.b, latching: (call.flags & alarmFlags.latching) !== 0 });
    this.slots.alarms.push(call.slot);
  }
}

function refuse(message: string): never {
  throw new MillwrightError(ruleErrors.declarationInvalid, message);
}

function deviceTag(name: string, what: string): string {
  if (!deviceTagPattern.test(name)) refuse(`${what} '${name}' is not a gateway tag name of the form device/tag`);
  return name;
}

function item(name: string, what: string): string {
  if (!ruleItemPattern.test(name)) refuse(`${what} name '${name}' must be 1-63 lower-case letters, digits, _ or -`);
  return name;
}

function unique(list: readonly { readonly name: string }[], name: string, what: string): void {
  if (list.some((entry) => entry.name === name)) refuse(`${what} '${name}' is declared twice`);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    return `{${Object.keys(record).filter((key) => record[key] !== undefined).sort().map((key) => `${JSON.stringify(key)}:${canonical(record[key])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Equal declarations, whatever the key order of the objects they came from. */
export function sameDeclarations(a: RuleDeclarations, b: RuleDeclarations): boolean {
  return canonical(a) === canonical(b);
}
