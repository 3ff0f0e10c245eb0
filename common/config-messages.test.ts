// Tests for the wording of config issues: key suggestions, found values, bounds, oneOf/anyOf collapse.
import type { ErrorObject } from 'ajv';
import { describe, expect, it } from 'vitest';
import { collapseAlternatives, describeError, describeValue, editDistance, suggestClosest } from './config-messages.ts';

function ajvError(fields: Partial<ErrorObject> & Pick<ErrorObject, 'keyword' | 'schemaPath'>): ErrorObject {
  return { instancePath: '', params: {}, ...fields };
}

describe('editDistance', () => {
  it('counts a swap of neighbouring letters as one edit', () => {
    expect(editDistance('port', 'prot')).toBe(1);
    expect(editDistance('host', 'hots')).toBe(1);
    expect(editDistance('tickms', 'tickms')).toBe(0);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });
});

describe('suggestClosest', () => {
  it('prefers a case-insensitive match, then the nearest within the edit budget', () => {
    expect(suggestClosest('TICKMS', ['seed', 'tickMs'])).toBe('tickMs');
    expect(suggestClosest('adress', ['address', 'area'])).toBe('address');
    expect(suggestClosest('colour', ['name', 'scan', 'devices'])).toBeUndefined();
    expect(suggestClosest('ip', ['id'])).toBeUndefined();
  });
});

describe('describeValue', () => {
  it('shows the found value short', () => {
    expect(describeValue('middle')).toBe('"middle"');
    expect(describeValue(null)).toBe('an empty value');
    expect(describeValue([1, 2])).toBe('a list of 2 items');
    expect(describeValue({ a: 1 })).toBe('a mapping');
    expect(describeValue('y'.repeat(100))).toHaveLength(42);
  });
});

describe('describeError', () => {
  it('words bounds, patterns and YAML surprises plainly', () => {
    const minimum = ajvError({ keyword: 'minimum', schemaPath: '#/minimum', params: { limit: 1, comparison: '>=' }, data: 0 });
    expect(describeError(minimum)).toBe('expected at least 1, got 0');
    const yes = ajvError({ keyword: 'type', schemaPath: '#/type', params: { type: 'boolean' }, data: 'yes' });
    expect(describeError(yes)).toBe('expected boolean, got string "yes"; write true or false');
    const quoted = ajvError({ keyword: 'type', schemaPath: '#/type', params: { type: 'integer' }, data: '502' });
    expect(describeError(quoted)).toBe('expected integer, got string "502"; remove the quotes to make it a number');
    const unquoted = ajvError({ keyword: 'type', schemaPath: '#/type', params: { type: 'string' }, data: 1.1 });
    expect(describeError(unquoted)).toBe('expected string, got number 1.1; put it in quotes to keep it as text');
    const short = ajvError({ keyword: 'minLength', schemaPath: '#/minLength', params: { limit: 1 }, data: '' });
    expect(describeError(short)).toBe('expected at least 1 character, got ""');
  });
});

describe('collapseAlternatives', () => {
  it('keeps only the branch not contradicted by a discriminating const', () => {
    const errors = [
      ajvError({ keyword: 'type', instancePath: '/d/port', schemaPath: '#/properties/d/oneOf/0/properties/port/type', params: { type: 'integer' } }),
      ajvError({ keyword: 'additionalProperties', instancePath: '/d', schemaPath: '#/properties/d/oneOf/1/additionalProperties', params: { additionalProperty: 'port' } }),
      ajvError({ keyword: 'const', instancePath: '/d/driver', schemaPath: '#/properties/d/oneOf/1/properties/driver/const', params: { allowedValue: 'rtu' } }),
      ajvError({ keyword: 'oneOf', instancePath: '/d', schemaPath: '#/properties/d/oneOf', params: { passingSchemas: null } }),
      ajvError({ keyword: 'required', schemaPath: '#/required', params: { missingProperty: 'name' } }),
    ];
    expect(collapseAlternatives(errors).map((error) => error.keyword)).toEqual(['required', 'type']);
  });

  it('merges branch types into one complaint', () => {
    const errors = [
      ajvError({ keyword: 'type', instancePath: '/m', schemaPath: '#/properties/m/anyOf/0/type', params: { type: 'string' }, data: true }),
      ajvError({ keyword: 'type', instancePath: '/m', schemaPath: '#/properties/m/anyOf/1/type', params: { type: 'number' }, data: true }),
      ajvError({ keyword: 'anyOf', instancePath: '/m', schemaPath: '#/properties/m/anyOf' }),
    ];
    const collapsed = collapseAlternatives(errors);
    expect(collapsed).toHaveLength(1);
    expect(describeError(collapsed[0]!)).toMatch(/^expected string or number, got boolean true/);
  });
});

describe('collapseAlternatives with several matching branches', () => {
  it('keeps the ambiguity and drops what the other branches missed', () => {
    const errors = [
      ajvError({ keyword: 'required', instancePath: '/d', schemaPath: '#/properties/d/oneOf/2/required', params: { missingProperty: 'x' } }),
      ajvError({ keyword: 'oneOf', instancePath: '/d', schemaPath: '#/properties/d/oneOf', params: { passingSchemas: [0, 1] } }),
    ];
    const collapsed = collapseAlternatives(errors);
    expect(collapsed.map((error) => error.keyword)).toEqual(['oneOf']);
    expect(describeError(collapsed[0]!)).toContain('matches more than one allowed form');
  });
});
