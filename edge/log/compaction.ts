// The overflow policy's rewrite of one segment, as a pure function of its bytes. Alarms and
// events are always kept; points are kept one per tag per minute (`thin`: the last in each
// minute) or not at all (`drop-telemetry`). Every run of removed seqs becomes a lost record in
// the rewritten segment, so the lost ranges survive restarts with the data they replace.
import { assert } from '../../common/assert.ts';
import { ByteSink } from './byte-sink.ts';
import { segmentTagsLimit } from './log-limits.ts';
import {
  DecodedRecord,
  dataRecordBytesBound,
  decodeRecord,
  decodeStatus,
  decodedValue,
  encodeData,
  encodeLost,
  kindCode,
  valueType,
  type LostReason,
} from './record-codec.ts';
import { encodeHeader, type SegmentHeader } from './segment-header.ts';

export type CompactionMode = 'thin' | 'drop-telemetry';

export interface CompactionResult {
  /** The rewritten file, header included. */
  readonly bytes: Buffer;
  readonly removedPoints: number;
}

const minuteMs = 60_000;

/** Visits every record of a scanned-clean segment with its seq, ts and tag id. */
function forEachRecord(bytes: Buffer, header: SegmentHeader, visit: (record: DecodedRecord, ordinal: number, seq: number, ts: number, tagId: number) => void): void {
  const record = new DecodedRecord();
  let offset = header.bytes;
  let seq = header.firstSeq - 1;
  let ts = 0;
  let tags = 0;
  for (let ordinal = 0; offset < bytes.length; ordinal++) {
    const status = decodeRecord(bytes, offset, bytes.length, record);
    assert(status === decodeStatus.ok, 'compacting a segment with a bad record');
    if (record.kind === kindCode.commit) {
      // Commit markers guard the active segment's tail; a rewritten file is renamed in whole.
    } else if (record.kind === kindCode.lost) {
      seq += record.lostCount;
      visit(record, ordinal, seq, ts, 0);
    } else {
      seq++;
      ts += record.tsDelta;
      const tagId = record.tagRef === 0 ? ++tags : record.tagRef;
      visit(record, ordinal, seq, ts, tagId);
    }
    offset = record.end;
  }
}

/**
 * Rewrites the durable bytes of a segment under the policy. `bytes` must be whole records (the
 * recovery scan or the appender guarantees it).
 */
export function compactSegment(bytes: Buffer, header: SegmentHeader, gatewayId: string, mode: CompactionMode): CompactionResult {
  // Pass 1 (thin): the ordinal of the last point of each (tag, minute).
  const lastOfMinute = new Map<number, number>();
  if (mode === 'thin') {
    forEachRecord(bytes, header, (record, ordinal, _seq, ts, tagId) => {
      if (record.kind === kindCode.point) lastOfMinute.set(Math.floor(ts / minuteMs) * segmentTagsLimit + tagId, ordinal);
    });
  }
  const out = new ByteSink(Math.min(bytes.length, 1024 * 1024));
  out.append(encodeHeader(gatewayId, header.firstSeq, true));
  const tagNames: string[] = [];
  const newIds = new Map<number, number>();
  let runSeqs = 0;
  let runReason: LostReason = 'overflow';
  let lastTs = 0;
  let removedPoints = 0;
  const flushRun = (): void => {
    if (runSeqs === 0) return;
    out.reserve(16);
    out.length = encodeLost(out.buffer, out.length, runReason, runSeqs);
    runSeqs = 0;
  };
  const extendRun = (seqs: number, reason: LostReason): void => {
    if (runSeqs > 0 && reason !== runReason) flushRun();
    runReason = reason;
    runSeqs += seqs;
  };
  forEachRecord(bytes, header, (record, ordinal, _seq, ts, tagId) => {
    if (record.tagRef === 0 && record.kind !== kindCode.lost) tagNames[tagId - 1] = bytes.toString('ascii', record.tagStart, record.tagEnd);
    if (record.kind === kindCode.lost) return extendRun(record.lostCount, record.lostReason);
    if (record.kind === kindCode.point) {
      const keep = mode === 'thin' && lastOfMinute.get(Math.floor(ts / minuteMs) * segmentTagsLimit + tagId) === ordinal;
      if (!keep) {
        removedPoints++;
        return extendRun(1, 'overflow');
      }
    }
    flushRun();
    const tag = tagNames[tagId - 1]!;
    const payload = record.payloadStart >= 0 ? bytes.toString('utf8', record.payloadStart, record.payloadEnd) : undefined;
    const stringBytes = record.valueType === valueType.string ? record.stringEnd - record.stringStart : 0;
    out.reserve(dataRecordBytesBound(tag.length + stringBytes + (record.payloadEnd - record.payloadStart)));
    const tagRef = newIds.get(tagId) ?? 0;
    if (tagRef === 0) newIds.set(tagId, newIds.size + 1);
    const kind = record.kind as 0 | 1 | 2;
    out.length = encodeData(out.buffer, out.length, kind, record.quality, ts - lastTs, tagRef, tagRef === 0 ? tag : undefined, decodedValue(bytes, record), payload);
    lastTs = ts;
  });
  flushRun();
  return { bytes: out.bytes(), removedPoints };
}
