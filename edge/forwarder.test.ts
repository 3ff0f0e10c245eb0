// The forwarder between the durable log and the uplink, over an in-memory log and a scripted
// transport: only durable records are sent; live goes first and the backlog drains beside it,
// marked historical; refused or unacknowledged batches go again; acks release the log.
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from '../common/clock.ts';
import { createLogger } from '../common/log.ts';
import type { Point } from '../common/point.ts';
import { decodeBatchV2 } from '../common/wire-batch-decode.ts';
import { Forwarder, type ForwarderTransport } from './forwarder.ts';
import { DurableLog } from './log/durable-log.ts';
import { MemoryStorage } from './log/memory-storage.ts';

interface Sent {
  readonly historical: boolean;
  readonly seqs: bigint[];
}

function scriptedTransport() {
  const sent: Sent[] = [];
  const state = { online: true, refuse: false, windowLeft: Number.POSITIVE_INFINITY };
  const transport: ForwarderTransport = {
    canPublish: () => state.online && state.windowLeft > 0,
    isConnected: () => state.online,
    publish(_topic, payload) {
      const decoded = decodeBatchV2(payload);
      if (!decoded.ok) throw new Error(decoded.reason);
      state.windowLeft--;
      if (state.refuse) return Promise.reject(new Error('window full'));
      sent.push({ historical: decoded.value.historical, seqs: decoded.value.records.map((record) => record.seq) });
      return Promise.resolve();
    },
  };
  return { transport, sent, state };
}

async function setup(limits: Partial<{ backlogRecordsPerSecond: number; ackTimeoutMs: number; batchRecordsMax: number; backlogSliceMs: number }> = {}) {
  const clock = new SimulatedClock(1_767_225_600_000);
  const logger = createLogger({ component: 'test', clock, write: () => undefined });
  const log = await DurableLog.open({ storage: new MemoryStorage(), gatewayId: 'gw', clock, logger });
  const { transport, sent, state } = scriptedTransport();
  const forwarder = new Forwarder({ site: 'site', gateway: 'gw', log, transport, clock, logger, limits: { batchRecordsMax: 10, backlogRecordsPerSecond: 20, ackTimeoutMs: 1000, ...limits } });
  return { clock, log, forwarder, sent, state };
}

const points = (count: number, ts = 1_767_225_600_000): Point[] => Array.from({ length: count }, (_, index) => ({ tag: `l/m/t${index % 3}`, ts: ts + index, value: index, quality: 'good' }));
const allSeqs = (sent: Sent[]): bigint[] => sent.flatMap((batch) => batch.seqs);

describe('Forwarder', () => {
  it('sends live records after their commit, in batches, not historical', async () => {
    const { forwarder, sent } = await setup();
    forwarder.accept(points(25));
    expect(sent).toEqual([]);
    await forwarder.flush();
    expect(sent.map((batch) => batch.seqs.length)).toEqual([10, 10, 5]);
    expect(sent.every((batch) => !batch.historical)).toBe(true);
    expect(allSeqs(sent)).toEqual(Array.from({ length: 25 }, (_, index) => BigInt(index + 1)));
  });

  it('keeps everything while offline and drains it as a rate-limited historical backlog beside live data', async () => {
    const { forwarder, sent, state, clock } = await setup({ ackTimeoutMs: 60_000 });
    state.online = false;
    forwarder.accept(points(30));
    await forwarder.flush();
    expect(sent).toEqual([]);
    // Online again: the records that could not go live are backlog now.
    state.online = true;
    forwarder.onConnected();
    forwarder.accept(points(3));
    clock.advanceMs(500); // 10 records of backlog budget at 20/s
    await forwarder.flush();
    const live = sent.filter((batch) => !batch.historical);
    const historical = sent.filter((batch) => batch.historical);
    expect(allSeqs(live)).toEqual([31n, 32n, 33n]);
    expect(historical.length).toBeGreaterThan(0);
    expect(allSeqs(historical).length).toBeLessThanOrEqual(10);
    for (let i = 0; i < 5; i++) {
      clock.advanceMs(1000);
      await forwarder.flush();
    }
    expect(new Set(allSeqs(sent)).size).toBe(33);
    expect(allSeqs(sent)).toHaveLength(33); // nothing sent twice
  });

  it('sends a refused batch again', async () => {
    const { forwarder, sent, state, clock } = await setup();
    state.refuse = true;
    forwarder.accept(points(5));
    await forwarder.flush();
    await new Promise((resolve) => setImmediate(resolve));
    expect(forwarder.stats().batchesRefused).toBe(1);
    state.refuse = false;
    clock.advanceMs(1000);
    await forwarder.flush();
    expect(allSeqs(sent)).toEqual([1n, 2n, 3n, 4n, 5n]);
    expect(sent[0]!.historical).toBe(true);
  });

  it('sends again what the hub never acknowledged, and frees the log on acks', async () => {
    const { forwarder, sent, clock, log } = await setup({ ackTimeoutMs: 1000 });
    forwarder.accept(points(8));
    await forwarder.flush();
    expect(allSeqs(sent)).toHaveLength(8);
    await forwarder.onAck(3n);
    clock.advanceMs(1500);
    await forwarder.flush();
    expect(allSeqs(sent).slice(8)).toEqual([4n, 5n, 6n, 7n, 8n]);
    expect(forwarder.stats().resends).toBe(1);
    await forwarder.onAck(8n);
    expect(log.stats().releasedSeq).toBe('8');
    expect(forwarder.stats().ackedSeq).toBe('8');
  });

  it('resends from the last ack after a restart, since the hub may not have the rest', async () => {
    const clock = new SimulatedClock(1_767_225_600_000);
    const logger = createLogger({ component: 'test', clock, write: () => undefined });
    const storage = new MemoryStorage();
    const first = await DurableLog.open({ storage, gatewayId: 'gw', clock, logger });
    const a = scriptedTransport();
    const before = new Forwarder({ site: 'site', gateway: 'gw', log: first, transport: a.transport, clock, logger });
    before.accept(points(6));
    await before.flush();
    await first.close();
    const second = await DurableLog.open({ storage, gatewayId: 'gw', clock, logger });
    const b = scriptedTransport();
    const after = new Forwarder({ site: 'site', gateway: 'gw', log: second, transport: b.transport, clock, logger });
    clock.advanceMs(1000);
    await after.flush();
    expect(allSeqs(b.sent)).toEqual([1n, 2n, 3n, 4n, 5n, 6n]);
    after.accept(points(1));
    await after.flush();
    expect(allSeqs(b.sent).at(-1)).toBe(7n);
  });

  it('drains a backlog in time slices, flushing again at once while whole batches may go, and live records go first in each flush', async () => {
    const { forwarder, sent, state, clock } = await setup({ backlogRecordsPerSecond: 10_000_000, backlogSliceMs: 0, ackTimeoutMs: 60_000 });
    state.online = false;
    forwarder.accept(points(50));
    await forwarder.flush();
    state.online = true;
    forwarder.onConnected();
    clock.advanceMs(1000); // the rate limit's budget refills with time
    // A zero slice sends one batch a flush: the drain goes on only because startFlushing flushes again at once.
    expect(forwarder.backlogSendable).toBe(true);
    const flushing = forwarder.startFlushing(60_000, (error) => {
      throw error;
    });
    forwarder.accept(points(2));
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && new Set(allSeqs(sent)).size < 52) await new Promise((resolve) => setImmediate(resolve));
    await flushing.stop();
    expect(new Set(allSeqs(sent)).size).toBe(52);
    expect(allSeqs(sent)).toHaveLength(52); // nothing twice
    expect(sent.filter((batch) => batch.historical).every((batch) => batch.seqs.length <= 10)).toBe(true);
    // The live records (51, 52) left before the backlog that was still waiting when they came.
    const order = allSeqs(sent);
    expect(order.indexOf(51n)).toBeLessThan(order.indexOf(50n));
    expect(forwarder.backlogSendable).toBe(false);
  });

  it('does not flush again at once while the rate limit allows less than a batch', async () => {
    const { forwarder, state } = await setup({ backlogRecordsPerSecond: 20 });
    state.online = false;
    forwarder.accept(points(30));
    await forwarder.flush();
    state.online = true;
    forwarder.onConnected();
    await forwarder.flush();
    expect(forwarder.backlogSendable).toBe(false);
  });
});
