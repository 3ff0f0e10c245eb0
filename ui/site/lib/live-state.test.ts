import { describe, expect, it } from 'vitest';
import {
  applyPoints,
  applySnapshot,
  createSiteView,
  groupByLine,
  isSystemGroup,
  splitTag,
  trendSampleIntervalMs,
  trendSamplesMax,
} from './live-state.ts';
import { ringToArray } from './ring.ts';
import type { LivePoint, MachineInfo } from './wire.ts';

const snapshot: MachineInfo[] = [
  {
    line: 'line1',
    machine: 'm1',
    tags: [
      { tag: 'line1/m1/state', name: 'state', value: 1, quality: 'good', ts: 1_000 },
      { tag: 'line1/m1/temperature', name: 'temperature', value: 70, quality: 'good', ts: 1_000 },
    ],
  },
  { line: 'line1', machine: 'm2', tags: [] },
];

function point(tag: string, ts: number, value: LivePoint['value'], quality: LivePoint['quality'] = 'good'): LivePoint {
  return { tag, ts, value, quality };
}

describe('live-state', () => {
  it('loads a snapshot, including machines that have no tags yet', () => {
    const site = createSiteView();
    applySnapshot(site, snapshot);
    expect(Object.keys(site.machines).sort()).toEqual(['line1/m1', 'line1/m2']);
    expect(site.machines['line1/m1']?.readings.temperature).toEqual({ value: 70, quality: 'good', ts: 1_000 });
    expect(site.machines['line1/m1']?.lastUpdateMs).toBe(1_000);
    expect(site.machines['line1/m2']?.lastUpdateMs).toBeNull();
  });

  it('applies live points over the snapshot and tracks the newest timestamp', () => {
    const site = createSiteView();
    applySnapshot(site, snapshot);
    applyPoints(site, [point('line1/m1/temperature', 2_000, 71.5), point('line1/m1/state', 2_500, 2, 'uncertain')]);
    const machine = site.machines['line1/m1'];
    expect(machine?.readings.temperature?.value).toBe(71.5);
    expect(machine?.readings.state).toEqual({ value: 2, quality: 'uncertain', ts: 2_500 });
    expect(machine?.lastUpdateMs).toBe(2_500);
    expect(site.counters.applied).toBe(4);
  });

  it('never moves a reading back in time: late and re-fetched older values are counted as stale', () => {
    const site = createSiteView();
    applyPoints(site, [point('line1/m1/temperature', 5_000, 80)]);
    applyPoints(site, [point('line1/m1/temperature', 4_000, 60)]);
    applySnapshot(site, snapshot); // an old snapshot fetched after a reconnect
    expect(site.machines['line1/m1']?.readings.temperature).toEqual({ value: 80, quality: 'good', ts: 5_000 });
    expect(site.counters.stale).toBe(2);
    expect(site.machines['line1/m1']?.readings.state?.value).toBe(1); // a tag it did not have is still filled in
  });

  it('adds a machine first seen on the live stream and counts malformed tags', () => {
    const site = createSiteView();
    applyPoints(site, [point('line2/press/speed', 1, 120), point('line2/press', 1, 3), point('a//b', 1, 3)]);
    expect(site.machines['line2/press']?.readings.speed?.value).toBe(120);
    expect(site.counters.malformed).toBe(2);
  });

  it('samples good numeric temperatures into a bounded trend ring, skipping bad quality and bursts', () => {
    const site = createSiteView();
    const tag = 'line1/m1/temperature';
    applyPoints(site, [point(tag, 0, 20), point(tag, trendSampleIntervalMs - 1, 99), point(tag, trendSampleIntervalMs, 21)]);
    applyPoints(site, [point(tag, 2 * trendSampleIntervalMs, 500, 'bad')]);
    let trend = ringToArray(site.machines['line1/m1']!.trend);
    expect(trend).toEqual([
      { ts: 0, value: 20 },
      { ts: trendSampleIntervalMs, value: 21 },
    ]);
    const burst: LivePoint[] = [];
    for (let index = 3; index < trendSamplesMax + 50; index += 1) burst.push(point(tag, index * trendSampleIntervalMs, index));
    applyPoints(site, burst);
    trend = ringToArray(site.machines['line1/m1']!.trend);
    expect(trend).toHaveLength(trendSamplesMax);
    expect(trend.at(-1)?.value).toBe(trendSamplesMax + 49);
    expect(trend.every((sample, index) => index === 0 || sample.ts > trend[index - 1]!.ts)).toBe(true);
  });

  it('groups machines by line in natural order', () => {
    const site = createSiteView();
    applyPoints(site, [point('line10/m1/speed', 1, 1), point('line2/m10/speed', 1, 1), point('line2/m9/speed', 1, 1)]);
    expect(groupByLine(site).map((group) => [group.line, group.machines.map((view) => view.machine)])).toEqual([
      ['line2', ['m9', 'm10']],
      ['line10', ['m1']],
    ]);
  });

  it('keeps system groups out of the machines, and gives a line a card for alarms but not for gateway health alone', () => {
    const site = createSiteView();
    applySnapshot(site, [
      { line: 'line1', machine: 'filler', tags: [] },
      { line: 'line1', machine: '_alarms', tags: [{ tag: 'line1/_alarms/filler-fault', name: 'filler-fault', value: true, quality: 'good', ts: 1 }] },
      { line: 'line1', machine: '_gateway', tags: [] },
      { line: 'packing', machine: '_gateway', tags: [] },
    ]);
    applyPoints(site, [point('line3/_alarms/press-fault', 2, false)]);
    const groups = groupByLine(site);
    expect(groups.map((group) => [group.line, group.machines.map((view) => view.machine), Object.keys(group.systemGroups).sort()])).toEqual([
      ['line1', ['filler'], ['_alarms', '_gateway']],
      ['line3', [], ['_alarms']],
    ]);
    expect(groups[0]?.systemGroups._alarms?.readings['filler-fault']?.value).toBe(true);
    expect([isSystemGroup('_gateway'), isSystemGroup('filler'), isSystemGroup('m_1')]).toEqual([true, false, false]);
  });

  it('splits tag paths, keeping deeper paths in the name', () => {
    expect(splitTag('line1/press/temperature')).toEqual({ line: 'line1', machine: 'press', name: 'temperature' });
    expect(splitTag('line1/press/hydraulics/pressure')?.name).toBe('hydraulics/pressure');
    expect(splitTag('line1/press')).toBeNull();
  });
});
