import { describe, expect, it } from 'vitest';
import { NotCanonicalError, canonicalDepthMax, canonicalJson, canonicalSha256 } from './trust-canonical-json.ts';

describe('canonical JSON', () => {
  it('sorts keys at every level and writes no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: true, y: null }], c: 'x' } })).toBe('{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}');
  });

  it('gives the same bytes whatever order the keys were inserted in', () => {
    expect(canonicalSha256({ version: 1, type: 'root' })).toBe(canonicalSha256({ type: 'root', version: 1 }));
  });

  it('orders keys by UTF-16 code units and escapes strings as JSON does', () => {
    expect(canonicalJson({ é: 1, Z: 2, a: 3, '\u2028': 'line\nbreak "q"' })).toBe('{"Z":2,"a":3,"é":1,"\u2028":"line\\nbreak \\"q\\""}');
  });

  it('writes numbers in their shortest round-trip form', () => {
    expect(canonicalJson([1.5, -0, 1e21, 0.1])).toBe('[1.5,0,1e+21,0.1]');
  });

  it('refuses values without a JSON form', () => {
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY, [undefined], 1n, new Date(0), () => 1]) {
      expect(() => canonicalJson(value), String(value)).toThrow(NotCanonicalError);
    }
  });

  it('refuses nesting deeper than the limit instead of overflowing the stack', () => {
    let deep: unknown = 1;
    for (let depth = 0; depth <= canonicalDepthMax; depth++) deep = [deep];
    expect(() => canonicalJson(deep)).toThrow(/nested deeper/);
    const parsed: unknown = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    expect(() => canonicalJson(parsed)).toThrow(NotCanonicalError);
  });
});
