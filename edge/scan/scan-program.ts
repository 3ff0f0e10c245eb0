// The scan's step program, built from a trace header the same way by the live worker and by
// replay, so both run exactly the same thing: the built-in alarms of the gateway config, then the
// compiled rules. The rules sit in a slot that the worker refills at a tick boundary when a new
// bundle is swapped in; the swap carries the tag and alarm names that go with the new rules.
import { composePrograms, RuleHost, type RuleHostOptions } from '../rules/rule-host.ts';
import { deserializeRulePlan, serializeRulePlan, type RulePlan, type SerializedRulePlan } from '../rules/rule-plan.ts';
import { AlarmProgram } from './alarms.ts';
import type { StepContext, StepProgram } from './step.ts';
import type { RuleAlarmDefinition, TraceHeader } from './trace.ts';

/** Holds the running rules; empty until a plan with rules arrives. */
export class RuleSlot implements StepProgram {
  host: RuleHost | undefined;

  constructor(host: RuleHost | undefined) {
    this.host = host;
  }

  step(context: StepContext): void {
    this.host?.step(context);
  }
}

export interface ScanProgram {
  readonly program: StepProgram;
  readonly rules: RuleSlot;
}

/** Compiles the header's rules (throws RULE_* errors for one that is not acceptable). */
export function buildScanProgram(header: TraceHeader, options: RuleHostOptions = {}): ScanProgram {
  const rules = new RuleSlot(header.rules === undefined ? undefined : new RuleHost(deserializeRulePlan(header.rules), options));
  return { program: composePrograms(new AlarmProgram(header.alarms), rules), rules };
}

/** A new rule set for a running scan: the rules and the names their tags and alarms take. */
export interface RuleSwap {
  /** Increases with every swap the main thread requests; the worker echoes it back. */
  readonly generation: number;
  /** null = run no rules. */
  readonly plan: RulePlan | null;
  /** The whole tag list after the swap (device tags unchanged, rule tags replaced). */
  readonly tags: TraceHeader['tags'];
  readonly ruleAlarms: readonly RuleAlarmDefinition[];
}

/** The header of a scan after a swap: what replay and the output printer need from then on. */
export function headerAfterSwap(header: TraceHeader, swap: Pick<RuleSwap, 'plan' | 'tags' | 'ruleAlarms'>): TraceHeader {
  const { rules: _rules, ruleAlarms: _alarms, ...rest } = header;
  return { ...rest, tags: swap.tags, ...(swap.plan !== null && { rules: serializeRulePlan(swap.plan), ruleAlarms: swap.ruleAlarms }) };
}

/** The swap as it is recorded in a trace (JSON-safe). */
export interface RecordedSwap {
  readonly tags: TraceHeader['tags'];
  readonly rules: SerializedRulePlan | null;
  readonly ruleAlarms: readonly RuleAlarmDefinition[];
}

export function recordedSwapOf(swap: RuleSwap): RecordedSwap {
  return { tags: swap.tags, rules: swap.plan === null ? null : serializeRulePlan(swap.plan), ruleAlarms: swap.ruleAlarms };
}

export function applyRecordedSwap(header: TraceHeader, recorded: RecordedSwap): { header: TraceHeader; plan: RulePlan | null } {
  const plan = recorded.rules === null ? null : deserializeRulePlan(recorded.rules);
  return { header: headerAfterSwap(header, { plan, tags: recorded.tags, ruleAlarms: recorded.ruleAlarms }), plan };
}
