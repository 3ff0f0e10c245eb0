import { describe, expect, it } from 'vitest';
import { AlarmProgram, type AlarmDefinition } from './alarms.ts';
import { ScanCore } from './scan-core.ts';
import { OutputPrinter, type TraceHeader } from './trace.ts';

const tags = [
  { tag: 'l/m/temperature', kind: 'number' as const },
  { tag: 'l/m/run_command', kind: 'boolean' as const },
  { tag: 'l/alarms/overtemp', kind: 'boolean' as const },
];
const overTemperature: AlarmDefinition = {
  id: 'overtemp',
  tagIndex: 0,
  direction: 'above',
  limit: 80,
  hysteresis: 5,
  onDelayTicks: 2,
  severity: 3,
  actions: [{ tagIndex: 1, value: 0 }],
  stateTagIndex: 2,
};

function harness(definition: AlarmDefinition) {
  const header: TraceHeader = { version: 1, gateway: 'g', tickMs: 10, publishInputs: false, tags, alarms: [definition] };
  const lines: string[] = [];
  const core = new ScanCore({ tagCount: tags.length, program: new AlarmProgram([definition]), outputs: new OutputPrinter(header, (line) => lines.push(line)), publishInputs: false });
  let tick = 0;
  return {
    lines,
    /** Runs one tick with an optional new temperature sample. */
    tick(temperature?: number, quality = 0) {
      core.begin(tick, 1000 + tick * 10);
      if (temperature !== undefined) core.input(0, temperature, quality, 1000 + tick * 10);
      core.run();
      tick++;
    },
  };
}

describe('built-in threshold alarms', () => {
  it('raises after the on-delay and writes its action in the same tick', () => {
    const alarm = harness(overTemperature);
    alarm.tick(81); // tick 0: condition true, delay 1 of 2
    alarm.tick(); // tick 1: delay 2 of 2
    expect(alarm.lines).toEqual([]);
    alarm.tick(); // tick 2: raises
    expect(alarm.lines).toEqual(['tick 2 alarm overtemp raise 81 severity=3', 'tick 2 point l/alarms/overtemp true good 1020', 'tick 2 write l/m/run_command 0']);
  });

  it('raises in the same tick when the on-delay is zero', () => {
    const alarm = harness({ ...overTemperature, onDelayTicks: 0 });
    alarm.tick(90);
    expect(alarm.lines[0]).toBe('tick 0 alarm overtemp raise 90 severity=3');
  });

  it('restarts the on-delay when the condition drops out', () => {
    const alarm = harness(overTemperature);
    alarm.tick(81);
    alarm.tick(79);
    alarm.tick(81);
    alarm.tick();
    expect(alarm.lines).toEqual([]);
    alarm.tick();
    expect(alarm.lines[0]).toBe('tick 4 alarm overtemp raise 81 severity=3');
  });

  it('clears only past the hysteresis band', () => {
    const alarm = harness({ ...overTemperature, onDelayTicks: 0 });
    alarm.tick(85);
    alarm.lines.length = 0;
    alarm.tick(78); // below limit but inside the band: still active
    expect(alarm.lines).toEqual([]);
    alarm.tick(75);
    expect(alarm.lines).toEqual(['tick 2 alarm overtemp clear 75 severity=3', 'tick 2 point l/alarms/overtemp false good 1020']);
  });

  it('neither raises nor clears on a value whose quality is not good', () => {
    const alarm = harness({ ...overTemperature, onDelayTicks: 0 });
    alarm.tick(95, 2);
    alarm.tick(95, 1);
    expect(alarm.lines).toEqual([]);
    alarm.tick(95, 0);
    expect(alarm.lines[0]).toContain('raise');
    alarm.lines.length = 0;
    alarm.tick(20, 2);
    expect(alarm.lines).toEqual([]);
  });

  it('supports low limits', () => {
    const alarm = harness({ ...overTemperature, direction: 'below', limit: 10, hysteresis: 1, onDelayTicks: 0 });
    alarm.tick(9);
    alarm.tick(10.5);
    alarm.tick(11);
    expect(alarm.lines.filter((line) => line.includes(' alarm '))).toEqual(['tick 0 alarm overtemp raise 9 severity=3', 'tick 2 alarm overtemp clear 11 severity=3']);
  });
});
