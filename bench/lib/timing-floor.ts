// The machine's own limit for a fixed tick: a bare worker thread that does what the scan worker
// does to meet a deadline (Atomics.wait until spinUs before it, then spin on performance.now()) and nothing
// else: no step, no rings, no TypeScript. Whatever lateness it sees comes from the OS and the
// hypervisor waking and scheduling a thread, so the scan's own lateness is judged against it.
// Samples go into a SharedArrayBuffer (slot 0 holds the count); stop() ends the thread.
import { Worker } from 'node:worker_threads';
import { summarize, type Summary } from './stats.ts';

const floorLoop = `
const { workerData } = require('node:worker_threads');
const { control, samples, tickMs, spinUs } = workerData;
const stop = new Int32Array(control);
const out = new Float64Array(samples);
const spinMs = spinUs / 1000;
const now = () => performance.now();
let deadline = now() + tickMs;
while (Atomics.load(stop, 0) === 0) {
  const sleepMs = deadline - now() - spinMs;
  if (sleepMs > 0) Atomics.wait(stop, 0, 0, sleepMs);
  let started = now();
  while (started < deadline) started = now();
  if (out[0] < out.length - 1) out[++out[0]] = (started - deadline) * 1000;
  deadline += tickMs;
  const after = now();
  if (after > deadline) deadline += (Math.floor((after - deadline) / tickMs) + 1) * tickMs;
}
`;

export interface TimingFloor {
  /** Stops the thread and returns its lateness in ms. */
  stop(): Promise<Summary>;
}

export function startTimingFloor(tickMs: number, spinUs: number, samplesMax: number): TimingFloor {
  const control = new SharedArrayBuffer(4);
  const samples = new SharedArrayBuffer((samplesMax + 1) * 8);
  const worker = new Worker(floorLoop, { eval: true, workerData: { control, samples, tickMs, spinUs } });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  return {
    async stop() {
      const stopWord = new Int32Array(control);
      Atomics.store(stopWord, 0, 1);
      Atomics.notify(stopWord, 0);
      await exited;
      const recorded = new Float64Array(samples);
      return summarize(Array.from(recorded.subarray(1, 1 + recorded[0]!), (us) => us / 1000));
    },
  };
}
