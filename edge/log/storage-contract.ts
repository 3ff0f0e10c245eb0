// The contract every LogStorage adapter passes (STYLE habit 5): fs-storage.test.ts and
// memory-storage.test.ts both run it, so the log behaves the same on the model disk as on a real one.
import { afterEach, describe, expect, it } from 'vitest';
import type { LogStorage } from './storage.ts';

export interface StorageUnderTest {
  readonly storage: LogStorage;
  cleanup(): Promise<void>;
}

const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');

async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<void> {
  await expect(promise).rejects.toMatchObject({ code });
}

export function storageContract(adapter: string, make: () => Promise<StorageUnderTest>): void {
  describe(`${adapter} passes the log storage contract`, () => {
    let current: StorageUnderTest | undefined;
    const open = async (): Promise<LogStorage> => {
      current = await make();
      return current.storage;
    };
    afterEach(async () => {
      await current?.cleanup();
      current = undefined;
    });

    it('writes at positions, then reads back the bytes and reports the size', async () => {
      const storage = await open();
      await storage.create('a.log');
      await storage.write('a.log', 0, bytes('hello '));
      await storage.write('a.log', 6, bytes('world'));
      await storage.write('a.log', 0, bytes('J'));
      expect((await storage.read('a.log', 0, 64)).toString()).toBe('Jello world');
      expect((await storage.read('a.log', 6, 3)).toString()).toBe('wor');
      expect(await storage.size('a.log')).toBe(11);
    });

    it('reads fewer bytes at the end of a file and none past it', async () => {
      const storage = await open();
      await storage.create('a.log');
      await storage.write('a.log', 0, bytes('abc'));
      expect((await storage.read('a.log', 1, 10)).toString()).toBe('bc');
      expect((await storage.read('a.log', 10, 10)).length).toBe(0);
    });

    it('extends a file with zeros when writing past its end', async () => {
      const storage = await open();
      await storage.create('a.log');
      await storage.write('a.log', 4, bytes('x'));
      expect([...(await storage.read('a.log', 0, 8))]).toEqual([0, 0, 0, 0, 120]);
    });

    it('create truncates an existing file', async () => {
      const storage = await open();
      await storage.create('a.log');
      await storage.write('a.log', 0, bytes('old contents'));
      await storage.create('a.log');
      expect(await storage.size('a.log')).toBe(0);
    });

    it('truncate shortens a file', async () => {
      const storage = await open();
      await storage.create('a.log');
      await storage.write('a.log', 0, bytes('abcdef'));
      await storage.truncate('a.log', 2);
      expect((await storage.read('a.log', 0, 10)).toString()).toBe('ab');
    });

    it('lists every file, and delete removes one', async () => {
      const storage = await open();
      await storage.create('a.log');
      await storage.create('b.log');
      expect((await storage.list()).sort()).toEqual(['a.log', 'b.log']);
      await storage.delete('a.log');
      expect(await storage.list()).toEqual(['b.log']);
    });

    it('rename replaces the destination with the source', async () => {
      const storage = await open();
      await storage.create('a.log');
      await storage.write('a.log', 0, bytes('new'));
      await storage.create('b.log');
      await storage.write('b.log', 0, bytes('old old'));
      await storage.rename('a.log', 'b.log');
      expect(await storage.list()).toEqual(['b.log']);
      expect((await storage.read('b.log', 0, 10)).toString()).toBe('new');
      await storage.write('b.log', 3, bytes('er'));
      expect((await storage.read('b.log', 0, 10)).toString()).toBe('newer');
    });

    it('syncs files and the directory', async () => {
      const storage = await open();
      await storage.create('a.log');
      await storage.write('a.log', 0, bytes('durable'));
      await storage.fdatasync('a.log');
      await storage.fsyncDirectory();
      expect((await storage.read('a.log', 0, 10)).toString()).toBe('durable');
    });

    it('rejects operations on a missing file with ENOENT', async () => {
      const storage = await open();
      await rejectsWithCode(storage.read('missing.log', 0, 1), 'ENOENT');
      await rejectsWithCode(storage.size('missing.log'), 'ENOENT');
      await rejectsWithCode(storage.delete('missing.log'), 'ENOENT');
      await rejectsWithCode(storage.rename('missing.log', 'other.log'), 'ENOENT');
    });
  });
}
