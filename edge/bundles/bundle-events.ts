// What the bundle installer reports: the scan integration forwards these to the log, the local API
// and the uplink, so the hub and central see every install, refusal, commit and rollback.
import type { BundleManifest } from '../../common/bundle.ts';

export interface BundleRef {
  readonly name: string;
  readonly version: number;
  /** SHA-256 of the bundle file. */
  readonly sha256: string;
}

export interface RuleFault {
  readonly rule: string;
  readonly tick: number;
}

export type BundleEvent =
  | { readonly type: 'bundle-staged'; readonly bundle: BundleRef }
  | { readonly type: 'bundle-refused'; readonly code: string; readonly message: string; readonly bundle: BundleRef | null }
  | { readonly type: 'bundle-swapped'; readonly bundle: BundleRef; readonly reason: 'install' | 'restart'; readonly tick: number }
  | { readonly type: 'bundle-committed'; readonly bundle: BundleRef; readonly tick: number }
  | {
      readonly type: 'bundle-rolled-back';
      readonly from: BundleRef | null;
      /** null: there was no good bundle before; the gateway now runs no bundle rules. */
      readonly to: BundleRef | null;
      readonly reason: 'faults' | 'restarts' | 'swap-failed';
      readonly faults: readonly RuleFault[];
      readonly tick: number;
    }
  | { readonly type: 'root-rotated'; readonly fromVersion: number; readonly toVersion: number }
  /** The store could not be read or written; what runs is unchanged. */
  | { readonly type: 'bundle-state-problem'; readonly code: string; readonly message: string };

export function refOf(manifest: BundleManifest, sha256: string): BundleRef {
  return { name: manifest.name, version: manifest.version, sha256 };
}
