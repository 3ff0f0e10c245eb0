// The in-memory adapter of the log's storage port, a small model of a disk that can lose power.
// Each file remembers the bytes that were written and the bytes that were last synced; the
// directory remembers its entries as of the last directory fsync. powerCut() keeps only what was
// durable (optionally some unsynced bytes of each file, to cut a write at any byte), and faults
// (ENOSPC, EIO) can be injected per operation or arise from a capacity in bytes.
// close() releases nothing: like a disk, the files outlive the process, so a test reopens them.
import { assert } from '../../common/assert.ts';
import { isStorageName, storageError, type LogStorage } from './storage.ts';

class File {
  data = new Uint8Array(256);
  length = 0;
  synced = new Uint8Array(0);
  syncedLength = 0;
  /** Lowest offset changed since the last fdatasync (Infinity when clean). */
  dirtyFrom = Number.POSITIVE_INFINITY;

  reserve(length: number): void {
    if (length <= this.data.length) return;
    const grown = new Uint8Array(Math.max(length, this.data.length * 2));
    grown.set(this.data.subarray(0, this.length));
    this.data = grown;
  }

  resize(length: number): void {
    this.reserve(length);
    if (length > this.length) this.data.fill(0, this.length, length);
    this.dirtyFrom = Math.min(this.dirtyFrom, this.length, length);
    this.length = length;
  }

  sync(): void {
    if (this.synced.length < this.length) {
      const grown = new Uint8Array(Math.max(this.length, this.synced.length * 2));
      grown.set(this.synced.subarray(0, this.syncedLength));
      this.synced = grown;
    }
    const from = Math.min(this.dirtyFrom, this.length, this.syncedLength);
    this.synced.set(this.data.subarray(from, this.length), from);
    this.syncedLength = this.length;
    this.dirtyFrom = Number.POSITIVE_INFINITY;
  }

  /** The bytes that survive a power cut: the synced ones, then `keep` of the unsynced tail.
   *  Whatever survived is on the disk after the restart, so it counts as synced from then on. */
  survive(keep: number): void {
    const kept = Math.max(0, Math.min(keep, this.length - this.syncedLength));
    const content = new Uint8Array(Math.max(256, this.syncedLength + kept));
    content.set(this.synced.subarray(0, this.syncedLength));
    content.set(this.data.subarray(this.syncedLength, this.syncedLength + kept), this.syncedLength);
    this.data = content;
    this.length = this.syncedLength + kept;
    this.synced = content.slice();
    this.syncedLength = this.length;
    this.dirtyFrom = Number.POSITIVE_INFINITY;
  }

  copy(): File {
    const copy = new File();
    copy.data = this.data.slice();
    copy.length = this.length;
    copy.synced = this.synced.slice();
    copy.syncedLength = this.syncedLength;
    copy.dirtyFrom = this.dirtyFrom;
    return copy;
  }
}

export type StorageOperation = Exclude<keyof LogStorage, 'close'>;

interface Fault {
  readonly operation: StorageOperation;
  readonly code: string;
  /** Matching calls to let through before failing. */
  skip: number;
  remaining: number;
  readonly name: string | undefined;
}

export interface PowerCutOptions {
  /** How many of a file's unsynced bytes survive (default 0: only synced bytes). */
  readonly keepUnsyncedBytes?: (name: string, unsyncedBytes: number) => number;
  /** Keep directory entries that were never fsynced (default false: they vanish). */
  readonly keepUnsyncedEntries?: boolean;
}

export class MemoryStorage implements LogStorage {
  #entries = new Map<string, File>();
  #durableEntries = new Map<string, File>();
  readonly #faults: Fault[] = [];
  readonly #holds = new Map<StorageOperation, Promise<void>>();
  /** Total file bytes past which writes fail with ENOSPC (after writing what fits). */
  capacityBytes = Number.POSITIVE_INFINITY;
  /** Operations performed, by name: lets tests count fdatasyncs and directory fsyncs. */
  readonly calls = new Map<StorageOperation, number>();
  /** Bytes returned by read(): lets tests check that reads use the index instead of rescanning. */
  bytesRead = 0;

  #file(operation: StorageOperation, name: string): File {
    this.#enter(operation, name);
    const file = this.#entries.get(name);
    if (file === undefined) throw storageError('ENOENT', operation, name);
    return file;
  }

  #enter(operation: StorageOperation, name: string): void {
    assert(operation === 'fsyncDirectory' || isStorageName(name), `not a storage file name: ${name}`);
    this.calls.set(operation, (this.calls.get(operation) ?? 0) + 1);
    const index = this.#faults.findIndex((fault) => fault.operation === operation && (fault.name === undefined || fault.name === name));
    const fault = this.#faults[index];
    if (fault === undefined) return;
    if (fault.skip > 0) {
      fault.skip--;
      return;
    }
    if (--fault.remaining <= 0) this.#faults.splice(index, 1);
    throw storageError(fault.code, operation, name);
  }

  /** Makes the next call of `operation` wait until the returned function is called. */
  hold(operation: StorageOperation): () => void {
    let release = (): void => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    this.#holds.set(operation, gate);
    return release;
  }

  async #passHold(operation: StorageOperation): Promise<void> {
    const gate = this.#holds.get(operation);
    if (gate === undefined) return;
    this.#holds.delete(operation);
    await gate;
  }

  /** Makes the next `times` calls of `operation` (on `name`, if given; after letting `skip` through) fail with `code`. */
  failNext(operation: StorageOperation, code: 'ENOSPC' | 'EIO' | 'EDQUOT' | 'EROFS', options: { times?: number; name?: string; skip?: number } = {}): void {
    this.#faults.push({ operation, code, skip: options.skip ?? 0, remaining: options.times ?? 1, name: options.name });
  }

  /** Every call of `operation` fails with `code` until heal(). */
  failAlways(operation: StorageOperation, code: 'ENOSPC' | 'EIO' | 'EDQUOT' | 'EROFS'): void {
    this.failNext(operation, code, { times: Number.POSITIVE_INFINITY });
  }

  /** Removes every injected fault and the capacity limit. */
  heal(): void {
    this.#faults.length = 0;
    this.capacityBytes = Number.POSITIVE_INFINITY;
  }

  usedBytes(): number {
    let total = 0;
    for (const file of this.#entries.values()) total += file.length;
    return total;
  }

  async list(): Promise<string[]> {
    this.calls.set('list', (this.calls.get('list') ?? 0) + 1);
    return [...this.#entries.keys()];
  }

  async size(name: string): Promise<number> {
    return this.#file('size', name).length;
  }

  async read(name: string, position: number, length: number): Promise<Buffer> {
    const file = this.#file('read', name);
    const end = Math.min(file.length, position + length);
    this.bytesRead += Math.max(0, end - position);
    return Buffer.from(file.data.slice(Math.min(position, end), end));
  }

  async create(name: string): Promise<void> {
    this.#enter('create', name);
    const existing = this.#entries.get(name);
    if (existing !== undefined) existing.resize(0);
    else this.#entries.set(name, new File());
  }

  async write(name: string, position: number, data: Uint8Array): Promise<void> {
    const file = this.#file('write', name);
    const growth = Math.max(0, position + data.length - file.length);
    const room = this.capacityBytes - this.usedBytes();
    const fits = growth <= room ? data.length : Math.max(0, Math.min(data.length, file.length + room - position));
    if (position + fits > file.length) file.resize(position + fits);
    file.data.set(data.subarray(0, fits), position);
    file.dirtyFrom = Math.min(file.dirtyFrom, position);
    if (fits < data.length) throw storageError('ENOSPC', 'write', name);
  }

  async fdatasync(name: string): Promise<void> {
    await this.#passHold('fdatasync');
    this.#file('fdatasync', name).sync();
  }

  async fsyncDirectory(): Promise<void> {
    this.#enter('fsyncDirectory', '');
    this.#durableEntries = new Map(this.#entries);
  }

  async truncate(name: string, length: number): Promise<void> {
    this.#file('truncate', name).resize(length);
  }

  async delete(name: string): Promise<void> {
    this.#file('delete', name);
    this.#entries.delete(name);
  }

  async rename(from: string, to: string): Promise<void> {
    const file = this.#file('rename', from);
    assert(isStorageName(to), `not a storage file name: ${to}`);
    this.#entries.delete(from);
    this.#entries.set(to, file);
  }

  async close(): Promise<void> {}

  /** Loses power: files keep their synced bytes (plus what `options` keeps), the directory its fsynced entries. */
  powerCut(options: PowerCutOptions = {}): void {
    const entries = new Map(options.keepUnsyncedEntries === true ? this.#entries : this.#durableEntries);
    for (const [name, file] of entries) file.survive(options.keepUnsyncedBytes?.(name, file.length - file.syncedLength) ?? 0);
    this.#entries = entries;
    this.#durableEntries = new Map(entries);
  }

  /** An independent copy of the whole disk, durable state included. */
  clone(): MemoryStorage {
    const copy = new MemoryStorage();
    const files = new Map<File, File>();
    const copyOf = (file: File): File => {
      let copied = files.get(file);
      if (copied === undefined) files.set(file, (copied = file.copy()));
      return copied;
    };
    for (const [name, file] of this.#entries) copy.#entries.set(name, copyOf(file));
    for (const [name, file] of this.#durableEntries) copy.#durableEntries.set(name, copyOf(file));
    copy.capacityBytes = this.capacityBytes;
    return copy;
  }

  /** Test helper: the current bytes of a file. */
  contents(name: string): Buffer {
    const file = this.#entries.get(name);
    assert(file !== undefined, `no file ${name}`);
    return Buffer.from(file.data.subarray(0, file.length));
  }

  /** Test helper: bytes of a file that are durable. */
  syncedLength(name: string): number {
    return this.#entries.get(name)?.syncedLength ?? 0;
  }

  /** Test helper: flips one bit of a file in place, as a failing disk might; the bit counts as synced. */
  flipBit(name: string, offset: number, bit: number): void {
    const file = this.#entries.get(name);
    assert(file !== undefined && offset < file.length, `no byte ${offset} in ${name}`);
    file.data[offset]! ^= 1 << bit;
    if (offset < file.syncedLength) file.synced[offset]! ^= 1 << bit;
  }

  /** Test helper: replaces a file's contents, durably. */
  plant(name: string, bytes: Uint8Array): void {
    const file = new File();
    file.resize(bytes.length);
    file.data.set(bytes);
    file.sync();
    this.#entries.set(name, file);
    this.#durableEntries.set(name, file);
  }
}
