import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FsStorage } from './fs-storage.ts';
import { storageContract } from './storage-contract.ts';

storageContract('FsStorage', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'millwright-fs-storage-'));
  const storage = await FsStorage.open(join(directory, 'log'));
  return {
    storage,
    cleanup: async () => {
      await storage.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
});

describe('FsStorage', () => {
  it('keeps working past its cache of open files', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'millwright-fs-storage-'));
    const storage = await FsStorage.open(directory);
    try {
      for (let index = 0; index < 20; index++) {
        await storage.create(`f${index}.log`);
        await storage.write(`f${index}.log`, 0, Buffer.from(`file ${index}`));
      }
      for (let index = 0; index < 20; index++) expect((await storage.read(`f${index}.log`, 0, 64)).toString()).toBe(`file ${index}`);
    } finally {
      await storage.close();
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('refuses names that are paths', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'millwright-fs-storage-'));
    const storage = await FsStorage.open(directory);
    try {
      await expect(storage.create('../escape.log')).rejects.toThrow(/not a storage file name/);
    } finally {
      await storage.close();
      await rm(directory, { recursive: true, force: true });
    }
  });
});
