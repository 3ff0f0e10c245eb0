import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dayMs, testBundle, testKey, testModule, testNowMs, testRoleKeys, testRootEnvelope, tinyWasm } from '../../common/bundle-testing.ts';
import { MillwrightError } from '../../common/errors.ts';
import type { BundleEvent } from './bundle-events.ts';
import { BundleInstaller, installerDefaults, type SwapModules } from './bundle-installer.ts';
import { MemoryBundleStore, type BundleStore } from './bundle-store.ts';
import { FileBundleStore } from './file-bundle-store.ts';

const keys = testRoleKeys();
const rules = keys.rules;
const bundle = (version: number, extra: Parameters<typeof testBundle>[1] = {}): Uint8Array => testBundle(rules, { version, ...extra });
const folders: string[] = [];
afterAll(() => folders.splice(0).forEach((folder) => rmSync(folder, { recursive: true, force: true })));

interface Harness {
  readonly installer: BundleInstaller;
  readonly store: BundleStore;
  /** What the rule host runs after each swap: `name@version` or 'none'. */
  readonly swaps: string[];
  readonly events: BundleEvent[];
  hostRefuses: boolean;
}

function gateway(store: BundleStore = pinned(new MemoryBundleStore())): Harness {
  const harness = { store, swaps: [] as string[], events: [] as BundleEvent[], hostRefuses: false } as Harness & { installer: BundleInstaller };
  const swap: SwapModules = (modules, manifest) => {
    if (harness.hostRefuses) throw new MillwrightError({ code: 'RULE_START_FUNCTION', exit: 1 }, `module ${modules[0]?.name} has a start function`);
    harness.swaps.push(manifest === null ? 'none' : `${manifest.name}@${manifest.version}`);
  };
  const options = { ...installerDefaults, gatewayId: 'line1-gw', groups: [], clock: { nowMs: () => testNowMs }, probationTicks: 100, probationFaultsMax: 3, probationRestartsMax: 2 };
  harness.installer = new BundleInstaller(store, options, swap, (event) => harness.events.push(event));
  harness.installer.start();
  return harness;
}

function pinned(store: BundleStore): BundleStore {
  store.writeRoot(testRootEnvelope(keys));
  return store;
}

function fileStore(): FileBundleStore {
  const folder = mkdtempSync(join(tmpdir(), 'mw-install-'));
  folders.push(folder);
  return new FileBundleStore(folder);
}

/** Installs, swaps at tick `tick` and lets probation pass. */
function installCommitted(harness: Harness, version: number, tick = 0): void {
  expect(harness.installer.installBundle(bundle(version)).ok).toBe(true);
  harness.installer.atTickBoundary(tick);
  harness.installer.atTickBoundary(tick + 100);
  expect(harness.installer.status()).toMatchObject({ phase: 'idle', running: { version } });
}

const types = (events: readonly BundleEvent[]): string[] => events.map((event) => event.type);

describe('BundleInstaller', () => {
  it('swaps a verified bundle in at the next tick boundary, then commits it after probation', () => {
    const { installer, swaps, events } = gateway();
    expect(installer.installBundle(bundle(2))).toMatchObject({ ok: true, bundle: { name: 'line1-rules', version: 2 } });
    expect(swaps).toEqual([]);
    installer.atTickBoundary(10);
    expect(swaps).toEqual(['line1-rules@2']);
    expect(installer.status().phase).toBe('probation');
    installer.atTickBoundary(109);
    expect(installer.status().phase).toBe('probation');
    installer.atTickBoundary(110);
    expect(installer.status()).toMatchObject({ phase: 'idle', running: { version: 2 }, highestVersion: 2 });
    expect(types(events)).toEqual(['bundle-staged', 'bundle-swapped', 'bundle-committed']);
  });

  it('rolls back to the last good bundle when rules keep faulting right after the swap, and reports it', () => {
    const harness = gateway();
    installCommitted(harness, 2);
    const { installer, swaps, events } = harness;
    installer.installBundle(bundle(3));
    installer.atTickBoundary(200);
    installer.reportFault('press-overtemp', 201);
    installer.reportFault('press-overtemp', 205);
    expect(installer.status().phase).toBe('probation');
    installer.reportFault('filler-jam', 230);
    expect(swaps.at(-1)).toBe('line1-rules@3');
    installer.atTickBoundary(231);
    expect(swaps).toEqual(['line1-rules@2', 'line1-rules@3', 'line1-rules@2']);
    expect(events.at(-1)).toMatchObject({
      type: 'bundle-rolled-back',
      from: { version: 3 },
      to: { version: 2 },
      reason: 'faults',
      tick: 231,
      faults: [{ rule: 'press-overtemp', tick: 201 }, { rule: 'press-overtemp', tick: 205 }, { rule: 'filler-jam', tick: 230 }],
    });
    expect(installer.status()).toMatchObject({ phase: 'idle', running: { version: 2 }, highestVersion: 3 });
  });

  it('never takes the rolled-back version again, but takes the next one', () => {
    const harness = gateway();
    installCommitted(harness, 2);
    harness.installer.installBundle(bundle(3));
    harness.installer.atTickBoundary(200);
    for (const tick of [201, 202, 203]) harness.installer.reportFault('press-overtemp', tick);
    harness.installer.atTickBoundary(204);
    expect(harness.installer.installBundle(bundle(3))).toMatchObject({ ok: false, error: { code: 'BUNDLE_ROLLBACK' } });
    expect(harness.installer.installBundle(bundle(4)).ok).toBe(true);
  });

  it('keeps a bundle whose faults come after probation or stay below the limit', () => {
    const harness = gateway();
    harness.installer.installBundle(bundle(2));
    harness.installer.atTickBoundary(0);
    harness.installer.reportFault('press-overtemp', 1);
    harness.installer.reportFault('press-overtemp', 2);
    harness.installer.reportFault('press-overtemp', 100);
    harness.installer.atTickBoundary(100);
    harness.installer.reportFault('press-overtemp', 101);
    expect(harness.installer.status()).toMatchObject({ phase: 'idle', running: { version: 2 } });
    expect(types(harness.events)).not.toContain('bundle-rolled-back');
  });

  it('rolls a faulting first bundle back to no bundle rules at all', () => {
    const { installer, swaps, events } = gateway();
    installer.installBundle(bundle(2));
    installer.atTickBoundary(0);
    for (const tick of [1, 2, 3]) installer.reportFault('filler-jam', tick);
    installer.atTickBoundary(4);
    expect(swaps).toEqual(['line1-rules@2', 'none']);
    expect(events.at(-1)).toMatchObject({ type: 'bundle-rolled-back', from: { version: 2 }, to: null });
    expect(installer.status().running).toBeNull();
  });

  it('leaves the running bundle untouched when a bundle is refused', () => {
    const harness = gateway();
    installCommitted(harness, 2);
    const before = harness.store.readRecord();
    const wrongKey = testBundle([testKey()], { version: 3 });
    const tampered = Uint8Array.from(bundle(3));
    tampered[tampered.length - 40]! ^= 1;
    const cases: [Uint8Array, string][] = [
      [wrongKey, 'TRUST_KEY_UNKNOWN'],
      [tampered, 'BUNDLE_MODULE_HASH_MISMATCH'],
      [bundle(3).subarray(0, 500), 'BUNDLE_TRUNCATED'],
      [bundle(1), 'BUNDLE_ROLLBACK'],
      [bundle(3, { targets: { gateways: ['line9-gw'], groups: [] } }), 'BUNDLE_NOT_TARGETED'],
      [bundle(3, { createdMs: testNowMs - 2 * dayMs, expiresMs: testNowMs - dayMs }), 'BUNDLE_EXPIRED'],
    ];
    for (const [bytes, code] of cases) {
      expect(harness.installer.installBundle(bytes), code).toMatchObject({ ok: false, error: { code } });
      harness.installer.atTickBoundary(500);
    }
    expect(harness.swaps).toEqual(['line1-rules@2']);
    expect(harness.store.readRecord()).toEqual(before);
    expect(harness.installer.status()).toMatchObject({ phase: 'idle', running: { version: 2 } });
    expect(harness.events.filter((event) => event.type === 'bundle-refused')).toHaveLength(cases.length);
  });

  it('keeps the running bundle when the rule host refuses the new modules at the swap', () => {
    const harness = gateway();
    installCommitted(harness, 2);
    harness.hostRefuses = true;
    expect(harness.installer.installBundle(bundle(3, { modules: [testModule('loops-forever', { wasm: tinyWasm('start') })] })).ok).toBe(true);
    harness.installer.atTickBoundary(300);
    expect(harness.events.at(-1)).toMatchObject({ type: 'bundle-refused', code: 'EDGE_BUNDLE_SWAP_FAILED' });
    expect(harness.installer.status()).toMatchObject({ phase: 'idle', running: { version: 2 }, highestVersion: 2 });
    expect(harness.store.readRecord()).toMatchObject({ installed: harness.installer.status().running?.sha256, highestVersion: 2 });
  });

  it("refuses a bundle the rule runtime's validation rejects before anything is staged", () => {
    const store = pinned(new MemoryBundleStore());
    const swaps: string[] = [];
    const validateModule = (module: { name: string }): void => {
      if (module.name === 'extra-imports') throw new MillwrightError({ code: 'RULE_IMPORT_REFUSED', exit: 2 }, `module ${module.name} imports wasi_snapshot_preview1.fd_write`);
    };
    const options = { ...installerDefaults, gatewayId: 'line1-gw', groups: [], clock: { nowMs: () => testNowMs }, validateModule };
    const installer = new BundleInstaller(store, options, (_modules, manifest) => void swaps.push(String(manifest?.version)), () => undefined);
    installer.start();
    expect(installer.installBundle(bundle(2, { modules: [testModule('extra-imports')] }))).toMatchObject({ ok: false, error: { code: 'RULE_IMPORT_REFUSED' } });
    installer.atTickBoundary(0);
    expect(swaps).toEqual([]);
    expect(store.readRecord()).toBeUndefined();
  });

  it('refuses a second bundle while one is on probation', () => {
    const { installer } = gateway();
    installer.installBundle(bundle(2));
    expect(installer.installBundle(bundle(3))).toMatchObject({ ok: false, error: { code: 'EDGE_BUNDLE_BUSY' } });
  });

  it('refuses every bundle while no root is pinned', () => {
    const { installer } = gateway(new MemoryBundleStore());
    expect(installer.installBundle(bundle(2))).toMatchObject({ ok: false, error: { code: 'EDGE_BUNDLE_ROOT_MISSING' } });
  });
});

describe('BundleInstaller across restarts (FileBundleStore)', () => {
  it('runs the installed bundle again after a restart', () => {
    const store = pinned(fileStore());
    installCommitted(gateway(store), 2);
    const restarted = gateway(store);
    restarted.installer.atTickBoundary(0);
    expect(restarted.swaps).toEqual(['line1-rules@2']);
    expect(restarted.events).toMatchObject([{ type: 'bundle-swapped', reason: 'restart', bundle: { version: 2 } }]);
    expect(restarted.installer.installBundle(bundle(2))).toMatchObject({ ok: false, error: { code: 'BUNDLE_ROLLBACK' } });
  });

  it('keeps running an accepted bundle after a restart once it has expired', () => {
    const store = pinned(fileStore());
    const first = gateway(store);
    first.installer.installBundle(bundle(2, { expiresMs: testNowMs + 1 }));
    first.installer.atTickBoundary(0);
    first.installer.atTickBoundary(100);
    const later = new BundleInstaller(store, { ...installerDefaults, gatewayId: 'line1-gw', groups: [], clock: { nowMs: () => testNowMs + dayMs } }, () => undefined, () => undefined);
    later.start();
    later.atTickBoundary(0);
    expect(later.status().running?.version).toBe(2);
  });

  it('rolls back a bundle that keeps crashing the gateway during probation', () => {
    const store = pinned(fileStore());
    installCommitted(gateway(store), 2);
    const crashing = gateway(store);
    crashing.installer.atTickBoundary(0);
    expect(crashing.installer.installBundle(bundle(3)).ok).toBe(true);
    crashing.installer.atTickBoundary(1);
    const once = gateway(store);
    once.installer.atTickBoundary(0);
    expect(once.swaps).toEqual(['line1-rules@3']);
    const twice = gateway(store);
    twice.installer.atTickBoundary(0);
    expect(twice.swaps).toEqual(['line1-rules@2']);
    expect(twice.events.at(-1)).toMatchObject({ type: 'bundle-rolled-back', reason: 'restarts', from: { version: 3 }, to: { version: 2 } });
    expect(gateway(store).installer.status()).toMatchObject({ phase: 'staged', highestVersion: 3 });
  });

  it('falls back to the last good bundle when the installed file is damaged', () => {
    const store = pinned(new MemoryBundleStore());
    installCommitted(gateway(store), 2);
    const next = gateway(store);
    next.installer.atTickBoundary(0);
    expect(next.installer.installBundle(bundle(3)).ok).toBe(true);
    next.installer.atTickBoundary(1);
    (store as MemoryBundleStore).damage(next.installer.status().running!.sha256);
    const restarted = gateway(store);
    restarted.installer.atTickBoundary(0);
    expect(restarted.swaps).toEqual(['line1-rules@2']);
    expect(types(restarted.events)).toEqual(['bundle-state-problem', 'bundle-rolled-back']);
  });
});

describe('root rotation on the gateway', () => {
  const v2Keys = { ...keys, rules: [testKey()] };
  const v2 = testRootEnvelope(v2Keys, { version: 2, signWith: keys.root });

  it('applies a rotation sent with a bundle signed by the new rules key, and keeps it across a restart', () => {
    const store = pinned(fileStore());
    const harness = gateway(store);
    const newBundle = testBundle(v2Keys.rules, { version: 2 });
    expect(harness.installer.installBundle(newBundle)).toMatchObject({ ok: false, error: { code: 'TRUST_KEY_UNKNOWN' } });
    expect(harness.installer.installBundle(newBundle, [v2]).ok).toBe(true);
    expect(harness.events.map((event) => event.type)).toContain('root-rotated');
    const restarted = gateway(store);
    expect(restarted.installer.status().rootVersion).toBe(2);
    expect(restarted.installer.installBundle(testBundle(rules, { version: 5 }))).toMatchObject({ ok: false, error: { code: 'TRUST_KEY_UNKNOWN' } });
  });

  it('refuses a forged rotation and keeps the pinned root', () => {
    const harness = gateway();
    const forged = testRootEnvelope(v2Keys, { version: 2, signWith: [testKey()] });
    expect(harness.installer.installBundle(bundle(2), [forged])).toMatchObject({ ok: false, error: { code: 'TRUST_ROOT_ROTATION_INVALID' } });
    expect(() => harness.installer.applyRoot([forged])).toThrow(MillwrightError);
    expect(harness.installer.status().rootVersion).toBe(1);
    expect(harness.installer.installBundle(bundle(2)).ok).toBe(true);
  });
});
