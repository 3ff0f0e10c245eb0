// Applies the overflow policy to the segments on disk, oldest first, until enough bytes are free.
// `thin-oldest` thins every older segment to one point per tag per minute before it drops any
// telemetry; `drop-oldest-telemetry` drops it straight away. The active segment and any segment
// with unwritten bytes are left alone. A rewrite goes to <name>.compact, is synced, renamed over
// the original and the directory synced, so a crash leaves either the old or the new file.
import type { Logger } from '../../common/log.ts';
import { compactSegment, type CompactionMode } from './compaction.ts';
import type { DurableLogLimits, OverflowPolicy } from './log-limits.ts';
import { compactionSuffix } from './recovery.ts';
import { decodeHeader } from './segment-header.ts';
import { scanSegment, type Segment } from './segment.ts';
import type { LogStorage } from './storage.ts';
import { assert } from '../../common/assert.ts';

export interface OverflowContext {
  readonly storage: LogStorage;
  /** The log's segments in seq order; rewritten segments are replaced in place. */
  readonly segments: Segment[];
  readonly gatewayId: string;
  readonly limits: DurableLogLimits;
  readonly logger: Logger;
  readonly policy: OverflowPolicy;
  /** Segments the policy may rewrite: whole on disk and not the active one. */
  readonly eligible: (segment: Segment) => boolean;
  /** Called as soon as a rewritten segment replaced the original. */
  readonly onRewrite: (freedBytes: number, removedPoints: number) => void;
}

async function rewrite(context: OverflowContext, index: number, mode: CompactionMode): Promise<{ freedBytes: number; removedPoints: number }> {
  const { storage, segments } = context;
  const segment = segments[index]!;
  const bytes = await storage.read(segment.name, 0, segment.durableBytes);
  const decoded = decodeHeader(bytes);
  if (!decoded.ok || decoded.header.firstSeq !== segment.firstSeq || scanSegment(segment.name, decoded.header, bytes, Number.MAX_SAFE_INTEGER).validBytes !== bytes.length) {
    // Damaged since the log opened (the next open cuts it): leave it as it is, and say so.
    segment.damaged = true;
    context.logger.error('log segment damaged on disk since the log opened: the overflow policy leaves it alone', { file: segment.name });
    return { freedBytes: 0, removedPoints: 0 };
  }
  const result = compactSegment(bytes, decoded.header, context.gatewayId, mode);
  if (result.removedPoints === 0) {
    segment.thinned = true; // nothing to thin: skip it from now on
    return { freedBytes: 0, removedPoints: 0 };
  }
  const header = decodeHeader(result.bytes);
  assert(header.ok, 'compaction wrote a bad header');
  const rebuilt = scanSegment(segment.name, header.header, result.bytes, context.limits.indexEveryRecords);
  assert(rebuilt.validBytes === result.bytes.length && rebuilt.segment.lastSeq === segment.lastSeq, `compaction of ${segment.name} changed its seq range`);
  const temporary = segment.name + compactionSuffix;
  await storage.create(temporary);
  await storage.write(temporary, 0, result.bytes);
  await storage.fdatasync(temporary);
  await storage.rename(temporary, segment.name);
  // From the rename on the file is the compacted one: the state follows it at once, so a failing
  // directory fsync (the log degrades) leaves memory and disk in agreement.
  segments[index] = rebuilt.segment;
  const freedBytes = segment.durableBytes - rebuilt.segment.durableBytes;
  context.onRewrite(freedBytes, result.removedPoints);
  await storage.fsyncDirectory();
  context.logger.info(mode === 'thin' ? 'overflow policy thinned a log segment' : 'overflow policy dropped the telemetry of a log segment', {
    file: segment.name,
    removedPoints: result.removedPoints,
    bytesBefore: segment.durableBytes,
    bytesAfter: rebuilt.segment.durableBytes,
  });
  return { freedBytes, removedPoints: result.removedPoints };
}

/** Rewrites segments, oldest first, until `bytesToFree` are free or nothing is left to remove. */
export async function applyOverflowPolicy(context: OverflowContext, bytesToFree: number): Promise<void> {
  let freedBytes = 0;
  const stages: CompactionMode[] = context.policy === 'thin-oldest' ? ['thin', 'drop-telemetry'] : ['drop-telemetry'];
  for (const mode of stages) {
    for (let index = 0; index < context.segments.length && freedBytes < bytesToFree; index++) {
      const segment = context.segments[index]!;
      if (!context.eligible(segment) || segment.damaged || segment.points === 0 || (mode === 'thin' && segment.thinned)) continue;
      freedBytes += (await rewrite(context, index, mode)).freedBytes;
    }
  }
}
