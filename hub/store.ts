// The hub's storage port: what ingest and the API need from the database, as a small interface
// that later rollup and OEE work extends. duckdb-store.ts is the real adapter, memory-store.ts the
// in-memory one; store-contract.ts is the suite both pass.
import type { PointValue, Quality } from '../common/point.ts';
import type { SeqRange } from './seq-tracker.ts';

export const gatewayStates = ['online', 'offline', 'unknown'] as const;
export type GatewayState = (typeof gatewayStates)[number];

export interface StoredPoint {
  readonly gateway: string;
  readonly seq: bigint;
  readonly tag: string;
  /** Epoch milliseconds, an integer. */
  readonly ts: number;
  readonly value: PointValue;
  readonly quality: Quality;
}

export interface GatewayRecord {
  readonly gateway: string;
  readonly site: string;
  /** Highest contiguous committed sequence; 0 when nothing is committed (sequences start at 1). */
  readonly ackedSeq: bigint;
  readonly lastSeenMs: number;
  readonly state: GatewayState;
}

export interface GatewaySnapshot extends GatewayRecord {
  /** Committed sequences above ackedSeq (points stored past a gap), as sorted ranges. */
  readonly committedAbove: readonly SeqRange[];
}

/** One flush: points and gateway rows written in one transaction, all or nothing. */
export interface CommitRequest {
  readonly points: readonly StoredPoint[];
  readonly gateways: readonly GatewayRecord[];
}

export interface PointQuery {
  readonly tag: string;
  readonly fromMs?: number;
  readonly toMs?: number;
  readonly limit: number;
}

export interface HubStore {
  /** Every known gateway with its committed sequences, to rebuild ingest state on start. */
  loadGateways(): Promise<GatewaySnapshot[]>;
  /** Atomic: either every point and gateway row is durable, or nothing changed and it throws. */
  commit(request: CommitRequest): Promise<void>;
  /** Points of one tag with fromMs <= ts <= toMs, ordered by ts then gateway and seq. */
  queryPoints(query: PointQuery): Promise<StoredPoint[]>;
  /** Stored point count per gateway. */
  pointCounts(): Promise<Map<string, number>>;
  /** Idempotent. Calls after close reject. */
  close(): Promise<void>;
}

/** Orders points the way queryPoints returns them. */
export function comparePoints(a: StoredPoint, b: StoredPoint): number {
  if (a.ts !== b.ts) return a.ts - b.ts;
  if (a.gateway !== b.gateway) return a.gateway < b.gateway ? -1 : 1;
  return a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0;
}

/** Collapses sorted distinct sequences into ranges. */
export function toRanges(sortedSeqs: readonly bigint[]): SeqRange[] {
  const ranges: SeqRange[] = [];
  for (const seq of sortedSeqs) {
    const last = ranges.at(-1);
    if (last !== undefined && last.last + 1n === seq) ranges[ranges.length - 1] = { first: last.first, last: seq };
    else ranges.push({ first: seq, last: seq });
  }
  return ranges;
}
