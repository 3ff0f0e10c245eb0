import { describe, expect, it } from 'vitest';
import { gatewayHealthByLine, gatewayRows, healthIsStale, healthStaleAfterMs, type GatewayHealth } from './gateway-health.ts';
import { applyPoints, createSiteView } from './live-state.ts';
import type { GatewayInfo, LivePoint } from './wire.ts';

function healthPoints(line: string, ts: number, values: Record<string, LivePoint['value']>): LivePoint[] {
  return Object.entries(values).map(([name, value]) => ({ tag: `${line}/_gateway/${name}`, ts, value, quality: 'good' }));
}

function gateway(id: string): GatewayInfo {
  return { gateway: id, site: 's', ackedSeq: '1', lastSeenMs: 1, state: 'online', points: 0 };
}

function health(line: string): GatewayHealth {
  return {
    line,
    reportedMs: 1,
    scanTicks: null,
    scanOverruns: null,
    latenessP99Ms: null,
    latenessMaxMs: null,
    stepMaxMs: null,
    pointsDropped: null,
    uplinkConnected: null,
    devicesConnected: null,
    devices: null,
  };
}

function pairs(gateways: string[], lines: string[]): [string, string | null][] {
  const byLine = new Map(lines.map((line) => [line, health(line)]));
  return gatewayRows(gateways.map(gateway), byLine).map((row) => [row.key, row.health?.line ?? null]);
}

describe('gateway-health', () => {
  it("reads each line's _gateway tags, leaving missing, mistyped and untrusted values out", () => {
    const site = createSiteView();
    applyPoints(site, [
      ...healthPoints('line1', 10_000, {
        scan_ticks: 1_000,
        scan_overruns: 2,
        scan_lateness_p99_ms: 0.42,
        scan_lateness_max_ms: 3.1,
        scan_step_max_ms: 0.9,
        points_dropped: 0,
        uplink_connected: true,
        devices_connected: 3,
        devices: 4,
      }),
      ...healthPoints('line2', 20_000, { scan_overruns: 'many', uplink_connected: 1 }),
      { tag: 'line2/_gateway/points_dropped', ts: 19_000, value: 5, quality: 'bad' },
      { tag: 'line2/m1/speed', ts: 20_000, value: 120, quality: 'good' },
    ]);
    const byLine = gatewayHealthByLine(site);
    expect([...byLine.keys()].sort()).toEqual(['line1', 'line2']);
    expect(byLine.get('line1')).toEqual({
      line: 'line1',
      reportedMs: 10_000,
      scanTicks: 1_000,
      scanOverruns: 2,
      latenessP99Ms: 0.42,
      latenessMaxMs: 3.1,
      stepMaxMs: 0.9,
      pointsDropped: 0,
      uplinkConnected: true,
      devicesConnected: 3,
      devices: 4,
    });
    expect(byLine.get('line2')).toMatchObject({ reportedMs: 20_000, scanOverruns: null, uplinkConnected: null, pointsDropped: null, devices: null });
  });

  it('takes the newest health report of a line and flags it stale after three report intervals', () => {
    const site = createSiteView();
    applyPoints(site, healthPoints('line1', 10_000, { scan_lateness_p99_ms: 0.4 }));
    applyPoints(site, healthPoints('line1', 20_000, { scan_lateness_p99_ms: 0.7 }));
    applyPoints(site, healthPoints('line1', 15_000, { scan_lateness_p99_ms: 9.9 })); // late
    const line1 = gatewayHealthByLine(site).get('line1')!;
    expect(line1.latenessP99Ms).toBe(0.7);
    expect(healthIsStale(line1, 20_000 + healthStaleAfterMs)).toBe(false);
    expect(healthIsStale(line1, 20_001 + healthStaleAfterMs)).toBe(true);
    expect(healthIsStale({ ...line1, reportedMs: null }, 0)).toBe(true);
  });

  it('joins gateways to lines by {line}-gw first, then by an id that starts with the line id', () => {
    expect(pairs(['line1-gw', 'line2-gw', 'packing-gw'], ['line1', 'line2'])).toEqual([
      ['line1-gw', 'line1'],
      ['line2-gw', 'line2'],
      ['packing-gw', null],
    ]);
    // line2 has no line2-gw: the fallback picks the first gateway starting with "line2-", in natural order.
    expect(pairs(['line2-west', 'line2-east', 'line1-gw'], ['line1', 'line2'])).toEqual([
      ['line1-gw', 'line1'],
      ['line2-east', 'line2'],
      ['line2-west', null],
    ]);
    // The convention wins over the fallback, and a gateway id equal to the line id matches too.
    expect(pairs(['line3-a', 'line3-gw', 'press'], ['line3', 'press'])).toEqual([
      ['line3-a', null],
      ['line3-gw', 'line3'],
      ['press', 'press'],
    ]);
  });

  it('never lets a line claim a gateway of a longer line id or one without a dash after it', () => {
    expect(pairs(['line10-gw', 'line1x'], ['line1', 'line10'])).toEqual([
      ['line1x', null],
      ['line10-gw', 'line10'],
      ['line:line1', 'line1'],
    ]);
    expect(pairs(['line1-a-east'], ['line1', 'line1-a'])).toEqual([
      ['line1-a-east', 'line1-a'],
      ['line:line1', 'line1'],
    ]);
  });

  it('gives health no gateway claims a row of its own after the gateways, and lists gateways without health', () => {
    const rows = gatewayRows([gateway('b-gw'), gateway('a-gw')], new Map([['c', health('c')]]));
    expect(rows.map((row) => [row.key, row.gateway?.gateway ?? null, row.health?.line ?? null])).toEqual([
      ['a-gw', 'a-gw', null],
      ['b-gw', 'b-gw', null],
      ['line:c', null, 'c'],
    ]);
    expect(gatewayRows([], new Map())).toEqual([]);
  });
});
