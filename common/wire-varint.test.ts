import { describe, expect, it } from 'vitest';
import { ByteReader, unzigzag, varintLength, varintValueMax, writeVarint, zigzag, zigzagAbsMax } from './wire-varint.ts';

describe('varints', () => {
  it('round-trip every length up to 2^53, with the byte count varintLength promises', () => {
    const values = [0, 1, 127, 128, 16_383, 16_384, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 49 - 1, 2 ** 49, varintValueMax];
    for (const value of values) {
      const bytes = new Uint8Array(8);
      const end = writeVarint(bytes, 0, value);
      expect(end, String(value)).toBe(varintLength(value));
      const reader = new ByteReader(bytes.subarray(0, end));
      expect(reader.varint()).toBe(value);
      expect(reader.remaining).toBe(0);
    }
  });

  it('round-trips zigzag values within ±2^52', () => {
    for (const value of [0, -1, 1, -64, 63, -2_147_483_648, zigzagAbsMax, -zigzagAbsMax]) expect(unzigzag(zigzag(value))).toBe(value);
    expect(zigzag(-1)).toBe(1);
    expect(zigzag(1)).toBe(2);
  });

  it('reports truncated, over-long and too-large varints as -1 without moving', () => {
    expect(new ByteReader(Uint8Array.from([0x80])).varint()).toBe(-1);
    expect(new ByteReader(new Uint8Array(9).fill(0x80)).varint()).toBe(-1);
    const tooLarge = new ByteReader(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]));
    expect(tooLarge.varint()).toBe(-1);
    expect(tooLarge.offset).toBe(0);
    expect(new ByteReader(new Uint8Array(0)).byte()).toBe(-1);
  });
});
