// The public shapes of the durable log: what goes in, what comes out, how it refuses, and what
// it reports. Sequences are bigint at this boundary (64-bit on the wire); the log keeps them as
// safe integers inside and refuses to pass 2^53.
import type { Clock } from '../../common/clock.ts';
import type { Logger } from '../../common/log.ts';
import type { PointValue, Quality } from '../../common/point.ts';
import type { DurableLogLimits, OverflowPolicy } from './log-limits.ts';
import type { LostReason } from './record-codec.ts';
import type { LogStorage } from './storage.ts';

export type RecordKind = 'point' | 'alarm' | 'event';

export interface LogInput {
  readonly kind: RecordKind;
  /** Epoch milliseconds, an integer in [0, 2^47). */
  readonly ts: number;
  readonly tag: string;
  /** Numbers must be finite. */
  readonly value: PointValue;
  readonly quality: Quality;
  /** A small JSON or text payload, mostly for alarms and events. */
  readonly payload?: string;
}

export interface LogRecord extends LogInput {
  readonly seq: bigint;
}

export type RefusalReason = 'pending-full' | 'budget-full' | 'degraded' | 'invalid' | 'closed';

export interface AppendRefusal {
  readonly ok: false;
  readonly reason: RefusalReason;
  /** EDGE_LOG_* code from edge/errors.ts. */
  readonly code: string;
  /** For `invalid`: which field and why. */
  readonly detail?: string;
}

export type AppendResult = { readonly ok: true; readonly seq: bigint } | AppendRefusal;

export interface AppendManyResult {
  /** Seq of the first accepted record; the accepted ones follow consecutively, in input order. */
  readonly firstSeq: bigint;
  readonly accepted: number;
  /** The refused records by their index in the input (they took no seq). */
  readonly refusals: readonly { readonly index: number; readonly refusal: AppendRefusal }[];
}

export interface LostRange {
  readonly firstSeq: bigint;
  readonly lastSeq: bigint;
  /** overflow: removed by the overflow policy; damaged: cut from the log by a corrupt disk. */
  readonly reason: LostReason;
}

export type LogHealthEvent =
  | { readonly kind: 'degraded'; readonly code: string; readonly message: string }
  | { readonly kind: 'recovered'; readonly degradedMs: number; readonly heldRecords: number }
  | { readonly kind: 'budget-exceeded'; readonly usedBytes: number; readonly budgetBytes: number }
  | { readonly kind: 'budget-ok'; readonly usedBytes: number; readonly budgetBytes: number };

export interface DurableLogOptions {
  readonly storage: LogStorage;
  /** The gateway id every segment header carries; a log of another gateway is refused. */
  readonly gatewayId: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly limits?: Partial<DurableLogLimits>;
  readonly policy?: OverflowPolicy;
  /** The first seq of a new, empty log (to continue a sequence kept elsewhere before); default 1. */
  readonly sequenceFloor?: bigint;
  /** Health changes the caller raises as alarms: a full or failing disk, a budget exceeded. */
  readonly onHealth?: (event: LogHealthEvent) => void;
}

/** Counters and gauges; seqs as decimal strings so the object serialises to JSON as is. */
export interface DurableLogStats {
  readonly usedBytes: number;
  readonly budgetBytes: number;
  readonly segments: number;
  /** Highest seq made durable (what commit() last returned). */
  readonly durableSeq: string;
  readonly nextSeq: string;
  /** Highest seq release() was called with. */
  readonly releasedSeq: string;
  readonly pendingRecords: number;
  readonly degraded: boolean;
  readonly budgetExceeded: boolean;
  /** Times the log went over its budget because only alarms and events were left. */
  readonly budgetExceededCount: number;
  /** Points removed by the overflow policy since open. */
  readonly thinnedPoints: number;
  readonly lostRanges: number;
  readonly lostSeqs: number;
  readonly refusedPoints: number;
  readonly refusedAlarmsEvents: number;
  readonly refusedInvalid: number;
  /** Bytes cut from torn or corrupt tails when the log opened. */
  readonly recoveredBytesDropped: number;
  readonly commits: number;
  readonly fdatasyncs: number;
  readonly fdatasyncMsTotal: number;
  readonly fdatasyncMsMax: number;
  readonly bytesWritten: number;
  readonly diskErrors: number;
}
