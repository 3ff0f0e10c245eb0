import { describe, expect, it } from 'vitest';
import { parseAlarms, parseGateways, parseHealth, parseLivePoints, parseMachines, WireError } from './wire.ts';

describe('wire', () => {
  it('parses well-formed responses and keeps the acked sequence as a string', () => {
    const health = { status: 'ok', site: 'plant-a', uptimeMs: 5, ingest: { received: 3, stored: 2, duplicates: 1, rejected: 0, queueFullRefusals: 0 } };
    expect(parseHealth(health)).toEqual(health);
    const gateway = { gateway: 'gw-1', site: 'plant-a', ackedSeq: '18446744073709551615', lastSeenMs: 9, state: 'online', points: 4 };
    expect(parseGateways({ gateways: [gateway] })).toEqual([gateway]);
    const machine = { line: 'line1', machine: 'm1', tags: [{ tag: 'line1/m1/running', name: 'running', value: true, quality: 'good', ts: 1 }] };
    expect(parseMachines({ machines: [machine] })).toEqual([machine]);
    expect(parseLivePoints('{"points":[{"tag":"line1/m1/speed","ts":2,"value":120,"quality":"uncertain"}]}')).toEqual([
      { tag: 'line1/m1/speed', ts: 2, value: 120, quality: 'uncertain' },
    ]);
  });

  it('names the route and field of a bad value', () => {
    const machines = { machines: [{ line: 'l', machine: 'm', tags: [{ tag: 't', name: 'n', value: 1, quality: 'great', ts: 1 }] }] };
    expect(() => parseMachines(machines)).toThrow(new WireError('/api/machines: machines[0].tags[0].quality: expected good, uncertain or bad, got "great"'));
    expect(() => parseGateways({ gateways: [{ gateway: 'g', site: 's', ackedSeq: 7, lastSeenMs: 1, state: 'online', points: 0 }] })).toThrow(
      '/api/gateways: gateways[0].ackedSeq: expected a string',
    );
    expect(() => parseHealth({ status: 'ok', site: 's', uptimeMs: 1, ingest: {} })).toThrow('/api/health: ingest.received: expected a finite number');
  });

  it('rejects live event data that is not JSON or holds a non-finite value', () => {
    expect(() => parseLivePoints('{"points":')).toThrow('/api/live: event data is not JSON');
    expect(() => parseLivePoints('{"points":[{"tag":"a/b/c","ts":1,"value":null,"quality":"good"}]}')).toThrow('points[0].value');
    expect(() => parseLivePoints('[]')).toThrow('/api/live: expected an object');
  });

  it("parses /api/alarms records, reading device and rule from the payload and tolerating one that is not a JSON object", () => {
    const stored = { gateway: 'line1-gw', seq: '42', tag: 'line1/_alarms/over-temperature/over-temperature', ts: 5, value: true, quality: 'good', historical: false };
    const payload = '{"severity":"critical","value":97.5,"message":"Filler over temperature: stopped by rule","device":"filler","rule":"over-temperature"}';
    expect(parseAlarms({ alarms: [{ ...stored, severity: 'critical', message: 'Filler over temperature: stopped by rule', payload }] })).toEqual([
      { gateway: 'line1-gw', tag: stored.tag, ts: 5, value: true, severity: 'critical', message: 'Filler over temperature: stopped by rule', device: 'filler', rule: 'over-temperature' },
    ]);
    const details = (payload?: string) => {
      const [alarm] = parseAlarms({ alarms: [{ ...stored, severity: null, message: null, ...(payload === undefined ? {} : { payload }) }] });
      return [alarm?.severity, alarm?.message, alarm?.device, alarm?.rule];
    };
    expect(details()).toEqual([null, null, null, null]); // an alarm stored without a payload
    expect(details('{"device":null,"rule":7}')).toEqual([null, null, null, null]); // a rule spanning machines names no device
    expect(details('not json')).toEqual([null, null, null, null]);
    expect(details('["filler"]')).toEqual([null, null, null, null]);
    expect(() => parseAlarms({ alarms: [{ ...stored, severity: 3, message: null }] })).toThrow('/api/alarms: alarms[0].severity: expected a string or null');
    expect(() => parseAlarms({ alarms: [{ ...stored, severity: null, message: null, payload: {} }] })).toThrow('/api/alarms: alarms[0].payload: expected a string');
    expect(() => parseAlarms({ records: [] })).toThrow('/api/alarms: alarms: expected an array');
  });
});
