import { describe, expect, it } from 'vitest';
import { BoundedQueue } from './bounded-queue.ts';
import { AssertionError } from './assert.ts';

describe('BoundedQueue', () => {
  it('keeps FIFO order across the ring boundary', () => {
    const queue = new BoundedQueue<number>(3, 'reject');
    queue.push(1);
    queue.push(2);
    expect(queue.shift()).toBe(1);
    queue.push(3);
    queue.push(4);
    expect(queue.drain()).toEqual([2, 3, 4]);
    expect(queue.length).toBe(0);
  });

  it('rejects and counts pushes past capacity under the reject policy', () => {
    const queue = new BoundedQueue<number>(2, 'reject');
    expect(queue.push(1)).toBe(true);
    expect(queue.push(2)).toBe(true);
    expect(queue.push(3)).toBe(false);
    expect(queue.drain()).toEqual([1, 2]);
    expect(queue.counters()).toEqual({ pushed: 2, popped: 2, rejected: 1, dropped: 0, highWater: 2 });
  });

  it('evicts the oldest item and reports it under drop-oldest', () => {
    const dropped: number[] = [];
    const queue = new BoundedQueue<number>(2, 'drop-oldest', (item) => dropped.push(item));
    for (const item of [1, 2, 3, 4]) expect(queue.push(item)).toBe(true);
    expect(queue.drain()).toEqual([3, 4]);
    expect(dropped).toEqual([1, 2]);
    expect(queue.counters()).toMatchObject({ pushed: 4, popped: 2, dropped: 2, rejected: 0 });
  });

  it('discards the new item and reports it under drop-newest', () => {
    const dropped: number[] = [];
    const queue = new BoundedQueue<number>(1, 'drop-newest', (item) => dropped.push(item));
    expect(queue.push(1)).toBe(true);
    expect(queue.push(2)).toBe(false);
    expect(queue.drain()).toEqual([1]);
    expect(dropped).toEqual([2]);
  });

  it('drains at most the requested number of items', () => {
    const queue = new BoundedQueue<number>(4, 'reject');
    [1, 2, 3].forEach((item) => queue.push(item));
    expect(queue.drain(2)).toEqual([1, 2]);
    expect(queue.peek()).toBe(3);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new BoundedQueue<number>(0, 'reject')).toThrow(AssertionError);
    expect(() => new BoundedQueue<number>(1.5, 'reject')).toThrow(AssertionError);
  });
});
