// Opening the log directory: every segment header is checked before anything is touched (another
// gateway's log or a newer format is refused as is), then every segment is scanned, its torn or
// corrupt tail cut back to the last whole record, and the cut logged with the file and the bytes
// dropped. A torn write continues the sequence after the last whole record; damage that may
// have hit durable records writes off the seqs the dropped bytes could have held (a damaged lost
// range), so a seq that was ever durable is not handed out again (see seqsToWriteOff).
import { MillwrightError } from '../../common/errors.ts';
import type { Logger } from '../../common/log.ts';
import { edgeErrors } from '../errors.ts';
import type { DurableLogLimits } from './log-limits.ts';
import { DecodedRecord, decodeRecord, decodeStatus, encodeLost, kindCode, recordBytesMin, type DecodeStatus } from './record-codec.ts';
import { decodeHeader, headerBytesMax, parseSegmentName, type SegmentHeader } from './segment-header.ts';
import { scanSegment, type Segment } from './segment.ts';
import type { LogStorage } from './storage.ts';

export interface Recovered {
  /** Segments in seq order; the last is the one appends continue. */
  readonly segments: Segment[];
  readonly usedBytes: number;
  readonly bytesDropped: number;
  /** The next seq must be at least this (seqs a damaged last segment may have held), or 0. */
  readonly nextSeqAtLeast: number;
}

interface Found {
  readonly name: string;
  readonly nameSeq: number;
  /** Undefined when the header is damaged, torn, or names another first seq than the file name. */
  readonly header: SegmentHeader | undefined;
  readonly torn: boolean;
}

/** Files a crash may leave behind: a compaction that never reached its rename. */
export const compactionSuffix = '.compact';
export const damagedSuffix = '.damaged';

/**
 * How many seqs to write off after cutting the tail at `from`, the last whole record ending with
 * seq `lastSeq`. A torn write (the record runs past the end of the file, or the rest is zeros,
 * and no whole record follows) loses only bytes that were never synced: nothing to write off,
 * the sequence continues after the last whole record. Any other bad record is damage to bytes
 * that may have been durable and seen by the hub: every `recordBytesMin` bytes of the dropped
 * tail could have held a seq (plus what lost records after the damage covered, and at least up
 * to the last commit marker found after it), so that many seqs are never handed out again.
 */
function seqsToWriteOff(bytes: Buffer, from: number, stop: DecodeStatus, lastSeq: number): number {
  const record = new DecodedRecord();
  let wholeRecordsAfter = false;
  let extraSeqs = 0;
  let markedSeq = 0;
  for (let offset = from + 1; offset + recordBytesMin <= bytes.length; ) {
    if (decodeRecord(bytes, offset, bytes.length, record, false) !== decodeStatus.ok) {
      offset++;
      continue;
    }
    wholeRecordsAfter = true;
    if (record.kind === kindCode.lost) extraSeqs += record.lostCount - 1;
    if (record.kind === kindCode.commit) markedSeq = Math.max(markedSeq, record.commitSeq);
    offset = record.end;
  }
  const zerosOnly = bytes.subarray(from).every((byte) => byte === 0);
  if (!wholeRecordsAfter && (stop === decodeStatus.truncated || zerosOnly)) return 0;
  return Math.max(Math.ceil((bytes.length - from) / recordBytesMin) + extraSeqs, markedSeq - lastSeq);
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
    found.push({ name, nameSeq, header: result.ok && result.header.firstSeq === nameSeq ? result.header : undefined, torn: !result.ok && result.problem === 'short' });
  }
  return found.sort((a, b) => a.nameSeq - b.nameSeq);
}

/** A segment whose header is bad: a torn creation is removed, damage is set aside for forensics. */
async function setAside(storage: LogStorage, entry: Found, last: boolean, logger: Logger): Promise<{ bytesDropped: number; nextSeqAtLeast: number }> {
  const bytes = await storage.read(entry.name, 0, await storage.size(entry.name));
  if (last && (entry.torn || bytes.every((byte) => byte === 0))) {
    // The header is synced with the first records, so a torn one means nothing in it was durable.
    logger.warn('log segment with a torn header removed (it was being created when the gateway stopped)', { file: entry.name, bytesDropped: bytes.length });
    await storage.delete(entry.name);
    return { bytesDropped: bytes.length, nextSeqAtLeast: 0 };
  }
  const lostSeqs = Math.ceil(bytes.length / recordBytesMin);
  logger.error('log segment with a damaged header set aside: its records are lost', { file: entry.name, bytesDropped: bytes.length, movedTo: entry.name + damagedSuffix, lostSeqs });
  await storage.rename(entry.name, entry.name + damagedSuffix);
  // Its records may have been durable: an older segment is followed by higher seqs anyway, the
  // last one makes the sequence continue past every seq its bytes could have held.
  return { bytesDropped: bytes.length, nextSeqAtLeast: last ? entry.nameSeq + lostSeqs : 0 };
}

/** Scans one segment and cuts a torn or damaged tail; returns its state and the bytes dropped. */
async function recoverSegment(storage: LogStorage, entry: Found & { header: SegmentHeader }, last: boolean, limits: DurableLogLimits, logger: Logger): Promise<{ segment: Segment; bytesDropped: number }> {
  const bytes = await storage.read(entry.name, 0, await storage.size(entry.name));
  const scan = scanSegment(entry.name, entry.header, bytes, limits.indexEveryRecords);
  const segment = scan.segment;
  if (scan.validBytes === bytes.length) return { segment, bytesDropped: 0 };
  const dropped = bytes.length - scan.validBytes;
  const lostSeqs = last ? seqsToWriteOff(bytes, scan.validBytes, scan.stop, segment.lastSeq) : 0;
  const fields = { file: entry.name, bytesDropped: dropped, lastWholeSeq: segment.lastSeq };
  if (!last) logger.error('damaged log segment cut back to its last whole record; the seqs up to the next segment are lost', fields);
  else if (lostSeqs > 0) logger.error('damaged log tail cut back to the last whole record; seqs it may have held written off as lost', { ...fields, lostSeqs });
  else logger.warn('torn log tail cut back to the last whole record', fields);
  await storage.truncate(entry.name, scan.validBytes);
  if (lostSeqs > 0) {
    const record = Buffer.alloc(16);
    const end = encodeLost(record, 0, 'damaged', lostSeqs);
    await storage.write(entry.name, scan.validBytes, record.subarray(0, end));
    segment.noteLost(scan.validBytes, scan.validBytes + end, lostSeqs, 'damaged');
    segment.markDurable();
  }
  await storage.fdatasync(entry.name);
  return { segment, bytesDropped: dropped };
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
  let nextSeqAtLeast = 0;
  for (const [index, entry] of found.entries()) {
    const last = index === found.length - 1;
    if (entry.header === undefined) {
      const outcome = await setAside(storage, entry, last, logger);
      bytesDropped += outcome.bytesDropped;
      nextSeqAtLeast = outcome.nextSeqAtLeast;
      directoryChanged = true;
      continue;
    }
    const { segment, bytesDropped: dropped } = await recoverSegment(storage, { ...entry, header: entry.header }, last, limits, logger);
    bytesDropped += dropped;
    const previous = segments[segments.length - 1];
    if (previous !== undefined && previous.lastSeq >= segment.firstSeq) {
      throw new MillwrightError(edgeErrors.logCorrupt, `log segments ${previous.name} and ${segment.name} overlap: seq ${segment.firstSeq} appears twice`, { file: segment.name });
    }
    usedBytes += segment.durableBytes;
    segments.push(segment);
  }
  if (directoryChanged) await storage.fsyncDirectory();
  return { segments, usedBytes, bytesDropped, nextSeqAtLeast };
}
