// The storage port of the durable log: one flat directory of files, addressed by name. The log
// never touches node:fs itself; fs-storage.ts is the real adapter and memory-storage.ts the one
// tests use to cut power at any byte and to fail with ENOSPC or EIO. storage-contract.ts is the
// suite every adapter passes. Failures reject with Node-style errors carrying an errno `code`.

export interface LogStorage {
  /** Names of the files in the directory, in no particular order. */
  list(): Promise<string[]>;
  /** Current length of a file in bytes. */
  size(name: string): Promise<number>;
  /** Up to `length` bytes from `position`; fewer at the end of the file. */
  read(name: string, position: number, length: number): Promise<Buffer>;
  /** Creates an empty file, truncating it if it exists. Durable only after fdatasync and fsyncDirectory. */
  create(name: string): Promise<void>;
  /** Writes all of `data` at `position` (extending the file as needed). Not durable until fdatasync. */
  write(name: string, position: number, data: Uint8Array): Promise<void>;
  /** Makes the file's data and length durable. */
  fdatasync(name: string): Promise<void>;
  /** Makes the directory's entries (creations, renames, deletions) durable. */
  fsyncDirectory(): Promise<void>;
  truncate(name: string, length: number): Promise<void>;
  delete(name: string): Promise<void>;
  /** Replaces `to` with `from` atomically. */
  rename(from: string, to: string): Promise<void>;
  /** Releases open handles; the storage may not be used afterwards. */
  close(): Promise<void>;
}

export type DiskProblem = 'full' | 'failed';

/** Names a storage failure: a full disk (ENOSPC, EDQUOT) or any other failure. */
export function diskProblem(error: unknown): DiskProblem {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' ? 'full' : 'failed';
}

/** True for the errno-style errors (ENOSPC, EIO, EROFS, ...) storage raises, as opposed to bugs
 *  such as ERR_INVALID_ARG_TYPE or a failed assertion, which must not pass for a failing disk. */
export function isStorageError(error: unknown): boolean {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code);
}

/** A Node-style error, as adapters raise it. */
export function storageError(code: string, syscall: string, name: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${syscall} ${name}`), { code, syscall, path: name });
}

const namePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** File names are plain names inside the log directory, never paths. */
export function isStorageName(name: string): boolean {
  return namePattern.test(name);
}
