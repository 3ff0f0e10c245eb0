// A bounded FIFO on a ring buffer. Every queue in millwright has a stated capacity and an explicit
// overflow policy; what it refused or dropped is counted, never silent.
import { assert } from './assert.ts';

/**
 * - `reject`: push returns false and the item is counted as rejected; the caller decides.
 * - `drop-oldest`: the oldest item is evicted (and counted) to make room; push succeeds.
 * - `drop-newest`: the new item is discarded (and counted); push returns false.
 */
export type OverflowPolicy = 'reject' | 'drop-oldest' | 'drop-newest';

export interface QueueCounters {
  readonly pushed: number;
  readonly popped: number;
  readonly rejected: number;
  readonly dropped: number;
  readonly highWater: number;
}

export class BoundedQueue<T> {
  readonly capacity: number;
  readonly policy: OverflowPolicy;
  readonly #items: (T | undefined)[];
  #head = 0;
  #length = 0;
  #pushed = 0;
  #popped = 0;
  #rejected = 0;
  #dropped = 0;
  #highWater = 0;
  readonly #onDrop: ((item: T) => void) | undefined;

  constructor(capacity: number, policy: OverflowPolicy, onDrop?: (item: T) => void) {
    assert(Number.isInteger(capacity) && capacity > 0, `queue capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.policy = policy;
    this.#items = new Array<T | undefined>(capacity).fill(undefined);
    this.#onDrop = onDrop;
  }

  get length(): number {
    return this.#length;
  }

  get full(): boolean {
    return this.#length === this.capacity;
  }

  /** Returns true when the item was queued. */
  push(item: T): boolean {
    if (this.#length === this.capacity) {
      switch (this.policy) {
        case 'reject':
          this.#rejected++;
          return false;
        case 'drop-newest':
          this.#dropped++;
          this.#onDrop?.(item);
          return false;
        case 'drop-oldest': {
          const evicted = this.shift();
          this.#popped--; // an eviction is a drop, not a consumption
          this.#dropped++;
          if (evicted !== undefined) this.#onDrop?.(evicted);
          break;
        }
      }
    }
    this.#items[(this.#head + this.#length) % this.capacity] = item;
    this.#length++;
    this.#pushed++;
    if (this.#length > this.#highWater) this.#highWater = this.#length;
    return true;
  }

  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.capacity;
    this.#length--;
    this.#popped++;
    return item;
  }

  peek(): T | undefined {
    return this.#length === 0 ? undefined : this.#items[this.#head];
  }

  /** Removes up to `max` items in order and returns them. */
  drain(max = this.#length): T[] {
    const out: T[] = [];
    while (out.length < max && this.#length > 0) out.push(this.shift() as T);
    return out;
  }

  counters(): QueueCounters {
    return {
      pushed: this.#pushed,
      popped: this.#popped,
      rejected: this.#rejected,
      dropped: this.#dropped,
      highWater: this.#highWater,
    };
  }
}
