// Alarm and event payloads from the durable log onto the wire: the forwarder sends what the log
// holds (a JSON object as is, other text wrapped as {"text": ...}), live and from the backlog.
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from '../common/clock.ts';
import { createLogger } from '../common/log.ts';
import type { SequencedRecord } from '../common/wire-batch.ts';
import { decodeBatchV2 } from '../common/wire-batch-decode.ts';
import { Forwarder, type ForwarderTransport } from './forwarder.ts';
import { DurableLog } from './log/durable-log.ts';
import { MemoryStorage } from './log/memory-storage.ts';

const t0 = 1_767_225_600_000;

async function setup() {
  const clock = new SimulatedClock(t0);
  const logger = createLogger({ component: 'test', clock, write: () => undefined });
  const log = await DurableLog.open({ storage: new MemoryStorage(), gatewayId: 'gw', clock, logger });
  const sent: SequencedRecord[] = [];
  const state = { online: true };
  const transport: ForwarderTransport = {
    canPublish: () => state.online,
    isConnected: () => state.online,
    publish(_topic, payload) {
      const decoded = decodeBatchV2(payload);
      if (!decoded.ok) throw new Error(decoded.reason);
      sent.push(...decoded.value.records);
      return Promise.resolve();
    },
  };
  const forwarder = new Forwarder({ site: 'site', gateway: 'gw', log, transport, clock, logger, limits: { backlogRecordsPerSecond: 1000 } });
  return { clock, forwarder, sent, state };
}

describe('Forwarder record payloads', () => {
  it('sends an alarm payload from the log as is, and non-JSON text wrapped, live and as backlog', async () => {
    const { clock, forwarder, sent, state } = await setup();
    const alarmPayload = JSON.stringify({ severity: 'critical', value: 97.5, message: 'Übertemperatur' });
    forwarder.accept([{ tag: 'l1/m1/t', ts: t0, value: 97.5, quality: 'good' }]);
    forwarder.accept([{ tag: 'l1/_alarms/m1-hot', ts: t0, value: true, quality: 'good' }], 'alarm', alarmPayload);
    forwarder.accept([{ tag: 'l1/m1/note', ts: t0, value: 'reset', quality: 'good' }], 'event', 'reset by operator');
    await forwarder.flush();
    await forwarder.onAck(3n); // the hub has the live ones; the next comes back out of the log
    state.online = false;
    forwarder.accept([{ tag: 'l1/_alarms/m1-hot', ts: t0 + 1, value: false, quality: 'good' }], 'alarm', alarmPayload);
    await forwarder.flush();
    state.online = true;
    forwarder.onConnected();
    clock.advanceMs(1000);
    await forwarder.flush();
    expect(sent.map(({ seq, kind, historical, payload }) => ({ seq, kind, historical, payload }))).toEqual([
      { seq: 1n, kind: 'point', historical: false, payload: undefined },
      { seq: 2n, kind: 'alarm', historical: false, payload: alarmPayload },
      { seq: 3n, kind: 'event', historical: false, payload: '{"text":"reset by operator"}' },
      { seq: 4n, kind: 'alarm', historical: true, payload: alarmPayload },
    ]);
    expect(forwarder.stats().payloadsNotSent).toBe(0);
  });

  it('leaves a payload the wire cannot carry (on a point) in the log and sends the record without it', async () => {
    const { forwarder, sent } = await setup();
    forwarder.accept([{ tag: 'l1/m1/t', ts: t0, value: 1, quality: 'good' }], 'point', '{"unit":"C"}');
    await forwarder.flush();
    expect(sent).toHaveLength(1);
    expect(sent[0]).not.toHaveProperty('payload');
    expect(forwarder.stats().payloadsNotSent).toBe(1);
  });
});
