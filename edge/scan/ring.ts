// A single-producer single-consumer ring of fixed-width float64 records in a SharedArrayBuffer:
// the scan worker produces points, writes and alarm transitions; the main thread consumes them.
// Bounded by construction: a push into a full ring is refused and counted, never blocks, never
// allocates. Indices are free-running uint32 counters published with Atomics.
import { assert } from '../../common/assert.ts';

const head = 0; // next record to read (consumer owns)
const tail = 1; // next record to write (producer owns)
const refused = 2; // pushes refused because the ring was full (producer owns)

export interface RingBuffers {
  readonly control: SharedArrayBuffer;
  readonly records: SharedArrayBuffer;
  readonly width: number;
  readonly capacity: number;
}

export class Float64Ring {
  readonly width: number;
  readonly capacity: number;
  readonly #control: Int32Array;
  readonly #records: Float64Array;

  constructor(buffers: RingBuffers) {
    this.width = buffers.width;
    this.capacity = buffers.capacity;
    this.#control = new Int32Array(buffers.control);
    this.#records = new Float64Array(buffers.records);
    assert(this.#records.length === buffers.width * buffers.capacity, 'ring buffer size does not match width × capacity');
  }

  static allocate(width: number, capacity: number): RingBuffers {
    assert(Number.isInteger(width) && width > 0 && Number.isInteger(capacity) && capacity > 0, 'ring width and capacity must be positive integers');
    return {
      control: new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT),
      records: new SharedArrayBuffer(width * capacity * Float64Array.BYTES_PER_ELEMENT),
      width,
      capacity,
    };
  }

  get length(): number {
    return (Atomics.load(this.#control, tail) - Atomics.load(this.#control, head)) >>> 0;
  }

  get refusedCount(): number {
    return Atomics.load(this.#control, refused) >>> 0;
  }

  /** Producer side. Returns false (and counts) when the ring is full. */
  push4(a: number, b: number, c: number, d: number): boolean {
    const writeAt = Atomics.load(this.#control, tail) >>> 0;
    if (((writeAt - (Atomics.load(this.#control, head) >>> 0)) >>> 0) >= this.capacity) {
      Atomics.add(this.#control, refused, 1);
      return false;
    }
    const base = (writeAt % this.capacity) * this.width;
    const records = this.#records;
    records[base] = a;
    if (this.width > 1) records[base + 1] = b;
    if (this.width > 2) records[base + 2] = c;
    if (this.width > 3) records[base + 3] = d;
    Atomics.store(this.#control, tail, (writeAt + 1) | 0);
    return true;
  }

  /**
   * Consumer side: calls visit(records, offset) for up to max records in order, then frees them.
   * `records` is the ring's own array: read the record's fields inside the callback.
   */
  drain(visit: (records: Float64Array, offset: number) => void, max = this.capacity): number {
    const readAt = Atomics.load(this.#control, head) >>> 0;
    const available = ((Atomics.load(this.#control, tail) >>> 0) - readAt) >>> 0;
    const count = Math.min(available, max);
    for (let i = 0; i < count; i++) visit(this.#records, (((readAt + i) >>> 0) % this.capacity) * this.width);
    Atomics.store(this.#control, head, (readAt + count) | 0);
    return count;
  }
}
