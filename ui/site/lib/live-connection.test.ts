import { describe, expect, it } from 'vitest';
import { connectLive, liveSourceClosed, type LiveSource, type LiveStatus } from './live-connection.ts';
import type { LivePoint } from './wire.ts';

class FakeSource implements LiveSource {
  readyState = 0;
  onopen: ((event: Event) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  closed = false;
  listeners: ((event: MessageEvent<string>) => void)[] = [];
  addEventListener(_type: 'points', listener: (event: MessageEvent<string>) => void): void {
    this.listeners.push(listener);
  }
  close(): void {
    this.closed = true;
    this.readyState = liveSourceClosed;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.(new Event('open'));
  }
  fail(readyState: number): void {
    this.readyState = readyState;
    this.onerror?.(new Event('error'));
  }
  send(data: string): void {
    for (const listener of this.listeners) listener(new MessageEvent('points', { data }));
  }
}

function harness() {
  const sources: FakeSource[] = [];
  const timers: { callback: () => void; delayMs: number; cancelled: boolean }[] = [];
  const statuses: LiveStatus[] = [];
  const batches: LivePoint[][] = [];
  const connects: boolean[] = [];
  const problems: string[] = [];
  const connection = connectLive({
    url: 'api/live',
    openSource: () => {
      const source = new FakeSource();
      sources.push(source);
      return source;
    },
    setTimer: (callback, delayMs) => {
      const timer = { callback, delayMs, cancelled: false };
      timers.push(timer);
      return () => (timer.cancelled = true);
    },
    onPoints: (points) => batches.push(points),
    onStatus: (status) => statuses.push(status),
    onConnected: (resumed) => connects.push(resumed),
    onInvalidPayload: (message) => problems.push(message),
    reconnectDelayMsMin: 100,
    reconnectDelayMsMax: 350,
  });
  return { connection, sources, timers, statuses, batches, connects, problems };
}

describe('connectLive', () => {
  it('reports live on open and passes validated point batches on', () => {
    const { sources, statuses, batches, connects, problems } = harness();
    sources[0]!.open();
    sources[0]!.send('{"points":[{"tag":"l/m/speed","ts":1,"value":3,"quality":"good"}]}');
    sources[0]!.send('not json');
    expect(statuses).toEqual(['connecting', 'live']);
    expect(connects).toEqual([false]);
    expect(batches).toEqual([[{ tag: 'l/m/speed', ts: 1, value: 3, quality: 'good' }]]);
    expect(problems).toEqual(['/api/live: event data is not JSON']);
  });

  it('leaves a dropped stream to the browser retry but shows reconnecting meanwhile', () => {
    const { sources, timers, statuses, connects } = harness();
    sources[0]!.open();
    sources[0]!.fail(0); // CONNECTING: EventSource retries by itself
    expect(statuses.at(-1)).toBe('reconnecting');
    expect(timers).toHaveLength(0);
    sources[0]!.open();
    expect(statuses.at(-1)).toBe('live');
    expect(connects).toEqual([false, true]);
  });

  it('reopens a closed stream with capped exponential backoff, reset by a successful open', () => {
    const { sources, timers, statuses } = harness();
    sources[0]!.fail(liveSourceClosed);
    timers[0]!.callback();
    sources[1]!.fail(liveSourceClosed);
    timers[1]!.callback();
    sources[2]!.fail(liveSourceClosed);
    timers[2]!.callback();
    sources[3]!.fail(liveSourceClosed);
    expect(timers.map((timer) => timer.delayMs)).toEqual([100, 200, 350, 350]);
    timers[3]!.callback();
    sources[4]!.open();
    sources[4]!.fail(liveSourceClosed);
    expect(timers.at(-1)?.delayMs).toBe(100);
    expect(statuses.at(-1)).toBe('reconnecting');
    expect(sources.slice(0, 4).every((source) => source.closed)).toBe(true);
  });

  it('close() stops the stream and any pending reconnect', () => {
    const { connection, sources, timers, statuses } = harness();
    sources[0]!.fail(liveSourceClosed);
    connection.close();
    expect(timers[0]?.cancelled).toBe(true);
    sources[0]!.onerror?.(new Event('error'));
    expect(statuses).toEqual(['connecting', 'reconnecting']);
  });
});
