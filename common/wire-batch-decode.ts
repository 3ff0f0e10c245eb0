// Decoding of data batch version 2 (layout in wire-batch.ts and docs/protocol.md). Every field is
// checked (ids, tags, kinds, qualities, value forms, record payloads, sequences against the lost
// ranges, the date range, trailing bytes) and nothing throws: bad bytes come back as
// { ok: false, code, reason }.
// One object per record and nothing else per record: tags are shared dictionary strings.
import { isId } from './ids.ts';
import { qualities, tagLengthMax, type PointValue } from './point.ts';
import {
  batchMagic,
  batchVersion2,
  checkSequences,
  isCachedTagPath,
  flagHistorical,
  formDouble,
  formFalse,
  formInteger,
  formMax,
  formTrue,
  headPayload,
  payloadProblem,
  recordKinds,
  tsAbsMaxMs,
  wireBatchLimits,
  type BatchDecodeResult,
  type BatchErrorCode,
  type SeqRange,
  type SeqRun,
  type SequencedRecord,
} from './wire-batch.ts';
import { ByteReader, unzigzag } from './wire-varint.ts';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function fail(code: BatchErrorCode, reason: string): BatchDecodeResult {
  return { ok: false, code, reason };
}

function readId(reader: ByteReader, what: string): string | BatchDecodeResult {
  const length = reader.byte();
  if (length < 0 || reader.remaining < length) return fail('truncated', `the header ends inside the ${what} id`);
  const id = Buffer.from(reader.bytes.buffer, reader.bytes.byteOffset + reader.offset, length).toString('latin1');
  reader.offset += length;
  return isId(id) ? id : fail('invalid', `${what} '${id.slice(0, 64)}' is not an id`);
}

/** A record's payload after its value: varint byte length, then UTF-8 JSON object text. */
function readPayload(reader: ByteReader, index: number, kind: SequencedRecord['kind']): string | BatchDecodeResult {
  const length = reader.varint();
  if (length < 0 || reader.remaining < length) return fail('invalid-payload', `records[${index}] payload is truncated: the batch ends inside it`);
  if (length === 0 || length > wireBatchLimits.recordPayloadBytesMax) return fail('invalid-payload', `records[${index}] payload is ${length} bytes, not 1..${wireBatchLimits.recordPayloadBytesMax}`);
  let text: string;
  try {
    text = strictUtf8.decode(reader.bytes.subarray(reader.offset, reader.offset + length));
  } catch {
    return fail('invalid-payload', `records[${index}] payload is not UTF-8`);
  }
  reader.offset += length;
  const problem = payloadProblem(kind, text, length);
  return problem === undefined ? text : fail('invalid-payload', `records[${index}] payload ${problem}`);
}

/** Decodes and validates a version 2 batch. */
export function decodeBatchV2(payload: Uint8Array): BatchDecodeResult {
  if (payload.length > wireBatchLimits.payloadBytesMax) return fail('too-large', `${payload.length} bytes, more than ${wireBatchLimits.payloadBytesMax}`);
  if (payload.length < 4 || payload[0] !== batchMagic[0] || payload[1] !== batchMagic[1]) return fail('not-a-batch', 'the payload does not start with "MW"');
  if (payload[2] !== batchVersion2) return fail('unsupported-version', `binary batch version ${payload[2]}; this hub reads version ${batchVersion2}`);
  const flags = payload[3]!;
  if ((flags & ~flagHistorical) !== 0) return fail('invalid', `reserved flag bits set in 0x${flags.toString(16)}`);
  const historical = (flags & flagHistorical) !== 0;
  const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const reader = new ByteReader(bytes, 4);
  const site = readId(reader, 'site');
  if (typeof site !== 'string') return site;
  const gateway = readId(reader, 'gateway');
  if (typeof gateway !== 'string') return gateway;
  if (reader.remaining < 16) return fail('truncated', 'the header ends inside firstSeq or baseTs');
  const firstSeq = bytes.readBigUInt64LE(reader.offset);
  const baseTs = Number(bytes.readBigInt64LE(reader.offset + 8));
  reader.offset += 16;
  if (Math.abs(baseTs) > tsAbsMaxMs) return fail('invalid', `baseTs ${baseTs} is outside the date range`);

  const lostCount = reader.varint();
  if (lostCount < 0) return fail('truncated', 'the header ends inside the lost range count');
  if (lostCount > wireBatchLimits.lostRangesPerBatchMax) return fail('invalid', `${lostCount} lost ranges, more than ${wireBatchLimits.lostRangesPerBatchMax}`);
  if (reader.remaining < lostCount * 16) return fail('truncated', 'the header ends inside the lost ranges');
  const lost: SeqRange[] = [];
  for (let index = 0; index < lostCount; index++) {
    lost.push({ first: bytes.readBigUInt64LE(reader.offset), last: bytes.readBigUInt64LE(reader.offset + 8) });
    reader.offset += 16;
  }

  const tagCount = reader.varint();
  if (tagCount < 0) return fail('truncated', 'the header ends inside the tag count');
  if (tagCount > wireBatchLimits.tagsPerBatchMax) return fail('invalid', `${tagCount} tags, more than ${wireBatchLimits.tagsPerBatchMax}`);
  const tags: string[] = [];
  const seenTags = new Set<string>();
  for (let index = 0; index < tagCount; index++) {
    const length = reader.varint();
    if (length < 0 || reader.remaining < length) return fail('truncated', `the payload ends inside tags[${index}]`);
    if (length > tagLengthMax) return fail('invalid', `tags[${index}] is ${length} bytes, more than ${tagLengthMax}`);
    const tag = bytes.toString('latin1', reader.offset, reader.offset + length);
    reader.offset += length;
    if (!isCachedTagPath(tag)) return fail('invalid', `tags[${index}] '${tag.slice(0, 64)}' is not a tag path`);
    if (seenTags.has(tag)) return fail('invalid', `tags[${index}] '${tag}' appears twice in the dictionary`);
    seenTags.add(tag);
    tags.push(tag);
  }

  const recordCount = reader.varint();
  if (recordCount < 0) return fail('truncated', 'the payload ends inside the record count');
  if (recordCount > wireBatchLimits.recordsPerBatchMax) return fail('invalid', `${recordCount} records, more than ${wireBatchLimits.recordsPerBatchMax}`);
  if (reader.remaining < recordCount * 3) return fail('truncated', `${recordCount} records cannot fit in the ${reader.remaining} bytes left`);
  const sequenceProblem = checkSequences(firstSeq, lost, recordCount);
  if (sequenceProblem !== undefined) return fail('invalid', sequenceProblem);

  const records: SequencedRecord[] = [];
  const runs: SeqRun[] = [];
  let lostIndex = lost.findIndex((range) => range.first > firstSeq);
  if (lostIndex < 0) lostIndex = lost.length;
  let cursor = firstSeq;
  let runFirst = firstSeq;
  let runStart = 0;
  let ts = baseTs;
  for (let index = 0; index < recordCount; index++) {
    const head = reader.byte();
    if (head < 0) return fail('truncated', `the payload ends at records[${index}]`);
    const kind = head & 3;
    const quality = (head >> 2) & 3;
    const form = (head >> 4) & 7;
    if (kind > 2 || quality > 2 || form > formMax) return fail('invalid', `records[${index}] has head byte 0x${head.toString(16)}: bad kind, quality or value form`);
    const tagIndex = reader.varint();
    if (tagIndex < 0) return fail('truncated', `the payload ends inside records[${index}]`);
    if (tagIndex >= tagCount) return fail('invalid', `records[${index}] names tag ${tagIndex} of a ${tagCount}-tag dictionary`);
    const delta = reader.varint();
    if (delta < 0) return fail('truncated', `the payload ends inside records[${index}]`);
    ts += unzigzag(delta);
    if (Math.abs(ts) > tsAbsMaxMs) return fail('invalid', `records[${index}] has ts ${ts}, outside the date range`);
    let value: PointValue;
    if (form === formDouble) {
      if (reader.remaining < 8) return fail('truncated', `the payload ends inside records[${index}]`);
      value = bytes.readDoubleLE(reader.offset);
      reader.offset += 8;
      if (!Number.isFinite(value)) return fail('invalid', `records[${index}] has a value that is not finite`);
    } else if (form === formFalse || form === formTrue) {
      value = form === formTrue;
    } else if (form === formInteger) {
      const encoded = reader.varint();
      if (encoded < 0) return fail('truncated', `the payload ends inside records[${index}]`);
      value = unzigzag(encoded);
    } else {
      const length = reader.varint();
      if (length < 0 || reader.remaining < length) return fail('truncated', `the payload ends inside records[${index}]`);
      if (length > wireBatchLimits.stringValueBytesMax) return fail('invalid', `records[${index}] has a ${length}-byte string, more than ${wireBatchLimits.stringValueBytesMax}`);
      try {
        value = strictUtf8.decode(bytes.subarray(reader.offset, reader.offset + length));
      } catch {
        return fail('invalid', `records[${index}] has a string value that is not UTF-8`);
      }
      reader.offset += length;
    }
    const record: SequencedRecord = { gateway, seq: cursor, kind: recordKinds[kind]!, tag: tags[tagIndex]!, ts, value, quality: qualities[quality]!, historical };
    if ((head & headPayload) === 0) records.push(record);
    else {
      const payload = readPayload(reader, index, record.kind);
      if (typeof payload !== 'string') return payload;
      records.push({ ...record, payload });
    }
    cursor++;
    while (lostIndex < lost.length && lost[lostIndex]!.first === cursor) {
      if (index + 1 > runStart) runs.push({ first: runFirst, start: runStart, count: index + 1 - runStart });
      cursor = lost[lostIndex]!.last + 1n;
      runFirst = cursor;
      runStart = index + 1;
      lostIndex++;
    }
  }
  if (reader.remaining > 0) return fail('trailing-bytes', `${reader.remaining} bytes after the last record`);
  if (recordCount > runStart) runs.push({ first: runFirst, start: runStart, count: recordCount - runStart });
  return { ok: true, value: { version: 2, site, gateway, historical, firstSeq, lost, records, runs } };
}
