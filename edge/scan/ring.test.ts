import { describe, expect, it } from 'vitest';
import { Float64Ring } from './ring.ts';

describe('Float64Ring', () => {
  it('delivers records in order across the wrap', () => {
    const ring = new Float64Ring(Float64Ring.allocate(2, 3));
    const seen: number[][] = [];
    const take = (records: Float64Array, offset: number): void => void seen.push([records[offset]!, records[offset + 1]!]);
    ring.push4(1, 10, 0, 0);
    ring.push4(2, 20, 0, 0);
    ring.drain(take);
    ring.push4(3, 30, 0, 0);
    ring.push4(4, 40, 0, 0);
    ring.push4(5, 50, 0, 0);
    ring.drain(take);
    expect(seen).toEqual([[1, 10], [2, 20], [3, 30], [4, 40], [5, 50]]);
    expect(ring.length).toBe(0);
  });

  it('refuses and counts pushes into a full ring', () => {
    const ring = new Float64Ring(Float64Ring.allocate(1, 2));
    expect(ring.push4(1, 0, 0, 0)).toBe(true);
    expect(ring.push4(2, 0, 0, 0)).toBe(true);
    expect(ring.push4(3, 0, 0, 0)).toBe(false);
    expect(ring.refusedCount).toBe(1);
    expect(ring.length).toBe(2);
  });

  it('drains at most the requested count', () => {
    const ring = new Float64Ring(Float64Ring.allocate(1, 4));
    [1, 2, 3].forEach((value) => ring.push4(value, 0, 0, 0));
    const seen: number[] = [];
    expect(ring.drain((records, offset) => void seen.push(records[offset]!), 2)).toBe(2);
    expect(seen).toEqual([1, 2]);
    expect(ring.length).toBe(1);
  });

  it('works across threads through the shared buffers', async () => {
    const { Worker } = await import('node:worker_threads');
    const buffers = Float64Ring.allocate(1, 64);
    const producer = new Worker(
      `const { workerData } = require('node:worker_threads');
       const control = new Int32Array(workerData.control); const records = new Float64Array(workerData.records);
       let next = 1;
       while (next <= 10000) {
         const t = Atomics.load(control, 1) >>> 0;
         if (((t - (Atomics.load(control, 0) >>> 0)) >>> 0) >= 64) continue;
         records[t % 64] = next++;
         Atomics.store(control, 1, (t + 1) | 0);
       }`,
      { eval: true, workerData: buffers },
    );
    const ring = new Float64Ring(buffers);
    const received: number[] = [];
    while (received.length < 10000) {
      ring.drain((records, offset) => void received.push(records[offset]!));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await producer.terminate();
    expect(received).toEqual(Array.from({ length: 10000 }, (_, index) => index + 1));
  });
});
