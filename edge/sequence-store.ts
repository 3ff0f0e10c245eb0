// The gateway's 64-bit record sequence, which must survive restarts and never repeat: numbers are
// reserved in blocks recorded durably (write, fdatasync, rename, directory fsync) before any of
// them is used. A crash skips the rest of the current block; the hub sees that as a gap, which is
// honest, whereas reusing a number would make the hub drop new points as duplicates.
// The durable log of the store-and-forward issue takes over this job from its own records.
import { closeSync, fdatasyncSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { MillwrightError } from '../common/errors.ts';
import { edgeErrors } from './errors.ts';

export const sequenceBlockSize = 100_000n;

export class SequenceStore {
  readonly #directory: string;
  readonly #file: string;
  #next: bigint;
  #reservedUntil: bigint;

  constructor(directory: string) {
    this.#directory = directory;
    this.#file = join(directory, 'sequence.json');
    mkdirSync(directory, { recursive: true });
    this.#next = this.#readReserved() ?? 1n;
    this.#reservedUntil = this.#next;
  }

  /** The next sequence number that will be handed out. */
  get next(): bigint {
    return this.#next;
  }

  /** Hands out `count` consecutive numbers and returns the first. */
  take(count: number): bigint {
    const first = this.#next;
    const end = first + BigInt(count);
    if (end > this.#reservedUntil) this.#reserve(end + sequenceBlockSize);
    this.#next = end;
    return first;
  }

  #readReserved(): bigint | undefined {
    let text: string;
    try {
      text = readFileSync(this.#file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new MillwrightError(edgeErrors.stateUnwritable, `cannot read ${this.#file}: ${(error as Error).message}`);
    }
    const parsed = JSON.parse(text) as { reservedUntil?: unknown };
    if (typeof parsed.reservedUntil !== 'string' || !/^\d+$/.test(parsed.reservedUntil)) {
      throw new MillwrightError(edgeErrors.stateUnwritable, `${this.#file} is corrupt: reservedUntil must be a decimal string`);
    }
    return BigInt(parsed.reservedUntil);
  }

  #reserve(until: bigint): void {
    const temporary = `${this.#file}.tmp`;
    try {
      const fd = openSync(temporary, 'w');
      writeSync(fd, `${JSON.stringify({ reservedUntil: until.toString() })}\n`);
      fdatasyncSync(fd);
      closeSync(fd);
      renameSync(temporary, this.#file);
      const directory = openSync(this.#directory, 'r');
      fsyncSync(directory);
      closeSync(directory);
    } catch (error) {
      throw new MillwrightError(edgeErrors.stateUnwritable, `cannot reserve sequence numbers in ${this.#file}: ${(error as Error).message}`);
    }
    this.#reservedUntil = until;
  }
}
