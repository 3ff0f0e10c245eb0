// Keeps the dashboard subscribed to the hub's /api/live server-sent events. The browser's
// EventSource retries by itself after a dropped stream, but gives up for good when the hub answers
// with an error status or is down at connect time (readyState CLOSED); then this module opens a
// new one after a capped exponential backoff. The EventSource constructor and the timer are
// injected, so the reconnect policy is tested without a browser or real time.
import { parseLivePoints, type LivePoint } from './wire.ts';

export type LiveStatus = 'connecting' | 'live' | 'reconnecting';

/** The part of the DOM EventSource this module uses. */
export interface LiveSource {
  readonly readyState: number;
  onopen: ((event: Event) => void) | null;
  onerror: ((event: Event) => void) | null;
  addEventListener(type: 'points', listener: (event: MessageEvent<string>) => void): void;
  close(): void;
}

export const liveSourceClosed = 2; // EventSource.CLOSED

export interface LiveConnectionOptions {
  url: string;
  openSource: (url: string) => LiveSource;
  /** Runs `callback` after `delayMs`; returns a function that cancels it. */
  setTimer: (callback: () => void, delayMs: number) => () => void;
  onPoints: (points: LivePoint[]) => void;
  onStatus: (status: LiveStatus) => void;
  /** Called on every successful (re)connect; `resumed` is true after the first. */
  onConnected: (resumed: boolean) => void;
  /** A payload that failed validation; the stream stays open. */
  onInvalidPayload: (message: string) => void;
  reconnectDelayMsMin?: number;
  reconnectDelayMsMax?: number;
}

export interface LiveConnection {
  close(): void;
}

export function connectLive(options: LiveConnectionOptions): LiveConnection {
  const delayMsMin = options.reconnectDelayMsMin ?? 1_000;
  const delayMsMax = options.reconnectDelayMsMax ?? 30_000;
  let delayMs = delayMsMin;
  let source: LiveSource | null = null;
  let cancelTimer: (() => void) | null = null;
  let connectedBefore = false;
  let closed = false;

  function open(): void {
    cancelTimer = null;
    const current = options.openSource(options.url);
    source = current;
    current.onopen = () => {
      delayMs = delayMsMin;
      options.onStatus('live');
      options.onConnected(connectedBefore);
      connectedBefore = true;
    };
    current.onerror = () => {
      if (closed || source !== current) return;
      options.onStatus('reconnecting');
      if (current.readyState !== liveSourceClosed) return; // the browser retries this one itself
      current.close();
      source = null;
      cancelTimer = options.setTimer(open, delayMs);
      delayMs = Math.min(delayMs * 2, delayMsMax);
    };
    current.addEventListener('points', (event) => {
      let points: LivePoint[];
      try {
        points = parseLivePoints(event.data);
      } catch (error) {
        options.onInvalidPayload(error instanceof Error ? error.message : String(error));
        return;
      }
      options.onPoints(points);
    });
  }

  options.onStatus('connecting');
  open();
  return {
    close() {
      closed = true;
      cancelTimer?.();
      source?.close();
      source = null;
    },
  };
}
