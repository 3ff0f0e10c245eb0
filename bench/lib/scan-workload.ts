// The scan configuration of bench/scan-lateness.bench.ts: 2,000 numeric input tags, 200 built-in
// alarms (above 85 with hysteresis 2, each writing one of 10 output tags on raise), and the
// feeder that plays the drivers: it writes every input tag with a fresh value on each call.
// Inputs are slow sines (0.5 Hz, phases spread over the tags), so every alarm raises and clears
// about once a second and every sample differs from the one before.
import type { AlarmDefinition } from '../../edge/scan/alarms.ts';
import type { SharedTagWriter } from '../../edge/scan/shared-tags.ts';
import type { TraceHeader } from '../../edge/scan/trace.ts';

export const inputTags = 2000;
export const alarmCount = 200;
export const outputTags = 10;

export function scanHeader(tickMs: number): TraceHeader {
  const tags: TraceHeader['tags'][number][] = [];
  for (let index = 0; index < inputTags; index++) tags.push({ tag: `line1/dev${Math.floor(index / 100)}/t${index % 100}`, kind: 'number' });
  for (let index = 0; index < outputTags; index++) tags.push({ tag: `line1/out/stop${index}`, kind: 'boolean' });
  const alarms: AlarmDefinition[] = [];
  for (let index = 0; index < alarmCount; index++) {
    const stateTagIndex = tags.push({ tag: `line1/alarms/a${index}`, kind: 'boolean' }) - 1;
    alarms.push({
      id: `a${index}`,
      tagIndex: index * (inputTags / alarmCount),
      direction: 'above',
      limit: 85,
      hysteresis: 2,
      onDelayTicks: 0,
      severity: 2,
      actions: [{ tagIndex: inputTags + (index % outputTags), value: 0 }],
      stateTagIndex,
    });
  }
  // The gateway's stale-tag defaults, so the step ages tags as a live gateway's does.
  return { version: 1, gateway: 'gw1', tickMs, publishInputs: true, staleUncertainMs: 2000, staleBadMs: 10_000, tags, alarms };
}

/** Writes every input tag into each table; returns how many feeds it made. */
export function startFeeder(tables: readonly SharedTagWriter[], periodMs: number): { stop(): number } {
  let feeds = 0;
  const timer = setInterval(() => {
    const nowMs = Date.now();
    const phase = (nowMs / 1000) * Math.PI; // 0.5 Hz
    for (let index = 0; index < inputTags; index++) {
      const value = 50 + 40 * Math.sin(phase + (index * 2 * Math.PI) / inputTags);
      for (const table of tables) table.write(index, value, 'good', nowMs);
    }
    feeds++;
  }, periodMs);
  return {
    stop() {
      clearInterval(timer);
      return feeds;
    },
  };
}
