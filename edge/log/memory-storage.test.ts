import { describe, expect, it } from 'vitest';
import { MemoryStorage } from './memory-storage.ts';
import { storageContract } from './storage-contract.ts';

storageContract('MemoryStorage', async () => ({ storage: new MemoryStorage(), cleanup: async () => {} }));

const text = (buffer: Buffer): string => buffer.toString('utf8');

describe('MemoryStorage as a disk that loses power', () => {
  it('keeps only synced bytes of a file and only fsynced directory entries', async () => {
    const disk = new MemoryStorage();
    await disk.create('kept.log');
    await disk.write('kept.log', 0, Buffer.from('synced'));
    await disk.fdatasync('kept.log');
    await disk.fsyncDirectory();
    await disk.write('kept.log', 6, Buffer.from(' unsynced'));
    await disk.create('new.log');
    await disk.fdatasync('new.log');
    disk.powerCut();
    expect(await disk.list()).toEqual(['kept.log']);
    expect(text(await disk.read('kept.log', 0, 100))).toBe('synced');
  });

  it('can keep any number of a file’s unsynced bytes, to cut a write at any byte', async () => {
    const disk = new MemoryStorage();
    await disk.create('a.log');
    await disk.fsyncDirectory();
    await disk.write('a.log', 0, Buffer.from('abc'));
    await disk.fdatasync('a.log');
    await disk.write('a.log', 3, Buffer.from('defgh'));
    const copy = disk.clone();
    disk.powerCut({ keepUnsyncedBytes: () => 2 });
    expect(text(await disk.read('a.log', 0, 100))).toBe('abcde');
    copy.powerCut({ keepUnsyncedBytes: (_name, unsynced) => unsynced });
    expect(text(await copy.read('a.log', 0, 100))).toBe('abcdefgh');
  });

  it('reverts an unsynced rename and resurrects an unsynced delete', async () => {
    const disk = new MemoryStorage();
    await disk.create('a.log');
    await disk.create('b.log');
    await disk.fsyncDirectory();
    await disk.rename('a.log', 'c.log');
    await disk.delete('b.log');
    disk.powerCut();
    expect((await disk.list()).sort()).toEqual(['a.log', 'b.log']);
  });

  it('fails injected operations with the errno code, then recovers', async () => {
    const disk = new MemoryStorage();
    await disk.create('a.log');
    disk.failNext('fdatasync', 'EIO');
    await expect(disk.fdatasync('a.log')).rejects.toMatchObject({ code: 'EIO', syscall: 'fdatasync' });
    await disk.fdatasync('a.log');
    disk.failAlways('write', 'ENOSPC');
    await expect(disk.write('a.log', 0, Buffer.from('x'))).rejects.toMatchObject({ code: 'ENOSPC' });
    await expect(disk.write('a.log', 0, Buffer.from('x'))).rejects.toMatchObject({ code: 'ENOSPC' });
    disk.heal();
    await disk.write('a.log', 0, Buffer.from('x'));
  });

  it('writes what fits and fails with ENOSPC past its capacity', async () => {
    const disk = new MemoryStorage();
    disk.capacityBytes = 10;
    await disk.create('a.log');
    await expect(disk.write('a.log', 0, Buffer.from('0123456789abc'))).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(text(await disk.read('a.log', 0, 100))).toBe('0123456789');
    await disk.write('a.log', 0, Buffer.from('ABC')); // overwriting needs no new space
    expect(disk.usedBytes()).toBe(10);
  });
});
