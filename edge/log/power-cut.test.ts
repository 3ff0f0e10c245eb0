// The store-and-forward issue's recovery tests: writes cut at every byte offset of the last
// segment, and random bit flips in the tail. A cut can only remove bytes that were never synced,
// so recovery must keep every synced record, return exactly the whole ones before the cut, none
// corrupted, and continue the sequence after the last whole record; damage to synced bytes must
// be detected by checksum and must never lead to a durable seq being handed out again.
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../common/random.ts';
import type { DurableLog } from './durable-log.ts';
import { alarm, appendAll, harness, point, readAll, startMs, testSeed, withoutSeq, type Harness } from './log-test-kit.ts';
import type { LogInput } from './log-types.ts';
import { DecodedRecord, decodeRecord, decodeStatus, kindCode } from './record-codec.ts';
import { decodeHeader, parseSegmentName } from './segment-header.ts';
import type { MemoryStorage } from './memory-storage.ts';

/** Points of several types, with an alarm or an event now and then. */
function varied(count: number, firstMs: number): LogInput[] {
  return Array.from({ length: count }, (_, index): LogInput => {
    const ts = firstMs + index * 250;
    if (index % 17 === 5) return alarm(`line2/oven${index % 3}/overheat`, ts, `{"n":${index}}`);
    if (index % 23 === 7) return { kind: 'event', ts, tag: 'line2/door', value: 'opened', quality: 'good', payload: 'shift B' };
    const tag = `line2/oven${index % 4}/${index % 2 === 0 ? 'temperature' : 'count'}`;
    return point(tag, ts, index % 2 === 0 ? 180 + index / 8 : index * 3);
  });
}

async function lastSegment(storage: MemoryStorage): Promise<string> {
  const names = (await storage.list()).filter((name) => parseSegmentName(name) !== undefined);
  return names.sort().at(-1)!;
}

interface Span {
  readonly start: number;
  readonly end: number;
  /** A point, alarm or event (not a commit marker or a lost range). */
  readonly data: boolean;
}

/** The whole records of a segment file, in order. */
function recordSpans(bytes: Buffer): Span[] {
  const header = decodeHeader(bytes);
  const spans: Span[] = [];
  if (!header.ok) return spans;
  const record = new DecodedRecord();
  for (let offset = header.header.bytes; decodeRecord(bytes, offset, bytes.length, record) === decodeStatus.ok; offset = record.end) {
    spans.push({ start: offset, end: record.end, data: record.kind <= kindCode.event });
  }
  return spans;
}

async function reopenAfterCut(kit: Harness, disk: MemoryStorage, keep: (name: string) => number, keepUnsyncedEntries = false): Promise<DurableLog> {
  kit.storage = disk.clone();
  kit.storage.powerCut({ keepUnsyncedBytes: keep, keepUnsyncedEntries });
  kit.lines.length = 0;
  return kit.open();
}

describe('DurableLog after a power cut', () => {
  it('recovers exactly the whole records before a cut at every byte of the unsynced tail, keeping every synced one', async () => {
    const kit = harness();
    const log = await kit.open();
    const synced = varied(300, startMs);
    appendAll(log, synced);
    await log.commit();
    const segments = log.stats().segments;
    const unsynced = varied(30, startMs + 100_000);
    appendAll(log, unsynced);
    expect(log.stats().segments).toBe(segments); // the unsynced records extend the last segment
    kit.storage.failNext('fdatasync', 'EIO');
    await log.commit(); // written, never synced: the crash comes before any retry
    const disk = kit.storage;
    const file = await lastSegment(disk);
    const syncedLength = disk.syncedLength(file);
    const full = disk.contents(file);
    const spans = recordSpans(full);
    expect(full.length).toBeGreaterThan(syncedLength + 200);

    for (let kept = 0; kept <= full.length - syncedLength; kept++) {
      const reopened = await reopenAfterCut(kit, disk, (name) => (name === file ? kept : 0));
      const cut = syncedLength + kept;
      const wholeUnsynced = spans.filter((span) => span.data && span.end > syncedLength && span.end <= cut).length;
      const records = await readAll(reopened, 1n, 100);
      expect(records.map(withoutSeq)).toEqual([...synced, ...unsynced.slice(0, wholeUnsynced)]);
      expect(records.map((record) => Number(record.seq))).toEqual(records.map((_, index) => index + 1));
      const dropped = cut - Math.max(syncedLength, ...spans.filter((span) => span.end <= cut).map((span) => span.end));
      if (dropped > 0) expect(kit.lines.filter((line) => line.includes('torn log tail') && line.includes(file) && line.includes(`bytesDropped=${dropped}`))).toHaveLength(1);
      else expect(kit.lines.some((line) => line.includes('cut'))).toBe(false);
      expect(appendAll(reopened, [point('line2/after', startMs + 200_000, 1)])).toEqual([records.length + 1]);
      expect(reopened.lostRanges(1n)).toEqual([]);
    }
  });

  it('recovers at every byte of a segment that was being created, header included', async () => {
    const kit = harness();
    const log = await kit.open();
    const synced = varied(200, startMs);
    appendAll(log, synced);
    await log.commit();
    const before = await lastSegment(kit.storage);
    const next = varied(150, startMs + 100_000); // ends the last segment and starts a new one
    appendAll(log, next);
    kit.storage.failNext('fdatasync', 'EIO', { skip: 1 }); // the old segment's tail syncs, the new one does not
    await log.commit();
    const disk = kit.storage;
    const file = await lastSegment(disk);
    expect(file).not.toBe(before);
    expect(disk.syncedLength(file)).toBe(0);
    const full = disk.contents(file);
    const spans = recordSpans(full);
    const header = decodeHeader(full);
    if (!header.ok) throw new Error('the new segment has no whole header');
    const headerBytes = header.header.bytes;
    expect(disk.syncedLength(before)).toBe(disk.contents(before).length);
    const durableCount = (await readAll(await reopenAfterCut(kit, disk, () => 0), 1n, 100)).length;
    expect(durableCount).toBeGreaterThan(synced.length); // the old segment's part of this commit was synced

    for (let kept = 0; kept <= full.length; kept++) {
      const reopened = await reopenAfterCut(kit, disk, (name) => (name === file ? kept : 0), true);
      const whole = spans.filter((span) => span.data && span.end <= kept).length;
      const records = await readAll(reopened, 1n, 100);
      expect(records.map(withoutSeq)).toEqual([...synced, ...next].slice(0, durableCount + whole));
      if (kept < headerBytes) {
        expect(kit.lines.filter((line) => line.includes('torn header') && line.includes(file) && line.includes(`bytesDropped=${kept}`))).toHaveLength(1);
        expect(await kit.storage.list()).not.toContain(file);
      }
      expect(appendAll(reopened, [point('line2/after', startMs + 300_000, 1)])).toEqual([records.length + 1]);
    }
  });

  it('detects random bit flips in the tail by checksum, returns no corrupted record, and never reuses a synced seq when a whole record follows the damage', async () => {
    const seed = testSeed('durable log bit flips');
    const random = seededRandom(seed);
    const kit = harness();
    const log = await kit.open();
    const inputs = varied(300, startMs);
    for (let start = 0; start < inputs.length; start += 25) {
      appendAll(log, inputs.slice(start, start + 25));
      await log.commit(); // a commit marker every 25 records
    }
    const disk = kit.storage;
    const file = await lastSegment(disk);
    const full = disk.contents(file);
    const spans = recordSpans(full);
    const firstSeqOfFile = parseSegmentName(file)!;
    const tailStart = spans[spans.length - 21]?.start ?? 0; // the last 20 records, and the header when the segment is short
    let writtenOff = 0;
    for (let trial = 0; trial < 200; trial++) {
      kit.storage = disk.clone();
      const offsets = [...new Set(Array.from({ length: random.int(1, 3) }, () => random.int(tailStart, full.length - 1)))]; // distinct: two flips of one bit cancel
      for (const offset of offsets) kit.storage.flipBit(file, offset, random.int(0, 7));
      kit.lines.length = 0;
      const reopened = await kit.open();
      const firstFlipped = Math.min(...offsets);
      const headerDamaged = firstFlipped < spans[0]!.start;
      const damaged = spans.findIndex((span) => span.end > firstFlipped);
      const keptData = headerDamaged ? 0 : spans.slice(0, damaged).filter((span) => span.data).length;
      const recovered = firstSeqOfFile - 1 + keptData;
      const records = await readAll(reopened, 1n, 100);
      expect(records.map(withoutSeq), `seed ${seed} trial ${trial}`).toEqual(inputs.slice(0, recovered));
      const [nextSeq] = appendAll(reopened, [point('line2/after', startMs + 200_000, 1)]);
      expect(nextSeq).toBeGreaterThan(recovered);
      // A whole record after the damage proves it hit synced bytes: nothing synced may be reused.
      const intactAfter = !headerDamaged && spans.slice(damaged + 1).some((span) => !offsets.some((offset) => offset >= span.start && offset < span.end));
      if (headerDamaged || intactAfter) {
        writtenOff++;
        expect(nextSeq, `seed ${seed} trial ${trial}`).toBeGreaterThan(inputs.length);
        expect(reopened.lostRanges(1n)).toEqual([{ firstSeq: BigInt(recovered + 1), lastSeq: BigInt(nextSeq! - 1), reason: 'damaged' }]);
        expect(kit.lines.some((line) => line.includes('damaged') && line.includes(file))).toBe(true);
      }
    }
    expect(writtenOff).toBeGreaterThan(100);
  });

  it('sets aside a last segment whose synced header is damaged and continues past every seq it could have held', async () => {
    const kit = harness();
    const log = await kit.open();
    const inputs = varied(300, startMs);
    appendAll(log, inputs);
    await log.commit();
    const file = await lastSegment(kit.storage);
    const firstSeq = parseSegmentName(file)!;
    kit.storage.flipBit(file, 4, 1); // the version byte: the header checksum fails, so this is damage, not a newer format
    const reopened = await kit.open();
    expect(await kit.storage.list()).toContain(`${file}.damaged`);
    expect((await readAll(reopened, 1n, 100)).map(withoutSeq)).toEqual(inputs.slice(0, firstSeq - 1));
    const [nextSeq] = appendAll(reopened, [point('line2/after', startMs + 200_000, 1)]);
    expect(nextSeq).toBeGreaterThan(inputs.length);
    expect(reopened.lostRanges(1n)).toEqual([{ firstSeq: BigInt(firstSeq), lastSeq: BigInt(nextSeq! - 1), reason: 'damaged' }]);
    await reopened.commit();
    await reopened.close();
    expect(appendAll(await kit.open(), [point('line2/after', startMs + 200_000, 2)])).toEqual([nextSeq! + 1]);
  });

  it('cuts a damaged older segment back and reports the seqs up to the next segment as lost', async () => {
    const kit = harness();
    const log = await kit.open();
    const inputs = varied(400, startMs);
    appendAll(log, inputs);
    await log.commit();
    const names = (await kit.storage.list()).sort();
    const victim = names[1]!;
    const victimSpans = recordSpans(kit.storage.contents(victim));
    kit.storage.flipBit(victim, victimSpans[4]!.start + 2, 4); // inside the 5th record
    const reopened = await kit.open();
    const firstSeq = parseSegmentName(victim)!;
    const nextFirstSeq = parseSegmentName(names[2]!)!;
    expect(reopened.lostRanges(1n)).toEqual([{ firstSeq: BigInt(firstSeq + 4), lastSeq: BigInt(nextFirstSeq - 1), reason: 'damaged' }]);
    const records = await readAll(reopened, 1n, 100);
    expect(records.map((record) => Number(record.seq))).toEqual([...Array.from({ length: firstSeq + 3 }, (_, index) => index + 1), ...Array.from({ length: 400 - nextFirstSeq + 1 }, (_, index) => nextFirstSeq + index)]);
    expect(appendAll(reopened, [point('line2/after', startMs + 200_000, 1)])).toEqual([401]);
    expect(kit.lines.some((line) => line.includes('damaged log segment') && line.includes(victim))).toBe(true);
  });
});
