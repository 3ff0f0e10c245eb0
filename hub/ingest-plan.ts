// The pure core of a flush: given the batches taken from the queue and each gateway's sequence
// state, decide what one transaction writes. Works run by run (a batch's records carry
// consecutive sequences between its declared lost ranges), so de-duplication costs a few range
// operations per batch rather than one lookup per point. Records already stored or declared lost
// are duplicates; declared lost sequences not stored become lost_ranges rows; both fill gaps for
// the contiguous ack. A batch that would open more than seqRangesMax gaps is refused whole.
import type { AcceptedBatch } from './ingest-decode.ts';
import type { GatewaySeqs } from './seq-tracker.ts';
import type { LostRangeRecord, StoredPoint } from './store.ts';

export interface FlushPlan {
  readonly points: StoredPoint[];
  readonly lostRanges: LostRangeRecord[];
  /** The sequence state of every gateway with a batch in this flush, as it is after the commit. */
  readonly seqs: Map<string, GatewaySeqs>;
  readonly duplicates: number;
  readonly historicalPoints: number;
  /** New gaps above a gateway's mark opened by this flush. */
  readonly gapsOpened: number;
  /** Batches with records, every one at or below the gateway's acked mark (a resend, or a gateway gone backwards). */
  readonly batchesBelowAck: number;
  readonly lostSeqs: bigint;
  /** Batches refused whole (too many gaps); not acked, so the gateway sends them again. */
  readonly refused: readonly { readonly gateway: string; readonly firstSeq: bigint; readonly ackedSeq: bigint }[];
  /** Gateways whose batch opened a gap: where it starts. */
  readonly gaps: readonly { readonly gateway: string; readonly expectedSeq: bigint; readonly firstSeq: bigint }[];
}

export function planFlush(batches: readonly AcceptedBatch[], seqsOf: (gateway: string) => GatewaySeqs, nowMs: number): FlushPlan {
  const seqs = new Map<string, GatewaySeqs>();
  const points: StoredPoint[] = [];
  const lostRanges: LostRangeRecord[] = [];
  const refused: { gateway: string; firstSeq: bigint; ackedSeq: bigint }[] = [];
  const gaps: { gateway: string; expectedSeq: bigint; firstSeq: bigint }[] = [];
  let duplicates = 0;
  let historicalPoints = 0;
  let gapsOpened = 0;
  let batchesBelowAck = 0;
  let lostSeqs = 0n;
  for (const batch of batches) {
    const before = seqs.get(batch.gateway) ?? seqsOf(batch.gateway);
    const next = before.clone();
    const slices: (readonly StoredPoint[])[] = [];
    const lost: LostRangeRecord[] = [];
    let fresh = 0;
    let fits = true;
    for (const run of batch.runs) {
      const runLast = run.first + BigInt(run.count - 1);
      for (const part of next.missingIn(run.first, runLast)) {
        if (!next.addRange(part.first, part.last)) {
          fits = false;
          break;
        }
        const from = run.start + Number(part.first - run.first);
        const to = run.start + Number(part.last - run.first) + 1;
        slices.push(from === 0 && to === batch.records.length ? batch.records : batch.records.slice(from, to));
        fresh += to - from;
      }
      if (!fits) break;
    }
    for (const range of fits ? batch.lost : []) {
      for (const part of next.missingIn(range.first, range.last)) {
        if (!next.addRange(part.first, part.last)) {
          fits = false;
          break;
        }
        lost.push({ gateway: batch.gateway, first: part.first, last: part.last, reportedAtMs: nowMs });
      }
      if (!fits) break;
    }
    if (!fits) {
      refused.push({ gateway: batch.gateway, firstSeq: batch.firstSeq, ackedSeq: before.acked });
      seqs.set(batch.gateway, before);
      continue;
    }
    seqs.set(batch.gateway, next);
    for (const slice of slices) for (const point of slice) points.push(point);
    for (const range of lost) {
      lostRanges.push(range);
      lostSeqs += range.last - range.first + 1n;
    }
    duplicates += batch.records.length - fresh;
    if (batch.historical) historicalPoints += fresh;
    if (next.ranges.length > before.ranges.length) {
      gapsOpened += next.ranges.length - before.ranges.length;
      gaps.push({ gateway: batch.gateway, expectedSeq: before.acked + 1n, firstSeq: batch.firstSeq });
    }
    const lastRecord = batch.records.at(-1);
    if (lastRecord !== undefined && lastRecord.seq <= before.acked) batchesBelowAck++;
  }
  return { points, lostRanges, seqs, duplicates, historicalPoints, gapsOpened, batchesBelowAck, lostSeqs, refused, gaps };
}
