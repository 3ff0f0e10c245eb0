// A run is a pure function of its input trace: randomised traces (fixed seeds, printed on
// failure) recorded live and replayed give the same outputs byte for byte.
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../common/random.ts';
import { AlarmProgram, type AlarmDefinition } from './alarms.ts';
import { replayTrace } from './replay.ts';
import { ScanCore, teeOutputs } from './scan-core.ts';
import { OutputPrinter, TraceWriter, type TraceHeader } from './trace.ts';

function recordRandomRun(seed: number, ticks: number): { trace: Buffer; live: string[] } {
  const random = seededRandom(seed);
  const tagCount = 20;
  const tags = Array.from({ length: tagCount }, (_, index) => ({ tag: `l/m${index % 4}/t${index}`, kind: index % 5 === 0 ? ('boolean' as const) : ('number' as const) }));
  const alarms: AlarmDefinition[] = Array.from({ length: 6 }, (_, index) => ({
    id: `a${index}`,
    tagIndex: 1 + index,
    direction: index % 2 === 0 ? 'above' : 'below',
    limit: random.int(-50, 50),
    hysteresis: random.int(0, 10),
    onDelayTicks: random.int(0, 5),
    severity: random.int(1, 4),
    actions: [{ tagIndex: 0, value: random.int(0, 1) }],
    stateTagIndex: 10 + index,
  }));
  const header: TraceHeader = { version: 1, gateway: 'g', tickMs: 10, publishInputs: true, staleUncertainMs: 200, staleBadMs: 600, tags, alarms };
  const chunks: Uint8Array[] = [];
  const live: string[] = [];
  const writer = new TraceWriter(header, (chunk) => chunks.push(Uint8Array.from(chunk)), 4096);
  const core = new ScanCore({
    tagCount,
    program: new AlarmProgram(alarms),
    outputs: teeOutputs(new OutputPrinter(header, (line) => live.push(line)), writer),
    publishInputs: true,
    staleUncertainMs: 200,
    staleBadMs: 600,
    onInput: (_tick, index, value, quality, tsMs) => writer.input(index, value, quality, tsMs),
  });
  let nowMs = 1_767_225_600_000;
  for (let tick = 0; tick < ticks; tick++) {
    nowMs += 10 + random.int(0, 3);
    writer.tick(tick, nowMs);
    core.begin(tick, nowMs);
    const inputs = random.int(0, 5);
    for (let i = 0; i < inputs; i++) {
      const index = random.int(0, tagCount - 1);
      const special = random.next();
      const value = special < 0.01 ? Number.NaN : special < 0.02 ? -0 : tags[index]!.kind === 'boolean' ? random.int(0, 1) : random.gaussian() * 60;
      core.input(index, value, random.next() < 0.9 ? 0 : random.int(1, 2), nowMs - random.int(0, 50));
    }
    core.run();
  }
  writer.flush();
  return { trace: Buffer.concat(chunks), live };
}

describe('record and replay', () => {
  for (const seed of [1, 2, 3, 42, 1234]) {
    it(`replays a randomised trace byte for byte (seed ${seed})`, () => {
      const { trace, live } = recordRandomRun(seed, 3000);
      const result = replayTrace(trace);
      expect(live.length, `seed ${seed}`).toBeGreaterThan(1000);
      expect(live.some((line) => line.includes(' alarm ')), `seed ${seed}: the trace should raise alarms`).toBe(true);
      expect(result.replayed.join('\n'), `seed ${seed}`).toBe(live.join('\n'));
      expect(result.recorded.join('\n'), `seed ${seed}`).toBe(live.join('\n'));
      expect(result.ticks).toBe(3000);
    });
  }

  it('ends cleanly at a record cut short by a crash', () => {
    const { trace } = recordRandomRun(7, 100);
    expect(() => replayTrace(trace.subarray(0, trace.length - 3))).not.toThrow();
  });

  it('refuses a file that is not a trace', () => {
    expect(() => replayTrace(Buffer.from('hello world, not a trace'))).toThrow(/not a millwright scan trace/);
  });
});
