import { describe, expect, it } from 'vitest';
import { RuleArena } from './rule-arena.ts';
import { slotLayout } from './rule-abi.ts';
import { InputScatter, scatterLayout, stagedWord } from './rule-input-scatter.ts';

const { input } = slotLayout;

/** An arena with `inputs` input slots, 32 bytes apart in a region of their own, read from tags `inputTags`. */
function scatterFor(tags: number, inputTags: number[]) {
  const arena = new RuleArena();
  const region = arena.allocate(1);
  const valueAt = inputTags.map((_, index) => (region.base + 1024 + index * 32) / 8);
  const scatter = new InputScatter(arena, tags, Int32Array.from(inputTags));
  const positions = scatter.group(Int32Array.from(inputTags));
  positions.forEach((position, index) => scatter.setReader(position, valueAt[index]!));
  const stage = (samples: readonly [tag: number, value: number, quality: number][]): void => {
    samples.forEach(([tag, value, quality], index) => {
      arena.f64[scatter.stageF64 + index * 2] = value;
      arena.i32[(scatter.stageF64 + index * 2) * 2 + 2] = stagedWord(tag, quality);
    });
  };
  const slot = (index: number) => ({
    value: arena.f64[valueAt[index]! + input.value / 8]!,
    bits: new BigUint64Array(arena.memory.buffer)[valueAt[index]!]!,
    changedTick: arena.f64[valueAt[index]! + input.changedTick / 8]!,
    quality: arena.u8[valueAt[index]! * 8 + input.quality]!,
  });
  return { arena, scatter, stage, slot };
}

describe('the input scatter', () => {
  it('writes each staged sample into the slot of every input that reads its tag, with the tick and quality', () => {
    // inputs 0 and 2 read tag 3, input 1 reads tag 0, input 3 reads tag 5; tag 4 has no reader
    const { scatter, stage, slot } = scatterFor(6, [3, 0, 3, 5]);
    stage([[3, 21.5, 0], [4, 99, 0], [5, -1, 2]]);
    scatter.copy(3, 7);
    expect([slot(0), slot(2)].map(({ value, changedTick, quality }) => [value, changedTick, quality])).toEqual([[21.5, 7, 0], [21.5, 7, 0]]);
    expect([slot(3).value, slot(3).changedTick, slot(3).quality]).toEqual([-1, 7, 2]);
    expect(slot(1).changedTick).toBe(0); // not staged: untouched
    expect([scatter.changedTick(3), scatter.changedTick(4), scatter.changedTick(5), scatter.changedTick(0)]).toEqual([7, 7, 7, -1]);
  });

  it('scatters only the first `count` staged samples, and canonicalises NaN', () => {
    const { arena, scatter, stage, slot } = scatterFor(4, [1, 2]);
    stage([[1, 5, 1], [2, 6, 0]]);
    new BigUint64Array(arena.memory.buffer)[scatter.stageF64] = 0x7ff8000000000badn; // a NaN with a payload
    scatter.copy(1, 3);
    expect(slot(0).bits).toBe(0x7ff8000000000000n);
    expect([slot(0).changedTick, slot(0).quality]).toEqual([3, 1]);
    expect(slot(1).changedTick).toBe(0);
    expect(scatter.changedTick(2)).toBe(-1);
  });

  it('leaves out of its list an input whose tag is beyond the scan table, and lays its tables out without overlap', () => {
    const { scatter } = scatterFor(2, [0, 9]);
    expect(scatter.group(Int32Array.from([0, 9]))).toEqual(Int32Array.from([0, -1]));
    const layout = scatterLayout(1000, 300);
    expect(layout.readersAt).toBeGreaterThanOrEqual(layout.readerStartAt + 1001 * 4);
    expect(layout.changedTickAt).toBeGreaterThanOrEqual(layout.readersAt + 300 * 4);
    expect(layout.stageAt).toBeGreaterThanOrEqual(layout.changedTickAt + 1000 * 8);
    expect(layout.changedTickAt % 8).toBe(0);
    expect(layout.stageAt % 16).toBe(0);
  });
});
