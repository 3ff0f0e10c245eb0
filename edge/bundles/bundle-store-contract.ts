// The contract every BundleStore passes (in memory, on disk): what it stores it returns after a
// reopen, bundle files are content-addressed, a damaged file reads as missing, and cleanup keeps
// exactly the files named.
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../common/trust-canonical-json.ts';
import type { BundleStore } from './bundle-store.ts';

export interface StoreHarness {
  /** A store over fresh, empty storage. */
  fresh(): BundleStore;
  /** Another store over the same storage as `store`, as after a restart. */
  reopen(store: BundleStore): BundleStore;
  /** Flips a byte of a stored bundle file. */
  damage(store: BundleStore, sha256: string): void;
}

export function bundleStoreContract(name: string, harness: StoreHarness): void {
  describe(`${name} (BundleStore contract)`, () => {
    it('starts empty', () => {
      const store = harness.fresh();
      expect(store.readRoot()).toBeUndefined();
      expect(store.readRecord()).toBeUndefined();
      expect(store.readBundle('0'.repeat(64))).toBeUndefined();
    });

    it('keeps root, record and bundles across a reopen', () => {
      const store = harness.fresh();
      const bytes = Uint8Array.from([1, 2, 3, 4]);
      const sha256 = store.writeBundle(bytes);
      expect(sha256).toBe(sha256Hex(bytes));
      store.writeRoot({ signed: { version: 3 }, signatures: [] });
      const record = { installed: sha256, lastGood: null, highestVersion: 7, probation: { restarts: 1 } };
      store.writeRecord(record);
      const reopened = harness.reopen(store);
      expect(reopened.readRoot()).toEqual({ signed: { version: 3 }, signatures: [] });
      expect(reopened.readRecord()).toEqual(record);
      expect(Array.from(reopened.readBundle(sha256) ?? [])).toEqual([1, 2, 3, 4]);
    });

    it('replaces the record as a whole', () => {
      const store = harness.fresh();
      store.writeRecord({ installed: null, lastGood: null, highestVersion: 1, probation: { restarts: 0 } });
      store.writeRecord({ installed: null, lastGood: null, highestVersion: 2, probation: null });
      expect(harness.reopen(store).readRecord()).toEqual({ installed: null, lastGood: null, highestVersion: 2, probation: null });
    });

    it('reads a damaged bundle file as missing', () => {
      const store = harness.fresh();
      const sha256 = store.writeBundle(Uint8Array.from([9, 9, 9]));
      harness.damage(store, sha256);
      expect(harness.reopen(store).readBundle(sha256)).toBeUndefined();
    });

    it('removes every bundle file except those kept', () => {
      const store = harness.fresh();
      const keep = store.writeBundle(Uint8Array.from([1]));
      const drop = store.writeBundle(Uint8Array.from([2]));
      store.removeBundlesExcept([keep]);
      const reopened = harness.reopen(store);
      expect(reopened.readBundle(keep)).toBeDefined();
      expect(reopened.readBundle(drop)).toBeUndefined();
    });
  });
}
