// Tests for mapping ajv JSON pointers to readable field paths and to YAML source positions.
import { describe, expect, it } from 'vitest';
import { LineCounter, parseDocument } from 'yaml';
import { fieldPath, pointerSegments, sourcePosition } from './config-positions.ts';

function positionIn(text: string, pointer: string, target: 'value' | 'key') {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter });
  return sourcePosition(document, lineCounter, pointerSegments(pointer), target);
}

describe('pointerSegments', () => {
  it('unescapes ~1 and ~0 in that order', () => {
    expect(pointerSegments('')).toEqual([]);
    expect(pointerSegments('/tags/line1~1press/a~01')).toEqual(['tags', 'line1/press', 'a~1']);
  });
});

describe('fieldPath', () => {
  it('writes list indexes in brackets and odd keys quoted', () => {
    const data = { devices: [{ port: 1 }], tags: { 'line1/press': 1 }, '0': { a: 1 } };
    expect(fieldPath(['devices', '0', 'port'], data)).toBe('devices[0].port');
    expect(fieldPath(['tags', 'line1/press'], data)).toBe('tags["line1/press"]');
    expect(fieldPath(['0', 'a'], data)).toBe('["0"].a');
    expect(fieldPath([], data)).toBe('');
  });
});

describe('sourcePosition', () => {
  const text = 'uplink:\n  host: h\n  port:\ndevices:\n  - id: a\n    port: 502\n  - [1, 2]\n';

  it('finds a value, or its key', () => {
    expect(positionIn(text, '/devices/0/port', 'value')).toEqual({ line: 6, column: 11 });
    expect(positionIn(text, '/devices/0/port', 'key')).toEqual({ line: 6, column: 5 });
    expect(positionIn(text, '/devices/1/1', 'value')).toEqual({ line: 7, column: 9 });
  });

  it('points an empty value at its key and a list item at the item', () => {
    expect(positionIn(text, '/uplink/port', 'value')).toEqual({ line: 3, column: 3 });
    expect(positionIn(text, '/devices/0', 'key')).toEqual({ line: 5, column: 5 });
  });

  it('resolves a path past the file to the deepest key that exists', () => {
    expect(positionIn(text, '/uplink/tls/ca', 'value')).toEqual({ line: 1, column: 1 });
    expect(positionIn(text, '/devices/9', 'value')).toEqual({ line: 4, column: 1 });
    expect(positionIn(text, '', 'value')).toEqual({ line: 1, column: 1 });
  });

  it('follows aliases', () => {
    expect(positionIn('base: &b\n  port: 1\nother: *b\n', '/other/port', 'value')).toEqual({ line: 2, column: 9 });
  });
});
