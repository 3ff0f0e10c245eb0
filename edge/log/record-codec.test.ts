import { describe, expect, it } from 'vitest';
import {
  DecodedRecord,
  dataRecordBytesBound,
  decodeRecord,
  decodeStatus,
  decodedValue,
  encodeCommit,
  encodeData,
  encodeLost,
  readVarint,
  writeVarint,
} from './record-codec.ts';
import { crc32 } from './crc32.ts';
import { decodeHeader, encodeHeader, parseSegmentName, segmentName } from './segment-header.ts';

function roundTrip(value: number | boolean | string, payload?: string): { value: number | boolean | string; payload: string | undefined; bytes: number } {
  const buffer = Buffer.alloc(dataRecordBytesBound(1000));
  const end = encodeData(buffer, 0, 1, 2, -5, 0, 'a/b', value, payload);
  const record = new DecodedRecord();
  expect(decodeRecord(buffer, 0, end, record)).toBe(decodeStatus.ok);
  expect(record.end).toBe(end);
  expect([record.kind, record.quality, record.tsDelta, record.tagRef]).toEqual([1, 2, -5, 0]);
  expect(buffer.toString('ascii', record.tagStart, record.tagEnd)).toBe('a/b');
  return { value: decodedValue(buffer, record), payload: record.payloadStart < 0 ? undefined : buffer.toString('utf8', record.payloadStart, record.payloadEnd), bytes: end };
}

describe('record codec', () => {
  it('round-trips every kind of value, choosing the smallest exact encoding', () => {
    for (const value of [true, false, 0, 1, -1, 2 ** 46, -(2 ** 46), 2 ** 53 - 1, 0.5, 20.25, Math.PI, -0, 1e300, 'text', 'ünïcode ✓', '']) {
      expect(Object.is(roundTrip(value).value, value)).toBe(true);
    }
    expect(roundTrip(true).bytes).toBeLessThan(roundTrip(0.5).bytes); // booleans live in the flags
    expect(roundTrip(0.5).bytes).toBeLessThan(roundTrip(Math.PI).bytes); // float32 when exact
  });

  it('round-trips a payload, and its absence', () => {
    expect(roundTrip(true, '{"severity":3,"text":"überhitzt"}').payload).toBe('{"severity":3,"text":"überhitzt"}');
    expect(roundTrip(true).payload).toBeUndefined();
  });

  it('writes varints up to 2^53 and reads them back', () => {
    const buffer = Buffer.alloc(16);
    for (const value of [0, 1, 127, 128, 16_383, 16_384, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 5, 2 ** 47, Number.MAX_SAFE_INTEGER]) {
      const end = writeVarint(buffer, 0, value);
      expect(readVarint(buffer, 0, end)).toBe(value);
    }
  });

  it('reports every strict prefix of a record as truncated', () => {
    const buffer = Buffer.alloc(200);
    const end = encodeData(buffer, 0, 0, 0, 10, 3, undefined, 'a string of some length to need a two-byte length......................................................................................', undefined);
    const record = new DecodedRecord();
    for (let limit = 0; limit < end; limit++) expect(decodeRecord(buffer, 0, limit, record)).toBe(decodeStatus.truncated);
    expect(decodeRecord(buffer, 0, end, record)).toBe(decodeStatus.ok);
  });

  it('detects every single-bit flip of a record', () => {
    const buffer = Buffer.alloc(64);
    const end = encodeData(buffer, 0, 0, 1, 10, 3, undefined, 21.5, undefined);
    const record = new DecodedRecord();
    for (let bit = 0; bit < end * 8; bit++) {
      buffer[bit >> 3]! ^= 1 << (bit & 7);
      expect(decodeRecord(buffer, 0, end, record)).not.toBe(decodeStatus.ok);
      buffer[bit >> 3]! ^= 1 << (bit & 7);
    }
  });

  it('encodes a commit marker carrying the last seq of its commit', () => {
    const buffer = Buffer.alloc(16);
    const end = encodeCommit(buffer, 0, 2 ** 40 + 3);
    const record = new DecodedRecord();
    expect(decodeRecord(buffer, 0, end, record)).toBe(decodeStatus.ok);
    expect([record.kind, record.commitSeq]).toEqual([4, 2 ** 40 + 3]);
  });

  it('encodes a lost record covering a run of seqs', () => {
    const buffer = Buffer.alloc(16);
    const end = encodeLost(buffer, 0, 'damaged', 123_456);
    const record = new DecodedRecord();
    expect(decodeRecord(buffer, 0, end, record)).toBe(decodeStatus.ok);
    expect([record.kind, record.lostCount, record.lostReason]).toEqual([3, 123_456, 'damaged']);
  });
});

describe('segment header', () => {
  it('round-trips gateway id, first seq and the thinned flag', () => {
    const decoded = decodeHeader(encodeHeader('gw-7', 2 ** 40, true));
    expect(decoded).toEqual({ ok: true, header: { version: 1, thinned: true, gatewayId: 'gw-7', firstSeq: 2 ** 40, bytes: 24 } });
  });

  it('tells a newer version (checksum good) from damage (checksum bad), and names a bad magic and a short file', () => {
    const header = encodeHeader('gw-7', 5, false);
    expect(decodeHeader(Buffer.concat([Buffer.from('XXXX'), header.subarray(4)]))).toMatchObject({ ok: false, problem: 'magic' });
    const newer = encodeHeader('gw-7', 5, false);
    newer[4] = 2;
    newer.writeUInt32LE(crc32(newer, 0, newer.length - 4), newer.length - 4);
    expect(decodeHeader(newer)).toMatchObject({ ok: false, problem: 'version', version: 2 });
    const flippedVersion = Buffer.from(header);
    flippedVersion[4] = 3;
    expect(decodeHeader(flippedVersion)).toMatchObject({ ok: false, problem: 'checksum' });
    const flipped = Buffer.from(header);
    flipped[9]! ^= 1;
    expect(decodeHeader(flipped)).toMatchObject({ ok: false, problem: 'checksum' });
    expect(decodeHeader(header.subarray(0, 10))).toMatchObject({ ok: false, problem: 'short' });
  });

  it('names segments so that they sort by first seq', () => {
    expect(segmentName(42)).toBe('segment-00000000000000000042.mwlog');
    expect(parseSegmentName(segmentName(2 ** 50))).toBe(2 ** 50);
    expect(parseSegmentName('segment-1.mwlog')).toBeUndefined();
    expect(parseSegmentName(segmentName(7) + '.damaged')).toBeUndefined();
  });
});
