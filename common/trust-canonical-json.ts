// Canonical JSON, the bytes every signature covers: object keys sorted by UTF-16 code units, no
// whitespace, strings and numbers written as JSON.stringify writes them (the RFC 8785 rules for
// the values this project uses). Two parties that hold the same value produce the same bytes, so
// a signature never depends on how a file was pretty-printed.
import { createHash } from 'node:crypto';

/** Why a value has no canonical form: names the path of the offending field. */
export class NotCanonicalError extends Error {
  override readonly name = 'NotCanonicalError';
}

/** Nesting allowed; deeper values are refused rather than overflowing the stack. */
export const canonicalDepthMax = 64;

export function canonicalJson(value: unknown): string {
  return write(value, '$', 0);
}

export function canonicalBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalJson(value));
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** SHA-256 of a value's canonical bytes: how a manifest or root document is named. */
export function canonicalSha256(value: unknown): string {
  return sha256Hex(canonicalBytes(value));
}

function write(value: unknown, path: string, depth: number): string {
  if (depth > canonicalDepthMax) throw new NotCanonicalError(`${path}: nested deeper than ${canonicalDepthMax} levels`);
  if (value === null || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new NotCanonicalError(`${path}: ${value} has no JSON form`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((item, index) => write(item, `${path}[${index}]`, depth + 1)).join(',')}]`;
  if (typeof value === 'object' && isPlainObject(value)) {
    const entries = Object.keys(value)
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${write((value as Record<string, unknown>)[key], `${path}.${key}`, depth + 1)}`);
    return `{${entries.join(',')}}`;
  }
  throw new NotCanonicalError(`${path}: a ${typeof value} has no JSON form`);
}

function isPlainObject(value: object): boolean {
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
