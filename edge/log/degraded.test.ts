// A full or failing disk: the log reports it (health event, stats), refuses points, holds alarms
// and events in memory, retries at most every diskRetryIntervalMs, and never throws into the
// caller; when the disk comes back everything it held is written, in seq order.
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../common/random.ts';
import { alarm, appendAll, harness, point, readAll, startMs, testSeed, withoutSeq } from './log-test-kit.ts';
import type { LogInput } from './log-types.ts';
import type { StorageOperation } from './memory-storage.ts';

const retryMs = 1000; // smallLimits.diskRetryIntervalMs

function batch(count: number, firstMs: number): LogInput[] {
  return Array.from({ length: count }, (_, index) => point(`line6/pump${index % 2}/flow`, firstMs + index * 100, 10 + index));
}

describe('DurableLog on a failing disk', () => {
  it('degrades on a full disk: points refused, alarms held, and all of it written once space returns', async () => {
    const kit = harness();
    const log = await kit.open();
    appendAll(log, batch(20, startMs));
    expect(await log.commit()).toBe(20n);
    kit.storage.capacityBytes = kit.storage.usedBytes() + 40; // room for a few records only
    const failed = batch(30, startMs + 10_000);
    appendAll(log, failed);
    expect(await log.commit()).toBe(20n); // no throw: the batch stays in memory
    expect(log.degraded).toBe(true);
    expect(kit.health).toEqual([expect.objectContaining({ kind: 'degraded', code: 'EDGE_LOG_DISK_FULL' })]);
    expect(kit.lines.some((line) => line.includes('error') && line.includes('EDGE_LOG_DISK_FULL'))).toBe(true);

    expect(log.append(point('line6/pump0/flow', startMs + 20_000, 1))).toMatchObject({ ok: false, reason: 'degraded', code: 'EDGE_LOG_DEGRADED' });
    const held = [alarm('line6/pump0/dry-run', startMs + 20_000), { ...alarm('line6/pump1/dry-run', startMs + 21_000), kind: 'event' as const }];
    expect(appendAll(log, held)).toEqual([51, 52]);

    const writes = kit.storage.calls.get('write') ?? 0;
    expect(await log.commit()).toBe(20n); // before the retry interval: the disk is left alone
    expect(kit.storage.calls.get('write') ?? 0).toBe(writes);
    kit.clock.advanceMs(retryMs);
    expect(await log.commit()).toBe(20n); // retried, still full
    expect(kit.storage.calls.get('write') ?? 0).toBeGreaterThan(writes);

    kit.storage.heal();
    kit.clock.advanceMs(retryMs);
    expect(await log.commit()).toBe(52n);
    expect(log.degraded).toBe(false);
    expect(kit.health.at(-1)).toMatchObject({ kind: 'recovered', heldRecords: 32 });
    expect(log.stats()).toMatchObject({ refusedPoints: 1, diskErrors: 2 });
    const records = await readAll(log);
    expect(records.map(withoutSeq)).toEqual([...batch(20, startMs), ...failed, ...held]);
    expect(appendAll(log, batch(1, startMs + 30_000))).toEqual([53]);

    kit.storage.powerCut(); // and it really was synced
    expect((await readAll(await kit.open())).length).toBe(52);
  });

  it('rewrites the whole batch after a failed fdatasync instead of trusting the page cache', async () => {
    const kit = harness();
    const log = await kit.open();
    appendAll(log, batch(10, startMs));
    kit.storage.failNext('fdatasync', 'EIO');
    expect(await log.commit()).toBe(0n);
    expect(kit.health).toEqual([expect.objectContaining({ kind: 'degraded', code: 'EDGE_LOG_DISK_FAILED' })]);
    const writes = kit.storage.calls.get('write') ?? 0;
    kit.clock.advanceMs(retryMs);
    expect(await log.commit()).toBe(10n);
    expect((kit.storage.calls.get('write') ?? 0) - writes).toBe(1);
    kit.storage.powerCut();
    expect((await readAll(await kit.open())).map(withoutSeq)).toEqual(batch(10, startMs));
  });

  it('loses only what was never durable when the power goes while degraded', async () => {
    const kit = harness();
    const log = await kit.open();
    appendAll(log, batch(10, startMs));
    await log.commit();
    kit.storage.failAlways('fdatasync', 'EIO');
    appendAll(log, batch(5, startMs + 5000));
    await log.commit();
    appendAll(log, [alarm('line6/pump0/dry-run', startMs + 9000)]);
    kit.storage.powerCut();
    kit.storage.heal();
    const reopened = await kit.open();
    expect((await readAll(reopened)).map(withoutSeq)).toEqual(batch(10, startMs));
    expect(appendAll(reopened, [alarm('line6/pump0/dry-run', startMs + 9000)])).toEqual([11]);
  });

  it('bounds the alarms and events it holds, and counts those it refuses', async () => {
    const kit = harness({ limits: { pendingRecordsMax: 10, heldAlarmRecordsMax: 5 } });
    const log = await kit.open();
    kit.storage.failAlways('write', 'EIO');
    appendAll(log, batch(8, startMs));
    await log.commit();
    expect(log.degraded).toBe(true);
    appendAll(log, Array.from({ length: 7 }, (_, index) => alarm('line6/pump0/dry-run', startMs + index)));
    expect(log.append(alarm('line6/pump0/dry-run', startMs + 99))).toMatchObject({ ok: false, reason: 'pending-full' });
    expect(log.stats()).toMatchObject({ pendingRecords: 15, refusedAlarmsEvents: 1 });
  });

  it('retries a segment that could not be created', async () => {
    const kit = harness();
    const log = await kit.open();
    kit.storage.failNext('create', 'ENOSPC');
    const inputs = batch(300, startMs); // rolls into new segments
    appendAll(log, inputs);
    expect(await log.commit()).toBeLessThan(300n);
    kit.clock.advanceMs(retryMs);
    expect(await log.commit()).toBe(300n);
    kit.storage.powerCut();
    expect((await readAll(await kit.open())).map(withoutSeq)).toEqual(inputs);
  });

  it('keeps a segment it could not delete on release and deletes it on the next release', async () => {
    const kit = harness();
    const log = await kit.open();
    appendAll(log, batch(400, startMs));
    await log.commit();
    const segments = log.stats().segments;
    kit.storage.failNext('delete', 'EIO');
    expect(await log.release(400n)).toBe(0);
    expect(log.degraded).toBe(false);
    expect(await log.release(400n)).toBe(segments - 1);
  });

  it('never throws from append or commit whatever the disk does, and loses no alarm it accepted', async () => {
    const seed = testSeed('durable log random disk faults');
    const random = seededRandom(seed);
    const kit = harness({ limits: { budgetBytes: 64 * 1024 } });
    const log = await kit.open();
    const operations: StorageOperation[] = ['write', 'fdatasync', 'fsyncDirectory', 'create', 'truncate', 'read', 'rename'];
    const accepted = new Map<number, LogInput>();
    for (let step = 0; step < 400; step++) {
      if (random.next() < 0.15) kit.storage.failNext(operations[random.int(0, operations.length - 1)]!, random.next() < 0.5 ? 'EIO' : 'ENOSPC', { times: random.int(1, 3) });
      const inputs = Array.from({ length: random.int(1, 30) }, (_, index): LogInput => {
        const ts = startMs + step * 1000 + index;
        return random.next() < 0.1 ? alarm(`line7/cell${index % 3}/fault`, ts, `{"step":${step}}`) : point(`line7/cell${index % 5}/value`, ts, random.int(0, 1000));
      });
      for (const input of inputs) {
        const result = log.append(input);
        if (result.ok) accepted.set(Number(result.seq), input);
        else expect(input.kind === 'point' || result.reason === 'pending-full', `seed ${seed} step ${step}`).toBe(true);
      }
      await log.commit();
      kit.clock.advanceMs(random.int(0, 2 * retryMs));
      if (random.next() < 0.05) await log.release(BigInt(random.int(0, Number(log.stats().durableSeq))));
    }
    kit.storage.heal();
    kit.clock.advanceMs(retryMs);
    const durable = await log.commit();
    expect(log.degraded, `seed ${seed}`).toBe(false);
    expect(durable).toBe(BigInt(Math.max(...accepted.keys())));
    const released = Number(log.stats().releasedSeq);
    const records = await readAll(log, 1n, 100);
    for (const record of records) expect(withoutSeq(record), `seed ${seed} seq ${record.seq}`).toEqual(accepted.get(Number(record.seq)));
    const readable = new Set(records.map((record) => Number(record.seq)));
    const lost = log.lostRanges(1n);
    for (const [seq, input] of accepted) {
      if (seq <= released) continue;
      const isLost = lost.some((range) => BigInt(seq) >= range.firstSeq && BigInt(seq) <= range.lastSeq);
      expect(readable.has(seq) || (input.kind === 'point' && isLost), `seed ${seed} seq ${seq} (${input.kind})`).toBe(true);
    }
  });
});
