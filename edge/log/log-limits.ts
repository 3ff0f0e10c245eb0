// Limits of the durable log, in one defaults object with units in the names (STYLE habit 3), and
// the check that refuses an inconsistent set before the log touches the disk. Zero never means
// unlimited: every limit here is a positive bound.
import { MillwrightError } from '../../common/errors.ts';
import { tagLengthMax } from '../../common/point.ts';
import { edgeErrors } from '../errors.ts';
import { dataRecordBytesBound, recordBodyBytesMax } from './record-codec.ts';
import { headerBytesMax } from './segment-header.ts';

export const overflowPolicies = ['thin-oldest', 'drop-oldest-telemetry'] as const;
/**
 * What the log does when the disk budget is reached (alarms and events are never dropped):
 * - `thin-oldest`: rewrite the oldest segments keeping one point per tag per minute (the last);
 *   when every older segment is thinned and the log is still over budget, drop their telemetry.
 * - `drop-oldest-telemetry`: rewrite the oldest segments keeping alarms and events only.
 */
export type OverflowPolicy = (typeof overflowPolicies)[number];

export const durableLogDefaults = Object.freeze({
  /** A segment rolls over before a record would take it past this size. */
  segmentBytesMax: 8 * 1024 * 1024,
  /** All segment files together; the overflow policy keeps the log under it. */
  budgetBytes: 1024 * 1024 * 1024,
  /** Once the policy runs it frees space down to this share of the budget, so it runs rarely. */
  budgetLowWaterPercent: 90,
  /** Appended but not yet committed records; further points are refused (pending-full). */
  pendingRecordsMax: 20_000,
  /** Appended but not yet committed bytes; further points are refused (pending-full). */
  pendingBytesMax: 4 * 1024 * 1024,
  /** Room beyond pendingRecordsMax that only alarms and events may use: while the disk fails
   *  they are held here, in memory, until a retry writes them. */
  heldAlarmRecordsMax: 5_000,
  /** The in-memory index of a segment keeps one entry every this many records (24 bytes each:
   *  about 7 MB for a full 1 GiB log of 14-byte points; a read decodes at most this many extra). */
  indexEveryRecords: 256,
  /** Alarm and event payloads (JSON or text), UTF-8 bytes. */
  payloadBytesMax: 1024,
  /** String values of text tags, UTF-8 bytes. */
  stringValueBytesMax: 1024,
  /** Distinct tags in one segment's dictionary; a segment rolls over when it is full. */
  segmentTagsMax: 65_536,
  /** Bytes read from storage per step of read() at most (a step reads what its records need). */
  readBytesMax: 1024 * 1024,
  /** Records one read() call returns at most. */
  readRecordsMax: 10_000,
  /** While degraded, commit() retries the disk at most this often. */
  diskRetryIntervalMs: 5_000,
  /** Ranges one lostRanges() call returns at most. */
  lostRangesMax: 10_000,
});

export type DurableLogLimits = { readonly [K in keyof typeof durableLogDefaults]: number };

/** Tag dictionary ids are packed with the minute into one safe integer while thinning. */
export const segmentTagsLimit = 1 << 20;

function refuse(field: string, message: string): never {
  throw new MillwrightError(edgeErrors.logLimitsInvalid, `durable log limit ${field} ${message}`, { field });
}

/** The largest record these limits allow: a new 256-byte tag, a string value and a payload. */
export function recordBytesMax(limits: DurableLogLimits): number {
  return dataRecordBytesBound(tagLengthMax + limits.stringValueBytesMax + limits.payloadBytesMax);
}

/** Merges overrides into the defaults and checks that the set can work; throws EDGE_LOG_LIMITS_INVALID. */
export function resolveLimits(overrides: Partial<DurableLogLimits> = {}): DurableLogLimits {
  const limits: DurableLogLimits = { ...durableLogDefaults, ...overrides };
  for (const [field, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value <= 0) refuse(field, `must be a positive integer, got ${String(value)}`);
  }
  if (limits.budgetLowWaterPercent > 100 || limits.budgetLowWaterPercent < 50) refuse('budgetLowWaterPercent', 'must be within 50..100');
  if (limits.segmentTagsMax > segmentTagsLimit) refuse('segmentTagsMax', `must be at most ${segmentTagsLimit}`);
  const recordMax = recordBytesMax(limits);
  if (recordMax > recordBodyBytesMax) refuse('payloadBytesMax', `and stringValueBytesMax together must keep a record under ${recordBodyBytesMax} bytes`);
  if (limits.segmentBytesMax < 2 * (headerBytesMax + recordMax)) {
    refuse('segmentBytesMax', `must hold at least two of the largest records (${2 * (headerBytesMax + recordMax)} bytes with these limits)`);
  }
  if (limits.budgetBytes < 4 * limits.segmentBytesMax) refuse('budgetBytes', 'must be at least 4 × segmentBytesMax, so the policy has whole older segments to work on');
  if (limits.readBytesMax < recordMax) refuse('readBytesMax', `must hold the largest record (${recordMax} bytes)`);
  return limits;
}
