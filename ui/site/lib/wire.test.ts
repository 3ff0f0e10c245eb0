import { describe, expect, it } from 'vitest';
import { parseGateways, parseHealth, parseLivePoints, parseMachines, WireError } from './wire.ts';

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
});
