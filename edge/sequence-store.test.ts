import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { legacySequenceFloor } from './sequence-store.ts';

describe('legacySequenceFloor', () => {
  const folders: string[] = [];
  const fresh = (): string => {
    const folder = mkdtempSync(join(tmpdir(), 'mw-seq-'));
    folders.push(folder);
    return folder;
  };
  afterEach(() => folders.splice(0).forEach((folder) => rmSync(folder, { recursive: true, force: true })));

  it('continues after the last block an older gateway reserved', () => {
    const folder = fresh();
    writeFileSync(join(folder, 'sequence.json'), '{"reservedUntil":"200001"}\n');
    expect(legacySequenceFloor(folder)).toBe(200_001n);
  });

  it('has no floor without a state file or with a corrupt one', () => {
    const folder = fresh();
    expect(legacySequenceFloor(folder)).toBeUndefined();
    writeFileSync(join(folder, 'sequence.json'), 'not json');
    expect(legacySequenceFloor(folder)).toBeUndefined();
  });
});
