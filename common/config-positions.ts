// Where a config value sits in its YAML source. ajv names a value by JSON pointer
// (`/devices/0/port`); this module turns that into the field path people read (`devices[0].port`)
// and into the line and column of the value, or of its key, in the file the engineer edited.
import { isAlias, isMap, isNode, isScalar, isSeq, type Document, type LineCounter } from 'yaml';
import { assert } from './assert.ts';

export interface SourcePosition {
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly column: number;
}

/** Splits a JSON pointer (RFC 6901) into unescaped segments; '' is the document itself. */
export function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  assert(pointer.startsWith('/'), `JSON pointer must start with '/': ${pointer}`);
  // RFC 6901 order: ~1 before ~0, so '~01' decodes to '~1' and not to '/'.
  return pointer
    .slice(1)
    .split('/')
    .map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'));
}

const plainKey = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/**
 * The readable path of `segments` inside `data`: `devices[0].port`, `tags["line1/press"]`.
 * A segment is an index only where `data` holds a list there, so a mapping key '0' stays a key.
 */
export function fieldPath(segments: readonly string[], data: unknown): string {
  let path = '';
  let current = data;
  for (const segment of segments) {
    if (Array.isArray(current) && /^\d+$/.test(segment)) {
      path += `[${segment}]`;
      current = current[Number(segment)];
      continue;
    }
    if (!plainKey.test(segment)) path += `[${JSON.stringify(segment)}]`;
    else path += path === '' ? segment : `.${segment}`;
    current = typeof current === 'object' && current !== null ? (current as Record<string, unknown>)[segment] : undefined;
  }
  return path;
}

/**
 * Line and column of the node at `segments`: of its value, or of its key when `target` is 'key'
 * (a list item has no key: the item itself). An empty value (`port:`) points at its key. A path
 * that runs past the file, such as a field inside an object filled in from a schema default,
 * resolves to the key of the deepest part that exists.
 */
export function sourcePosition(
  document: Document,
  lineCounter: LineCounter,
  segments: readonly string[],
  target: 'value' | 'key',
): SourcePosition {
  let node: unknown = document.contents;
  let offset = startOf(node) ?? 0;
  let resolved = true;
  for (const segment of segments) {
    if (isAlias(node)) node = node.resolve(document);
    if (isMap(node)) {
      const pair = node.items.find((item) => keyText(item.key) === segment);
      if (pair === undefined) {
        resolved = false;
        break;
      }
      offset = startOf(pair.key) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && /^\d+$/.test(segment) && Number(segment) < node.items.length) {
      node = node.items[Number(segment)];
      offset = startOf(node) ?? offset;
    } else {
      resolved = false;
      break;
    }
  }
  if (resolved && target === 'value' && !isEmptyValue(node)) offset = startOf(node) ?? offset;
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}

function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

function startOf(node: unknown): number | undefined {
  return isNode(node) && node.range ? node.range[0] : undefined;
}

function isEmptyValue(node: unknown): boolean {
  if (!isNode(node) || !node.range) return true;
  return isScalar(node) && node.value === null && node.range[0] === node.range[1];
}
