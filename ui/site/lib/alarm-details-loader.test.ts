import { describe, expect, it } from 'vitest';
import { createAlarmDetailsLoader, type AlarmDetailsLoaderOptions } from './alarm-details-loader.ts';
import type { AlarmDetailsIndex, AlarmState } from './alarm-records.ts';
import type { AlarmsQuery } from './hub-api.ts';
import type { AlarmRecord } from './wire.ts';

function alarmRecord(tag: string, ts: number, severity = 'critical'): AlarmRecord {
  return { gateway: 'line1-gw', tag, ts, value: true, severity, message: `${tag} raised`, device: null, rule: null };
}

/** A hub holding `stored`, answering like /api/alarms: the window, newest first, at most `limit`. */
function harness(stored: AlarmRecord[], overrides: Partial<AlarmDetailsLoaderOptions> = {}) {
  const queries: AlarmsQuery[] = [];
  const timers: { callback: () => void; delayMs: number; cancelled: boolean }[] = [];
  const indexes: AlarmDetailsIndex[] = [];
  const errors: string[] = [];
  const hub = { failing: false, stored };
  let active: AlarmState[] = [];
  const loader = createAlarmDetailsLoader({
    fetchAlarms: async (query) => {
      queries.push(query);
      if (hub.failing) throw new Error('api/alarms: HTTP 404 Not Found');
      return hub.stored
        .filter((record) => record.ts >= query.fromMs && record.ts <= query.toMs)
        .sort((a, b) => b.ts - a.ts)
        .slice(0, query.limit);
    },
    setTimer: (callback, delayMs) => {
      const timer = { callback, delayMs, cancelled: false };
      timers.push(timer);
      return () => (timer.cancelled = true);
    },
    activeAlarms: () => active,
    onDetails: (index) => indexes.push(index),
    onError: (message) => errors.push(message),
    ...overrides,
  });
  /** Fires the pending debounce timer and lets the refresh finish. */
  async function fire(): Promise<void> {
    const pending = timers.filter((timer) => !timer.cancelled);
    timers.length = 0;
    for (const timer of pending) timer.callback();
    for (let turn = 0; turn < 20; turn += 1) await Promise.resolve();
  }
  return {
    loader,
    queries,
    timers,
    indexes,
    errors,
    hub,
    fire,
    setActive: (states: AlarmState[]) => (active = states),
    latest: () => indexes.at(-1),
  };
}

const overTemperature = 'line1/_alarms/over-temperature/over-temperature';

describe('alarm details loader', () => {
  it('collapses requests within the debounce into one query over the missing raises, and asks nothing once it has them', async () => {
    const h = harness([alarmRecord(overTemperature, 5_000), alarmRecord('line1/_alarms/m3-fault', 2_000, 'high'), alarmRecord('line1/_alarms/m3-fault', 1_000, 'low')]);
    h.setActive([
      { tag: overTemperature, sinceMs: 5_000 },
      { tag: 'line1/_alarms/m3-fault', sinceMs: 2_000 },
    ]);
    h.loader.request();
    h.loader.request();
    h.loader.request();
    expect(h.timers).toHaveLength(1);
    expect(h.timers[0]?.delayMs).toBe(300);
    await h.fire();
    expect(h.queries).toEqual([{ fromMs: 2_000, toMs: 5_000, limit: 200 }]);
    expect(h.latest()?.get(overTemperature)).toMatchObject({ severity: 'critical', message: `${overTemperature} raised` });
    expect(h.latest()?.get('line1/_alarms/m3-fault')).toMatchObject({ ts: 2_000, severity: 'high' });

    h.loader.request(); // e.g. a live batch that cleared an alarm: nothing is missing
    await h.fire();
    expect(h.queries).toHaveLength(1);
    expect(h.loader.counters()).toEqual({ requests: 1, evictedTags: 0 });
  });

  it('asks about a new raise by its own millisecond', async () => {
    const h = harness([alarmRecord(overTemperature, 5_000)]);
    h.setActive([{ tag: overTemperature, sinceMs: 5_000 }]);
    h.loader.request();
    await h.fire();
    h.hub.stored.push(alarmRecord('line1/_alarms/filler-overtemp', 9_000));
    h.setActive([
      { tag: overTemperature, sinceMs: 5_000 },
      { tag: 'line1/_alarms/filler-overtemp', sinceMs: 9_000 },
    ]);
    h.loader.request();
    await h.fire();
    expect(h.queries.at(-1)).toEqual({ fromMs: 9_000, toMs: 9_000, limit: 200 });
    expect(h.latest()?.has('line1/_alarms/filler-overtemp')).toBe(true);
  });

  it('narrows each query to the raises still missing, pages down a crowded window, and stops at its page bound', async () => {
    const noise = Array.from({ length: 21 }, (_, index) => alarmRecord('line1/_alarms/m1-jam', 1_000 + index * 100, 'low'));
    const stored = [alarmRecord('line1/_alarms/a', 1_000), alarmRecord('line1/_alarms/b', 2_000), alarmRecord('line1/_alarms/c', 3_000), ...noise];
    const active = ['a', 'b', 'c'].map((id, index) => ({ tag: `line1/_alarms/${id}`, sinceMs: (index + 1) * 1_000 }));
    const bounded = harness(stored, { pageLimit: 5, pagesMax: 2 });
    bounded.setActive(active);
    bounded.loader.request();
    await bounded.fire();
    expect(bounded.queries).toEqual([
      { fromMs: 1_000, toMs: 3_000, limit: 5 }, // full: c found, complete only above 2,700 ms
      { fromMs: 1_000, toMs: 2_000, limit: 5 }, // b found, full again; the bound of two pages ends the refresh
    ]);
    expect(['a', 'b', 'c'].map((id) => bounded.latest()?.has(`line1/_alarms/${id}`))).toEqual([false, true, true]);

    const paged = harness(stored, { pageLimit: 5, pagesMax: 5 });
    paged.setActive(active);
    paged.loader.request();
    await paged.fire();
    // Below each full page only a raise still missing bounds the next window: here a's own millisecond.
    expect(paged.queries.map((query) => [query.fromMs, query.toMs])).toEqual([
      [1_000, 3_000],
      [1_000, 2_000],
      [1_000, 1_000],
    ]);
    expect(paged.latest()?.get('line1/_alarms/a')).toMatchObject({ ts: 1_000, severity: 'critical' });
  });

  it('does not ask again about a raise the hub answered for without its record, but asks about its next raise', async () => {
    const h = harness([]); // a hub that stores no records for these
    h.setActive([{ tag: 'line1/_alarms/filler-fault', sinceMs: 4_000 }]);
    h.loader.request();
    await h.fire();
    expect(h.queries).toHaveLength(1);
    expect(h.indexes).toEqual([]);
    h.loader.request();
    await h.fire();
    expect(h.queries).toHaveLength(1);
    h.setActive([{ tag: 'line1/_alarms/filler-fault', sinceMs: 8_000 }]);
    h.loader.request();
    await h.fire();
    expect(h.queries.map((query) => query.fromMs)).toEqual([4_000, 8_000]);
  });

  it('reports a failed request and asks again with the next request', async () => {
    const h = harness([alarmRecord(overTemperature, 5_000)]);
    h.setActive([{ tag: overTemperature, sinceMs: 5_000 }]);
    h.hub.failing = true;
    h.loader.request();
    await h.fire();
    expect(h.errors).toEqual(['api/alarms: HTTP 404 Not Found']);
    h.hub.failing = false;
    h.loader.request();
    await h.fire();
    expect(h.queries).toHaveLength(2);
    expect(h.latest()?.has(overTemperature)).toBe(true);
  });

  it('runs one refresh at a time: a request during one schedules one more after it; close stops both', async () => {
    let release: (records: AlarmRecord[]) => void = () => undefined;
    const h = harness([], { fetchAlarms: () => new Promise<AlarmRecord[]>((resolve) => (release = resolve)) });
    h.setActive([{ tag: overTemperature, sinceMs: 5_000 }]);
    h.loader.request();
    const pending = h.timers.slice();
    h.timers.length = 0;
    pending[0]?.callback(); // the refresh is now waiting on the hub
    h.loader.request();
    h.loader.request();
    expect(h.timers).toHaveLength(0);
    release([alarmRecord(overTemperature, 4_000)]); // an older raise's record: the current one is still missing
    for (let turn = 0; turn < 20; turn += 1) await Promise.resolve();
    expect(h.timers).toHaveLength(1);
    expect(h.latest()?.get(overTemperature)?.ts).toBe(4_000);
    h.loader.close();
    expect(h.timers[0]?.cancelled).toBe(true);
    h.loader.request();
    expect(h.timers).toHaveLength(1);
  });
});
