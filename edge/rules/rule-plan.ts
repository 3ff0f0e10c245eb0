// Binds loaded rules to the gateway's tag map before anything runs. Inputs and outputs name
// `device/tag`; a rule that names an unknown tag, writes a tag its profile does not mark writable,
// writes a tag another rule writes, or asks for more fuel or memory than the gateway allows is
// refused with the rule and the name in the message. Derived points become new tags
// `{area}/{name}`; each alarm gets an id `{rule}/{alarm}` after the built-in alarms and a state
// tag `{area}/_alarms/{rule}/{alarm}` beside the built-in alarms'. The plan is plain data (module bytes included), so it can
// be handed to the scan worker and written into a trace header for replay.
import { MillwrightError, type ErrorSpec } from '../../common/errors.ts';
import { severityCodes } from '../../common/rule-abi.ts';
import { ruleErrors } from '../../common/rule-errors.ts';
import type { QuarantinePolicy } from '../../common/rule-faults.ts';
import type { RuleManifest } from '../../common/rule-manifest.ts';
import { alarmStateTag } from '../alarm-config.ts';
import type { LoadedRule } from './load-rules.ts';
import type { RulesConfig } from './rule-config.ts';

export interface RuleBinding {
  readonly name: string;
  readonly wasm: Uint8Array;
  readonly manifest: RuleManifest;
  readonly params: Readonly<Record<string, number>>;
  /** Tag index of each input, output, point and alarm state tag; scan alarm index of each alarm. */
  readonly inputTags: readonly number[];
  readonly outputTags: readonly number[];
  readonly pointTags: readonly number[];
  readonly alarmIndices: readonly number[];
  readonly alarmStateTags: readonly number[];
}

export interface RulePlan {
  readonly tickMs: number;
  readonly startFuel: number;
  readonly memoryPagesMax: number;
  readonly quarantine: QuarantinePolicy;
  readonly rules: readonly RuleBinding[];
}

export interface PlanContext {
  readonly area: string;
  readonly tickMs: number;
  /** `{device}/{tag}` → index in the scan's tag list and whether its profile allows writes. */
  lookup(deviceTag: string): { index: number; writable: boolean } | undefined;
  /** The scan's tag count so far: new tags (points, alarm states) are numbered from here. */
  readonly firstTagIndex: number;
  /** The built-in alarm count: rule alarms are numbered from here. */
  readonly firstAlarmIndex: number;
  readonly limits: Pick<RulesConfig, 'fuelPerTickMax' | 'memoryPagesMax' | 'startFuel' | 'quarantine'>;
}

export interface PlanResult {
  readonly plan: RulePlan;
  /** Tags to append to the scan's tag list, in order, from firstTagIndex. */
  readonly tags: readonly { readonly tag: string; readonly kind: 'number' | 'boolean'; readonly aged: false }[];
  /** Alarms to append after the built-in ones, in order, from firstAlarmIndex. */
  readonly alarms: readonly { readonly id: string; readonly rule: string; readonly severity: number; readonly message: string }[];
}

function refuse(rule: LoadedRule, message: string, code: ErrorSpec = ruleErrors.bindingRefused): never {
  throw new MillwrightError(code, `rule ${rule.manifest.name} (${rule.source}): ${message}`, { rule: rule.manifest.name });
}

export function planRules(rules: readonly LoadedRule[], context: PlanContext): PlanResult {
  const tags: { tag: string; kind: 'number' | 'boolean'; aged: false }[] = [];
  const alarms: { id: string; rule: string; severity: number; message: string }[] = [];
  const names = new Set<string>();
  const writers = new Map<number, string>();
  const points = new Set<string>();
  const newTag = (tag: string, kind: 'number' | 'boolean'): number => context.firstTagIndex + tags.push({ tag, kind, aged: false }) - 1;
  const bindings = rules.map((rule): RuleBinding => {
    const { manifest } = rule;
    if (names.has(manifest.name)) refuse(rule, 'another rule on this gateway has the same name');
    names.add(manifest.name);
    if (manifest.limits.fuelPerTick > context.limits.fuelPerTickMax) refuse(rule, `asks for ${manifest.limits.fuelPerTick} fuel per tick, above this gateway's ${context.limits.fuelPerTickMax}`, ruleErrors.limitRefused);
    if (manifest.limits.memoryPagesMax > context.limits.memoryPagesMax) refuse(rule, `asks for ${manifest.limits.memoryPagesMax} memory pages, above this gateway's ${context.limits.memoryPagesMax}`, ruleErrors.limitRefused);
    for (const [name, value] of Object.entries(rule.params)) {
      const param = manifest.params.find((entry) => entry.name === name);
      if (param === undefined) refuse(rule, `has no parameter '${name}' (it declares: ${manifest.params.map((entry) => entry.name).join(', ') || 'none'})`, ruleErrors.paramInvalid);
      if (!(value >= param.min && value <= param.max)) refuse(rule, `parameter ${name} = ${value} is outside ${param.min}..${param.max}`, ruleErrors.paramInvalid);
    }
    const inputTags = manifest.inputs.map((input) => {
      const tag = context.lookup(input.name);
      if (tag === undefined) refuse(rule, `input '${input.name}' is not a tag of any device on this gateway`);
      return tag.index;
    });
    const outputTags = manifest.outputs.map((output) => {
      const tag = context.lookup(output.name);
      if (tag === undefined) refuse(rule, `output '${output.name}' is not a tag of any device on this gateway`);
      if (!tag.writable) refuse(rule, `output '${output.name}' is not writable in its device profile`);
      const other = writers.get(tag.index);
      if (other !== undefined) refuse(rule, `output '${output.name}' is already written by rule ${other}`);
      writers.set(tag.index, manifest.name);
      return tag.index;
    });
    const pointTags = manifest.points.map((point) => {
      if (context.lookup(point.name) !== undefined) refuse(rule, `point '${point.name}' has the name of a device tag`);
      if (points.has(point.name)) refuse(rule, `point '${point.name}' is already published by another rule`);
      points.add(point.name);
      return newTag(`${context.area}/${point.name}`, 'number');
    });
    const alarmIndices = manifest.alarms.map((alarm) => context.firstAlarmIndex + alarms.push({ id: `${manifest.name}/${alarm.name}`, rule: manifest.name, severity: severityCodes[alarm.severity], message: alarm.message }) - 1);
    const alarmStateTags = manifest.alarms.map((alarm) => newTag(alarmStateTag(context.area, `${manifest.name}/${alarm.name}`), 'boolean'));
    return { name: manifest.name, wasm: rule.wasm, manifest, params: rule.params, inputTags, outputTags, pointTags, alarmIndices, alarmStateTags };
  });
  const { fuelPerTickMax: _fuel, ...limits } = context.limits;
  return { plan: { tickMs: context.tickMs, ...limits, rules: bindings }, tags, alarms };
}

/** A plan as JSON-safe data (module bytes in base64), for a trace header: replay rebuilds the same rules. */
export type SerializedRulePlan = Omit<RulePlan, 'rules'> & { readonly rules: readonly (Omit<RuleBinding, 'wasm'> & { readonly wasm: string })[] };

export function serializeRulePlan(plan: RulePlan): SerializedRulePlan {
  return { ...plan, rules: plan.rules.map((rule) => ({ ...rule, wasm: Buffer.from(rule.wasm).toString('base64') })) };
}

export function deserializeRulePlan(serialized: SerializedRulePlan): RulePlan {
  return { ...serialized, rules: serialized.rules.map((rule) => ({ ...rule, wasm: new Uint8Array(Buffer.from(rule.wasm, 'base64')) })) };
}
