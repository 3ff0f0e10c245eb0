// Fetches the hub's alarm records for the active alarms the dashboard has no record of. The live
// stream carries alarm states but not their records, so the app calls request() after loading the
// machines snapshot and whenever a live batch touches an `_alarms` tag; requests within the
// debounce collapse into one refresh, one refresh runs at a time, and a refresh asks at most
// `pagesMax` pages of `pageLimit` records, only over the window its missing raises span. A raise
// the hub answered for without its record is not asked again; a failed request is retried with
// the next request(). fetch and the timer are injected, so the policy is tested without a network.
import {
  alarmsPageLimit,
  alarmsQueryFor,
  alarmsWithoutRecord,
  emptyAlarmDetails,
  mergeAlarmRecords,
  pageOutcome,
  raiseKey,
  type AlarmDetailsIndex,
  type AlarmState,
} from './alarm-records.ts';
import type { AlarmsQuery } from './hub-api.ts';
import type { AlarmRecord } from './wire.ts';

export interface AlarmDetailsLoaderOptions {
  fetchAlarms: (query: AlarmsQuery) => Promise<AlarmRecord[]>;
  /** Runs `callback` after `delayMs`; returns a function that cancels it. */
  setTimer: (callback: () => void, delayMs: number) => () => void;
  /** The active alarms at the time a refresh runs. */
  activeAlarms: () => AlarmState[];
  /** Called with each new index (a new object: the old one is never mutated). */
  onDetails: (index: AlarmDetailsIndex) => void;
  /** A failed request: the message names the route. */
  onError: (message: string) => void;
  debounceMs?: number;
  pageLimit?: number;
  pagesMax?: number;
}

export interface AlarmDetailsLoaderCounters {
  /** /api/alarms requests made, failed ones included. */
  requests: number;
  /** Tags dropped from the index to stay within its bound. */
  evictedTags: number;
}

export interface AlarmDetailsLoader {
  request(): void;
  counters(): AlarmDetailsLoaderCounters;
  close(): void;
}

export const alarmDetailsDebounceMs = 300;
export const alarmsPagesPerRefreshMax = 5;

export function createAlarmDetailsLoader(options: AlarmDetailsLoaderOptions): AlarmDetailsLoader {
  const debounceMs = options.debounceMs ?? alarmDetailsDebounceMs;
  const pageLimit = options.pageLimit ?? alarmsPageLimit;
  const pagesMax = options.pagesMax ?? alarmsPagesPerRefreshMax;
  let index = emptyAlarmDetails;
  /** Raises the hub answered for without their record; pruned to the active ones, so bounded by them. */
  let answeredWithout = new Set<string>();
  let cancelTimer: (() => void) | null = null;
  let running = false;
  let requestedWhileRunning = false;
  let closed = false;
  const counters: AlarmDetailsLoaderCounters = { requests: 0, evictedTags: 0 };

  async function refresh(): Promise<void> {
    const active = options.activeAlarms();
    answeredWithout = new Set(active.map(raiseKey).filter((key) => answeredWithout.has(key)));
    const unasked = (states: readonly AlarmState[]) => alarmsWithoutRecord(states, index).filter((state) => !answeredWithout.has(raiseKey(state)));
    let missing = unasked(active);
    let toMsMax = Number.POSITIVE_INFINITY;
    for (let page = 0; page < pagesMax; page += 1) {
      const query = alarmsQueryFor(missing, toMsMax, pageLimit);
      if (query === null) return;
      counters.requests += 1;
      const records = await options.fetchAlarms(query);
      if (closed) return;
      if (records.length > 0) {
        const merged = mergeAlarmRecords(index, records);
        index = merged.index;
        counters.evictedTags += merged.evicted;
        options.onDetails(index);
      }
      const { nextToMs, completeFromMs } = pageOutcome(query, records);
      if (completeFromMs !== null) {
        // The hub has no record of these raises (never stored, or past its retention): not asked again.
        for (const state of alarmsWithoutRecord(missing, index)) {
          if (state.sinceMs >= completeFromMs && state.sinceMs <= query.toMs) answeredWithout.add(raiseKey(state));
        }
      }
      missing = unasked(missing);
      if (nextToMs === null) return;
      toMsMax = nextToMs;
    }
  }

  function run(): void {
    cancelTimer = null;
    running = true;
    refresh()
      .catch((error: unknown) => {
        if (!closed) options.onError(error instanceof Error ? error.message : String(error));
      })
      .finally(() => {
        running = false;
        if (requestedWhileRunning && !closed) {
          requestedWhileRunning = false;
          schedule();
        }
      });
  }

  function schedule(): void {
    if (closed || cancelTimer !== null) return;
    if (running) {
      requestedWhileRunning = true;
      return;
    }
    cancelTimer = options.setTimer(run, debounceMs);
  }

  return {
    request: schedule,
    counters: () => ({ ...counters }),
    close() {
      closed = true;
      cancelTimer?.();
      cancelTimer = null;
    },
  };
}
