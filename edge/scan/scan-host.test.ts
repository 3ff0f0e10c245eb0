// The live scan on its worker thread: inputs written by "drivers" reach the step, alarm actions
// come back as writes, points are delivered, and a recorded live run replays byte for byte.
import { describe, expect, it } from 'vitest';
import type { Point } from '../../common/point.ts';
import type { AlarmDefinition } from './alarms.ts';
import { replayTrace } from './replay.ts';
import { ScanHost, type AlarmTransition } from './scan-host.ts';
import type { TraceHeader } from './trace.ts';

const alarm: AlarmDefinition = { id: 'hot', tagIndex: 0, direction: 'above', limit: 80, hysteresis: 5, onDelayTicks: 0, severity: 2, actions: [{ tagIndex: 1, value: 0 }], stateTagIndex: 2 };
const header: TraceHeader = {
  version: 1,
  gateway: 'g',
  tickMs: 2,
  publishInputs: true,
  tags: [
    { tag: 'l/m/temperature', kind: 'number' },
    { tag: 'l/m/run_command', kind: 'boolean' },
    { tag: 'l/alarms/hot', kind: 'boolean' },
  ],
  alarms: [alarm],
};

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

describe('ScanHost', () => {
  it('runs ticks on its worker, delivers points, and turns an alarm into a write', async () => {
    const points: Point[] = [];
    const writes: [number, number][] = [];
    const transitions: AlarmTransition[] = [];
    const host = new ScanHost({ header, tickMs: 2, onPoints: (batch) => points.push(...batch), onWrite: (tag, value) => writes.push([tag, value]), onAlarm: (transition) => transitions.push(transition) });
    host.start();
    try {
      host.tags.write(0, 20, 'good', 1000);
      await until(() => points.some((point) => point.tag === 'l/m/temperature' && point.value === 20));
      expect(writes).toEqual([]);
      host.tags.write(0, 95, 'good', 1001);
      await until(() => writes.length > 0);
      expect(writes).toEqual([[1, 0]]);
      expect(transitions).toEqual([{ alarmIndex: 0, active: true, value: 95, severity: 2, generation: 0 }]);
      await until(() => points.some((point) => point.tag === 'l/alarms/hot' && point.value === true));
      host.tags.markQuality(0, 'bad', 1002);
      await until(() => points.some((point) => point.tag === 'l/m/temperature' && point.quality === 'bad'));
      await until(() => host.stats().ticks > 20);
    } finally {
      await host.stop();
    }
    const stats = host.stats();
    expect(stats.pointsRefused).toBe(0);
    expect(stats.latenessMaxMs).toBeGreaterThanOrEqual(stats.latenessP50Ms);
    // Raising a thread's priority needs root (or CAP_SYS_NICE); elsewhere it is reported, not fatal.
    if (process.getuid?.() === 0) expect(stats).toMatchObject({ threadNiceApplied: true, threadNice: -10 });
  });

  it('records a live run that replays to the same outputs byte for byte', async () => {
    const chunks: Uint8Array[] = [];
    const host = new ScanHost({ header, tickMs: 1, onTrace: (chunk) => chunks.push(chunk), onPoints: () => undefined, onWrite: () => undefined, onAlarm: () => undefined });
    host.start();
    try {
      for (let i = 0; i < 300 || host.stats().ticks < 200; i++) {
        host.tags.write(0, 70 + ((i * 7) % 30), i % 17 === 0 ? 'uncertain' : 'good', 1000 + i);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    } finally {
      await host.stop();
    }
    const result = replayTrace(Buffer.concat(chunks));
    expect(result.ticks).toBeGreaterThan(100);
    expect(result.recorded.some((line) => line.includes(' alarm hot raise'))).toBe(true);
    expect(result.replayed.join('\n')).toBe(result.recorded.join('\n'));
  });
});
