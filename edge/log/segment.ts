// What the log keeps in memory about one segment file: its sequence range, its tag dictionary,
// a sparse index (one entry every N records: offset, previous seq and previous ts, enough to start
// decoding there), its lost ranges, and how much of it is durable. Appending and scanning update
// it the same way, so a segment rebuilt by the recovery scan equals the one the appender built.
import { assert } from '../../common/assert.ts';
import { DecodedRecord, decodeRecord, decodeStatus, kindCode, type DecodeStatus, type LostReason } from './record-codec.ts';
import type { SegmentHeader } from './segment-header.ts';

export interface LostRange {
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly reason: LostReason;
}

export class Segment {
  readonly name: string;
  readonly firstSeq: number;
  readonly headerBytes: number;
  thinned: boolean;
  /** Found damaged after the log opened: the overflow policy leaves it alone. */
  damaged = false;
  /** Bytes known durable: header and whole records that were synced. */
  durableBytes = 0;
  /** Last seq whose record is durable; firstSeq - 1 while none is. */
  durableLastSeq: number;
  /** Bytes appended, durable or pending. */
  appendedBytes: number;
  /** Last seq appended, durable or pending. */
  lastSeq: number;
  /** ts of the last data record appended (ts deltas are relative to it). */
  lastTs = 0;
  records = 0;
  /** Point records appended (the overflow policy works on segments that still have some). */
  points = 0;
  /** The tag dictionary: id n is tags[n - 1]. */
  readonly tags: string[] = [];
  readonly #indexEvery: number;
  readonly indexOffsets: number[] = [];
  readonly indexPrevSeqs: number[] = [];
  readonly indexPrevTs: number[] = [];
  readonly lost: LostRange[] = [];

  constructor(name: string, header: SegmentHeader, indexEvery: number) {
    this.name = name;
    this.firstSeq = header.firstSeq;
    this.headerBytes = header.bytes;
    this.thinned = header.thinned;
    this.appendedBytes = header.bytes;
    this.lastSeq = header.firstSeq - 1;
    this.durableLastSeq = header.firstSeq - 1;
    this.#indexEvery = indexEvery;
  }

  #indexIfDue(offset: number): void {
    if (this.records % this.#indexEvery === 0) {
      this.indexOffsets.push(offset);
      this.indexPrevSeqs.push(this.lastSeq);
      this.indexPrevTs.push(this.lastTs);
    }
    this.records++;
  }

  /** Notes a data record appended at [offset, end); `newTag` when it defined a dictionary entry. */
  noteData(offset: number, end: number, isPoint: boolean, ts: number, newTag: string | undefined): void {
    assert(offset === this.appendedBytes, 'records are noted in file order');
    this.#indexIfDue(offset);
    this.lastSeq++;
    this.lastTs = ts;
    if (isPoint) this.points++;
    if (newTag !== undefined) this.tags.push(newTag);
    this.appendedBytes = end;
  }

  /** Notes a lost record covering the next `count` seqs. */
  noteLost(offset: number, end: number, count: number, reason: LostReason): void {
    assert(offset === this.appendedBytes, 'records are noted in file order');
    this.#indexIfDue(offset);
    addLostRange(this.lost, { firstSeq: this.lastSeq + 1, lastSeq: this.lastSeq + count, reason });
    this.lastSeq += count;
    this.appendedBytes = end;
  }

  /** Notes a commit marker (it takes no seq). */
  noteCommit(offset: number, end: number): void {
    assert(offset === this.appendedBytes, 'records are noted in file order');
    this.#indexIfDue(offset);
    this.appendedBytes = end;
  }

  /** Marks everything appended so far durable. */
  markDurable(): void {
    this.durableBytes = this.appendedBytes;
    this.durableLastSeq = this.lastSeq;
  }

  /** The index entry to start decoding from to reach `seq`: the last one before it that is durable. */
  indexEntryFor(seq: number): number {
    let low = 0;
    let high = this.indexOffsets.length - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      if (this.indexPrevSeqs[middle]! < seq && this.indexOffsets[middle]! < this.durableBytes) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return found;
  }
}

/** Appends a range to a seq-ordered list, merging it with the last one when they touch. */
export function addLostRange(ranges: LostRange[], range: LostRange): void {
  const last = ranges[ranges.length - 1];
  if (last !== undefined && last.reason === range.reason && last.lastSeq + 1 === range.firstSeq) {
    ranges[ranges.length - 1] = { firstSeq: last.firstSeq, lastSeq: range.lastSeq, reason: range.reason };
  } else {
    assert(last === undefined || last.lastSeq < range.firstSeq, 'lost ranges out of order');
    ranges.push(range);
  }
}

export interface ScanResult {
  readonly segment: Segment;
  /** Bytes from the start of the file up to the end of the last whole record. */
  readonly validBytes: number;
  /** Why the scan stopped before the end of the bytes, if it did. */
  readonly stop: DecodeStatus;
}

/**
 * Walks the records of a segment file's bytes, rebuilding its in-memory state, and stops at the
 * first record that is cut short or fails its checksum or structure.
 */
export function scanSegment(name: string, header: SegmentHeader, bytes: Buffer, indexEvery: number): ScanResult {
  const segment = new Segment(name, header, indexEvery);
  const record = new DecodedRecord();
  let offset = header.bytes;
  let stop: DecodeStatus = decodeStatus.ok;
  while (offset < bytes.length) {
    const status = decodeRecord(bytes, offset, bytes.length, record, false);
    if (status !== decodeStatus.ok) {
      stop = status;
      break;
    }
    if (record.kind === kindCode.commit) {
      if (record.commitSeq !== segment.lastSeq) {
        stop = decodeStatus.corrupt; // a whole marker that disagrees with the records before it
        break;
      }
      segment.noteCommit(offset, record.end);
    } else if (record.kind === kindCode.lost) {
      segment.noteLost(offset, record.end, record.lostCount, record.lostReason);
    } else {
      let newTag: string | undefined;
      if (record.tagRef === 0) newTag = bytes.toString('ascii', record.tagStart, record.tagEnd);
      else if (record.tagRef > segment.tags.length) {
        stop = decodeStatus.corrupt;
        break;
      }
      segment.noteData(offset, record.end, record.kind === kindCode.point, segment.lastTs + record.tsDelta, newTag);
    }
    offset = record.end;
  }
  segment.markDurable();
  return { segment, validBytes: offset, stop };
}
