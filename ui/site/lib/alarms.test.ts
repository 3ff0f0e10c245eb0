import { describe, expect, it } from 'vitest';
import { mergeAlarmRecords, emptyAlarmDetails } from './alarm-records.ts';
import {
  activeAlarmMachine,
  activeAlarms,
  alarmCondition,
  alarmMachine,
  alarmSeverity,
  alarmsByMachine,
  recordSeverity,
  severityLabel,
  worstSeverity,
  type ActiveAlarm,
} from './alarms.ts';
import { applyPoints, applySnapshot, createSiteView, groupByLine } from './live-state.ts';
import type { AlarmRecord, LivePoint } from './wire.ts';

function alarmPoint(id: string, ts: number, value: LivePoint['value'], quality: LivePoint['quality'] = 'good'): LivePoint {
  return { tag: `line1/_alarms/${id}`, ts, value, quality };
}

function alarm(id: string, sinceMs = 1, details: Partial<ActiveAlarm> = {}): ActiveAlarm {
  return { id, severity: alarmSeverity(id), sinceMs, quality: 'good', message: null, device: null, rule: null, severityGuessed: true, ...details };
}

function alarmRecord(id: string, ts: number, payload: Partial<Pick<AlarmRecord, 'severity' | 'message' | 'device' | 'rule'>>, value = true): AlarmRecord {
  return { gateway: 'line1-gw', tag: `line1/_alarms/${id}`, ts, value, severity: null, message: null, device: null, rule: null, ...payload };
}

const guessed = { message: null, device: null, rule: null, severityGuessed: true };

describe('alarms', () => {
  it('guesses severity from the id suffix', () => {
    expect(alarmSeverity('filler-overtemp')).toBe('critical');
    expect(alarmSeverity('filler-fault')).toBe('high');
    expect(alarmSeverity('filler-low-level')).toBe('neutral');
    expect(alarmSeverity('overtemp-filler')).toBe('neutral');
    expect(worstSeverity([alarm('a-fault'), alarm('b'), alarm('c-overtemp')])).toBe('critical');
    expect(worstSeverity([alarm('b'), alarm('a-fault')])).toBe('high');
    expect(worstSeverity([])).toBeNull();
  });

  it('lists alarms whose latest reading is true, most severe first, then newest first', () => {
    const site = createSiteView();
    applyPoints(site, [
      alarmPoint('filler-fault', 1_000, true),
      alarmPoint('capper-jam', 2_000, true),
      alarmPoint('capper-fault', 3_000, true),
      alarmPoint('filler-overtemp', 500, true, 'uncertain'),
      alarmPoint('labeler-fault', 800, false),
      alarmPoint('odd-value', 900, 1),
    ]);
    const view = groupByLine(site)[0]!.systemGroups._alarms;
    expect(activeAlarms(view)).toEqual([
      { id: 'filler-overtemp', severity: 'critical', sinceMs: 500, quality: 'uncertain', ...guessed },
      { id: 'capper-fault', severity: 'high', sinceMs: 3_000, quality: 'good', ...guessed },
      { id: 'filler-fault', severity: 'high', sinceMs: 1_000, quality: 'good', ...guessed },
      { id: 'capper-jam', severity: 'neutral', sinceMs: 2_000, quality: 'good', ...guessed },
    ]);
    expect(activeAlarms(undefined)).toEqual([]);
  });

  it('raises and clears with live events by the latest-wins rule; an older snapshot changes nothing', () => {
    const site = createSiteView();
    applySnapshot(site, [{ line: 'line1', machine: '_alarms', tags: [{ tag: 'line1/_alarms/filler-overtemp', name: 'filler-overtemp', value: false, quality: 'good', ts: 1_000 }] }]);
    const view = () => site.machines['line1/_alarms'];
    expect(activeAlarms(view())).toEqual([]);
    applyPoints(site, [alarmPoint('filler-overtemp', 5_000, true)]);
    expect(activeAlarms(view()).map((active) => [active.id, active.sinceMs])).toEqual([['filler-overtemp', 5_000]]);
    applySnapshot(site, [{ line: 'line1', machine: '_alarms', tags: [{ tag: 'line1/_alarms/filler-overtemp', name: 'filler-overtemp', value: false, quality: 'good', ts: 1_000 }] }]);
    expect(activeAlarms(view())).toHaveLength(1);
    applyPoints(site, [alarmPoint('filler-overtemp', 4_000, false)]); // late, older than the raise
    expect(activeAlarms(view())).toHaveLength(1);
    applyPoints(site, [alarmPoint('filler-overtemp', 6_000, false)]);
    expect(activeAlarms(view())).toEqual([]);
  });

  it('finds the machine an alarm belongs to by the longest prefix at a dash', () => {
    const machines = ['filler', 'filler-2', 'capper', 'm1'];
    expect(alarmMachine('filler-overtemp', machines)).toBe('filler');
    expect(alarmMachine('filler-2-overtemp', machines)).toBe('filler-2');
    expect(alarmMachine('capper', machines)).toBe('capper');
    expect(alarmMachine('fillerx-fault', machines)).toBeNull();
    expect(alarmMachine('m10-fault', machines)).toBeNull();
    expect(alarmCondition('filler-2-overtemp', 'filler-2')).toBe('overtemp');
    expect(alarmCondition('capper', 'capper')).toBe('capper');
    expect(alarmCondition('site-power', null)).toBe('site-power');
  });

  it('groups active alarms by machine, leaving out alarms of no known machine', () => {
    const byMachine = alarmsByMachine([alarm('filler-overtemp'), alarm('capper-jam'), alarm('filler-fault'), alarm('compressed-air-low')], ['filler', 'capper']);
    expect([...byMachine.entries()].map(([machine, alarms]) => [machine, alarms.map((active) => active.id)])).toEqual([
      ['filler', ['filler-overtemp', 'filler-fault']],
      ['capper', ['capper-jam']],
    ]);
  });

  it('reads the four configured severities from records, case and spaces aside, and nothing else', () => {
    expect(['critical', 'high', 'medium', 'low', ' Medium '].map(recordSeverity)).toEqual(['critical', 'high', 'medium', 'low', 'medium']);
    expect([null, '', 'warning', 'info'].map(recordSeverity)).toEqual([null, null, null, null]);
    expect(severityLabel('neutral')).toBe('alarm');
    expect(severityLabel('medium')).toBe('medium');
    // An alarm of unknown severity ranks above one configured low, below one configured medium.
    expect(worstSeverity([alarm('a', 1, { severity: 'low' }), alarm('b')])).toBe('neutral');
    expect(worstSeverity([alarm('b'), alarm('a', 1, { severity: 'medium' })])).toBe('medium');
  });

  it("takes severity, message, device and rule from the alarm's record, and guesses only without one", () => {
    const site = createSiteView();
    applyPoints(site, [
      alarmPoint('over-temperature/over-temperature', 5_000, true),
      alarmPoint('filler-overtemp', 4_000, true),
      alarmPoint('m3-vibration', 3_000, true),
      alarmPoint('capper-fault', 2_000, true),
      alarmPoint('capper-jam', 1_000, true),
    ]);
    const { index } = mergeAlarmRecords(emptyAlarmDetails, [
      alarmRecord('over-temperature/over-temperature', 5_000, { severity: 'critical', message: 'Filler over temperature: stopped by rule', device: 'filler', rule: 'over-temperature' }),
      alarmRecord('m3-vibration', 3_000, { severity: 'medium', message: 'm3 vibration high', device: 'm3' }),
      alarmRecord('capper-fault', 2_000, { severity: 'low', message: 'capper fault (configured low)', device: 'capper' }),
      alarmRecord('capper-jam', 1_000, { severity: 'warning', message: 'capper jammed' }), // a severity the dashboard does not know
      alarmRecord('line-2-alarm', 1_000, { severity: 'critical' }), // not active: changes nothing
    ]);
    const active = activeAlarms(groupByLine(site)[0]!.systemGroups._alarms, index);
    expect(active.map((item) => [item.id, item.severity, item.severityGuessed, item.message, item.device, item.rule])).toEqual([
      ['over-temperature/over-temperature', 'critical', false, 'Filler over temperature: stopped by rule', 'filler', 'over-temperature'],
      ['filler-overtemp', 'critical', true, null, null, null], // no record yet: guessed from the id
      ['m3-vibration', 'medium', false, 'm3 vibration high', 'm3', null],
      ['capper-jam', 'neutral', true, 'capper jammed', null, null],
      ['capper-fault', 'low', false, 'capper fault (configured low)', 'capper', null], // the record wins over the `-fault` guess
    ]);
  });

  it("uses a record of the alarm's earlier raise until the current one is known", () => {
    const site = createSiteView();
    applyPoints(site, [alarmPoint('filler-fault', 9_000, true)]);
    const { index } = mergeAlarmRecords(emptyAlarmDetails, [alarmRecord('filler-fault', 2_000, { severity: 'medium', message: 'filler is in fault', device: 'filler' })]);
    const [active] = activeAlarms(site.machines['line1/_alarms'], index);
    expect([active?.severity, active?.message, active?.sinceMs]).toEqual(['medium', 'filler is in fault', 9_000]);
  });

  it("places an alarm on its record's device when the line has that machine, else by its id", () => {
    const machines = ['filler', 'capper'];
    expect(activeAlarmMachine(alarm('over-temperature/over-temperature', 1, { device: 'filler' }), machines)).toBe('filler');
    expect(activeAlarmMachine(alarm('capper-fault', 1, { device: 'filler' }), machines)).toBe('filler'); // the record knows better
    expect(activeAlarmMachine(alarm('capper-fault', 1, { device: 'labeler' }), machines)).toBe('capper'); // no such panel: by the id
    expect(activeAlarmMachine(alarm('over-temperature/over-temperature'), machines)).toBeNull(); // no record, and the id names none
    expect(activeAlarmMachine(alarm('guard/capper-jam'), machines)).toBe('capper'); // a rule alarm's name may name it
    const byMachine = alarmsByMachine([alarm('over-temperature/over-temperature', 1, { device: 'filler' }), alarm('filler-fault')], machines);
    expect(byMachine.get('filler')?.map((item) => item.id)).toEqual(['over-temperature/over-temperature', 'filler-fault']);
  });

  it("names a rule alarm's condition by its alarm name, whatever machine it is on", () => {
    expect(alarmCondition('over-temperature/over-temperature', 'filler')).toBe('over-temperature');
    expect(alarmCondition('guard/filler-jam', 'filler')).toBe('jam');
    expect(alarmCondition('capper-fault', 'filler')).toBe('capper-fault'); // placed on filler by its record: the name is kept whole
    expect(alarmMachine('over-temperature/over-temperature', ['over-temperature'])).toBe('over-temperature');
  });
});
