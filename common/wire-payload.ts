// Where the hub reads a data payload of either version: binary version 2 (wire-batch.ts), or the
// JSON version 1 of common/wire.ts kept for gateways that still send it. Both come back in the
// same decoded shape; a version 1 batch is live data of kind 'point' with no lost ranges.
import { decodeBatch } from './wire.ts';
import { batchMagic, seqMax, tsAbsMaxMs, wireBatchLimits, type BatchDecodeResult, type SequencedRecord } from './wire-batch.ts';
import { decodeBatchV2 } from './wire-batch-decode.ts';

export function isBinaryBatch(payload: Uint8Array): boolean {
  return payload.length >= 2 && payload[0] === batchMagic[0] && payload[1] === batchMagic[1];
}

/** Decodes a data payload of version 1 or 2; never throws. */
export function decodeDataPayload(payload: Uint8Array): BatchDecodeResult {
  if (isBinaryBatch(payload)) return decodeBatchV2(payload);
  if (payload.length > wireBatchLimits.payloadBytesMax) return { ok: false, code: 'too-large', reason: `${payload.length} bytes, more than ${wireBatchLimits.payloadBytesMax}` };
  const decoded = decodeBatch(payload);
  if (!decoded.ok) return { ok: false, code: decoded.error.startsWith('unsupported payload version') ? 'unsupported-version' : 'invalid', reason: decoded.error };
  const { site, gateway, points } = decoded.value;
  const records: SequencedRecord[] = [];
  for (const [index, point] of points.entries()) {
    if (point.seq < 1n || point.seq > seqMax) return { ok: false, code: 'invalid', reason: `records[${index}] has sequence ${point.seq}, outside 1..2^64-1` };
    if (Math.abs(point.ts) > tsAbsMaxMs) return { ok: false, code: 'invalid', reason: `records[${index}] has ts ${point.ts}, outside the date range` };
    records.push({ gateway, seq: point.seq, kind: 'point', tag: point.tag, ts: Math.floor(point.ts), value: point.value, quality: point.quality, historical: false });
  }
  const firstSeq = records[0]?.seq ?? 1n;
  const runs = records.length === 0 ? [] : [{ first: firstSeq, start: 0, count: records.length }];
  return { ok: true, value: { version: 1, site, gateway, historical: false, firstSeq, lost: [], records, runs } };
}
