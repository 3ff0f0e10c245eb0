// What the hub's stored alarm records (/api/alarms) add to the live alarm states: severity,
// message, device and rule, which the live stream does not carry. The dashboard keeps the newest
// record per state tag and asks the hub only about active alarms it has no record of yet. A live
// alarm state is the stored record itself (the hub broadcasts after storing), so the record that
// raised an alarm has the alarm's state tag and the timestamp of its `true` reading exactly: each
// query is the window from the oldest to the newest such timestamp, paged downwards when full.
// Pure functions over plain data; alarm-details-loader.ts does the fetching.
import type { AlarmsQuery } from './hub-api.ts';
import { alarmsGroup, type SiteView } from './live-state.ts';
import type { AlarmRecord } from './wire.ts';

/** What a record says about its alarm; `ts` is the record's, so a newer one replaces it. */
export interface AlarmDetails {
  ts: number;
  severity: string | null;
  message: string | null;
  device: string | null;
  rule: string | null;
}

/** Newest record per state tag (`line1/_alarms/filler-overtemp`). Replaced, never mutated. */
export type AlarmDetailsIndex = ReadonlyMap<string, AlarmDetails>;

/** An active alarm as the live view shows it: its state tag and the timestamp of its raise. */
export interface AlarmState {
  tag: string;
  sinceMs: number;
}

/** Tags the index keeps; past this the tags with the oldest records are dropped (counted). */
export const alarmDetailsTagsMax = 2_048;
/** Records per /api/alarms request (the hub allows up to 10,000). */
export const alarmsPageLimit = 200;

export const emptyAlarmDetails: AlarmDetailsIndex = new Map();

export interface MergeResult {
  index: AlarmDetailsIndex;
  /** Tags dropped to stay within alarmDetailsTagsMax. */
  evicted: number;
}

/** The index with `records` merged in by the latest-wins rule; `index` is left as it was. */
export function mergeAlarmRecords(index: AlarmDetailsIndex, records: readonly AlarmRecord[], tagsMax = alarmDetailsTagsMax): MergeResult {
  const merged = new Map(index);
  for (const record of records) {
    const held = merged.get(record.tag);
    if (held !== undefined && record.ts < held.ts) continue;
    merged.set(record.tag, { ts: record.ts, severity: record.severity, message: record.message, device: record.device, rule: record.rule });
  }
  const evicted = Math.max(0, merged.size - tagsMax);
  if (evicted > 0) {
    const oldestFirst = [...merged.entries()].sort(([, a], [, b]) => a.ts - b.ts);
    for (const [tag] of oldestFirst.slice(0, evicted)) merged.delete(tag);
  }
  return { index: merged, evicted };
}

/** Every alarm whose latest live reading is `true`, on every line. */
export function activeAlarmStates(site: SiteView): AlarmState[] {
  const states: AlarmState[] = [];
  for (const view of Object.values(site.machines)) {
    if (view.machine !== alarmsGroup) continue;
    for (const [id, reading] of Object.entries(view.readings)) {
      if (reading.value === true) states.push({ tag: `${view.key}/${id}`, sinceMs: reading.ts });
    }
  }
  return states;
}

/** `tag@ts`: one raise of one alarm. */
export function raiseKey(state: AlarmState): string {
  return `${state.tag}@${state.sinceMs}`;
}

/** Active alarms the index has no record of their raise (or anything newer) for. */
export function alarmsWithoutRecord(states: readonly AlarmState[], index: AlarmDetailsIndex): AlarmState[] {
  return states.filter((state) => {
    const held = index.get(state.tag);
    return held === undefined || held.ts < state.sinceMs;
  });
}

/**
 * The request for the raises in `missing`: the window from the oldest to the newest of them, capped
 * at `toMsMax` when an earlier full page already covered what lies above. Null when none is left.
 */
export function alarmsQueryFor(missing: readonly AlarmState[], toMsMax = Number.POSITIVE_INFINITY, limit = alarmsPageLimit): AlarmsQuery | null {
  const inWindow = missing.filter((state) => state.sinceMs <= toMsMax);
  if (inWindow.length === 0) return null;
  const times = inWindow.map((state) => state.sinceMs);
  return { fromMs: Math.min(...times), toMs: Math.min(Math.max(...times), toMsMax), limit };
}

export interface PageOutcome {
  /** Where the next page ends (inclusive); null when this page was not full, so the window is complete. */
  nextToMs: number | null;
  /** Every record with a ts from here to the query's toMs was in the page; null when that is not known. */
  completeFromMs: number | null;
}

/**
 * What `page` covered of `query`'s window. A full page is complete only above its oldest
 * millisecond, whose records may have been cut: the next page asks that millisecond again, unless
 * the whole page shares it (then the next page starts below it, and nothing is known complete).
 */
export function pageOutcome(query: AlarmsQuery, page: readonly AlarmRecord[]): PageOutcome {
  if (page.length < query.limit) return { nextToMs: null, completeFromMs: query.fromMs };
  const oldestMs = Math.min(...page.map((record) => record.ts));
  if (oldestMs < query.toMs) return { nextToMs: oldestMs, completeFromMs: oldestMs + 1 };
  return { nextToMs: oldestMs - 1, completeFromMs: null };
}
