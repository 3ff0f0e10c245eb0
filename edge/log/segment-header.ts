// Segment files: their names and their header. On-disk format, version 1:
//   file   := header record*            (records: see record-codec.ts)
//   header := magic "MWLG" | version:u8 | flags:u8 (bit 0: thinned) | gatewayIdLength:u8 | 0:u8
//             | firstSeq:u64le | gatewayId (ASCII) | crc32:u32le over everything before it
// A segment is named segment-<firstSeq, 20 digits>.mwlog, so names sort in sequence order and a
// damaged header still tells which sequences the file held. Later format versions keep the header
// layout up to its checksum, so a reader tells a newer format (refused) from damage (set aside).
import { crc32 } from './crc32.ts';

export const formatVersion = 1;
const magic = Buffer.from('MWLG', 'ascii');
const fixedBytes = 16;
export const gatewayIdBytesMax = 63;
export const headerBytesMax = fixedBytes + gatewayIdBytesMax + 4;

export interface SegmentHeader {
  readonly version: number;
  readonly thinned: boolean;
  readonly gatewayId: string;
  readonly firstSeq: number;
  /** Bytes the header takes at the start of the file. */
  readonly bytes: number;
}

const namePattern = /^segment-(\d{20})\.mwlog$/;

export function segmentName(firstSeq: number): string {
  return `segment-${String(firstSeq).padStart(20, '0')}.mwlog`;
}

/** The first seq a segment file name carries, or undefined for any other file. */
export function parseSegmentName(name: string): number | undefined {
  const match = namePattern.exec(name);
  if (match === null) return undefined;
  const value = Number(match[1]);
  return Number.isSafeInteger(value) ? value : undefined;
}

export function encodeHeader(gatewayId: string, firstSeq: number, thinned: boolean): Buffer {
  const id = Buffer.from(gatewayId, 'ascii');
  const buffer = Buffer.alloc(fixedBytes + id.length + 4);
  magic.copy(buffer, 0);
  buffer[4] = formatVersion;
  buffer[5] = thinned ? 1 : 0;
  buffer[6] = id.length;
  buffer.writeBigUInt64LE(BigInt(firstSeq), 8);
  id.copy(buffer, fixedBytes);
  buffer.writeUInt32LE(crc32(buffer, 0, fixedBytes + id.length), fixedBytes + id.length);
  return buffer;
}

export type HeaderResult =
  | { readonly ok: true; readonly header: SegmentHeader }
  | { readonly ok: false; readonly problem: 'short' | 'magic' | 'checksum' | 'version'; readonly version?: number };

/** Reads a header from the start of `bytes`; never throws on bad input. */
export function decodeHeader(bytes: Buffer): HeaderResult {
  if (bytes.length < fixedBytes + 4) return { ok: false, problem: 'short' };
  if (!bytes.subarray(0, 4).equals(magic)) return { ok: false, problem: 'magic' };
  // Every format version keeps this layout up to the checksum, so a failed checksum is damage
  // and a good one with another version is a newer format.
  const idLength = bytes[6]!;
  const end = fixedBytes + idLength;
  if (idLength > gatewayIdBytesMax) return { ok: false, problem: 'checksum' };
  if (bytes.length < end + 4) return { ok: false, problem: 'short' };
  if (crc32(bytes, 0, end) !== bytes.readUInt32LE(end)) return { ok: false, problem: 'checksum' };
  const version = bytes[4]!;
  if (version !== formatVersion) return { ok: false, problem: 'version', version };
  const firstSeq = bytes.readBigUInt64LE(8);
  if (firstSeq > BigInt(Number.MAX_SAFE_INTEGER)) return { ok: false, problem: 'checksum' };
  return {
    ok: true,
    header: { version, thinned: (bytes[5]! & 1) === 1, gatewayId: bytes.toString('ascii', fixedBytes, end), firstSeq: Number(firstSeq), bytes: end + 4 },
  };
}
