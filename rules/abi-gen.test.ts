import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sdkAbiPath, sdkAbiSource } from './abi-gen.ts';

describe('the SDK side of the host ABI', () => {
  it('is exactly what common/rule-abi.ts generates (run `node --import tsx rules/abi-gen.ts` after changing it)', () => {
    expect(readFileSync(sdkAbiPath, 'utf8')).toBe(sdkAbiSource());
  });
});
