import { describe, expect, it } from 'vitest';
import { activeAlarms, alarmCondition, alarmMachine, alarmSeverity, alarmsByMachine, worstSeverity, type ActiveAlarm } from './alarms.ts';
import { applyPoints, applySnapshot, createSiteView, groupByLine } from './live-state.ts';
import type { LivePoint } from './wire.ts';

function alarmPoint(id: string, ts: number, value: LivePoint['value'], quality: LivePoint['quality'] = 'good'): LivePoint {
  return { tag: `line1/_alarms/${id}`, ts, value, quality };
}

function alarm(id: string, sinceMs = 1): ActiveAlarm {
  return { id, severity: alarmSeverity(id), sinceMs, quality: 'good' };
}

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
      { id: 'filler-overtemp', severity: 'critical', sinceMs: 500, quality: 'uncertain' },
      { id: 'capper-fault', severity: 'high', sinceMs: 3_000, quality: 'good' },
      { id: 'filler-fault', severity: 'high', sinceMs: 1_000, quality: 'good' },
      { id: 'capper-jam', severity: 'neutral', sinceMs: 2_000, quality: 'good' },
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
});
