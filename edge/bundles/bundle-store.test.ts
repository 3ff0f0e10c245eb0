import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isMillwrightError } from '../../common/errors.ts';
import { bundleStoreContract } from './bundle-store-contract.ts';
import { MemoryBundleStore, type BundleStore } from './bundle-store.ts';
import { FileBundleStore } from './file-bundle-store.ts';

const folders: string[] = [];
const folderOf = new WeakMap<BundleStore, string>();
afterAll(() => folders.splice(0).forEach((folder) => rmSync(folder, { recursive: true, force: true })));

function freshFolder(): string {
  const folder = mkdtempSync(join(tmpdir(), 'mw-bundles-'));
  folders.push(folder);
  return folder;
}

bundleStoreContract('MemoryBundleStore', {
  fresh: () => new MemoryBundleStore(),
  reopen: (store) => store,
  damage: (store, sha256) => (store as MemoryBundleStore).damage(sha256),
});

bundleStoreContract('FileBundleStore', {
  fresh: () => {
    const folder = freshFolder();
    const store = new FileBundleStore(folder);
    folderOf.set(store, folder);
    return store;
  },
  reopen: (store) => {
    const folder = folderOf.get(store)!;
    const reopened = new FileBundleStore(folder);
    folderOf.set(reopened, folder);
    return reopened;
  },
  damage: (store, sha256) => {
    const file = join(folderOf.get(store)!, 'bundles', `${sha256}.mwb`);
    const bytes = readFileSync(file);
    bytes[0]! ^= 0xff;
    writeFileSync(file, bytes);
  },
});

describe('FileBundleStore on disk', () => {
  it('leaves no temp files behind and keeps files private to the gateway user', () => {
    const folder = freshFolder();
    const store = new FileBundleStore(folder);
    const sha256 = store.writeBundle(Uint8Array.from([1, 2]));
    store.writeRecord({ installed: sha256, lastGood: null, highestVersion: 1, probation: null });
    expect(readdirSync(folder).sort()).toEqual(['bundles', 'state.json']);
    expect(readdirSync(join(folder, 'bundles'))).toEqual([`${sha256}.mwb`]);
    expect(statSync(join(folder, 'state.json')).mode & 0o777).toBe(0o600);
  });

  it('refuses a damaged install record with a coded error', () => {
    const folder = freshFolder();
    writeFileSync(join(folder, 'state.json'), '{"installed": 12}');
    let code = 'accepted';
    try {
      new FileBundleStore(folder).readRecord();
    } catch (error) {
      if (!isMillwrightError(error)) throw error;
      code = error.code;
    }
    expect(code).toBe('EDGE_BUNDLE_STATE_CORRUPT');
  });
});
