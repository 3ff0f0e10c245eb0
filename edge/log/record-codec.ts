// The binary record format of the durable log (docs in the header of segment-header.ts):
//   record    := bodyLength:varint(1-2 bytes) body crc32:u32le   (crc over bodyLength + body)
//   data body := flags tsDelta:zigzag-varint tagRef:varint [tagLength:varint tag] value [payloadLength:varint payload]
//   lost body := flags seqCount:varint          commit body := flags lastSeq:varint
// flags: bits 0-1 kind (point, alarm, event, control); data records: bits 2-3 quality, bits 4-6
// value type, bit 7 payload present; control records: bits 2-3 say lost (0 overflow, 1 damaged)
// or commit (2). A data record's seq is the previous record's last seq + 1; a lost record covers
// the next seqCount seqs; a commit marker ends each commit's write with the seq it reached (so a
// whole marker after a bad record proves the damage hit synced bytes, not a torn write). tsDelta
// is relative to the previous data record of the segment; tagRef 0 defines the next dictionary id
// inline.
// Encoding writes into a caller-sized Buffer; decoding fills a reusable DecodedRecord, so the hot
// paths allocate nothing per record.
import { assert } from '../../common/assert.ts';
import { crc32 } from './crc32.ts';

/** Kinds as decoded: 0-2 data, 3 a lost range, 4 a commit marker (on disk 3 and 4 share kind bits 3). */
export const kindCode = { point: 0, alarm: 1, event: 2, lost: 3, commit: 4 } as const;
export type KindCode = (typeof kindCode)[keyof typeof kindCode];
export const kindNames = ['point', 'alarm', 'event'] as const;

export const lostReasons = ['overflow', 'damaged'] as const;
export type LostReason = (typeof lostReasons)[number];

export const valueType = { false: 0, true: 1, int: 2, float32: 3, float64: 4, string: 5 } as const;

/** Largest body a record may have (a two-byte length varint). */
export const recordBodyBytesMax = 0x3fff;
/** Smallest whole record: length, flags, one-byte count, checksum. */
export const recordBytesMin = 7;
/** Integers up to this magnitude are stored as varints, and timestamps must stay below it. */
export const intMagnitudeMax = 2 ** 47;

const payloadFlag = 0x80;
const controlKind = 3;
const commitSubtype = 2;

export function writeVarint(buffer: Buffer, position: number, value: number): number {
  while (value >= 0x80) {
    buffer[position++] = (value & 0x7f) | 0x80;
    value = value > 0x7fffffff ? Math.floor(value / 0x80) : value >>> 7;
  }
  buffer[position++] = value;
  return position;
}

/** Where the last readVarint() ended; module state keeps the decoder allocation-free. */
let varintEnd = 0;

/** Reads a varint of at most 8 bytes; returns -1 when it runs past limit or is too long. */
export function readVarint(buffer: Uint8Array, position: number, limit: number): number {
  let result = 0;
  let multiplier = 1;
  for (let count = 0; count < 8; count++) {
    if (position >= limit) return -1;
    const byte = buffer[position++]!;
    result += (byte & 0x7f) * multiplier;
    if (byte < 0x80) {
      varintEnd = position;
      return result;
    }
    multiplier *= 0x80;
  }
  return -1;
}

const zigzag = (value: number): number => (value >= 0 ? value * 2 : -value * 2 - 1);
const unzigzag = (value: number): number => (value % 2 === 0 ? value / 2 : -(value + 1) / 2);

/**
 * An upper bound on the bytes encodeData() writes, given the UTF-8 bytes of its texts (the new
 * tag's name, a string value and the payload, 0 for each that is absent).
 */
export function dataRecordBytesBound(textBytes: number): number {
  // length 2 + flags 1 + ts 8 + tagRef 3 + value 9 + three text lengths 9 + checksum 4
  return 36 + textBytes;
}

function finish(buffer: Buffer, start: number, end: number): number {
  const bodyLength = end - (start + 1);
  assert(bodyLength > 0 && bodyLength <= recordBodyBytesMax, 'record body length out of range'); // constant message: hot path
  if (bodyLength < 0x80) {
    buffer[start] = bodyLength;
  } else {
    buffer.copyWithin(start + 2, start + 1, end);
    end++;
    buffer[start] = (bodyLength & 0x7f) | 0x80;
    buffer[start + 1] = bodyLength >>> 7;
  }
  buffer.writeUInt32LE(crc32(buffer, start, end), end);
  return end + 4;
}

function writeText(buffer: Buffer, position: number, text: string): number {
  const length = Buffer.byteLength(text, 'utf8');
  position = writeVarint(buffer, position, length);
  return position + buffer.write(text, position, length, 'utf8');
}

/**
 * Encodes one point, alarm or event at `start`; returns the end. The caller has sized the buffer
 * with dataRecordBytesBound(); tagRef is the dictionary id, or 0 with `newTag` to define it.
 */
export function encodeData(
  buffer: Buffer,
  start: number,
  kind: 0 | 1 | 2,
  quality: 0 | 1 | 2,
  tsDelta: number,
  tagRef: number,
  newTag: string | undefined,
  value: number | boolean | string,
  payload: string | undefined,
): number {
  let position = start + 2; // length byte, then flags written last
  position = writeVarint(buffer, position, zigzag(tsDelta));
  position = writeVarint(buffer, position, tagRef);
  if (tagRef === 0) position = writeText(buffer, position, newTag!);
  let type: number;
  if (typeof value === 'number') {
    if (Number.isInteger(value) && Math.abs(value) < intMagnitudeMax && !Object.is(value, -0)) {
      type = valueType.int;
      position = writeVarint(buffer, position, zigzag(value));
    } else if (Math.fround(value) === value) {
      type = valueType.float32;
      position = buffer.writeFloatLE(value, position);
    } else {
      type = valueType.float64;
      position = buffer.writeDoubleLE(value, position);
    }
  } else if (typeof value === 'boolean') {
    type = value ? valueType.true : valueType.false;
  } else {
    type = valueType.string;
    position = writeText(buffer, position, value);
  }
  let flags = kind | (quality << 2) | (type << 4);
  if (payload !== undefined) {
    flags |= payloadFlag;
    position = writeText(buffer, position, payload);
  }
  buffer[start + 1] = flags;
  return finish(buffer, start, position);
}

/** Encodes a lost record covering the next `seqCount` seqs; returns the end. */
export function encodeLost(buffer: Buffer, start: number, reason: LostReason, seqCount: number): number {
  assert(Number.isSafeInteger(seqCount) && seqCount > 0, `lost record of ${seqCount} seqs`);
  buffer[start + 1] = controlKind | (lostReasons.indexOf(reason) << 2);
  return finish(buffer, start, writeVarint(buffer, start + 2, seqCount));
}

/** Bytes a commit marker takes at most. */
export const commitMarkerBytesMax = 2 + 1 + 8 + 4;

/** Encodes the marker that ends a commit's write, carrying the last seq it holds; returns the end. */
export function encodeCommit(buffer: Buffer, start: number, lastSeq: number): number {
  buffer[start + 1] = controlKind | (commitSubtype << 2);
  return finish(buffer, start, writeVarint(buffer, start + 2, lastSeq));
}

/** Fields of one decoded record; positions index the buffer it was decoded from. */
export class DecodedRecord {
  /** Offset just past the record's checksum. */
  end = 0;
  kind: KindCode = 0;
  quality: 0 | 1 | 2 = 0;
  valueType = 0;
  tsDelta = 0;
  tagRef = 0;
  /** When tagRef is 0: the inline tag's bytes. */
  tagStart = 0;
  tagEnd = 0;
  numberValue = 0;
  stringStart = 0;
  stringEnd = 0;
  /** -1 when the record has no payload. */
  payloadStart = -1;
  payloadEnd = -1;
  lostCount = 0;
  lostReason: LostReason = 'overflow';
  /** For a commit marker: the last seq of the commit. */
  commitSeq = 0;
}

export const decodeStatus = { ok: 0, truncated: 1, corrupt: 2 } as const;
export type DecodeStatus = (typeof decodeStatus)[keyof typeof decodeStatus];

function readText(buffer: Uint8Array, position: number, end: number): number {
  const length = readVarint(buffer, position, end);
  if (length < 0 || varintEnd + length > end) return -1;
  return length;
}

/**
 * Decodes the record at `start`, reading no byte at or past `limit`. `truncated` means the bytes
 * end inside the record; `corrupt` means the checksum or the structure is wrong. With
 * `numbers` false, number values are checked for length but not decoded (a recovery scan).
 */
export function decodeRecord(buffer: Buffer, start: number, limit: number, out: DecodedRecord, numbers = true): DecodeStatus {
  const bodyLength = readVarint(buffer, start, Math.min(limit, start + 2));
  if (bodyLength < 0) return limit - start < 2 && (limit === start || buffer[start]! >= 0x80) ? decodeStatus.truncated : decodeStatus.corrupt;
  if (bodyLength === 0) return decodeStatus.corrupt;
  const bodyStart = varintEnd;
  const bodyEnd = bodyStart + bodyLength;
  if (bodyEnd + 4 > limit) return decodeStatus.truncated;
  if (crc32(buffer, start, bodyEnd) !== buffer.readUInt32LE(bodyEnd)) return decodeStatus.corrupt;
  out.end = bodyEnd + 4;
  const flags = buffer[bodyStart]!;
  const kind = (flags & 3) as KindCode;
  out.kind = kind;
  let position = bodyStart + 1;
  if (kind === controlKind) {
    const subtype = (flags >>> 2) & 3;
    const count = readVarint(buffer, position, bodyEnd);
    if (flags >>> 4 !== 0 || subtype > commitSubtype || count < 1 || varintEnd !== bodyEnd) return decodeStatus.corrupt;
    if (subtype === commitSubtype) {
      out.kind = kindCode.commit;
      out.commitSeq = count;
    } else {
      out.lostCount = count;
      out.lostReason = lostReasons[subtype]!;
    }
    return decodeStatus.ok;
  }
  const quality = (flags >>> 2) & 3;
  const type = (flags >>> 4) & 7;
  if (quality > 2 || type > valueType.string) return decodeStatus.corrupt;
  out.quality = quality as 0 | 1 | 2;
  out.valueType = type;
  const tsDelta = readVarint(buffer, position, bodyEnd);
  if (tsDelta < 0) return decodeStatus.corrupt;
  out.tsDelta = unzigzag(tsDelta);
  const tagRef = readVarint(buffer, varintEnd, bodyEnd);
  if (tagRef < 0) return decodeStatus.corrupt;
  out.tagRef = tagRef;
  position = varintEnd;
  if (tagRef === 0) {
    const length = readText(buffer, position, bodyEnd);
    if (length <= 0) return decodeStatus.corrupt;
    out.tagStart = varintEnd;
    out.tagEnd = position = varintEnd + length;
  }
  switch (type) {
    case valueType.int: {
      const value = readVarint(buffer, position, bodyEnd);
      if (value < 0) return decodeStatus.corrupt;
      out.numberValue = unzigzag(value);
      position = varintEnd;
      break;
    }
    case valueType.float32:
      if (position + 4 > bodyEnd) return decodeStatus.corrupt;
      if (numbers) out.numberValue = buffer.readFloatLE(position);
      position += 4;
      break;
    case valueType.float64:
      if (position + 8 > bodyEnd) return decodeStatus.corrupt;
      if (numbers) out.numberValue = buffer.readDoubleLE(position);
      position += 8;
      break;
    case valueType.string: {
      const length = readText(buffer, position, bodyEnd);
      if (length < 0) return decodeStatus.corrupt;
      out.stringStart = varintEnd;
      out.stringEnd = position = varintEnd + length;
      break;
    }
  }
  if (flags & payloadFlag) {
    const length = readText(buffer, position, bodyEnd);
    if (length < 0) return decodeStatus.corrupt;
    out.payloadStart = varintEnd;
    out.payloadEnd = position = varintEnd + length;
  } else {
    out.payloadStart = out.payloadEnd = -1;
  }
  return position === bodyEnd ? decodeStatus.ok : decodeStatus.corrupt;
}

/** The value of a decoded data record. */
export function decodedValue(buffer: Buffer, record: DecodedRecord): number | boolean | string {
  switch (record.valueType) {
    case valueType.false:
      return false;
    case valueType.true:
      return true;
    case valueType.string:
      return buffer.toString('utf8', record.stringStart, record.stringEnd);
    default:
      return record.numberValue;
  }
}
