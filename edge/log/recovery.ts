// Opening the log directory: every segment header is checked before anything is touched (another
// gateway's log or a newer format is refused as is), then every segment is scanned, its torn or
// corrupt tail cut back to the last whole record, and the cut logged with the file and the bytes
// dropped. When the cut tail still holds whole records after the bad one (damage in the middle,
// not a torn write), the seqs those bytes could have held are written off as a damaged lost
// range, so a seq that was ever durable is never handed out again.
import { MillwrightError } from '../../common/errors.ts';
import type { Logger } from '../../common/log.ts';
import { edgeErrors } from '../errors.ts';
import type { DurableLogLimits } from './log-limits.ts';
import { DecodedRecord, decodeRecord, decodeStatus, encodeLost, kindCode, recordBytesMin } from './record-codec.ts';
import { decodeHeader, headerBytesMax, parseSegmentName, type SegmentHeader } from './segment-header.ts';
import { scanSegment, type Segment } from './segment.ts';
import type { LogStorage } from './storage.ts';

export interface Recovered {
  /** Segments in seq order; the last is the one appends continue. */
  readonly segments: Segment[];
  readonly usedBytes: number;
  readonly bytesDropped: number;
}

interface Found {
  readonly name: string;
  readonly nameSeq: number;
  readonly header: SegmentHeader | undefined;
}

/** Files a crash may leave behind: a compaction that never reached its rename. */
export const compactionSuffix = '.compact';
export const damagedSuffix = '.damaged';

/**
 * Seqs that whole records found after `from` could account for, or 0 when none is found (a torn
 * tail). Conservative: every `recordBytesMin` bytes of the tail could have been one record.
 */
function seqsBeyondDamage(bytes: Buffer, from: number): number {
  const record = new DecodedRecord();
  let found = false;
  let extraSeqs = 0;
  for (let offset = from + 1; offset + recordBytesMin <= bytes.length; ) {
    if (decodeRecord(bytes, offset, bytes.length, record) !== decodeStatus.ok) {
      offset++;
      continue;
    }
    found = true;
    if (record.kind === kindCode.lost) extraSeqs += record.lostCount - 1;
    offset = record.end;
  }
  return found ? Math.ceil((bytes.length - from) / recordBytesMin) + extraSeqs : 0;
}

async function readHeaders(storage: LogStorage, names: readonly string[], gatewayId: string): Promise<Found[]> {
  const found: Found[] = [];
  for (const name of names) {
    const nameSeq = parseSegmentName(name);
    if (nameSeq === undefined) continue;
    const result = decodeHeader(await storage.read(name, 0, headerBytesMax));
    if (!result.ok && result.problem === 'version') {
      throw new MillwrightError(edgeErrors.logFormatUnsupported, `log segment ${name} has format version ${result.version ?? '?'}; this gateway reads version 1`, { file: name });
    }
    if (result.ok && result.header.gatewayId !== gatewayId) {
      throw new MillwrightError(
        edgeErrors.logForeignGateway,
        `log segment ${name} belongs to gateway '${result.header.gatewayId}', not '${gatewayId}': refusing to open another gateway's log (nothing was changed)`,
        { file: name, owner: result.header.gatewayId, gatewayId },
      );
    }
    found.push({ name, nameSeq, header: result.ok && result.header.firstSeq === nameSeq ? result.header : undefined });
  }
  return found.sort((a, b) => a.nameSeq - b.nameSeq);
}

export async function recoverSegments(storage: LogStorage, gatewayId: string, limits: DurableLogLimits, logger: Logger): Promise<Recovered> {
  const names = await storage.list();
  const found = await readHeaders(storage, names, gatewayId);
  let directoryChanged = false;
  for (const name of names.filter((candidate) => candidate.endsWith(compactionSuffix))) {
    await storage.delete(name);
    directoryChanged = true;
  }
  const segments: Segment[] = [];
  let usedBytes = 0;
  let bytesDropped = 0;
  for (const [index, entry] of found.entries()) {
    const last = index === found.length - 1;
    const size = await storage.size(entry.name);
    if (entry.header === undefined) {
      bytesDropped += size;
      if (last) {
        logger.warn('log segment with a torn header removed (it was being created when the gateway stopped)', { file: entry.name, bytesDropped: size });
        await storage.delete(entry.name);
      } else {
        logger.error('log segment with a damaged header set aside: its records are lost', { file: entry.name, bytesDropped: size, movedTo: entry.name + damagedSuffix });
        await storage.rename(entry.name, entry.name + damagedSuffix);
      }
      directoryChanged = true;
      continue;
    }
    const bytes = await storage.read(entry.name, 0, size);
    const scan = scanSegment(entry.name, entry.header, bytes, limits.indexEveryRecords);
    const segment = scan.segment;
    if (scan.validBytes < bytes.length) {
      const dropped = bytes.length - scan.validBytes;
      bytesDropped += dropped;
      const lostSeqs = last ? seqsBeyondDamage(bytes, scan.validBytes) : 0;
      const fields = { file: entry.name, bytesDropped: dropped, lastSeq: segment.lastSeq, problem: scan.stop === decodeStatus.truncated ? 'torn' : 'checksum' };
      if (lostSeqs > 0) logger.error('log segment damaged before its end: tail cut, seqs written off as lost', { ...fields, lostSeqs });
      else logger.warn(last ? 'log tail cut back to the last whole record' : 'damaged log segment cut back to its last whole record', fields);
      await storage.truncate(entry.name, scan.validBytes);
      if (lostSeqs > 0) {
        const record = Buffer.alloc(16);
        const end = encodeLost(record, 0, 'damaged', lostSeqs);
        await storage.write(entry.name, scan.validBytes, record.subarray(0, end));
        segment.noteLost(scan.validBytes, scan.validBytes + end, lostSeqs, 'damaged');
        segment.markDurable();
      }
      await storage.fdatasync(entry.name);
    }
    const previous = segments[segments.length - 1];
    if (previous !== undefined && previous.lastSeq >= segment.firstSeq) {
      throw new MillwrightError(edgeErrors.logCorrupt, `log segments ${previous.name} and ${segment.name} overlap: seq ${segment.firstSeq} appears twice`, { file: segment.name });
    }
    usedBytes += segment.durableBytes;
    segments.push(segment);
  }
  if (directoryChanged) await storage.fsyncDirectory();
  return { segments, usedBytes, bytesDropped };
}
