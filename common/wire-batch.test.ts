// Bytes per point, measured by the 'costs ... bytes per point' test below (1000-point batches, 100
// tags scanned every 10 ms, tags like line1/machine03/temperature-07):
//   v2, float values: 11 B per record (head 1, tag index 1, ts delta 1, f64 8)
//       + the 100-tag dictionary (2.9 B per point)                            14.1 B/point
//   v2, mixed (70% float, 20% boolean, 10% counter)                           11.9 B/point
//   v1 JSON batch (records [tag, ts, value, quality])                         69.3 B/point
//   plain JSON, one point per message                    151.1 B/point payload (+ 41 B MQTT framing)
import { describe, expect, it } from 'vitest';
import { seededRandom } from './random.ts';
import { isMillwrightError } from './errors.ts';
import { encodeBatch } from './wire.ts';
import { encodeBatchV2, seqMax, wireBatchLimits, type BatchInput, type BatchRecord } from './wire-batch.ts';
import { decodeBatchV2 } from './wire-batch-decode.ts';
import { decodeDataPayload } from './wire-payload.ts';

const t0 = 1_767_225_600_000;
const site = 'site-a';
const gateway = 'line1-gw';

function scanRecords(count: number, mix: 'float' | 'mixed', seed = 1): BatchRecord[] {
  const random = seededRandom(seed);
  const records: BatchRecord[] = [];
  for (let index = 0; index < count; index++) {
    const tagNumber = index % 100;
    const tag = `line1/machine${String(tagNumber % 10).padStart(2, '0')}/temperature-${String(tagNumber).padStart(2, '0')}`;
    const ts = t0 + Math.floor(index / 100) * 10;
    const slot = mix === 'float' ? 0 : tagNumber % 10;
    const value = slot < 7 ? 20 + random.next() * 60 : slot < 9 ? random.next() < 0.5 : 1000 + index;
    records.push({ kind: 'point', tag, ts, value, quality: 'good' });
  }
  return records;
}

/** The baseline: one MQTT message per point, plain self-describing JSON. */
function plainJsonPoint(seq: bigint, record: BatchRecord): string {
  return JSON.stringify({ site, gateway, seq: seq.toString(), tag: record.tag, ts: record.ts, value: record.value, quality: record.quality });
}

function decodeOk(payload: Uint8Array) {
  const decoded = decodeBatchV2(payload);
  if (!decoded.ok) throw new Error(`${decoded.code}: ${decoded.reason}`);
  return decoded.value;
}

const base: BatchInput = { site, gateway, historical: false, firstSeq: 1n, records: [] };

describe('binary batch v2', () => {
  it('round-trips every kind, quality and value form with consecutive sequences', () => {
    const records: BatchRecord[] = [
      { kind: 'point', tag: 'l1/m1/t', ts: t0, value: 41.75, quality: 'good' },
      { kind: 'point', tag: 'l1/m1/t', ts: t0 - 5, value: -0, quality: 'uncertain' },
      { kind: 'alarm', tag: 'l1/m1/hi', ts: t0 + 2 ** 40, value: true, quality: 'bad' },
      { kind: 'event', tag: 'l1/m1/note', ts: -t0, value: 'Überhitzung ✓ 🔥', quality: 'good' },
      { kind: 'point', tag: 'l1/m1/count', ts: t0, value: -2_147_483_648, quality: 'good' },
      { kind: 'point', tag: 'l1/m1/count', ts: t0, value: 2 ** 40, quality: 'good' },
      { kind: 'point', tag: 'l1/m1/on', ts: t0, value: false, quality: 'good' },
      { kind: 'point', tag: 'l1/m1/t', ts: t0, value: Number.MAX_VALUE, quality: 'good' },
    ];
    const batch = decodeOk(encodeBatchV2({ ...base, historical: true, firstSeq: 10n, records }));
    expect(batch).toMatchObject({ version: 2, site, gateway, historical: true, firstSeq: 10n, lost: [], runs: [{ first: 10n, start: 0, count: 8 }] });
    expect(batch.records).toEqual(records.map((record, index) => ({ ...record, gateway, seq: 10n + BigInt(index), historical: true })));
    expect(Object.is(batch.records[1]?.value, -0)).toBe(true);
  });

  it('skips declared lost ranges inside the batch and reports the runs between them', () => {
    const lost = [
      { first: 3n, last: 9n }, // before the batch
      { first: 12n, last: 14n },
      { first: 15n, last: 15n }, // adjacent to the previous one
      { first: 17n, last: 20n }, // right after the last record
    ];
    const batch = decodeOk(encodeBatchV2({ ...base, firstSeq: 10n, lost, records: scanRecords(3, 'float') }));
    expect(batch.records.map((record) => record.seq)).toEqual([10n, 11n, 16n]);
    expect(batch.runs).toEqual([{ first: 10n, start: 0, count: 2 }, { first: 16n, start: 2, count: 1 }]);
    expect(batch.lost).toEqual(lost);
  });

  it('carries a declaration of lost ranges with no records', () => {
    const batch = decodeOk(encodeBatchV2({ ...base, firstSeq: 101n, lost: [{ first: 1n, last: 100n }], records: [] }));
    expect(batch).toMatchObject({ records: [], runs: [], lost: [{ first: 1n, last: 100n }] });
  });

  it('keeps 64-bit sequences exact up to 2^64-1', () => {
    const batch = decodeOk(encodeBatchV2({ ...base, firstSeq: seqMax - 1n, records: scanRecords(2, 'float') }));
    expect(batch.records.map((record) => record.seq)).toEqual([seqMax - 1n, seqMax]);
  });

  it.each([
    ['a site that is not an id', { site: 'Site A' }],
    ['sequence 0', { firstSeq: 0n }],
    ['sequences past 2^64-1', { firstSeq: seqMax, records: scanRecords(2, 'float') }],
    ['a lost range containing firstSeq', { firstSeq: 5n, lost: [{ first: 4n, last: 6n }] }],
    ['lost ranges out of order', { firstSeq: 50n, lost: [{ first: 10n, last: 12n }, { first: 1n, last: 2n }] }],
    ['a bad tag', { records: [{ kind: 'point', tag: 'a//b', ts: t0, value: 1, quality: 'good' }] }],
    ['a non-finite value', { records: [{ kind: 'point', tag: 'a/b', ts: t0, value: Number.NaN, quality: 'good' }] }],
    ['a fractional ts', { records: [{ kind: 'point', tag: 'a/b', ts: t0 + 0.5, value: 1, quality: 'good' }] }],
    ['a lone surrogate', { records: [{ kind: 'event', tag: 'a/b', ts: t0, value: '\ud800', quality: 'good' }] }],
    ['more than payloadBytesMax', { records: [{ kind: 'event', tag: 'a/b', ts: t0, value: 'x'.repeat(wireBatchLimits.stringValueBytesMax + 1), quality: 'good' }] }],
  ] as [string, Partial<BatchInput>][])('refuses to encode %s with WIRE_BATCH_INVALID', (_name, change) => {
    const error = (() => {
      try {
        encodeBatchV2({ ...base, ...change });
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(isMillwrightError(error) && error.code).toBe('WIRE_BATCH_INVALID');
  });

  it.each([
    ['not-a-batch', () => Buffer.from('{"v":1}')],
    ['unsupported-version', () => Buffer.from([0x4d, 0x57, 3, 0])],
    ['too-large', () => Buffer.concat([Buffer.from([0x4d, 0x57, 2, 0]), Buffer.alloc(wireBatchLimits.payloadBytesMax)])],
    ['trailing-bytes', () => Buffer.concat([encodeBatchV2({ ...base, records: scanRecords(2, 'float') }), Buffer.from([0])])],
    ['invalid', () => patch(encodeBatchV2({ ...base, records: scanRecords(2, 'float') }), 3, 0x80)], // reserved flag bit
    ['truncated', () => encodeBatchV2({ ...base, records: scanRecords(2, 'float') }).subarray(0, 30)],
  ] as const)('refuses bad bytes with code %s', (code, payload) => {
    expect(decodeBatchV2(payload())).toMatchObject({ ok: false, code });
  });

  it('names the field: tag index, kind, invalid UTF-8 and a repeated dictionary tag', () => {
    const one = encodeBatchV2({ ...base, records: [{ kind: 'event', tag: 'a/b', ts: t0, value: 'ab', quality: 'good' }] });
    const recordAt = one.length - 6; // head, tag index, ts delta, length, 'a', 'b'
    expect(decodeBatchV2(patch(one, recordAt + 1, 1))).toMatchObject({ ok: false, reason: 'records[0] names tag 1 of a 1-tag dictionary' });
    expect(decodeBatchV2(patch(one, recordAt, one[recordAt]! | 3))).toMatchObject({ ok: false, reason: expect.stringMatching(/^records\[0\] has head byte/) });
    expect(decodeBatchV2(patch(one, one.length - 1, 0xff))).toMatchObject({ ok: false, reason: 'records[0] has a string value that is not UTF-8' });
    const two = encodeBatchV2({ ...base, records: [{ kind: 'point', tag: 'a/b', ts: t0, value: 1, quality: 'good' }, { kind: 'point', tag: 'a/c', ts: t0, value: 1, quality: 'good' }] });
    const second = two.indexOf('a/c');
    expect(decodeBatchV2(patch(two, second + 2, 'b'.charCodeAt(0)))).toMatchObject({ ok: false, reason: "tags[1] 'a/b' appears twice in the dictionary" });
  });

  it('never throws on truncated, bit-flipped or random bytes (seeded)', () => {
    const seed = 20_260_101;
    const random = seededRandom(seed);
    const valid = encodeBatchV2({ ...base, lost: [{ first: 3n, last: 3n }], firstSeq: 5n, records: [...scanRecords(40, 'mixed'), { kind: 'event', tag: 'a/b', ts: t0, value: 'text', quality: 'bad' }] });
    let refused = 0;
    for (let length = 0; length < valid.length; length++) refused += decodeBatchV2(valid.subarray(0, length)).ok ? 0 : 1;
    expect(refused, `seed ${seed}`).toBe(valid.length);
    for (let trial = 0; trial < 5000; trial++) {
      const bytes = Buffer.from(valid);
      for (let flips = random.int(1, 4); flips > 0; flips--) bytes[random.int(0, bytes.length - 1)] = random.int(0, 255);
      const decoded = decodeBatchV2(bytes);
      if (decoded.ok) expect(decoded.value.records.length, `seed ${seed} trial ${trial}`).toBe(41);
    }
    for (let trial = 0; trial < 2000; trial++) {
      const bytes = Buffer.from(Array.from({ length: random.int(0, 64) }, () => random.int(0, 255)));
      bytes[0] = 0x4d;
      bytes[1] = 0x57;
      bytes[2] = 2;
      expect(() => decodeBatchV2(bytes), `seed ${seed} trial ${trial}`).not.toThrow();
    }
  });

  it('costs 12-14 bytes per point, a tenth of plain JSON one point per message', () => {
    for (const [mix, bound] of [["float", 15], ["mixed", 12]] as const) {
      const records = scanRecords(1000, mix);
      const v2 = encodeBatchV2({ ...base, records }).length / records.length;
      const v1 = encodeBatch(site, gateway, 1n, records).length / records.length;
      const plain = records.reduce((sum, record, index) => sum + Buffer.byteLength(plainJsonPoint(BigInt(index + 1), record)), 0) / records.length;
      expect(v2, `${mix}: v2 ${v2} v1 ${v1} plain ${plain}`).toBeLessThan(bound);
      expect(plain / v2).toBeGreaterThan(10);
    }
  });
});

describe('binary batch v2: alarm and event payloads', () => {
  const alarmPayload = JSON.stringify({ severity: 'critical', value: 97.5, message: 'Überhitzung: Presse gestoppt' });
  const withPayloads: BatchRecord[] = [
    { kind: 'point', tag: 'l1/m1/t', ts: t0, value: 97.5, quality: 'good' },
    { kind: 'alarm', tag: 'l1/_alarms/m1-overtemp', ts: t0 + 1, value: true, quality: 'good', payload: alarmPayload },
    { kind: 'event', tag: 'l1/m1/note', ts: t0 + 2, value: 'reset', quality: 'uncertain', payload: '{"by":"operator 7"}' },
    { kind: 'alarm', tag: 'l1/_alarms/m1-overtemp', ts: t0 + 3, value: false, quality: 'good' },
  ];
  /** Where the head byte is in a one-record batch whose value takes no bytes (head, tag index, ts delta, [length, payload]). */
  const headAt = (bytes: Buffer, payloadBytes: number): number => bytes.length - 3 - (payloadBytes > 0 ? 1 + payloadBytes : 0);

  it('round-trips payloads on alarms and events beside records without one', () => {
    const batch = decodeOk(encodeBatchV2({ ...base, firstSeq: 7n, records: withPayloads }));
    expect(batch.records).toEqual(withPayloads.map((record, index) => ({ ...record, gateway, seq: 7n + BigInt(index), historical: false })));
    expect(batch.records[3]).not.toHaveProperty('payload');
  });

  it('leaves batches without payloads byte for byte as before: bit 7 of every head byte clear', () => {
    const plain = encodeBatchV2({ ...base, records: [{ kind: 'alarm', tag: 'a/b', ts: t0, value: true, quality: 'good' }] });
    expect(plain[headAt(plain, 0)]).toBe(0x21); // alarm, good, form true
    const flagged = encodeBatchV2({ ...base, records: [{ kind: 'alarm', tag: 'a/b', ts: t0, value: true, quality: 'good', payload: '{}' }] });
    expect(flagged.length).toBe(plain.length + 3); // length varint and "{}"
    expect(flagged[headAt(flagged, 2)]).toBe(0xa1);
    // Telemetry records cost what they did: a 1000-point float batch stays under 15 bytes per point.
    expect(encodeBatchV2({ ...base, records: scanRecords(1000, 'float') }).length / 1000).toBeLessThan(15);
  });

  it.each([
    ['a payload on a point', { kind: 'point', payload: '{}' }],
    ['a payload that is not JSON', { payload: 'overtemp' }],
    ['a payload that is a JSON array', { payload: '[1,2]' }],
    ['an empty payload', { payload: '' }],
    ['a payload over recordPayloadBytesMax', { payload: JSON.stringify({ message: 'x'.repeat(wireBatchLimits.recordPayloadBytesMax) }) }],
    ['a payload with a lone surrogate', { payload: '{"message":"\ud800"}' }],
  ] as [string, Partial<BatchRecord>][])('refuses to encode %s', (_name, change) => {
    const record: BatchRecord = { kind: 'alarm', tag: 'a/b', ts: t0, value: true, quality: 'good', ...change };
    expect(() => encodeBatchV2({ ...base, records: [record] })).toThrow(/payload/);
  });

  /** A one-alarm batch whose payload bytes are replaced by `bytes` (length varint adjusted). */
  function withPayloadBytes(bytes: Buffer, declaredLength = bytes.length): Buffer {
    const valid = encodeBatchV2({ ...base, records: [{ kind: 'alarm', tag: 'a/b', ts: t0, value: true, quality: 'good', payload: '{}' }] });
    const prefix = valid.subarray(0, valid.length - 3);
    const length = Buffer.alloc(3);
    let used = 0;
    for (let rest = declaredLength; ; rest >>= 7) {
      length[used++] = rest >= 0x80 ? (rest & 0x7f) | 0x80 : rest;
      if (rest < 0x80) break;
    }
    return Buffer.concat([prefix, length.subarray(0, used), bytes]);
  }

  it.each([
    ['bad UTF-8', () => withPayloadBytes(Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d])), 'records[0] payload is not UTF-8'],
    ['too long', () => withPayloadBytes(Buffer.from(JSON.stringify({ m: 'x'.repeat(wireBatchLimits.recordPayloadBytesMax) }))), `records[0] payload is ${wireBatchLimits.recordPayloadBytesMax + 8} bytes, not 1..${wireBatchLimits.recordPayloadBytesMax}`],
    ['truncated', () => withPayloadBytes(Buffer.from('{"severity":"hi'), 20), 'records[0] payload is truncated: the batch ends inside it'],
    ['not a JSON object', () => withPayloadBytes(Buffer.from('"hi"')), 'records[0] payload is not a JSON object'],
    ['on a point', () => {
      const bytes = withPayloadBytes(Buffer.from('{}'));
      return patch(bytes, headAt(bytes, 2), 0xa0); // kind point, payload bit set
    }, 'records[0] payload is not allowed on a point (alarms and events only)'],
  ] as const)('refuses a batch whose payload is %s, with code invalid-payload', (_name, payload, reason) => {
    expect(decodeBatchV2(payload())).toEqual({ ok: false, code: 'invalid-payload', reason });
  });

  it('never throws on truncated or bit-flipped batches with payloads (seeded)', () => {
    const seed = 20_260_102;
    const random = seededRandom(seed);
    const valid = encodeBatchV2({ ...base, records: [...scanRecords(10, 'mixed'), ...withPayloads] });
    for (let length = 0; length < valid.length; length++) expect(decodeBatchV2(valid.subarray(0, length)).ok, `length ${length}`).toBe(false);
    for (let trial = 0; trial < 3000; trial++) {
      const bytes = Buffer.from(valid);
      for (let flips = random.int(1, 3); flips > 0; flips--) bytes[random.int(0, bytes.length - 1)] = random.int(0, 255);
      const decoded = decodeBatchV2(bytes);
      if (decoded.ok) expect(decoded.value.records.length, `seed ${seed} trial ${trial}`).toBe(14);
    }
  });
});

describe('decodeDataPayload', () => {
  it('reads version 1 JSON as live points in one run, and version 2 binary', () => {
    const v1 = decodeDataPayload(encodeBatch(site, gateway, 7n, [{ tag: 'a/b', ts: t0 + 0.7, value: 1, quality: 'good' }]));
    expect(v1).toEqual({
      ok: true,
      value: { version: 1, site, gateway, historical: false, firstSeq: 7n, lost: [], runs: [{ first: 7n, start: 0, count: 1 }], records: [{ gateway, seq: 7n, kind: 'point', tag: 'a/b', ts: t0, value: 1, quality: 'good', historical: false }] },
    });
    expect(decodeDataPayload(encodeBatchV2({ ...base, records: scanRecords(1, 'float') }))).toMatchObject({ ok: true, value: { version: 2 } });
    expect(decodeDataPayload(Buffer.from('{"v":7}'))).toMatchObject({ ok: false, code: 'unsupported-version' });
    expect(decodeDataPayload(encodeBatch(site, gateway, 0n, scanRecords(1, 'float')))).toMatchObject({ ok: false, code: 'invalid' });
  });
});

function patch(bytes: Buffer, offset: number, value: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[offset] = value;
  return copy;
}
