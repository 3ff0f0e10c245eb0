// Continuity with gateways that ran before the durable log: they reserved sequence numbers in
// blocks in `sequence.json`. A new, empty log starts after the last reservation, so the hub never
// sees a number twice from one gateway (it would drop the new point as a duplicate).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export function legacySequenceFloor(dataDir: string): bigint | undefined {
  let text: string;
  try {
    text = readFileSync(join(dataDir, 'sequence.json'), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = JSON.parse(text) as { reservedUntil?: unknown };
    return typeof parsed.reservedUntil === 'string' && /^\d{1,15}$/.test(parsed.reservedUntil) ? BigInt(parsed.reservedUntil) : undefined;
  } catch {
    return undefined;
  }
}
