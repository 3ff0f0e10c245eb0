// The gateway's bundle install state machine, independent of the scan: verify and stage a bundle,
// hand its modules to the rule host at a tick boundary, keep it on probation for a number of ticks
// and roll back to the last good bundle when its rules keep faulting (or the gateway keeps
// restarting) during probation. Time is the tick count the scan passes in; there are no timers.
// The store's install record is the commit point: a refused or failed bundle changes nothing.
import { bundleLimitsDefault, verifyBundle, type BundleLimits, type BundleManifest, type ModuleValidator, type OpenedBundle, type OpenedModule } from '../../common/bundle.ts';
import type { Clock } from '../../common/clock.ts';
import { MillwrightError, isMillwrightError } from '../../common/errors.ts';
import { applyRootChain, trustRoot, type TrustedRoot } from '../../common/trust.ts';
import { refOf, type BundleEvent, type BundleRef, type RuleFault } from './bundle-events.ts';
import { emptyInstallRecord, type BundleStore, type InstallRecord } from './bundle-store.ts';
import { edgeBundleErrors } from './errors.ts';

export interface InstallerOptions {
  readonly gatewayId: string;
  readonly groups: readonly string[];
  readonly limits: BundleLimits;
  /** Ticks a new bundle stays on probation after its swap. */
  readonly probationTicks: number;
  /** Rule faults during probation that roll the bundle back. */
  readonly probationFaultsMax: number;
  /** Restarts during probation that roll the bundle back (a bundle that crashes the gateway). */
  readonly probationRestartsMax: number;
  /** Wall clock, for expiry only. */
  readonly clock: Pick<Clock, 'nowMs'>;
  /** The rule runtime's checks of each module (imports, start function, memory). */
  readonly validateModule?: ModuleValidator;
}

export const installerDefaults = { limits: bundleLimitsDefault, probationTicks: 1000, probationFaultsMax: 3, probationRestartsMax: 3 } as const;

/** Loads the modules into the rule host at a tick boundary, all or nothing; throws a coded error to refuse. */
export type SwapModules = (modules: readonly OpenedModule[], manifest: BundleManifest | null) => void;

export type InstallResult = { readonly ok: true; readonly bundle: BundleRef } | { readonly ok: false; readonly error: MillwrightError };

interface Loaded {
  readonly sha256: string;
  readonly opened: OpenedBundle;
}

type Pending =
  | { readonly kind: 'install' | 'restart'; readonly bundle: Loaded }
  | { readonly kind: 'rollback'; readonly bundle: Loaded | null; readonly from: Loaded | null; readonly reason: 'faults' | 'restarts' | 'swap-failed'; readonly faults: readonly RuleFault[] };

export class BundleInstaller {
  readonly #store: BundleStore;
  readonly #options: InstallerOptions;
  readonly #swap: SwapModules;
  readonly #report: (event: BundleEvent) => void;
  #root: TrustedRoot | undefined;
  #record: InstallRecord = emptyInstallRecord;
  #running: Loaded | null = null;
  #pending: Pending | null = null;
  #probation: { startTick: number | undefined; faults: RuleFault[] } | null = null;

  constructor(store: BundleStore, options: InstallerOptions, swap: SwapModules, report: (event: BundleEvent) => void) {
    this.#store = store;
    this.#options = options;
    this.#swap = swap;
    this.#report = report;
  }

  /** Reads the store after a (re)start and stages the installed bundle for the first tick boundary. */
  start(): void {
    this.#guard(() => {
      const rootValue = this.#store.readRoot();
      this.#root = rootValue === undefined ? undefined : trustRoot(rootValue, 'pinned root');
    });
    this.#guard(() => (this.#record = this.#store.readRecord() ?? emptyInstallRecord));
    const { installed, probation } = this.#record;
    if (installed === null) return;
    const bundle = this.#reload(installed);
    if (probation === null) {
      if (bundle !== null) this.#pending = { kind: 'restart', bundle };
      return;
    }
    const restarts = probation.restarts + 1;
    this.#commitRecord({ ...this.#record, probation: { restarts } });
    if (bundle === null || restarts >= this.#options.probationRestartsMax) return this.#beginRollback('restarts', [], bundle);
    this.#pending = { kind: 'restart', bundle };
    this.#probation = { startTick: undefined, faults: [] };
  }

  /** Verifies a bundle against the pinned root (after applying any root rotations sent with it) and stages it. */
  installBundle(bytes: Uint8Array, rootChain: readonly unknown[] = []): InstallResult {
    try {
      if (rootChain.length > 0) this.#applyRootChain(rootChain);
      const root = this.#requireRoot();
      if (this.#pending !== null || this.#probation !== null) {
        throw new MillwrightError(edgeBundleErrors.busy, 'another bundle is staged or on probation; install again once it is committed or rolled back');
      }
      const { highestVersion } = this.#record;
      const opened = verifyBundle(
        bytes,
        root,
        { now: this.#options.clock.nowMs(), gatewayId: this.#options.gatewayId, groups: this.#options.groups, limits: this.#options.limits, ...(highestVersion > 0 && { installedVersion: highestVersion }) },
        this.#options.validateModule,
      );
      const bundle = { sha256: this.#store.writeBundle(bytes), opened };
      this.#pending = { kind: 'install', bundle };
      this.#report({ type: 'bundle-staged', bundle: this.#ref(bundle) });
      return { ok: true, bundle: this.#ref(bundle) };
    } catch (error) {
      if (!isMillwrightError(error)) throw error;
      this.#report({ type: 'bundle-refused', code: error.code, message: error.message, bundle: null });
      return { ok: false, error };
    }
  }

  /** Applies root rotations received on their own. Throws the trust code when refused. */
  applyRoot(chain: readonly unknown[]): void {
    this.#applyRootChain(chain);
  }

  /** Called by the scan between ticks: swaps a staged bundle in, ends probation when it is over. */
  atTickBoundary(tick: number): void {
    const pending = this.#pending;
    if (pending !== null) {
      this.#pending = null;
      this.#swapIn(pending, tick);
      return;
    }
    const probation = this.#probation;
    if (probation?.startTick !== undefined && tick - probation.startTick >= this.#options.probationTicks && this.#running !== null) {
      this.#probation = null;
      const installed = this.#running.sha256;
      this.#commitRecord({ ...this.#record, installed, lastGood: installed, probation: null });
      this.#keepOnlyRecorded();
      this.#report({ type: 'bundle-committed', bundle: this.#ref(this.#running), tick });
    }
  }

  /** A rule trapped, ran out of fuel or was quarantined. Counts only during probation. */
  reportFault(rule: string, tick: number): void {
    const probation = this.#probation;
    if (probation?.startTick === undefined || this.#pending !== null) return;
    if (tick - probation.startTick >= this.#options.probationTicks) return;
    probation.faults.push({ rule, tick });
    if (probation.faults.length >= this.#options.probationFaultsMax) this.#beginRollback('faults', probation.faults, this.#running);
  }

  status(): { running: BundleRef | null; phase: 'idle' | 'staged' | 'probation'; highestVersion: number; rootVersion: number | null } {
    const phase = this.#pending !== null ? 'staged' : this.#probation !== null ? 'probation' : 'idle';
    const running = this.#running === null ? null : this.#ref(this.#running);
    return { running, phase, highestVersion: this.#record.highestVersion, rootVersion: this.#root?.document.version ?? null };
  }

  #swapIn(pending: Pending, tick: number): void {
    const target = pending.bundle;
    try {
      this.#swap(target?.opened.modules ?? [], target?.opened.manifest ?? null);
    } catch (error) {
      if (!isMillwrightError(error)) throw error;
      const failure = new MillwrightError(edgeBundleErrors.swapFailed, `the rule host refused the modules: ${error.message}`, { reason: error.code }, error);
      this.#report({ type: 'bundle-refused', code: failure.code, message: failure.message, bundle: target === null ? null : this.#ref(target) });
      if (pending.kind === 'install') this.#keepOnlyRecorded();
      if (pending.kind === 'restart' && this.#probation !== null) this.#beginRollback('swap-failed', [], pending.bundle);
      return;
    }
    this.#running = target;
    if (pending.kind === 'rollback') {
      this.#probation = null;
      const kept = target?.sha256 ?? null;
      this.#commitRecord({ ...this.#record, installed: kept, lastGood: kept, probation: null });
      this.#keepOnlyRecorded();
      const from = pending.from === null ? null : this.#ref(pending.from);
      this.#report({ type: 'bundle-rolled-back', from, to: target === null ? null : this.#ref(target), reason: pending.reason, faults: pending.faults, tick });
      return;
    }
    const bundle = pending.bundle;
    if (pending.kind === 'install') {
      const highestVersion = Math.max(this.#record.highestVersion, bundle.opened.manifest.version);
      this.#commitRecord({ ...this.#record, installed: bundle.sha256, highestVersion, probation: { restarts: 0 } });
      this.#probation = { startTick: tick, faults: [] };
    } else if (this.#probation !== null) {
      this.#probation.startTick = tick;
    }
    this.#report({ type: 'bundle-swapped', bundle: this.#ref(bundle), reason: pending.kind, tick });
  }

  #beginRollback(reason: 'faults' | 'restarts' | 'swap-failed', faults: readonly RuleFault[], from: Loaded | null): void {
    const { lastGood, installed } = this.#record;
    const bundle = lastGood === null || lastGood === installed ? null : this.#reload(lastGood);
    this.#pending = { kind: 'rollback', bundle, from, reason, faults: [...faults] };
  }

  /** Deletes stored bundle files the record no longer names (a refused or rolled-back bundle). */
  #keepOnlyRecorded(): void {
    const { installed, lastGood } = this.#record;
    this.#guard(() => this.#store.removeBundlesExcept([installed, lastGood].filter((sha256) => sha256 !== null)));
  }

  /** Re-verifies a bundle this gateway accepted before; reports and returns null when it no longer does. */
  #reload(sha256: string): Loaded | null {
    const bytes = this.#guard(() => this.#store.readBundle(sha256));
    if (bytes === undefined) {
      this.#report({ type: 'bundle-state-problem', code: edgeBundleErrors.stateCorrupt.code, message: `stored bundle ${sha256.slice(0, 12)} is missing or damaged` });
      return null;
    }
    try {
      const root = this.#requireRoot();
      const options = { now: this.#options.clock.nowMs(), gatewayId: this.#options.gatewayId, groups: this.#options.groups, limits: this.#options.limits, purpose: 'reload' } as const;
      return { sha256, opened: verifyBundle(bytes, root, options, this.#options.validateModule) };
    } catch (error) {
      if (!isMillwrightError(error)) throw error;
      this.#report({ type: 'bundle-refused', code: error.code, message: `stored bundle ${sha256.slice(0, 12)} no longer verifies: ${error.message}`, bundle: null });
      return null;
    }
  }

  #applyRootChain(chain: readonly unknown[]): void {
    const root = this.#requireRoot();
    const rotated = applyRootChain(root, chain, this.#options.clock.nowMs());
    if (rotated.document.version === root.document.version) return;
    const envelope = chain.find((value) => (value as { signed?: { version?: unknown } } | null)?.signed?.version === rotated.document.version);
    this.#store.writeRoot(envelope);
    this.#root = rotated;
    this.#report({ type: 'root-rotated', fromVersion: root.document.version, toVersion: rotated.document.version });
  }

  #requireRoot(): TrustedRoot {
    if (this.#root === undefined) throw new MillwrightError(edgeBundleErrors.rootMissing, 'no trusted root is pinned in the bundle folder (root.json); nothing can be installed');
    return this.#root;
  }

  #commitRecord(record: InstallRecord): void {
    this.#record = record;
    this.#guard(() => this.#store.writeRecord(record));
  }

  /** Store trouble never stops the scan: it is reported and what runs stays as it is. */
  #guard<T>(action: () => T): T | undefined {
    try {
      return action();
    } catch (error) {
      if (!isMillwrightError(error)) throw error;
      this.#report({ type: 'bundle-state-problem', code: error.code, message: error.message });
      return undefined;
    }
  }

  #ref(bundle: Loaded): BundleRef {
    return refOf(bundle.opened.manifest, bundle.sha256);
  }
}
