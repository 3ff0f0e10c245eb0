// The narrow interface every device driver implements (EdgeX-style): the engine owns scheduling
// and calls poll() at the device's rate; drivers only talk to their device and write results
// into the tag table through a sink. Drivers never call the scan core.
import type { Quality } from '../../common/point.ts';

export interface TagSink {
  /** index is the driver's own tag index (order of its `tags`). */
  write(index: number, value: number, quality: Quality, sourceTsMs: number): void;
  markQuality(index: number, quality: Quality, sourceTsMs: number): void;
}

export interface DriverTag {
  /** Name inside the device, from its profile. */
  readonly name: string;
  readonly kind: 'number' | 'boolean';
  readonly writable: boolean;
}

export interface DriverHealth {
  readonly connected: boolean;
  readonly polls: number;
  readonly pollFailures: number;
  readonly consecutiveFailures: number;
  readonly lastError: string | undefined;
  readonly lastErrorCode: string | undefined;
}

export interface Driver {
  readonly deviceId: string;
  readonly tags: readonly DriverTag[];
  readonly pollIntervalMs: number;
  /**
   * True when the driver delivers changes only (OPC UA subscriptions, serial instruments): a
   * quiet tag is then not a stale one, so the scan does not age it; the driver marks its tags
   * bad itself when the link fails.
   */
  readonly deliversChangesOnly?: boolean;
  open(): Promise<void>;
  /** Reads every tag once; failures of individual requests mark those tags, not the whole device. */
  poll(sink: TagSink): Promise<void>;
  write(tagName: string, value: number | boolean): Promise<void>;
  close(): Promise<void>;
  health(): DriverHealth;
}
