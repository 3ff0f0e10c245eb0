import { describe, expect, it } from 'vitest';
import { cachedGlobals, type BodyFacts, type FrameGlobal } from './rule-instrument.ts';

const i32 = 0x7f;

function facts(entries: readonly { gets?: number[]; sets?: number[]; calls?: number[]; indirect?: boolean }[]): BodyFacts[] {
  return entries.map((entry) => ({ gets: new Set(entry.gets ?? []), sets: new Set(entry.sets ?? []), calls: new Set(entry.calls ?? []), callsIndirect: entry.indirect ?? false }));
}

/** Frame globals 0..count-1, i32, 4 bytes apart. */
function frame(count: number): Map<number, FrameGlobal> {
  return new Map(Array.from({ length: count }, (_, global) => [global, { type: i32, offset: 16 + global * 4 }]));
}

describe('which frame globals a function keeps in locals', () => {
  it('leaves out what the function or anything it calls writes, through any depth of direct calls, whichever bit a global has', () => {
    // function indices here are the module's: 2 imported functions come first
    const bodies = facts([
      { gets: [31, 33, 40], calls: [3] }, // 2 -> 3
      { calls: [4, 0] }, // 3 -> 4 and an import
      { sets: [31] }, // 4 writes global 31 (the top bit of the first word)
      { gets: [31, 33], sets: [33] }, // 5 writes its own
    ]);
    expect(cachedGlobals(bodies, 2, frame(40))).toEqual([[33], [], [], [31]]); // 40 is not a frame global (immutable)
  });

  it('settles a cycle of calls, and counts an indirect call as a call to every function', () => {
    const cycle = facts([{ gets: [1, 2], calls: [1] }, { calls: [2] }, { calls: [0], sets: [1] }, { gets: [2], indirect: true }, { sets: [2] }]);
    expect(cachedGlobals(cycle, 0, frame(3))).toEqual([[2], [], [], [], []]);
  });

  it('settles a long chain of calls in one pass, whatever the functions\' order', () => {
    const length = 500;
    const chain = facts(Array.from({ length }, (_, index) => (index === length - 1 ? { sets: [0] } : { gets: [0, 1], calls: [index + 1] })));
    const kept = cachedGlobals(chain, 0, frame(2));
    expect(kept.slice(0, -1).every((globals) => globals.length === 1 && globals[0] === 1)).toBe(true);
  });

  it('keeps nothing in locals for a module too large to analyse cheaply', () => {
    const many = facts(Array.from({ length: 20_001 }, () => ({ gets: [0] })));
    expect(cachedGlobals(many, 0, frame(1)).every((globals) => globals.length === 0)).toBe(true);
  });
});
