// What the main thread hands the scan worker: shared buffers and the scan's configuration.
import type { RingBuffers } from './ring.ts';
import type { SharedTagBuffers } from './shared-tags.ts';
import type { TraceHeader } from './trace.ts';

export const control = {
  /** Set to 1 by the main thread to stop the worker. */
  stop: 0,
  /** Incremented and notified by the worker when a tick produced writes or alarms. */
  urgent: 1,
} as const;

export interface ScanWorkerData {
  readonly control: SharedArrayBuffer;
  readonly stats: SharedArrayBuffer;
  readonly tags: SharedTagBuffers;
  readonly points: RingBuffers;
  readonly writes: RingBuffers;
  readonly alarms: RingBuffers;
  readonly tickMs: number;
  /** How long before each deadline the worker stops sleeping and spins. */
  readonly spinUs: number;
  /** Nice value for the scan thread (Linux; -20 highest priority); raising it needs CAP_SYS_NICE. */
  readonly threadNice: number;
  readonly record: boolean;
  readonly header: TraceHeader;
}
