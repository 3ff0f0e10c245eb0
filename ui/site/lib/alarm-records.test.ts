import { describe, expect, it } from 'vitest';
import { activeAlarmStates, alarmsQueryFor, alarmsWithoutRecord, emptyAlarmDetails, mergeAlarmRecords, pageOutcome, raiseKey } from './alarm-records.ts';
import { applyPoints, createSiteView } from './live-state.ts';
import type { AlarmRecord } from './wire.ts';

function alarmRecord(tag: string, ts: number, severity: string | null = 'high', value = true): AlarmRecord {
  return { gateway: 'gw', tag, ts, value, severity, message: `${tag} at ${ts}`, device: null, rule: null };
}

describe('alarm records', () => {
  it('keeps the newest record per state tag and leaves the old index as it was', () => {
    const first = mergeAlarmRecords(emptyAlarmDetails, [alarmRecord('l1/_alarms/a', 2_000, 'high'), alarmRecord('l1/_alarms/a', 1_000, 'low')]);
    expect(first.index.get('l1/_alarms/a')).toMatchObject({ ts: 2_000, severity: 'high' });
    const second = mergeAlarmRecords(first.index, [alarmRecord('l1/_alarms/a', 3_000, 'critical', false), alarmRecord('l1/_alarms/b', 500)]);
    expect(second.index.get('l1/_alarms/a')).toMatchObject({ ts: 3_000, severity: 'critical' }); // a clear carries the details too
    expect(second.index.size).toBe(2);
    expect(first.index.size).toBe(1);
    expect(first.index.get('l1/_alarms/a')?.ts).toBe(2_000);
  });

  it('drops the tags with the oldest records past its bound, and counts them', () => {
    const records = [alarmRecord('l/_alarms/new', 30), alarmRecord('l/_alarms/old', 10), alarmRecord('l/_alarms/mid', 20)];
    const { index, evicted } = mergeAlarmRecords(emptyAlarmDetails, records, 2);
    expect([...index.keys()].sort()).toEqual(['l/_alarms/mid', 'l/_alarms/new']);
    expect(evicted).toBe(1);
  });

  it('lists active alarms of every line by state tag, rule alarms with a slash in their id included', () => {
    const site = createSiteView();
    applyPoints(site, [
      { tag: 'line1/_alarms/over-temperature/over-temperature', ts: 5, value: true, quality: 'good' },
      { tag: 'line1/_alarms/filler-fault', ts: 4, value: false, quality: 'good' },
      { tag: 'line2/_alarms/m1-fault', ts: 3, value: true, quality: 'uncertain' },
      { tag: 'line1/m1/running', ts: 2, value: true, quality: 'good' },
      { tag: 'line1/_gateway/uplink_connected', ts: 2, value: true, quality: 'good' },
    ]);
    expect(activeAlarmStates(site)).toEqual([
      { tag: 'line1/_alarms/over-temperature/over-temperature', sinceMs: 5 },
      { tag: 'line2/_alarms/m1-fault', sinceMs: 3 },
    ]);
  });

  it('asks only about raises it holds no record of that raise, or a newer one, for', () => {
    const { index } = mergeAlarmRecords(emptyAlarmDetails, [alarmRecord('l/_alarms/a', 100), alarmRecord('l/_alarms/b', 100)]);
    const states = [
      { tag: 'l/_alarms/a', sinceMs: 100 }, // its record is held
      { tag: 'l/_alarms/b', sinceMs: 200 }, // raised again since the held record
      { tag: 'l/_alarms/c', sinceMs: 50 }, // never seen
    ];
    const missing = alarmsWithoutRecord(states, index);
    expect(missing.map(raiseKey)).toEqual(['l/_alarms/b@200', 'l/_alarms/c@50']);
    expect(alarmsQueryFor(missing, Number.POSITIVE_INFINITY, 50)).toEqual({ fromMs: 50, toMs: 200, limit: 50 });
    expect(alarmsQueryFor(missing, 120)).toEqual({ fromMs: 50, toMs: 50, limit: 200 });
    expect(alarmsQueryFor(missing, 40)).toBeNull();
    expect(alarmsQueryFor([])).toBeNull();
  });

  it('pages downwards from the oldest millisecond of a full page, which it asks again', () => {
    const query = { fromMs: 0, toMs: 100, limit: 3 };
    expect(pageOutcome(query, [alarmRecord('t', 90), alarmRecord('t', 80)])).toEqual({ nextToMs: null, completeFromMs: 0 });
    expect(pageOutcome(query, [alarmRecord('t', 90), alarmRecord('t', 80), alarmRecord('u', 80)])).toEqual({ nextToMs: 80, completeFromMs: 81 });
    // A full page all at the window's newest millisecond: move below it, knowing nothing complete.
    expect(pageOutcome(query, [alarmRecord('t', 100), alarmRecord('u', 100), alarmRecord('v', 100)])).toEqual({ nextToMs: 99, completeFromMs: null });
  });
});
