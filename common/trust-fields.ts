// Field-by-field checks for signed metadata (root documents, envelopes, bundle manifests). Each
// failure is a MillwrightError with the caller's code that names the field path, e.g.
// `manifest.modules[2].limits.fuelPerTick: expected an integer 1..10000000, got "x"`.
import { MillwrightError, type ErrorSpec } from './errors.ts';

export const sha256HexPattern = /^[0-9a-f]{64}$/;
/** RFC 3339 UTC with optional milliseconds: `2026-01-01T00:00:00Z`. */
const timestampPattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/;

export function formatTimestamp(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.000Z$/, 'Z');
}

export class Fields {
  readonly #spec: ErrorSpec;
  readonly #what: string;

  /** `what` starts every message: a file name or 'bundle manifest'. */
  constructor(spec: ErrorSpec, what: string) {
    this.#spec = spec;
    this.#what = what;
  }

  fail(path: string, message: string): never {
    throw new MillwrightError(this.#spec, `${this.#what}: ${path}: ${message}`, { field: path });
  }

  /** A plain object with exactly the required keys plus any of the optional ones. */
  object(value: unknown, path: string, required: readonly string[], optional: readonly string[] = []): Record<string, unknown> {
    const record = this.#record(value, path);
    for (const key of required) if (!Object.hasOwn(record, key)) this.fail(path, `missing field '${key}'`);
    for (const key of Object.keys(record)) {
      if (!required.includes(key) && !optional.includes(key)) this.fail(path, `unknown field '${key}'`);
    }
    return record;
  }

  /** A map with string keys of a given pattern and at most `entriesMax` entries. */
  map(value: unknown, path: string, keyPattern: RegExp, entriesMax: number): Record<string, unknown> {
    const record = this.#record(value, path);
    const keys = Object.keys(record);
    if (keys.length > entriesMax) this.fail(path, `at most ${entriesMax} entries, got ${keys.length}`);
    for (const key of keys) if (!keyPattern.test(key)) this.fail(path, `key '${key}' does not match ${keyPattern.source}`);
    return record;
  }

  #record(value: unknown, path: string): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(path, `expected an object, got ${describe(value)}`);
    return value as Record<string, unknown>;
  }

  string(value: unknown, path: string, pattern: RegExp, lengthMax: number): string {
    if (typeof value !== 'string') this.fail(path, `expected a string, got ${describe(value)}`);
    if (value.length > lengthMax) this.fail(path, `at most ${lengthMax} characters, got ${value.length}`);
    if (!pattern.test(value)) this.fail(path, `${JSON.stringify(value)} does not match ${pattern.source}`);
    return value;
  }

  literal<T extends string>(value: unknown, path: string, expected: T): T {
    if (value !== expected) this.fail(path, `expected ${JSON.stringify(expected)}, got ${describe(value)}`);
    return expected;
  }

  integer(value: unknown, path: string, min: number, max: number): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.fail(path, `expected an integer ${min}..${max}, got ${describe(value)}`);
    }
    return value;
  }

  array(value: unknown, path: string, itemsMax: number): readonly unknown[] {
    if (!Array.isArray(value)) this.fail(path, `expected an array, got ${describe(value)}`);
    if (value.length > itemsMax) this.fail(path, `at most ${itemsMax} items, got ${value.length}`);
    return value as unknown[];
  }

  /** An array of distinct strings matching `pattern`. */
  distinctStrings(value: unknown, path: string, pattern: RegExp, itemsMax: number): readonly string[] {
    const items = this.array(value, path, itemsMax).map((item, index) => this.string(item, `${path}[${index}]`, pattern, 256));
    const duplicate = items.find((item, index) => items.indexOf(item) !== index);
    if (duplicate !== undefined) this.fail(path, `${JSON.stringify(duplicate)} appears twice`);
    return items;
  }

  /** An RFC 3339 UTC timestamp; returns epoch milliseconds. */
  timestamp(value: unknown, path: string): number {
    const text = this.string(value, path, timestampPattern, 32);
    const epochMs = Date.parse(text);
    if (!Number.isFinite(epochMs) || formatTimestamp(epochMs) !== text.replace(/\.000Z$/, 'Z')) {
      this.fail(path, `${JSON.stringify(text)} is not a real UTC time`);
    }
    return epochMs;
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}
