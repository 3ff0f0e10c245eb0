// The bundle store on disk, one folder per gateway:
//   root.json            the trusted root envelope
//   state.json           the install record (the commit point)
//   bundles/<sha>.mwb    bundle files named by their SHA-256
// Every write goes to a temp file, is fdatasync'ed, renamed over the target and the folder is
// fsync'ed, so a power cut leaves the previous file or the new one, never a torn one.
import { closeSync, fdatasyncSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { MillwrightError } from '../../common/errors.ts';
import { sha256HexPattern } from '../../common/trust-fields.ts';
import { sha256Hex } from '../../common/trust-canonical-json.ts';
import type { BundleStore, InstallRecord } from './bundle-store.ts';
import { edgeBundleErrors } from './errors.ts';

export class FileBundleStore implements BundleStore {
  readonly #directory: string;
  readonly #bundles: string;

  constructor(directory: string) {
    this.#directory = directory;
    this.#bundles = join(directory, 'bundles');
    try {
      mkdirSync(this.#bundles, { recursive: true });
    } catch (error) {
      throw unwritable(`cannot create ${this.#bundles}`, error);
    }
  }

  readRoot(): unknown {
    const text = this.#read(join(this.#directory, 'root.json'));
    return text === undefined ? undefined : parseJson(text.toString('utf8'), join(this.#directory, 'root.json'));
  }

  writeRoot(envelope: unknown): void {
    this.#writeAtomic(this.#directory, 'root.json', `${JSON.stringify(envelope, null, 2)}\n`);
  }

  readRecord(): InstallRecord | undefined {
    const file = join(this.#directory, 'state.json');
    const text = this.#read(file);
    return text === undefined ? undefined : checkRecord(parseJson(text.toString('utf8'), file), file);
  }

  writeRecord(record: InstallRecord): void {
    this.#writeAtomic(this.#directory, 'state.json', `${JSON.stringify(record)}\n`);
  }

  readBundle(sha256: string): Uint8Array | undefined {
    if (!sha256HexPattern.test(sha256)) return undefined;
    const bytes = this.#read(join(this.#bundles, `${sha256}.mwb`));
    return bytes !== undefined && sha256Hex(bytes) === sha256 ? bytes : undefined;
  }

  writeBundle(bytes: Uint8Array): string {
    const sha256 = sha256Hex(bytes);
    this.#writeAtomic(this.#bundles, `${sha256}.mwb`, bytes);
    return sha256;
  }

  removeBundlesExcept(keep: readonly string[]): void {
    try {
      for (const name of readdirSync(this.#bundles)) {
        if (!keep.some((sha256) => name === `${sha256}.mwb`)) unlinkSync(join(this.#bundles, name));
      }
      syncDirectory(this.#bundles);
    } catch (error) {
      throw unwritable(`cannot clean ${this.#bundles}`, error);
    }
  }

  #read(file: string): Buffer | undefined {
    try {
      return readFileSync(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new MillwrightError(edgeBundleErrors.stateCorrupt, `cannot read ${file}: ${(error as Error).message}`, { file }, error);
    }
  }

  #writeAtomic(directory: string, name: string, data: string | Uint8Array): void {
    const target = join(directory, name);
    const temporary = `${target}.tmp`;
    try {
      const fd = openSync(temporary, 'w', 0o600);
      try {
        writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
        fdatasyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(temporary, target);
      syncDirectory(directory);
    } catch (error) {
      throw unwritable(`cannot write ${target}`, error);
    }
  }
}

function syncDirectory(directory: string): void {
  const fd = openSync(directory, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new MillwrightError(edgeBundleErrors.stateCorrupt, `${file} is not JSON: ${(error as Error).message}`, { file });
  }
}

function checkRecord(value: unknown, file: string): InstallRecord {
  const record = value as Partial<Record<keyof InstallRecord, unknown>> | null;
  const sha = (field: unknown): boolean => field === null || (typeof field === 'string' && sha256HexPattern.test(field));
  const probation = record?.probation as { restarts?: unknown } | null | undefined;
  const probationOk = probation === null || (typeof probation === 'object' && Number.isSafeInteger(probation.restarts));
  if (record === null || typeof record !== 'object' || !sha(record.installed) || !sha(record.lastGood) || !Number.isSafeInteger(record.highestVersion) || !probationOk) {
    throw new MillwrightError(edgeBundleErrors.stateCorrupt, `${file} is not an install record`, { file });
  }
  return record as InstallRecord;
}

function unwritable(message: string, error: unknown): MillwrightError {
  return new MillwrightError(edgeBundleErrors.stateUnwritable, `${message}: ${(error as Error).message}`, {}, error);
}
