// A fixed-capacity ring of items over plain data (so a Svelte $state proxy can hold it):
// pushing into a full ring overwrites the oldest item. Used for sparkline samples.
import { assert } from './assert.ts';

export interface Ring<T> {
  readonly capacity: number;
  /** Backing store; grows to `capacity` and never past it. */
  items: T[];
  /** Index of the oldest item in `items`. */
  start: number;
}

export function createRing<T>(capacity: number): Ring<T> {
  assert(Number.isInteger(capacity) && capacity > 0, `ring capacity must be a positive integer, got ${capacity}`);
  return { capacity, items: [], start: 0 };
}

export function ringPush<T>(ring: Ring<T>, item: T): void {
  if (ring.items.length < ring.capacity) {
    ring.items.push(item);
    return;
  }
  ring.items[ring.start] = item;
  ring.start = (ring.start + 1) % ring.capacity;
}

/** Items oldest first. */
export function ringToArray<T>(ring: Ring<T>): T[] {
  return [...ring.items.slice(ring.start), ...ring.items.slice(0, ring.start)];
}

export function ringNewest<T>(ring: Ring<T>): T | undefined {
  if (ring.items.length === 0) return undefined;
  const newestIndex = (ring.start + ring.items.length - 1) % ring.items.length;
  return ring.items[newestIndex];
}
