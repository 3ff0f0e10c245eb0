import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MillwrightError } from '../common/errors.ts';
import { SequenceStore, sequenceBlockSize } from './sequence-store.ts';

describe('SequenceStore', () => {
  const directories: string[] = [];
  const fresh = (): string => {
    const directory = mkdtempSync(join(tmpdir(), 'mw-seq-'));
    directories.push(directory);
    return directory;
  };
  afterEach(() => directories.splice(0).forEach((directory) => rmSync(directory, { recursive: true, force: true })));

  it('hands out consecutive numbers starting at 1', () => {
    const store = new SequenceStore(fresh());
    expect(store.take(3)).toBe(1n);
    expect(store.take(2)).toBe(4n);
    expect(store.next).toBe(6n);
  });

  it('never reuses a number after a restart, even without a clean shutdown', () => {
    const directory = fresh();
    const first = new SequenceStore(directory);
    const used = first.take(10);
    const restarted = new SequenceStore(directory);
    const after = restarted.take(1);
    expect(after > used + 9n).toBe(true);
    expect(after).toBe(11n + sequenceBlockSize);
  });

  it('reserves a new block when a take crosses the reservation', () => {
    const directory = fresh();
    const store = new SequenceStore(directory);
    store.take(Number(sequenceBlockSize) + 5);
    const restarted = new SequenceStore(directory);
    expect(restarted.next > store.next).toBe(true);
  });

  it('refuses a corrupt state file with a coded error', () => {
    const directory = fresh();
    writeFileSync(join(directory, 'sequence.json'), '{"reservedUntil": 12}');
    expect(() => new SequenceStore(directory)).toThrow(MillwrightError);
  });
});
