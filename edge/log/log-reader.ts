// The reading side of the log, for the forwarder resending from the hub's last acknowledgement:
// durable records from a seq on, found through the segment's sparse index (no rescan), and the
// lost ranges the hub must be told about. Only durable bytes are ever read.
import { MillwrightError } from '../../common/errors.ts';
import { qualities } from '../../common/point.ts';
import { edgeErrors } from '../errors.ts';
import type { LogRecord, LostRange } from './log-types.ts';
import { DecodedRecord, decodeRecord, decodeStatus, decodedValue, kindCode, kindNames } from './record-codec.ts';
import type { Segment } from './segment.ts';
import type { LogStorage } from './storage.ts';

/** Index of the segment holding `seq`: the last whose firstSeq ≤ seq, or 0. */
function segmentIndexFor(segments: readonly Segment[], seq: number): number {
  let low = 0;
  let high = segments.length - 1;
  let found = 0;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    if (segments[middle]!.firstSeq <= seq) {
      found = middle;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return found;
}

function toRecord(bytes: Buffer, record: DecodedRecord, seq: number, ts: number, tag: string): LogRecord {
  const base = { kind: kindNames[record.kind as 0 | 1 | 2], seq: BigInt(seq), ts, tag, value: decodedValue(bytes, record), quality: qualities[record.quality] };
  return record.payloadStart < 0 ? base : { ...base, payload: bytes.toString('utf8', record.payloadStart, record.payloadEnd) };
}

/** Bytes to read for `records` more records (and the index stride before them), from the segment's average. */
function bytesWanted(segment: Segment, records: number, indexEvery: number, recordBytesMax: number, readBytesMax: number): number {
  const averageBytes = segment.records === 0 ? recordBytesMax : (segment.durableBytes - segment.headerBytes) / segment.records;
  return Math.min(readBytesMax, Math.max(recordBytesMax, Math.ceil((records + indexEvery) * averageBytes * 1.25)));
}

export interface ReadLimits {
  readonly readBytesMax: number;
  readonly indexEveryRecords: number;
  /** The largest record the limits allow: every read step holds at least one. */
  readonly recordBytesMax: number;
}

/** Up to maxRecords durable records with seq ≥ fromSeq, in seq order. */
export async function readRecords(storage: LogStorage, segments: readonly Segment[], fromSeq: number, maxRecords: number, limits: ReadLimits): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  const record = new DecodedRecord();
  for (let index = segmentIndexFor(segments, fromSeq); index < segments.length && out.length < maxRecords; index++) {
    const segment = segments[index]!;
    if (segment.durableLastSeq < fromSeq) continue;
    const entry = segment.indexEntryFor(fromSeq);
    let offset = entry < 0 ? segment.headerBytes : segment.indexOffsets[entry]!;
    let seq = entry < 0 ? segment.firstSeq - 1 : segment.indexPrevSeqs[entry]!;
    let ts = entry < 0 ? 0 : segment.indexPrevTs[entry]!;
    while (offset < segment.durableBytes && out.length < maxRecords) {
      const wanted = bytesWanted(segment, maxRecords - out.length, limits.indexEveryRecords, limits.recordBytesMax, limits.readBytesMax);
      const bytes = await storage.read(segment.name, offset, Math.min(wanted, segment.durableBytes - offset));
      let position = 0;
      while (position < bytes.length && out.length < maxRecords) {
        const status = decodeRecord(bytes, position, bytes.length, record);
        if (status === decodeStatus.truncated && position > 0) break; // the rest comes with the next read
        if (status !== decodeStatus.ok) {
          throw new MillwrightError(edgeErrors.logCorrupt, `log segment ${segment.name} has a bad record at byte ${offset + position} (after seq ${seq})`, {
            file: segment.name,
            offset: offset + position,
            seq,
          });
        }
        if (record.kind === kindCode.lost) {
          seq += record.lostCount;
        } else if (record.kind !== kindCode.commit) {
          seq++;
          ts += record.tsDelta;
          if (seq >= fromSeq) {
            const tag = record.tagRef === 0 ? bytes.toString('ascii', record.tagStart, record.tagEnd) : segment.tags[record.tagRef - 1]!;
            out.push(toRecord(bytes, record, seq, ts, tag));
          }
        }
        position = record.end;
      }
      offset += position;
    }
  }
  return out;
}

/** Lost ranges ending at or after fromSeq: lost records, and gaps between segments (damage). */
export function collectLostRanges(segments: readonly Segment[], fromSeq: number, maxRanges: number): LostRange[] {
  const out: LostRange[] = [];
  const push = (firstSeq: number, lastSeq: number, reason: LostRange['reason']): void => {
    if (lastSeq < fromSeq || out.length > maxRanges) return;
    const last = out[out.length - 1];
    if (last !== undefined && last.reason === reason && last.lastSeq + 1n === BigInt(firstSeq)) {
      out[out.length - 1] = { ...last, lastSeq: BigInt(lastSeq) };
    } else {
      out.push({ firstSeq: BigInt(firstSeq), lastSeq: BigInt(lastSeq), reason });
    }
  };
  let previousLastSeq: number | undefined;
  for (const segment of segments) {
    if (previousLastSeq !== undefined && previousLastSeq + 1 < segment.firstSeq) push(previousLastSeq + 1, segment.firstSeq - 1, 'damaged');
    for (const range of segment.lost) push(range.firstSeq, range.lastSeq, range.reason);
    previousLastSeq = segment.lastSeq;
  }
  return out.slice(0, maxRanges);
}
