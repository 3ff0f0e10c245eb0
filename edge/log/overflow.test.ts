// The disk budget and its overflow policy: thinning keeps every alarm and event and one point per
// tag per minute (the last), the seqs it removes are reported as exact lost ranges that survive a
// restart, and when alarms and events alone exceed the budget they are still kept.
import { describe, expect, it } from 'vitest';
import { compactSegment } from './compaction.ts';
import type { DurableLog } from './durable-log.ts';
import { readRecords } from './log-reader.ts';
import { alarm, appendAll, harness, point, readAll, startMs, type Harness } from './log-test-kit.ts';
import type { LogInput, LogRecord } from './log-types.ts';
import { MemoryStorage } from './memory-storage.ts';
import { decodeHeader, parseSegmentName } from './segment-header.ts';
import { scanSegment } from './segment.ts';

const budgetLimits = { segmentBytesMax: 2048, budgetBytes: 12 * 1024 };

/** Three tags sampled every 5 s (12 points per tag per minute), an alarm every 40 samples. */
function plant(count: number, firstMs = startMs): LogInput[] {
  return Array.from({ length: count }, (_, index): LogInput => {
    const ts = firstMs + Math.floor(index / 3) * 5_000;
    if (index % 40 === 39) return alarm('line3/mixer/overload', ts, `{"n":${index}}`);
    return point(`line3/mixer/signal${index % 3}`, ts, 100 + (index % 7) * 0.5);
  });
}

async function appendInBatches(log: DurableLog, inputs: readonly LogInput[], batch = 50): Promise<void> {
  for (let start = 0; start < inputs.length; start += batch) {
    appendAll(log, inputs.slice(start, start + batch));
    await log.commit();
  }
}

/** Seqs appended but not readable, as ranges. */
function missingRanges(appended: number, records: readonly LogRecord[]): [number, number][] {
  const present = new Set(records.map((record) => Number(record.seq)));
  const ranges: [number, number][] = [];
  for (let seq = 1; seq <= appended; seq++) {
    if (present.has(seq)) continue;
    const last = ranges[ranges.length - 1];
    if (last !== undefined && last[1] === seq - 1) last[1] = seq;
    else ranges.push([seq, seq]);
  }
  return ranges;
}

async function segmentFirstSeqs(kit: Harness): Promise<number[]> {
  return (await kit.storage.list()).map(parseSegmentName).filter((seq): seq is number => seq !== undefined).sort((a, b) => a - b);
}

describe('compactSegment', () => {
  it('keeps alarms and the last point per tag per minute, and turns each removed run into a lost record', async () => {
    const kit = harness();
    const log = await kit.open();
    const at = (seconds: number): number => startMs + seconds * 1000;
    appendAll(log, [
      point('a/x', at(0), 1), // 1 removed
      point('b/x', at(5), 2), // 2 removed
      point('a/x', at(10), 3), // 3 removed
      alarm('a/alarm', at(20)), // 4 kept
      point('a/x', at(50), 5), // 5 kept: last of a in minute 0
      point('b/x', at(55), 6), // 6 kept: last of b in minute 0
      point('a/x', at(70), 7), // 7 removed (a later point of a in minute 1 follows)
      point('a/x', at(80), 8), // 8 kept
    ]);
    await log.commit();
    const [name] = await kit.storage.list();
    const bytes = kit.storage.contents(name!);
    const header = decodeHeader(bytes);
    if (!header.ok) throw new Error('no header');
    const result = compactSegment(bytes, header.header, 'gw-1', 'thin');
    expect(result.removedPoints).toBe(4);
    const rebuilt = scanSegment(name!, { ...header.header, thinned: true, bytes: header.header.bytes }, result.bytes, 4).segment;
    expect(rebuilt.lost).toEqual([
      { firstSeq: 1, lastSeq: 3, reason: 'overflow' },
      { firstSeq: 7, lastSeq: 7, reason: 'overflow' },
    ]);
    const storage = new MemoryStorage();
    storage.plant(name!, result.bytes);
    const records = await readRecords(storage, [rebuilt], 1, 100, { readBytesMax: 4096, indexEveryRecords: 4, recordBytesMax: 1000 });
    expect(records.map((record) => [Number(record.seq), record.kind, record.value])).toEqual([
      [4, 'alarm', true],
      [5, 'point', 5],
      [6, 'point', 6],
      [8, 'point', 8],
    ]);
    expect(compactSegment(bytes, header.header, 'gw-1', 'drop-telemetry').removedPoints).toBe(7);
  });
});

describe('DurableLog over its disk budget', () => {
  it('thins the oldest segments to one point per tag per minute, keeps every alarm, and reports exact lost ranges that survive a restart', async () => {
    const kit = harness({ limits: budgetLimits });
    const log = await kit.open();
    const inputs = plant(3000);
    await appendInBatches(log, inputs);
    const stats = log.stats();
    expect(stats.thinnedPoints).toBeGreaterThan(0);
    expect(stats.usedBytes).toBeLessThanOrEqual(budgetLimits.budgetBytes);
    expect(stats.budgetExceeded).toBe(false);

    const records = await readAll(log, 1n, 100);
    for (const record of records) expect(record).toEqual({ ...inputs[Number(record.seq) - 1], seq: record.seq });
    const alarms = inputs.flatMap((input, index) => (input.kind === 'alarm' ? [index + 1] : []));
    expect(records.filter((record) => record.kind === 'alarm').map((record) => Number(record.seq))).toEqual(alarms);

    // Exact lost ranges: every missing seq is in one, every seq in one is missing.
    const missing = missingRanges(inputs.length, records);
    const lost = log.lostRanges(1n);
    expect(lost.map((range) => [Number(range.firstSeq), Number(range.lastSeq)])).toEqual(missing);
    expect(lost.every((range) => range.reason === 'overflow')).toBe(true);
    const missingCount = missing.reduce((sum, [first, last]) => sum + last - first + 1, 0);
    expect(stats).toMatchObject({ thinnedPoints: missingCount, lostSeqs: missingCount, lostRanges: lost.length });

    // Within each thinned segment: of every tag's points in a minute, exactly the last is kept.
    const firstSeqs = await segmentFirstSeqs(kit);
    const kept = new Set(records.map((record) => Number(record.seq)));
    firstSeqs.forEach((first, index) => {
      const end = (firstSeqs[index + 1] ?? inputs.length + 1) - 1;
      const groups = new Map<string, number[]>();
      for (let seq = first; seq <= end; seq++) {
        const input = inputs[seq - 1]!;
        if (input.kind !== 'point') continue;
        const key = `${input.tag}@${Math.floor(input.ts / 60_000)}`;
        groups.set(key, [...(groups.get(key) ?? []), seq]);
      }
      const thinned = [...groups.values()].some((seqs) => seqs.some((seq) => !kept.has(seq)));
      if (!thinned) return;
      for (const seqs of groups.values()) expect(seqs.filter((seq) => kept.has(seq))).toEqual([seqs[seqs.length - 1]]);
    });

    await log.close();
    const reopened = await kit.open();
    expect(reopened.lostRanges(1n)).toEqual(lost);
    expect(await readAll(reopened, 1n, 100)).toEqual(records);
    expect(reopened.lostRanges(BigInt(missing[1]![0]))).toEqual(lost.slice(1)); // from a seq: the ranges ending at or after it
  });

  it('stays readable when the directory fsync after a rewrite fails', async () => {
    const kit = harness({ limits: budgetLimits });
    const log = await kit.open();
    const inputs = plant(1700);
    await appendInBatches(log, inputs.slice(0, 1500));
    const thinnedBefore = log.stats().thinnedPoints;
    expect(thinnedBefore).toBeGreaterThan(0);
    kit.storage.failNext('fsyncDirectory', 'EIO'); // the commit's first rewrite fails after its rename
    appendAll(log, inputs.slice(1500)); // more than the headroom under the budget: the policy runs
    await log.commit();
    expect(log.degraded).toBe(true);
    expect(log.stats().thinnedPoints).toBeGreaterThan(thinnedBefore); // the rewrite that did happen is counted
    kit.clock.advanceMs(10_000);
    expect(await log.commit()).toBe(1700n);
    const records = await readAll(log, 1n, 100);
    for (const record of records) expect(record).toEqual({ ...inputs[Number(record.seq) - 1], seq: record.seq });
    expect(log.lostRanges(1n).map((range) => [Number(range.firstSeq), Number(range.lastSeq)])).toEqual(missingRanges(1700, records));
  });

  it('leaves alone a segment damaged on disk after the log opened, and keeps going', async () => {
    const kit = harness({ limits: budgetLimits });
    const log = await kit.open();
    const inputs = plant(3000);
    await appendInBatches(log, inputs.slice(0, 600));
    const [oldest] = await segmentFirstSeqs(kit);
    const name = (await kit.storage.list()).sort()[0]!;
    expect(parseSegmentName(name)).toBe(oldest);
    kit.storage.flipBit(name, 100, 3); // bit rot after open
    await appendInBatches(log, inputs.slice(600));
    expect(log.degraded).toBe(false);
    expect(log.stats().thinnedPoints).toBeGreaterThan(0);
    expect(kit.lines.some((line) => line.includes('damaged on disk since the log opened') && line.includes(name))).toBe(true);
    expect(kit.storage.contents(name).length).toBeGreaterThan(1500); // not rewritten
  });

  it('with drop-oldest-telemetry keeps only the alarms and events of the oldest segments', async () => {
    const kit = harness({ limits: budgetLimits, policy: 'drop-oldest-telemetry' });
    const log = await kit.open();
    const inputs = plant(3000);
    await appendInBatches(log, inputs);
    const records = await readAll(log, 1n, 100);
    const firstKeptPoint = records.find((record) => record.kind === 'point')!;
    expect(records.filter((record) => Number(record.seq) < Number(firstKeptPoint.seq)).every((record) => record.kind === 'alarm')).toBe(true);
    expect(records.filter((record) => record.kind === 'alarm')).toHaveLength(inputs.filter((input) => input.kind === 'alarm').length);
    expect(log.lostRanges(1n).map((range) => [Number(range.firstSeq), Number(range.lastSeq)])).toEqual(missingRanges(inputs.length, records));
  });

  it('drops thinned telemetry, oldest first, when thinning alone cannot get under the budget', async () => {
    const kit = harness({ limits: budgetLimits });
    const log = await kit.open();
    // One point per tag per minute already: thinning removes nothing.
    const inputs = Array.from({ length: 2500 }, (_, index): LogInput =>
      index % 25 === 24 ? alarm('line4/press/fault', startMs + index * 60_000) : point(`line4/press/s${index % 5}`, startMs + Math.floor(index / 5) * 60_000, index),
    );
    await appendInBatches(log, inputs);
    const records = await readAll(log, 1n, 100);
    expect(log.stats().usedBytes).toBeLessThanOrEqual(budgetLimits.budgetBytes);
    expect(records[0]?.kind).toBe('alarm');
    expect(records.filter((record) => record.kind === 'alarm')).toHaveLength(100);
    expect(log.lostRanges(1n).map((range) => [Number(range.firstSeq), Number(range.lastSeq)])).toEqual(missingRanges(inputs.length, records));
  });

  it('keeps alarms and events that alone exceed the budget, reports it, and refuses points until a release frees space', async () => {
    const kit = harness({ limits: budgetLimits });
    const log = await kit.open();
    const alarms = Array.from({ length: 1500 }, (_, index) => alarm(`line5/robot/a${index % 4}`, startMs + index * 1000, `{"n":${index}}`));
    await appendInBatches(log, alarms);
    const stats = log.stats();
    expect(stats.budgetExceeded).toBe(true);
    expect(stats.budgetExceededCount).toBe(1);
    expect(stats.usedBytes).toBeGreaterThan(budgetLimits.budgetBytes);
    expect(kit.health).toContainEqual(expect.objectContaining({ kind: 'budget-exceeded', budgetBytes: budgetLimits.budgetBytes }));
    expect(log.append(point('line5/robot/speed', startMs, 1))).toMatchObject({ ok: false, reason: 'budget-full', code: 'EDGE_LOG_BUDGET_FULL' });
    expect(log.append(alarm('line5/robot/a0', startMs + 2_000_000))).toMatchObject({ ok: true });
    await log.commit();
    expect((await readAll(log, 1n, 100)).length).toBe(1501);

    await log.release(1200n);
    expect(log.stats().budgetExceeded).toBe(false);
    expect(kit.health.at(-1)).toMatchObject({ kind: 'budget-ok' });
    expect(log.append(point('line5/robot/speed', startMs, 1))).toMatchObject({ ok: true });
  });
});
