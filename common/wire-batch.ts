// Data batch payload version 2: the compact binary form gateways send (docs/protocol.md has the
// byte table). A per-batch tag dictionary, chained zigzag ts deltas, booleans in the record's head
// byte, small integers as varints, and explicit `lost` sequence ranges: records take consecutive
// sequences from firstSeq, skipping exactly the lost ranges, so every gap the gateway knows of is
// declared rather than left for the hub to guess. Alarm and event records may carry a payload (a
// small JSON object: severity, message, ...) flagged by bit 7 of their head byte, so batches
// without payloads are byte for byte what they were before payloads existed. decodeBatchV2
// validates every byte and never throws: a bad payload comes back as { ok: false, code, reason }
// (wire-batch-decode.ts).
import { assert } from './assert.ts';
import { MillwrightError, exitCode } from './errors.ts';
import { isId } from './ids.ts';
import { isTagPath, qualities, type PointValue, type Quality } from './point.ts';
import { varintLength, writeVarint, zigzag, zigzagAbsMax } from './wire-varint.ts';

export const batchMagic = [0x4d, 0x57] as const; // "MW"
export const batchVersion2 = 2;
export const seqMax = 18_446_744_073_709_551_615n;
/** The range JavaScript dates cover; DuckDB timestamps cover more. */
export const tsAbsMaxMs = 8_640_000_000_000_000;

export const wireBatchLimits = {
  /** Whole payload; the MQTT client's default packet limit is 1 MiB. */
  payloadBytesMax: 1_048_576,
  recordsPerBatchMax: 100_000,
  tagsPerBatchMax: 65_536,
  lostRangesPerBatchMax: 256,
  stringValueBytesMax: 16_384,
  /** An alarm's or event's payload (UTF-8 JSON object text); the gateway log keeps at most 1 KiB. */
  recordPayloadBytesMax: 4_096,
  /** Tag paths remembered as valid, so each is checked once rather than once per batch. */
  validTagsCachedMax: 65_536,
} as const;

export const wireErrors = {
  /** encodeBatchV2 was given something the format cannot carry. */
  batchInvalid: { code: 'WIRE_BATCH_INVALID', exit: exitCode.runtimeFailure },
} as const;

export const recordKinds = ['point', 'alarm', 'event'] as const;
export type RecordKind = (typeof recordKinds)[number];

export interface BatchRecord {
  readonly kind: RecordKind;
  readonly tag: string;
  /** Epoch milliseconds, an integer. */
  readonly ts: number;
  readonly value: PointValue;
  readonly quality: Quality;
  /** Alarm and event records only: a JSON object as text (severity, message, ...), UTF-8 bytes bounded. */
  readonly payload?: string;
}

/** Inclusive sequence range. */
export interface SeqRange {
  readonly first: bigint;
  readonly last: bigint;
}

export interface BatchInput {
  readonly site: string;
  readonly gateway: string;
  /** Backlog drained after an outage rather than live data. */
  readonly historical: boolean;
  /** Sequence of records[0]; no lost range may contain it. */
  readonly firstSeq: bigint;
  /** Sorted, disjoint ranges lost to the gateway's overflow policy, before or inside the batch. */
  readonly lost?: readonly SeqRange[];
  readonly records: readonly BatchRecord[];
}

/** A decoded record with everything the hub stores about it. */
export interface SequencedRecord extends BatchRecord {
  readonly gateway: string;
  readonly seq: bigint;
  readonly historical: boolean;
}

/** Records [start, start + count) carry the consecutive sequences first, first + 1, ... */
export interface SeqRun {
  readonly first: bigint;
  readonly start: number;
  readonly count: number;
}

export interface DecodedBatch {
  readonly version: 1 | 2;
  readonly site: string;
  readonly gateway: string;
  readonly historical: boolean;
  readonly firstSeq: bigint;
  readonly lost: readonly SeqRange[];
  readonly records: readonly SequencedRecord[];
  readonly runs: readonly SeqRun[];
}

/** `invalid-payload`: a record's payload is truncated, too long, not UTF-8 or not a JSON object. */
export type BatchErrorCode = 'not-a-batch' | 'unsupported-version' | 'too-large' | 'truncated' | 'invalid' | 'invalid-payload' | 'trailing-bytes';
export type BatchDecodeResult = { readonly ok: true; readonly value: DecodedBatch } | { readonly ok: false; readonly code: BatchErrorCode; readonly reason: string };

// Head byte of a record: bits 0-1 kind, 2-3 quality, 4-6 value form, 7 payload follows the value.
export const formDouble = 0;
export const formFalse = 1;
export const formTrue = 2;
export const formInteger = 3;
export const formString = 4;
export const formMax = formString;
export const headPayload = 0x80;
/** Byte 3 of the header. */
export const flagHistorical = 1;
const int32Min = -2_147_483_648;
const int32Max = 2_147_483_647;

const validTags = new Set<string>();

/** isTagPath, remembered for up to validTagsCachedMax tags (the cache starts over when full). */
export function isCachedTagPath(tag: string): boolean {
  if (validTags.has(tag)) return true;
  if (!isTagPath(tag)) return false;
  if (validTags.size >= wireBatchLimits.validTagsCachedMax) validTags.clear();
  validTags.add(tag);
  return true;
}

function invalidInput(reason: string): MillwrightError {
  return new MillwrightError(wireErrors.batchInvalid, `cannot encode batch: ${reason}`, {});
}

/**
 * What is wrong with a record payload, or undefined: it must belong to an alarm or event, fit in
 * recordPayloadBytesMax UTF-8 bytes and be the text of a JSON object.
 */
export function payloadProblem(kind: RecordKind, payload: string, bytes = Buffer.byteLength(payload, 'utf8')): string | undefined {
  if (kind === 'point') return 'is not allowed on a point (alarms and events only)';
  if (bytes === 0 || bytes > wireBatchLimits.recordPayloadBytesMax) return `is ${bytes} bytes, not 1..${wireBatchLimits.recordPayloadBytesMax}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    return 'is not JSON';
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'is not a JSON object';
  return undefined;
}

function valueForm(value: PointValue): number {
  if (typeof value === 'boolean') return value ? formTrue : formFalse;
  if (typeof value === 'string') return formString;
  if (Number.isInteger(value) && value >= int32Min && value <= int32Max && !Object.is(value, -0)) return formInteger;
  return formDouble;
}

/** Checks firstSeq and the lost ranges against the record count; returns what is wrong, if anything. */
export function checkSequences(firstSeq: bigint, lost: readonly SeqRange[], count: number): string | undefined {
  if (firstSeq < 1n || firstSeq > seqMax) return `firstSeq ${firstSeq} is outside 1..2^64-1`;
  if (lost.length > wireBatchLimits.lostRangesPerBatchMax) return `${lost.length} lost ranges, more than ${wireBatchLimits.lostRangesPerBatchMax}`;
  let previous: SeqRange | undefined;
  let cursor = firstSeq;
  let recordsLeft = BigInt(count);
  for (const [index, range] of lost.entries()) {
    if (range.first < 1n || range.last > seqMax || range.first > range.last) return `lost[${index}] ${range.first}..${range.last} is not a range inside 1..2^64-1`;
    if (previous !== undefined && range.first <= previous.last) return `lost[${index}] is not after lost[${index - 1}]`;
    if (range.first <= firstSeq && firstSeq <= range.last) return `lost[${index}] ${range.first}..${range.last} contains firstSeq ${firstSeq}`;
    if (range.first > firstSeq && recordsLeft > 0n) {
      const fitting = range.first - cursor;
      if (recordsLeft > fitting) {
        recordsLeft -= fitting;
        cursor = range.last + 1n;
      } else {
        recordsLeft = 0n;
      }
    }
    previous = range;
  }
  if (recordsLeft > 0n && cursor + recordsLeft - 1n > seqMax) return `the records' sequences run past 2^64-1`;
  return undefined;
}

/** Encodes one batch; throws WIRE_BATCH_INVALID for input the format cannot carry. */
export function encodeBatchV2(input: BatchInput): Buffer {
  const { site, gateway, records } = input;
  const lost = input.lost ?? [];
  if (!isId(site) || !isId(gateway)) throw invalidInput(`site '${site}' and gateway '${gateway}' must be ids`);
  if (records.length > wireBatchLimits.recordsPerBatchMax) throw invalidInput(`${records.length} records, more than ${wireBatchLimits.recordsPerBatchMax}`);
  const sequenceProblem = checkSequences(input.firstSeq, lost, records.length);
  if (sequenceProblem !== undefined) throw invalidInput(sequenceProblem);

  // Pass 1: tag dictionary, validation and the exact size.
  const dictionary = new Map<string, number>();
  const tags: string[] = [];
  const tagIndexes = new Uint32Array(records.length);
  const heads = new Uint8Array(records.length);
  const baseTs = records[0]?.ts ?? 0;
  let previousTs = baseTs;
  let recordBytes = 0;
  for (let index = 0; index < records.length; index++) {
    const record = records[index]!;
    let tagIndex = dictionary.get(record.tag);
    if (tagIndex === undefined) {
      if (!isCachedTagPath(record.tag)) throw invalidInput(`records[${index}] has an invalid tag`);
      tagIndex = tags.length;
      dictionary.set(record.tag, tagIndex);
      tags.push(record.tag);
    }
    tagIndexes[index] = tagIndex;
    const ts = record.ts;
    if (!Number.isSafeInteger(ts) || Math.abs(ts) > tsAbsMaxMs) throw invalidInput(`records[${index}] has ts ${ts}, not an integer within the date range`);
    const delta = ts - previousTs;
    if (Math.abs(delta) > zigzagAbsMax) throw invalidInput(`records[${index}] is ${delta} ms from the previous record, more than 2^52`);
    previousTs = ts;
    const kind = recordKinds.indexOf(record.kind);
    const quality = qualities.indexOf(record.quality);
    if (kind < 0 || quality < 0) throw invalidInput(`records[${index}] has an invalid kind or quality`);
    recordBytes += 1 + varintLength(tagIndex) + varintLength(zigzag(delta));
    const value = record.value;
    const form = valueForm(value);
    heads[index] = kind | (quality << 2) | (form << 4) | (record.payload === undefined ? 0 : headPayload);
    if (form === formDouble) {
      if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidInput(`records[${index}] has a value that is not a finite number, boolean or string`);
      recordBytes += 8;
    } else if (form === formInteger) {
      recordBytes += varintLength(zigzag(value as number));
    } else if (form === formString) {
      const text = value as string;
      if (!text.isWellFormed()) throw invalidInput(`records[${index}] has a string value that is not well-formed UTF-16`);
      const length = Buffer.byteLength(text, 'utf8');
      if (length > wireBatchLimits.stringValueBytesMax) throw invalidInput(`records[${index}] has a ${length}-byte string, more than ${wireBatchLimits.stringValueBytesMax}`);
      recordBytes += varintLength(length) + length;
    }
    const payload = record.payload;
    if (payload !== undefined) {
      if (typeof payload !== 'string' || !payload.isWellFormed()) throw invalidInput(`records[${index}] has a payload that is not well-formed text`);
      const length = Buffer.byteLength(payload, 'utf8');
      const problem = payloadProblem(record.kind, payload, length);
      if (problem !== undefined) throw invalidInput(`records[${index}] payload ${problem}`);
      recordBytes += varintLength(length) + length;
    }
  }
  let tagBytes = 0;
  for (const tag of tags) tagBytes += varintLength(tag.length) + tag.length; // tags are ASCII
  const headerBytes = 4 + 1 + site.length + 1 + gateway.length + 8 + 8 + varintLength(lost.length) + 16 * lost.length;
  const size = headerBytes + varintLength(tags.length) + tagBytes + varintLength(records.length) + recordBytes;
  if (size > wireBatchLimits.payloadBytesMax) throw invalidInput(`${size} bytes, more than ${wireBatchLimits.payloadBytesMax}; send fewer records per batch`);

  // Pass 2: write.
  const out = Buffer.allocUnsafe(size);
  out[0] = batchMagic[0];
  out[1] = batchMagic[1];
  out[2] = batchVersion2;
  out[3] = input.historical ? flagHistorical : 0;
  let offset = 4;
  for (const id of [site, gateway]) {
    out[offset++] = id.length;
    offset += out.write(id, offset, 'latin1');
  }
  offset = out.writeBigUInt64LE(input.firstSeq, offset);
  offset = out.writeBigInt64LE(BigInt(baseTs), offset);
  offset = writeVarint(out, offset, lost.length);
  for (const range of lost) {
    offset = out.writeBigUInt64LE(range.first, offset);
    offset = out.writeBigUInt64LE(range.last, offset);
  }
  offset = writeVarint(out, offset, tags.length);
  for (const tag of tags) {
    offset = writeVarint(out, offset, tag.length);
    offset += out.write(tag, offset, 'latin1');
  }
  offset = writeVarint(out, offset, records.length);
  previousTs = baseTs;
  for (let index = 0; index < records.length; index++) {
    const record = records[index]!;
    const value = record.value;
    const head = heads[index]!;
    const form = (head >> 4) & 7;
    out[offset++] = head;
    offset = writeVarint(out, offset, tagIndexes[index]!);
    offset = writeVarint(out, offset, zigzag(record.ts - previousTs));
    previousTs = record.ts;
    if (form === formDouble) offset = out.writeDoubleLE(value as number, offset);
    else if (form === formInteger) offset = writeVarint(out, offset, zigzag(value as number));
    else if (form === formString) {
      const length = Buffer.byteLength(value as string, 'utf8');
      offset = writeVarint(out, offset, length);
      offset += out.write(value as string, offset, 'utf8');
    }
    if (record.payload !== undefined) {
      offset = writeVarint(out, offset, Buffer.byteLength(record.payload, 'utf8'));
      offset += out.write(record.payload, offset, 'utf8');
    }
  }
  assert(offset === size, `wire-batch: wrote ${offset} bytes, computed ${size}`);
  return out;
}
