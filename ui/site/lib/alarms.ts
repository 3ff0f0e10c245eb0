// A line's active alarms, read from its `_alarms` system group: each tag `{line}/_alarms/{alarmId}`
// is a boolean, true while the alarm is active, and the gateway publishes it on every change, so
// the timestamp of a true reading is when the alarm was raised. Alarm ids of built-in alarms read
// `filler-overtemp`; those of compiled rules `{rule}/{alarm}` (`over-temperature/over-temperature`).
// Severity, message and machine come from the hub's alarm record (alarm-records.ts) when the
// dashboard has one; until then, or from a hub that stores none, severity is guessed from the id's
// suffix and the machine from its prefix (`filler-overtemp` is an over-temperature alarm of machine
// `filler`). Pure functions over the merged site view (live-state.ts), so they follow the same
// latest-wins rule as every other tag.
import type { AlarmDetailsIndex } from './alarm-records.ts';
import type { MachineView } from './live-state.ts';
import type { Quality } from './wire.ts';

/** The four severities alarms are configured with, and `neutral` for one whose severity is not known. */
export type AlarmSeverity = 'critical' | 'high' | 'medium' | 'low' | 'neutral';

export interface ActiveAlarm {
  /** The alarm id, e.g. `filler-overtemp` or `over-temperature/over-temperature`. */
  id: string;
  severity: AlarmSeverity;
  /** Gateway timestamp of the reading that raised it, epoch ms. */
  sinceMs: number;
  /** Quality of that reading; an alarm holds its state while its input cannot be trusted. */
  quality: Quality;
  /** The configured text for operators, from the alarm's record; null without one. */
  message: string | null;
  /** The machine the record names; null without a record, or when the alarm spans machines. */
  device: string | null;
  /** The compiled rule that raised it, from the record. */
  rule: string | null;
  /** True when the severity is guessed from the id: there is no record, or it names no severity the dashboard knows. */
  severityGuessed: boolean;
}

/** Id suffixes of the demo alarms and what they mean; checked in order, the first match wins. */
const severitySuffixes: readonly (readonly [string, AlarmSeverity])[] = [
  ['-overtemp', 'critical'], // the gateway stops the machine locally
  ['-fault', 'high'],
];

/** Most severe first. An alarm of unknown severity ranks above one configured as low, so it is never hidden under it. */
const severityRank: Record<AlarmSeverity, number> = { critical: 0, high: 1, medium: 2, neutral: 3, low: 4 };

/** The severity guessed from an alarm id, for alarms without a record. */
export function alarmSeverity(alarmId: string): AlarmSeverity {
  for (const [suffix, severity] of severitySuffixes) if (alarmId.endsWith(suffix)) return severity;
  return 'neutral';
}

/** The severity as its badge reads: the severity's name, or plain "alarm" when it is not known. */
export function severityLabel(severity: AlarmSeverity): string {
  return severity === 'neutral' ? 'alarm' : severity;
}

/** A record's severity text as a severity; null for none or one the dashboard does not know. */
export function recordSeverity(severity: string | null): AlarmSeverity | null {
  const name = severity?.trim().toLowerCase();
  return name === 'critical' || name === 'high' || name === 'medium' || name === 'low' ? name : null;
}

/** The most severe of `alarms`; null when there are none. */
export function worstSeverity(alarms: readonly ActiveAlarm[]): AlarmSeverity | null {
  let worst: AlarmSeverity | null = null;
  for (const alarm of alarms) if (worst === null || severityRank[alarm.severity] < severityRank[worst]) worst = alarm.severity;
  return worst;
}

/**
 * Alarms whose latest reading is `true`, most severe first, then the newest first. Each takes its
 * details from the newest record of its state tag in `details`, even one of an earlier raise (the
 * configuration rarely changes between raises, and guessing meanwhile would make the alarm flicker).
 */
export function activeAlarms(alarmsView: MachineView | undefined, details: AlarmDetailsIndex = new Map()): ActiveAlarm[] {
  if (alarmsView === undefined) return [];
  const active: ActiveAlarm[] = [];
  for (const [id, reading] of Object.entries(alarmsView.readings)) {
    if (reading.value !== true) continue;
    const record = details.get(`${alarmsView.key}/${id}`);
    const severity = recordSeverity(record?.severity ?? null);
    active.push({
      id,
      severity: severity ?? alarmSeverity(id),
      sinceMs: reading.ts,
      quality: reading.quality,
      message: record?.message ?? null,
      device: record?.device ?? null,
      rule: record?.rule ?? null,
      severityGuessed: severity === null,
    });
  }
  return active.sort((a, b) => severityRank[a.severity] - severityRank[b.severity] || b.sinceMs - a.sinceMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The alarm's own name: the id itself for a built-in alarm, the part after the rule for a rule's (`rule/alarm`). */
export function alarmName(alarmId: string): string {
  return alarmId.slice(alarmId.lastIndexOf('/') + 1);
}

/**
 * The machine an alarm id names: the longest machine name that prefixes the alarm's name at a dash
 * (`filler-2-overtemp` belongs to `filler-2`, not `filler`), or equals it. Null when none does.
 */
export function alarmMachine(alarmId: string, machines: readonly string[]): string | null {
  const name = alarmName(alarmId);
  let best: string | null = null;
  for (const machine of machines) {
    const prefixes = name === machine || name.startsWith(`${machine}-`);
    if (prefixes && (best === null || machine.length > best.length)) best = machine;
  }
  return best;
}

/** The machine an active alarm belongs to: its record's device when the line has it, else what its id names. */
export function activeAlarmMachine(alarm: ActiveAlarm, machines: readonly string[]): string | null {
  if (alarm.device !== null && machines.includes(alarm.device)) return alarm.device;
  return alarmMachine(alarm.id, machines);
}

/**
 * What the alarm is about once its machine is known: `overtemp` for `filler-overtemp` on `filler`,
 * `over-temperature` for the rule alarm `over-temperature/over-temperature`.
 */
export function alarmCondition(alarmId: string, machine: string | null): string {
  const name = alarmName(alarmId);
  if (machine === null || !name.startsWith(`${machine}-`) || name.length <= machine.length + 1) return name;
  return name.slice(machine.length + 1);
}

/** Active alarms by the machine they belong to (order kept); alarms of no known machine are left out. */
export function alarmsByMachine(alarms: readonly ActiveAlarm[], machines: readonly string[]): Map<string, ActiveAlarm[]> {
  const byMachine = new Map<string, ActiveAlarm[]>();
  for (const alarm of alarms) {
    const machine = activeAlarmMachine(alarm, machines);
    if (machine === null) continue;
    const list = byMachine.get(machine);
    if (list === undefined) byMachine.set(machine, [alarm]);
    else list.push(alarm);
  }
  return byMachine;
}
