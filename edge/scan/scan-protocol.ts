// What the main thread hands the scan worker: shared buffers and the scan's configuration.
import type { MessagePort } from 'node:worker_threads';
import type { RuleFaultEvent } from '../rules/rule-host.ts';
import type { RingBuffers } from './ring.ts';
import type { SharedTagBuffers } from './shared-tags.ts';
import type { TraceHeader } from './trace.ts';

export const control = {
  /** Set to 1 by the main thread to stop the worker. */
  stop: 0,
  /** Incremented and notified by the worker when a tick produced writes or alarms. */
  urgent: 1,
  /** Incremented by the main thread after it posts a rule swap on rulesPort. */
  rulesPending: 2,
} as const;

export const controlWords = 3;

/** Marks a rule swap in the points and alarms rings: [swapMarker, generation, 0, 0]. */
export const swapMarker = -1;

/** What the worker posts to the main thread besides trace chunks. */
export type ScanWorkerMessage =
  | { readonly kind: 'trace'; readonly chunk: Uint8Array }
  | { readonly kind: 'stopped'; readonly ticks: number }
  | { readonly kind: 'rule-fault'; readonly event: RuleFaultEvent }
  | { readonly kind: 'rules-swapped'; readonly generation: number; readonly tick: number; readonly swapMs: number; readonly carried: readonly string[] }
  | { readonly kind: 'rules-refused'; readonly generation: number; readonly code: string; readonly message: string };

export interface ScanWorkerData {
  readonly control: SharedArrayBuffer;
  readonly stats: SharedArrayBuffer;
  readonly tags: SharedTagBuffers;
  readonly points: RingBuffers;
  readonly writes: RingBuffers;
  readonly alarms: RingBuffers;
  /** Operator commands for the rules (release, acknowledge): see rules/rule-commands.ts. */
  readonly ruleCommands: RingBuffers;
  /** Rule swaps (RuleSwap), polled by the worker between ticks when control.rulesPending moves. */
  readonly rulesPort: MessagePort;
  readonly tickMs: number;
  /** How long before each deadline the worker stops sleeping and spins. */
  readonly spinUs: number;
  /** Nice value for the scan thread (Linux; -20 highest priority); raising it needs CAP_SYS_NICE. */
  readonly threadNice: number;
  readonly record: boolean;
  readonly header: TraceHeader;
}
