// Reading and writing trust material for the command line and for services: root files, PEM key
// files (private keys are created 0600 and never overwritten) and the durations used for expiry.
import { readFileSync, writeFileSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { MillwrightError, commonErrors } from './errors.ts';
import { parsePrivateKey } from './trust-keys.ts';
import { trustRoot, type TrustedRoot } from './trust.ts';

export function readFileOrFail(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new MillwrightError(commonErrors.configUnreadable, `cannot read ${what} ${path}: ${(error as Error).message}`, { file: path }, error);
  }
}

export function readJsonFile(path: string, what: string): unknown {
  const text = readFileOrFail(path, what).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new MillwrightError(commonErrors.configInvalid, `${what} ${path} is not JSON: ${(error as Error).message}`, { file: path });
  }
}

/** A root file: its envelope as read and the root it establishes (self-signature checked, expiry not). */
export function readRootFile(path: string): { readonly envelope: unknown; readonly root: TrustedRoot } {
  const envelope = readJsonFile(path, 'root file');
  return { envelope, root: trustRoot(envelope, path) };
}

export function readPrivateKeyFile(path: string): { readonly key: KeyObject; readonly keyId: string } {
  return parsePrivateKey(readFileOrFail(path, 'private key').toString('utf8'), path);
}

/** Writes a private key readable by its owner only; refuses to replace an existing file. */
export function writePrivateKeyFile(path: string, pem: string): void {
  try {
    writeFileSync(path, pem, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    const exists = (error as NodeJS.ErrnoException).code === 'EEXIST';
    throw new MillwrightError(commonErrors.usage, exists ? `${path} exists; a key file is never overwritten` : `cannot write ${path}: ${(error as Error).message}`, { file: path }, error);
  }
}

export function writeTextFile(path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch (error) {
    throw new MillwrightError(commonErrors.usage, `cannot write ${path}: ${(error as Error).message}`, { file: path }, error);
  }
}

const durationUnitsMs: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `15m`, `12h`, `30d` → milliseconds; undefined for anything else. Zero is not a duration. */
export function parseDurationMs(text: string): number | undefined {
  const match = /^([1-9]\d{0,5})([smhd])$/.exec(text);
  if (match === null) return undefined;
  return Number(match[1]) * (durationUnitsMs[match[2] ?? ''] ?? 0);
}

/** An expiry given as a duration from `fromMs` (`30d`) or as an RFC 3339 UTC time; undefined if neither. */
export function expiryFrom(text: string, fromMs: number): number | undefined {
  const durationMs = parseDurationMs(text);
  if (durationMs !== undefined) return fromMs + durationMs;
  return parseTimestampOrUndefined(text);
}

/** An RFC 3339 UTC time (`2026-01-01T00:00:00Z`) in epoch milliseconds, or undefined. */
export function parseTimestampOrUndefined(text: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/.test(text)) return undefined;
  const epochMs = Date.parse(text);
  return Number.isFinite(epochMs) ? epochMs : undefined;
}
