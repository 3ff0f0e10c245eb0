// The ingest counters /api/health shows: what came in, what was stored once, what was refused and
// why, and what the sequence bookkeeping found (duplicates, gaps, declared lost ranges).

export interface IngestCounters {
  /** Points in valid batches accepted into the queue. */
  readonly received: number;
  readonly stored: number;
  /** Of stored, points of historical (backlog) batches. */
  readonly storedHistorical: number;
  /** Points dropped because their (gateway, seq) was already stored or declared lost. */
  readonly duplicates: number;
  /** Batches with records all at or below the gateway's acked mark: dropped, and acked again. */
  readonly batchesBelowAck: number;
  /** Messages (data batches or state messages) refused as malformed or misaddressed. */
  readonly rejected: number;
  readonly rejectedMalformed: number;
  /** Of rejectedMalformed, batches refused for a record payload (truncated, too long, not UTF-8 or not a JSON object). */
  readonly rejectedPayload: number;
  /** Payloads naming another site or gateway than their topic. */
  readonly rejectedIdentity: number;
  readonly rejectedTopic: number;
  /** Valid batches refused, and so not acked, because a queue was full, too many gateways or too many gaps. */
  readonly queueFullRefusals: number;
  /** Flushes whose commit failed; their batches were not acked and will be resent. */
  readonly storeFailures: number;
  readonly queuedPoints: number;
  readonly queuedHistoricalPoints: number;
  readonly latestTagsRefused: number;
  /** Gaps opened above a gateway's acked mark (out-of-order or missing sequences). */
  readonly gapsDetected: number;
  /** Sequences gateways declared lost to their overflow policy, and the ranges they came in. */
  readonly lostSeqsDeclared: number;
  readonly lostRangesDeclared: number;
}

export function emptyIngestCounters(): IngestCounters {
  return {
    received: 0, stored: 0, storedHistorical: 0, duplicates: 0, batchesBelowAck: 0, rejected: 0, rejectedMalformed: 0, rejectedPayload: 0, rejectedIdentity: 0, rejectedTopic: 0,
    queueFullRefusals: 0, storeFailures: 0, queuedPoints: 0, queuedHistoricalPoints: 0, latestTagsRefused: 0, gapsDetected: 0, lostSeqsDeclared: 0, lostRangesDeclared: 0,
  };
}
