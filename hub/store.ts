// The hub's storage port: what ingest and the API need from the database, as a small interface
// that later rollup and OEE work extends. duckdb-store.ts is the real adapter, memory-store.ts the
// in-memory one; store-contract.ts is the suite both pass.
import type { SequencedRecord } from '../common/wire-batch.ts';
import type { SeqRange } from './seq-tracker.ts';

export const gatewayStates = ['online', 'offline', 'unknown'] as const;
export type GatewayState = (typeof gatewayStates)[number];

/** One stored record (point, alarm or event) with its gateway, sequence, historical flag and payload, if any. */
export type StoredPoint = SequencedRecord;

/** Sequences the gateway declared lost to its overflow policy; never also in the points table. */
export interface LostRangeRecord {
  readonly gateway: string;
  readonly first: bigint;
  readonly last: bigint;
  readonly reportedAtMs: number;
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
  /** Sequences above ackedSeq stored or declared lost (past a gap), as sorted ranges. */
  readonly committedAbove: readonly SeqRange[];
  /** Sequences this gateway declared lost, in total. */
  readonly lostSeqs: bigint;
}

/** One flush: points, lost ranges and gateway rows written in one transaction, all or nothing. */
export interface CommitRequest {
  readonly points: readonly StoredPoint[];
  readonly lostRanges?: readonly LostRangeRecord[];
  readonly gateways: readonly GatewayRecord[];
}

export interface LostRangeQuery {
  readonly gateway?: string;
  readonly limit: number;
}

export interface PointQuery {
  readonly tag: string;
  readonly fromMs?: number;
  readonly toMs?: number;
  readonly limit: number;
}

/** Alarm records (kind alarm), newest first: what the dashboard's alarm strip and history show. */
export interface AlarmQuery {
  readonly gateway?: string;
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
  /** Alarm records with fromMs <= ts <= toMs, newest first (ts, then gateway and seq descending). */
  queryAlarms(query: AlarmQuery): Promise<StoredPoint[]>;
  /** Stored point count per gateway. */
  pointCounts(): Promise<Map<string, number>>;
  /** Declared lost ranges, newest report first, then by gateway and first sequence. */
  queryLostRanges(query: LostRangeQuery): Promise<LostRangeRecord[]>;
  /** Idempotent. Calls after close reject. */
  close(): Promise<void>;
}

/** Orders lost ranges the way queryLostRanges returns them. */
export function compareLostRanges(a: LostRangeRecord, b: LostRangeRecord): number {
  if (a.reportedAtMs !== b.reportedAtMs) return b.reportedAtMs - a.reportedAtMs;
  if (a.gateway !== b.gateway) return a.gateway < b.gateway ? -1 : 1;
  return a.first < b.first ? -1 : a.first > b.first ? 1 : 0;
}

/** Orders points the way queryPoints returns them. */
export function comparePoints(a: StoredPoint, b: StoredPoint): number {
  if (a.ts !== b.ts) return a.ts - b.ts;
  if (a.gateway !== b.gateway) return a.gateway < b.gateway ? -1 : 1;
  return a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0;
}

/** Sorts ranges and merges the overlapping and adjacent ones. */
export function mergeRanges(ranges: readonly SeqRange[]): SeqRange[] {
  const sorted = [...ranges].sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  const merged: SeqRange[] = [];
  for (const range of sorted) {
    const last = merged.at(-1);
    if (last !== undefined && range.first <= last.last + 1n) {
      if (range.last > last.last) merged[merged.length - 1] = { first: last.first, last: range.last };
    } else {
      merged.push({ first: range.first, last: range.last });
    }
  }
  return merged;
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
