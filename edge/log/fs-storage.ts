// The node:fs adapter of the log's storage port: one directory, one cached file handle per file
// the log writes to, positional writes, fdatasync per file and fsync of the directory itself.
// Everything that waits for the device (fdatasync, reads, directory changes) goes through the
// libuv thread pool, so a slow or hung disk blocks no JavaScript; see write() for the exception.
import { writeSync } from 'node:fs';
import { mkdir, open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { assert } from '../../common/assert.ts';
import { isStorageName, type LogStorage } from './storage.ts';

/** Open file handles kept at most (the active segment, the one being read, a compaction). */
const handlesMax = 8;

export class FsStorage implements LogStorage {
  readonly directory: string;
  readonly #handles = new Map<string, FileHandle>();
  #closed = false;

  private constructor(directory: string) {
    this.directory = directory;
  }

  /** Opens (creating it if needed) the log directory. */
  static async open(directory: string): Promise<FsStorage> {
    await mkdir(directory, { recursive: true });
    return new FsStorage(directory);
  }

  #path(name: string): string {
    assert(!this.#closed, 'storage used after close');
    assert(isStorageName(name), `not a storage file name: ${name}`);
    return join(this.directory, name);
  }

  async #handle(name: string): Promise<FileHandle> {
    const cached = this.#handles.get(name);
    if (cached !== undefined) {
      this.#handles.delete(name); // most recently used last
      this.#handles.set(name, cached);
      return cached;
    }
    const handle = await open(this.#path(name), 'r+');
    const raced = this.#handles.get(name);
    if (raced !== undefined) {
      await handle.close();
      return raced;
    }
    await this.#remember(name, handle);
    return handle;
  }

  /** Caches a handle, closing the least recently used one past handlesMax. The log runs one
   *  storage operation at a time, so an evicted handle is never in use. */
  async #remember(name: string, handle: FileHandle): Promise<void> {
    this.#handles.set(name, handle);
    if (this.#handles.size <= handlesMax) return;
    const [oldestName, oldest] = this.#handles.entries().next().value as [string, FileHandle];
    this.#handles.delete(oldestName);
    await oldest.close();
  }

  async #forget(name: string): Promise<void> {
    const handle = this.#handles.get(name);
    if (handle === undefined) return;
    this.#handles.delete(name);
    await handle.close();
  }

  async list(): Promise<string[]> {
    assert(!this.#closed, 'storage used after close');
    const entries = await readdir(this.directory, { withFileTypes: true });
    return entries.filter((entry) => entry.isFile()).map((entry) => entry.name);
  }

  async size(name: string): Promise<number> {
    return (await stat(this.#path(name))).size;
  }

  async read(name: string, position: number, length: number): Promise<Buffer> {
    const handle = await this.#handle(name);
    const buffer = Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buffer.subarray(0, filled);
  }

  async create(name: string): Promise<void> {
    await this.#forget(name);
    await this.#remember(name, await open(this.#path(name), 'w+'));
  }

  /** Copies into the page cache synchronously: a write takes microseconds and does not wait for
   *  the device (fdatasync does, and that goes through the thread pool). One thread-pool round
   *  trip per commit instead of two halves the wake-ups a commit costs on a busy machine. */
  async write(name: string, position: number, data: Uint8Array): Promise<void> {
    const fd = (await this.#handle(name)).fd;
    let written = 0;
    while (written < data.length) written += writeSync(fd, data, written, data.length - written, position + written);
  }

  async fdatasync(name: string): Promise<void> {
    await (await this.#handle(name)).datasync();
  }

  async fsyncDirectory(): Promise<void> {
    assert(!this.#closed, 'storage used after close');
    const handle = await open(this.directory, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  async truncate(name: string, length: number): Promise<void> {
    await (await this.#handle(name)).truncate(length);
  }

  async delete(name: string): Promise<void> {
    const path = this.#path(name);
    await this.#forget(name);
    await unlink(path);
  }

  async rename(from: string, to: string): Promise<void> {
    const fromPath = this.#path(from);
    const toPath = this.#path(to);
    await this.#forget(from);
    await this.#forget(to);
    await rename(fromPath, toPath);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    const handles = [...this.#handles.values()];
    this.#handles.clear();
    this.#closed = true;
    await Promise.all(handles.map((handle) => handle.close()));
  }
}
