// The gateway's bundle store port: the pinned root, content-addressed bundle files and one small
// install record naming which bundle runs and which was last good. Writing the record is the
// single commit point, so a crash leaves either the old or the new installation, never half.
// MemoryBundleStore is the in-memory implementation; bundle-store-contract.ts holds the suite
// every implementation passes.
import { sha256Hex } from '../../common/trust-canonical-json.ts';

export interface InstallRecord {
  /** SHA-256 of the bundle file that runs, or null for none. */
  readonly installed: string | null;
  /** SHA-256 of the last bundle that ran through probation without faulting, or null. */
  readonly lastGood: string | null;
  /** Highest bundle version ever swapped in: a new bundle must be above it, even after a rollback. */
  readonly highestVersion: number;
  /** Present while the installed bundle is on probation; counts restarts during it. */
  readonly probation: { readonly restarts: number } | null;
}

export const emptyInstallRecord: InstallRecord = { installed: null, lastGood: null, highestVersion: 0, probation: null };

export interface BundleStore {
  /** The trusted root envelope (parsed JSON), or undefined when none is pinned. */
  readRoot(): unknown;
  /** Replaces the root durably (after trust.ts accepted the rotation). */
  writeRoot(envelope: unknown): void;
  readRecord(): InstallRecord | undefined;
  /** Durable and atomic: afterwards a restart reads exactly this record. */
  writeRecord(record: InstallRecord): void;
  /** The bundle file with this SHA-256; undefined when missing or its bytes no longer match. */
  readBundle(sha256: string): Uint8Array | undefined;
  /** Stores a bundle file durably under its SHA-256 and returns that. */
  writeBundle(bytes: Uint8Array): string;
  /** Deletes every stored bundle file not named in `keep`. */
  removeBundlesExcept(keep: readonly string[]): void;
}

export class MemoryBundleStore implements BundleStore {
  #root: string | undefined;
  #record: InstallRecord | undefined;
  readonly #bundles = new Map<string, Uint8Array>();

  readRoot(): unknown {
    return this.#root === undefined ? undefined : JSON.parse(this.#root);
  }

  writeRoot(envelope: unknown): void {
    this.#root = JSON.stringify(envelope);
  }

  readRecord(): InstallRecord | undefined {
    return this.#record;
  }

  writeRecord(record: InstallRecord): void {
    this.#record = { ...record, probation: record.probation === null ? null : { ...record.probation } };
  }

  readBundle(sha256: string): Uint8Array | undefined {
    const bytes = this.#bundles.get(sha256);
    return bytes !== undefined && sha256Hex(bytes) === sha256 ? Uint8Array.from(bytes) : undefined;
  }

  writeBundle(bytes: Uint8Array): string {
    const sha256 = sha256Hex(bytes);
    this.#bundles.set(sha256, Uint8Array.from(bytes));
    return sha256;
  }

  removeBundlesExcept(keep: readonly string[]): void {
    for (const sha256 of [...this.#bundles.keys()]) if (!keep.includes(sha256)) this.#bundles.delete(sha256);
  }

  /** Test hook: damages a stored bundle file in place. */
  damage(sha256: string): void {
    const bytes = this.#bundles.get(sha256);
    if (bytes !== undefined && bytes.length > 0) bytes[bytes.length - 1]! ^= 0xff;
  }
}
