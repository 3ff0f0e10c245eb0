import { describe, expect, it } from 'vitest';
import { recordingSink } from './fixtures/recording-sink.ts';
import { TagState } from './serial-line-tag-state.ts';

describe('TagState', () => {
  it('gives a sink attached later every value that arrived before it, then forwards writes', () => {
    const state = new TagState(3);
    state.write(0, 12.5, 'good', 100);
    state.markQuality(2, 'bad', 101);
    const sink = recordingSink();
    state.attach(sink);
    expect(sink.values).toEqual([12.5, undefined, 0]);
    expect(sink.qualities).toEqual(['good', undefined, 'bad']);
    state.write(1, 1, 'good', 102);
    expect(sink.values[1]).toBe(1);
  });

  it('turns good tags uncertain once their last good value is staleAfterMs old, and good again on a new value', () => {
    const state = new TagState(2);
    const sink = recordingSink();
    state.attach(sink);
    state.write(0, 1, 'good', 1000);
    state.write(1, 2, 'good', 1400);
    state.markStale(1499, 500);
    expect(sink.qualities).toEqual(['good', 'good']);
    state.markStale(1500, 500);
    expect(sink.qualities).toEqual(['uncertain', 'good']);
    state.write(0, 3, 'good', 1600);
    state.markStale(1600, 500);
    expect(sink.qualities).toEqual(['good', 'good']);
  });

  it('leaves a bad tag bad when it goes stale', () => {
    const state = new TagState(1);
    state.write(0, 1, 'good', 0);
    state.markQuality(0, 'bad', 10);
    state.markStale(10_000, 500);
    expect(state.quality(0)).toBe('bad');
  });
});
