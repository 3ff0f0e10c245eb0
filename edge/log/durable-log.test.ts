import { describe, expect, it } from 'vitest';
import { crc32 } from './crc32.ts';
import { encodeHeader, segmentName } from './segment-header.ts';
import { alarm, appendAll, harness, point, readAll, startMs, withoutSeq } from './log-test-kit.ts';
import type { LogInput } from './log-types.ts';

const calls = (kit: ReturnType<typeof harness>, operation: 'write' | 'fdatasync' | 'fsyncDirectory' | 'create'): number => kit.storage.calls.get(operation) ?? 0;

/** n points on a few tags, 100 ms apart. */
function points(n: number, firstMs = startMs): LogInput[] {
  return Array.from({ length: n }, (_, index) => point(`line1/m${index % 3}/temp`, firstMs + index * 100, 20 + index / 4));
}

describe('DurableLog', () => {
  it('appends, commits and reads back every kind of record in seq order', async () => {
    const kit = harness();
    const log = await kit.open();
    const inputs: LogInput[] = [
      point('line1/press/temperature', startMs, 21.5),
      point('line1/press/count', startMs, 12_345),
      point('line1/press/running', startMs + 10, true),
      { kind: 'point', ts: startMs + 10, tag: 'line1/press/recipe', value: 'PX-7 ✓', quality: 'uncertain' },
      alarm('line1/press/overheat', startMs + 20, '{"severity":3,"text":"too hot"}'),
      { kind: 'event', ts: startMs + 30, tag: 'line1/press/door', value: 'opened', quality: 'bad', payload: 'by operator 7' },
      point('line1/press/temperature', startMs - 5_000, Math.PI),
    ];
    expect(appendAll(log, inputs)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(await log.commit()).toBe(7n);
    const records = await readAll(log);
    expect(records.map((record) => record.seq)).toEqual([1n, 2n, 3n, 4n, 5n, 6n, 7n]);
    expect(records.map(withoutSeq)).toEqual(inputs);
  });

  it('makes a commit one write and one fdatasync, with a directory fsync only when it created a segment', async () => {
    const kit = harness();
    const log = await kit.open();
    const before = { write: calls(kit, 'write'), fdatasync: calls(kit, 'fdatasync'), dir: calls(kit, 'fsyncDirectory') };
    appendAll(log, points(20));
    await log.commit();
    expect([calls(kit, 'write') - before.write, calls(kit, 'fdatasync') - before.fdatasync, calls(kit, 'fsyncDirectory') - before.dir]).toEqual([1, 1, 0]);
    appendAll(log, points(400)); // crosses into new segments
    await log.commit();
    expect(log.stats().segments).toBeGreaterThan(1);
    const created = calls(kit, 'create');
    expect(calls(kit, 'fsyncDirectory') - before.dir).toBe(created - 1); // one per created segment (the first came with open)
  });

  it('lets commits called before the first one writes share it (group commit)', async () => {
    const kit = harness();
    const log = await kit.open();
    const syncsBefore = calls(kit, 'fdatasync');
    appendAll(log, points(5));
    const first = log.commit();
    appendAll(log, points(5));
    const second = log.commit();
    expect(second).toBe(first);
    expect(await first).toBe(10n);
    expect(calls(kit, 'fdatasync') - syncsBefore).toBe(1);
  });

  it('gives a commit exactly what was appended before it was called, while the next batch is appended', async () => {
    const kit = harness();
    const log = await kit.open();
    appendAll(log, points(5));
    const first = log.commit();
    appendAll(log, points(5)); // appended after the call: the next commit's
    expect(await first).toBe(5n);
    const release = kit.storage.hold('fdatasync');
    const second = log.commit();
    await new Promise((resolve) => setImmediate(resolve)); // the second commit is now syncing
    appendAll(log, points(5));
    const third = log.commit(); // asked for while the second syncs: it takes the batch when it starts
    expect(third).not.toBe(second);
    appendAll(log, points(5));
    release();
    expect([await second, await third]).toEqual([10n, 20n]);
  });

  it('continues the sequence after the last durable record when reopened', async () => {
    const kit = harness();
    const first = await kit.open();
    const inputs = points(250);
    appendAll(first, inputs);
    await first.commit();
    await first.close();
    const reopened = await kit.open();
    expect(reopened.stats().durableSeq).toBe('250');
    expect(appendAll(reopened, points(1))).toEqual([251]);
    await reopened.commit();
    expect((await readAll(reopened)).slice(0, 250).map(withoutSeq)).toEqual(inputs);
  });

  it('forgets records never committed before a crash and reuses their seqs, which no one was told about', async () => {
    const kit = harness();
    const log = await kit.open();
    appendAll(log, points(5));
    await log.commit();
    appendAll(log, points(3));
    kit.storage.powerCut();
    const reopened = await kit.open();
    expect(appendAll(reopened, points(1))).toEqual([6]);
  });

  it('reads from any seq across segments, in pages of any size', async () => {
    const kit = harness();
    const log = await kit.open();
    const inputs = points(600);
    appendAll(log, inputs);
    await log.commit();
    expect(log.stats().segments).toBeGreaterThan(3);
    for (const from of [1, 2, 7, 99, 100, 101, 333, 599, 600]) {
      for (const page of [1, 5, 64, 1000]) {
        const records = await log.read(BigInt(from), page);
        expect(records.map((record) => Number(record.seq))).toEqual(Array.from({ length: Math.min(page, 601 - from) }, (_, index) => from + index));
        expect(records.map(withoutSeq)).toEqual(inputs.slice(from - 1, from - 1 + page));
      }
    }
    expect(await log.read(601n, 10)).toEqual([]);
  });

  it('starts a read at the nearest index entry instead of rescanning the segment', async () => {
    const kit = harness({ limits: { segmentBytesMax: 64 * 1024, budgetBytes: 1024 * 1024 } });
    const log = await kit.open();
    appendAll(log, points(2000));
    await log.commit();
    expect(log.stats().segments).toBe(1);
    kit.storage.bytesRead = 0;
    const [record] = await log.read(1999n, 1);
    expect(record?.seq).toBe(1999n);
    expect(kit.storage.bytesRead).toBeLessThan(4 * 20); // about one index stride (4 records), not 2000 records
    kit.storage.bytesRead = 0;
    expect((await log.read(1000n, 10)).map((record) => Number(record.seq))).toEqual(Array.from({ length: 10 }, (_, index) => 1000 + index));
    expect(kit.storage.bytesRead).toBeLessThanOrEqual(1024); // what 10 records need (at least one largest record), not the segment
  });

  it('releases whole acknowledged segments, never the active one, and reads after them', async () => {
    const kit = harness();
    const log = await kit.open();
    appendAll(log, points(600));
    await log.commit();
    const segments = log.stats().segments;
    expect(await log.release(250n)).toBeGreaterThan(0);
    const afterRelease = log.stats();
    expect(afterRelease.segments).toBeLessThan(segments);
    expect(afterRelease.releasedSeq).toBe('250');
    expect((await log.read(1n, 1))[0]?.seq).toBe(251n);
    expect(await log.release(600n)).toBeGreaterThan(0);
    expect(log.stats().segments).toBe(1);
    expect(await log.read(1n, 10)).toEqual([]);
    await log.close();
    const reopened = await kit.open();
    expect(appendAll(reopened, points(1))).toEqual([601]);
  });

  it('keeps the last segment on disk when the next one exists only in memory, so the sequence survives a crash', async () => {
    const kit = harness();
    const log = await kit.open();
    const inputs = points(400);
    let appended = 0;
    while (log.stats().segments === 1) {
      appendAll(log, [inputs[appended++]!]); // the one that does not fit starts a segment in memory
      if (log.stats().segments === 1) await log.commit();
    }
    const durableSeq = BigInt(log.stats().durableSeq);
    expect(durableSeq).toBe(BigInt(appended - 1)); // the first segment is whole and durable
    expect(await log.release(durableSeq)).toBe(0);
    kit.storage.powerCut();
    expect(appendAll(await kit.open(), points(1))).toEqual([appended]);
  });

  it('refuses the log directory of another gateway and changes nothing in it', async () => {
    const kit = harness();
    const log = await kit.open();
    appendAll(log, points(300));
    await log.commit();
    appendAll(log, points(3)); // and a torn tail the other gateway must not cut
    kit.storage.powerCut({ keepUnsyncedBytes: (_name, unsynced) => unsynced - 1 });
    const names = (await kit.storage.list()).sort();
    const contents = names.map((name) => kit.storage.contents(name));
    await expect(kit.open({ gatewayId: 'gw-2' })).rejects.toMatchObject({ code: 'EDGE_LOG_FOREIGN_GATEWAY' });
    expect((await kit.storage.list()).sort()).toEqual(names);
    expect(names.map((name) => kit.storage.contents(name))).toEqual(contents);
  });

  it('refuses a segment written by a newer format version', async () => {
    const kit = harness();
    const header = encodeHeader('gw-1', 1, false);
    header[4] = 2;
    header.writeUInt32LE(crc32(header, 0, header.length - 4), header.length - 4);
    kit.storage.plant(segmentName(1), header);
    await expect(kit.open()).rejects.toMatchObject({ code: 'EDGE_LOG_FORMAT_UNSUPPORTED' });
  });

  it('refuses invalid records with a detail naming the field, without using a seq', async () => {
    const kit = harness();
    const log = await kit.open();
    const bad: [LogInput, RegExp][] = [
      [point('not a tag!', startMs, 1), /tag/],
      [point('a/b', startMs, Number.NaN), /finite/],
      [point('a/b', startMs + 0.5, 1), /ts/],
      [point('a/b', -1, 1), /ts/],
      [{ ...point('a/b', startMs, 1), quality: 'great' as never }, /quality/],
      [{ ...point('a/b', startMs, 1), kind: 'metric' as never }, /kind/],
      [point('a/b', startMs, 'x'.repeat(300)), /stringValueBytesMax/],
      [{ ...alarm('a/b', startMs), payload: 'p'.repeat(300) }, /payloadBytesMax/],
      [{ ...point('a/b', startMs, 1), value: null as never }, /value/],
    ];
    for (const [input, detail] of bad) expect(log.append(input)).toMatchObject({ ok: false, reason: 'invalid', code: 'EDGE_LOG_RECORD_INVALID', detail: expect.stringMatching(detail) });
    expect(log.stats().refusedInvalid).toBe(bad.length);
    expect(appendAll(log, points(1))).toEqual([1]);
  });

  it('refuses points beyond the pending limit and keeps room for alarms and events', async () => {
    const kit = harness({ limits: { pendingRecordsMax: 10, heldAlarmRecordsMax: 3 } });
    const log = await kit.open();
    appendAll(log, points(10));
    expect(log.append(point('a/b', startMs, 1))).toMatchObject({ ok: false, reason: 'pending-full', code: 'EDGE_LOG_PENDING_FULL' });
    appendAll(log, [alarm('a/c', startMs), alarm('a/c', startMs), alarm('a/c', startMs)]);
    expect(log.append(alarm('a/c', startMs))).toMatchObject({ ok: false, reason: 'pending-full' });
    expect(log.stats()).toMatchObject({ refusedPoints: 1, refusedAlarmsEvents: 1, pendingRecords: 13 });
    await log.commit();
    expect(appendAll(log, points(1))).toEqual([14]);
  });

  it('gives the records of appendMany consecutive seqs and reports refusals by index', async () => {
    const kit = harness();
    const log = await kit.open();
    const result = log.appendMany([point('a/b', startMs, 1), point('bad tag', startMs, 2), point('a/b', startMs, 3)]);
    expect(result.firstSeq).toBe(1n);
    expect(result.accepted).toBe(2);
    expect(result.refusals).toEqual([{ index: 1, refusal: expect.objectContaining({ reason: 'invalid' }) }]);
    await log.commit();
    expect((await readAll(log)).map((record) => [record.seq, record.value])).toEqual([[1n, 1], [2n, 3]]);
  });

  it('starts a new, empty log at the sequence floor', async () => {
    const kit = harness();
    const log = await kit.open({ sequenceFloor: 1_000_000n });
    expect(appendAll(log, points(2))).toEqual([1_000_000, 1_000_001]);
  });

  it('commits what is pending on close and refuses appends afterwards', async () => {
    const kit = harness();
    const log = await kit.open();
    appendAll(log, points(4));
    await log.close();
    expect(log.append(point('a/b', startMs, 1))).toMatchObject({ ok: false, reason: 'closed' });
    const reopened = await kit.open();
    expect(reopened.stats().durableSeq).toBe('4');
  });

  it('refuses limits that cannot work, naming the field', async () => {
    const kit = harness();
    await expect(kit.open({ limits: { budgetBytes: 4096 } })).rejects.toMatchObject({ code: 'EDGE_LOG_LIMITS_INVALID', details: { field: 'budgetBytes' } });
    await expect(kit.open({ limits: { pendingRecordsMax: 0 } })).rejects.toMatchObject({ code: 'EDGE_LOG_LIMITS_INVALID', details: { field: 'pendingRecordsMax' } });
  });
});
