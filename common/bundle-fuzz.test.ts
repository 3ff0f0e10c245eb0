// Damaged bundle files: every truncation, every single-bit flip and seeded garbage must end in a
// coded refusal (a MillwrightError), never an accepted bundle and never another exception.
import { describe, expect, it } from 'vitest';
import { openBundle, readBundleParts } from './bundle.ts';
import { testBundle, testNowMs, testRoleKeys, testTrustedRoot } from './bundle-testing.ts';
import { isMillwrightError } from './errors.ts';
import { seededRandom } from './random.ts';

const keys = testRoleKeys();
const root = testTrustedRoot(keys);
const good = testBundle(keys.rules);
const options = { now: testNowMs, gatewayId: 'line1-gw', installedVersion: 1 } as const;

function outcome(bytes: Uint8Array): string {
  try {
    openBundle(bytes, root, options);
    return 'accepted';
  } catch (error) {
    if (isMillwrightError(error)) return error.code;
    throw error;
  }
}

describe('damaged bundle files', () => {
  it('refuses the file truncated at every byte offset with a coded error', () => {
    const codes = new Set<string>();
    for (let length = 0; length < good.length; length++) codes.add(outcome(good.subarray(0, length)));
    expect(codes.has('accepted')).toBe(false);
    expect(codes).toContain('BUNDLE_TRUNCATED');
    expect(readBundleParts(good).modules.length).toBe(2);
  });

  it('refuses the file with any single bit flipped', () => {
    const codes = new Map<string, number>();
    for (let offset = 0; offset < good.length; offset++) {
      for (const bit of [0, 5]) {
        const damaged = Uint8Array.from(good);
        damaged[offset]! ^= 1 << ((offset + bit) % 8);
        const code = outcome(damaged);
        expect(code, `offset ${offset} bit ${(offset + bit) % 8}`).not.toBe('accepted');
        codes.set(code, (codes.get(code) ?? 0) + 1);
      }
    }
    expect([...codes.keys()]).toEqual(expect.arrayContaining(['BUNDLE_MALFORMED', 'BUNDLE_MODULE_HASH_MISMATCH', 'TRUST_SIGNATURE_INVALID']));
  });

  it('refuses seeded random garbage, with and without a valid header', () => {
    const seed = 20_261_125;
    const random = seededRandom(seed);
    for (let round = 0; round < 500; round++) {
      const garbage = Uint8Array.from({ length: random.int(0, 200) }, () => random.int(0, 255));
      const withHeader = Uint8Array.from([...good.subarray(0, 12 + (round % 8)), ...garbage]);
      expect(outcome(garbage), `seed ${seed} round ${round}`).not.toBe('accepted');
      expect(outcome(withHeader), `seed ${seed} round ${round}`).not.toBe('accepted');
    }
  });
});
