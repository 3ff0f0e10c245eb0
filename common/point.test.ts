import { describe, expect, it } from 'vitest';
import { isTagPath, qualityCode, qualityFromCode, worseQuality } from './point.ts';
import { isId, parseId } from './ids.ts';
import { MillwrightError } from './errors.ts';

describe('tag paths', () => {
  it('accepts slash-separated segments', () => {
    expect(isTagPath('line1/press/temperature')).toBe(true);
    expect(isTagPath('a')).toBe(true);
    expect(isTagPath('line_1/m-2/v1.raw')).toBe(true);
  });

  it('refuses empty segments, spaces, leading dots and too many segments', () => {
    for (const tag of ['', '/a', 'a/', 'a//b', 'a b', '.hidden', 'a/b/c/d/e/f/g/h/i']) {
      expect(isTagPath(tag), tag).toBe(false);
    }
  });
});

describe('quality', () => {
  it('orders bad below uncertain below good', () => {
    expect(worseQuality('good', 'uncertain')).toBe('uncertain');
    expect(worseQuality('bad', 'uncertain')).toBe('bad');
    expect(worseQuality('good', 'good')).toBe('good');
  });

  it('round-trips through its compact code', () => {
    for (const quality of ['good', 'uncertain', 'bad'] as const) {
      expect(qualityFromCode(qualityCode(quality))).toBe(quality);
    }
    expect(qualityFromCode(3)).toBeUndefined();
  });
});

describe('ids', () => {
  it('accepts lower-case letters, digits and dashes', () => {
    expect(isId('line1-gw')).toBe(true);
    expect(isId('Line1')).toBe(false);
    expect(isId('-x')).toBe(false);
  });

  it('throws a coded error naming what was invalid', () => {
    expect(() => parseId('Bad Id', 'gateway id')).toThrow(MillwrightError);
    try {
      parseId('Bad Id', 'gateway id');
    } catch (error) {
      expect((error as MillwrightError).code).toBe('COMMON_ID_INVALID');
      expect((error as MillwrightError).message).toContain("gateway id 'Bad Id'");
    }
  });
});
