// A line's active alarms, read from its `_alarms` system group: each tag `{line}/_alarms/{alarmId}`
// is a boolean, true while the alarm is active, and the gateway publishes it on every change, so
// the timestamp of a true reading is when the alarm was raised. The dashboard sees only the id and
// the boolean: severity is guessed from the id's suffix and the machine from its prefix
// (`filler-overtemp` is an over-temperature alarm of machine `filler`). Pure functions over the
// merged site view (live-state.ts), so they follow the same latest-wins rule as every other tag.
import type { MachineView } from './live-state.ts';
import type { Quality } from './wire.ts';

export type AlarmSeverity = 'critical' | 'high' | 'neutral';

export interface ActiveAlarm {
  /** The alarm id, e.g. `filler-overtemp`. */
  id: string;
  severity: AlarmSeverity;
  /** Gateway timestamp of the reading that raised it, epoch ms. */
  sinceMs: number;
  /** Quality of that reading; an alarm holds its state while its input cannot be trusted. */
  quality: Quality;
}

/** Id suffixes of the demo alarms and what they mean; checked in order, the first match wins. */
const severitySuffixes: readonly (readonly [string, AlarmSeverity])[] = [
  ['-overtemp', 'critical'], // the gateway stops the machine locally
  ['-fault', 'high'],
];

const severityRank: Record<AlarmSeverity, number> = { critical: 0, high: 1, neutral: 2 };

export function alarmSeverity(alarmId: string): AlarmSeverity {
  for (const [suffix, severity] of severitySuffixes) if (alarmId.endsWith(suffix)) return severity;
  return 'neutral';
}

/** The most severe of `alarms`; null when there are none. */
export function worstSeverity(alarms: readonly ActiveAlarm[]): AlarmSeverity | null {
  let worst: AlarmSeverity | null = null;
  for (const alarm of alarms) if (worst === null || severityRank[alarm.severity] < severityRank[worst]) worst = alarm.severity;
  return worst;
}

/** Alarms whose latest reading is `true`, most severe first, then the newest first. */
export function activeAlarms(alarmsView: MachineView | undefined): ActiveAlarm[] {
  if (alarmsView === undefined) return [];
  const active: ActiveAlarm[] = [];
  for (const [id, reading] of Object.entries(alarmsView.readings)) {
    if (reading.value !== true) continue;
    active.push({ id, severity: alarmSeverity(id), sinceMs: reading.ts, quality: reading.quality });
  }
  return active.sort((a, b) => severityRank[a.severity] - severityRank[b.severity] || b.sinceMs - a.sinceMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * The machine an alarm belongs to: the longest machine name that prefixes the id at a dash
 * (`filler-2-overtemp` belongs to `filler-2`, not `filler`), or equals it. Null when none does.
 */
export function alarmMachine(alarmId: string, machines: readonly string[]): string | null {
  let best: string | null = null;
  for (const machine of machines) {
    const prefixes = alarmId === machine || alarmId.startsWith(`${machine}-`);
    if (prefixes && (best === null || machine.length > best.length)) best = machine;
  }
  return best;
}

/** What the alarm is about once its machine is known: `overtemp` for `filler-overtemp` on `filler`. */
export function alarmCondition(alarmId: string, machine: string | null): string {
  if (machine === null || alarmId.length <= machine.length + 1) return alarmId;
  return alarmId.slice(machine.length + 1);
}

/** Active alarms by the machine they belong to (order kept); alarms of no known machine are left out. */
export function alarmsByMachine(alarms: readonly ActiveAlarm[], machines: readonly string[]): Map<string, ActiveAlarm[]> {
  const byMachine = new Map<string, ActiveAlarm[]>();
  for (const alarm of alarms) {
    const machine = alarmMachine(alarm.id, machines);
    if (machine === null) continue;
    const list = byMachine.get(machine);
    if (list === undefined) byMachine.set(machine, [alarm]);
    else list.push(alarm);
  }
  return byMachine;
}
