// Turns the gateway config's alarms into the scan's alarm definitions: names resolve to tag
// indices, delays to ticks, and every reference is checked before anything starts — an alarm on
// an unknown tag, or an action that writes a tag its profile does not mark writable, is a config
// error (exit 2), never a surprise on the floor.
import { MillwrightError } from '../common/errors.ts';
import type { AlarmDefinition } from './scan/alarms.ts';
import { edgeErrors } from './errors.ts';
import type { AlarmConfig } from './gateway-config.ts';

export const severityCodes = { low: 1, medium: 2, high: 3, critical: 4 } as const;

export interface TagIndex {
  /** Index of `{device}/{tag}` in the scan's tag list, and whether its profile allows writes. */
  lookup(deviceTag: string): { index: number; writable: boolean } | undefined;
}

export function alarmStateTag(area: string, alarmId: string): string {
  return `${area}/_alarms/${alarmId}`;
}

export function resolveAlarms(alarms: readonly AlarmConfig[], tags: TagIndex, stateTagIndex: (alarmId: string) => number, tickMs: number): AlarmDefinition[] {
  const seen = new Set<string>();
  return alarms.map((alarm, position) => {
    const where = `alarms[${position}] (${alarm.id})`;
    if (seen.has(alarm.id)) throw new MillwrightError(edgeErrors.alarmInvalid, `${where}: alarm id '${alarm.id}' is used twice`);
    seen.add(alarm.id);
    const input = tags.lookup(alarm.tag);
    if (input === undefined) throw new MillwrightError(edgeErrors.alarmInvalid, `${where}: tag '${alarm.tag}' is not a tag of any device on this gateway`);
    const actions = alarm.actions.map((action, actionIndex) => {
      const target = tags.lookup(action.write);
      if (target === undefined) throw new MillwrightError(edgeErrors.alarmInvalid, `${where}.actions[${actionIndex}]: tag '${action.write}' is not a tag of any device on this gateway`);
      if (!target.writable) throw new MillwrightError(edgeErrors.alarmInvalid, `${where}.actions[${actionIndex}]: tag '${action.write}' is not writable in its device profile`);
      return { tagIndex: target.index, value: typeof action.value === 'boolean' ? (action.value ? 1 : 0) : action.value };
    });
    return {
      id: alarm.id,
      tagIndex: input.index,
      direction: alarm.above !== undefined ? 'above' : 'below',
      limit: alarm.above ?? alarm.below ?? 0,
      hysteresis: alarm.hysteresis,
      onDelayTicks: Math.ceil(alarm.onDelayMs / tickMs),
      severity: severityCodes[alarm.severity],
      actions,
      stateTagIndex: stateTagIndex(alarm.id),
    } satisfies AlarmDefinition;
  });
}
