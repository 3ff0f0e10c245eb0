// The standard function blocks, compiled from rules/sdk and driven tick by tick against their
// textbook timing (IEC 61131-3 for the timers, edges, bistables and counters).
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileRule, RuleInstance } from '../common/rule-instance.ts';
import { compileCached } from './compile-cache.ts';

const harnessPath = fileURLToPath(new URL('./sdk/testing/stdlib-harness.ts', import.meta.url));
type Call = (...args: number[]) => number;
let blocks: Record<string, Call>;

beforeAll(async () => {
  const { wasm } = await compileCached(harnessPath);
  const instance = new RuleInstance(compileRule(wasm), 100, 5_000_000);
  instance.tick(2 ** 30); // refuels: the harness's exports run on the fuel this leaves
  blocks = instance.exports as Record<string, Call>;
}, 120_000);

/** Runs a block over a sequence of inputs (one update per tick); returns each tick's output and state. */
function drive(kind: string, constructorArgs: number[], inputs: number[][], state?: string): { q: number[]; state: number[] } {
  const handle = blocks[`${kind}New`]!(...constructorArgs);
  const q: number[] = [];
  const states: number[] = [];
  for (const args of inputs) {
    q.push(Number(blocks[`${kind}Update`]!(handle, ...args)));
    if (state !== undefined) states.push(blocks[`${kind}${state}`]!(handle));
  }
  return { q, state: states };
}

const bits = (text: string): number[][] => text.split(' ').map((bit) => [Number(bit)]);
const pairs = (text: string): number[][] => text.split(' ').map((pair) => [Number(pair[0]), Number(pair[1])]);
const line = (values: number[]): string => values.map((value) => (Number.isNaN(value) ? 'NaN' : String(value))).join(' ');

describe('IEC 61131-3 timers, in ticks', () => {
  it('TON: Q rises PT ticks after IN rises; IN falling resets Q and ET at once', () => {
    const { q, state } = drive('ton', [3], bits('0 1 1 1 1 1 0 1 1 0'), 'Et');
    expect(line(q)).toBe('0 0 0 0 1 1 0 0 0 0');
    expect(line(state)).toBe('0 0 1 2 3 3 0 0 1 0');
  });

  it('TOF: Q follows IN on at once and falls PT ticks after IN falls; IN back on restarts it', () => {
    const { q, state } = drive('tof', [3], bits('1 1 0 0 0 0 1 0 1 0 0 0 0'), 'Et');
    expect(line(q)).toBe('1 1 1 1 1 0 1 1 1 1 1 1 0');
    expect(line(state)).toBe('0 0 0 1 2 3 0 0 0 0 1 2 3');
  });

  it('TP: a rising edge starts a pulse of exactly PT ticks; edges during it are ignored; ET holds PT while IN stays on', () => {
    const { q, state } = drive('tp', [3], bits('0 1 0 1 0 0 1 1 1 1 0 1'), 'Et');
    expect(line(q)).toBe('0 1 1 1 0 0 1 1 1 0 0 1');
    expect(line(state)).toBe('0 0 1 2 0 0 0 1 2 3 0 0');
  });
});

describe('IEC 61131-3 edges and bistables', () => {
  it('R_TRIG: one tick on each rising edge, including a CLK already on at the first call', () => {
    expect(line(drive('rTrig', [], bits('1 1 0 1 0 0 1')).q)).toBe('1 0 0 1 0 0 1');
  });

  it('F_TRIG: one tick on each falling edge, none at the first call', () => {
    expect(line(drive('fTrig', [], bits('0 1 1 0 0 1 0')).q)).toBe('0 0 0 1 0 0 1');
  });

  it('SR is set-dominant and RS reset-dominant', () => {
    expect(line(drive('sr', [], pairs('10 00 01 11 00')).q)).toBe('1 1 0 1 1');
    expect(line(drive('rs', [], pairs('10 00 01 11 10')).q)).toBe('1 1 0 0 1');
  });
});

describe('IEC 61131-3 counters', () => {
  it('CTU counts rising edges of CU, R resets and dominates, Q = CV >= PV', () => {
    const { q, state } = drive('ctu', [3], pairs('10 10 00 10 00 10 00 10 01 11 00 10'), 'Cv');
    expect(line(state)).toBe('1 1 1 2 2 3 3 4 0 0 0 1');
    expect(line(q)).toBe('0 0 0 0 0 1 1 1 0 0 0 0');
  });

  it('CTD loads PV on LD and counts down on rising edges of CD, below zero too; Q = CV <= 0', () => {
    const { q, state } = drive('ctd', [2], pairs('01 10 00 10 00 10 01'), 'Cv');
    expect(line(state)).toBe('2 1 1 0 0 -1 2');
    expect(line(q)).toBe('0 0 0 1 1 1 0');
  });
});

describe('signal blocks', () => {
  it('Deadband reports the first value, moves beyond the band, and a heartbeat when quiet', () => {
    const values = [10, 10.5, 11, 11.1, 11, 10.2, 10, 10, 10, 10, 10, 10, 10];
    expect(line(drive('deadband', [1, 5], values.map((value) => [value])).q)).toBe('1 0 0 1 0 0 1 0 0 0 0 1 0');
  });

  it('Deadband reports a change to and from NaN', () => {
    expect(line(drive('deadband', [1, 1000], [[1], [NaN], [NaN], [1]]).q)).toBe('1 1 0 1');
  });

  it('MovingAverage averages the last N samples, fewer while it fills', () => {
    expect(line(drive('average', [3], [[3], [6], [9], [12], [0]]).q)).toBe('3 4.5 6 9 7');
  });

  it('MovingAverage stays exact over many windows (no drift)', () => {
    const handle = blocks['averageNew']!(4);
    let last = 0;
    for (let tick = 0; tick < 100_000; tick++) last = blocks['averageUpdate']!(handle, tick % 2 === 0 ? 0.1 : 0.7);
    expect(last).toBe((0 + 0.1 + 0.7 + 0.1 + 0.7) / 4); // the window summed afresh, not 100,000 running updates
  });

  it('RateOfChange is the change per second over the window (100 ms ticks)', () => {
    expect(line(drive('rate', [2], [[0], [1], [2], [4], [4], [4]]).q)).toBe('0 10 10 15 10 0');
  });

  it('WindowMax and WindowMin track the extreme of the last N samples, skipping NaN', () => {
    expect(line(drive('max', [3], [[1], [3], [2], [1], [0], [5]]).q)).toBe('1 3 3 3 2 5');
    expect(line(drive('min', [3], [[5], [3], [4], [6], [7], [1]]).q)).toBe('5 3 3 3 4 1');
    expect(line(drive('max', [2], [[1], [NaN], [NaN]]).q)).toBe('1 1 NaN');
  });

  it('Debounce changes state only after the input held the new state for N ticks', () => {
    expect(line(drive('debounce', [3], bits('1 1 1 0 1 0 0 0 1')).q)).toBe('0 0 1 1 1 1 1 0 0');
  });
});
