import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../common/random.ts';
import { crc32 } from './crc32.ts';

describe('crc32', () => {
  it('gives the CRC-32 check value of "123456789"', () => {
    const bytes = Buffer.from('123456789');
    expect(crc32(bytes, 0, bytes.length)).toBe(0xcbf43926);
  });

  it('agrees with zlib.crc32 on ranges of every length from 0 to 300 bytes', () => {
    const random = seededRandom(7);
    const bytes = Buffer.from(Array.from({ length: 400 }, () => random.int(0, 255)));
    for (let length = 0; length <= 300; length++) {
      const start = random.int(0, 99);
      expect(crc32(bytes, start, start + length)).toBe(zlib.crc32(bytes.subarray(start, start + length)));
    }
  });
});
