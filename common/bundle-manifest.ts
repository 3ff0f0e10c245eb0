// The signed manifest of a rule bundle and the limits a gateway enforces on bundles. The manifest
// names every module with its size and SHA-256 (and its rule manifest's SHA-256), so signing the
// manifest signs every byte of the bundle.
import { bundleErrors } from './bundle-errors.ts';
import { idPatternSource } from './ids.ts';
import { Fields, sha256HexPattern } from './trust-fields.ts';

export interface ModuleLimits {
  /** Deterministic fuel the rule may burn in one tick. */
  readonly fuelPerTick: number;
  /** Linear memory cap in 64 KiB WebAssembly pages. */
  readonly memoryPagesMax: number;
}

export interface ManifestModule {
  /** The rule's name; unique in the bundle. */
  readonly name: string;
  /** Hex SHA-256 of the WebAssembly bytes. */
  readonly sha256: string;
  /** Length of the WebAssembly bytes. */
  readonly bytes: number;
  /** Hex SHA-256 of the rule manifest's canonical JSON bytes. */
  readonly ruleManifestSha256: string;
  readonly limits: ModuleLimits;
}

export interface BundleManifest {
  readonly type: 'rules-bundle';
  readonly name: string;
  /** Increases with every bundle published for the same gateways; gateways refuse lower ones. */
  readonly version: number;
  readonly targets: { readonly gateways: readonly string[]; readonly groups: readonly string[] };
  /** RFC 3339 UTC. */
  readonly created: string;
  readonly expires: string;
  readonly modules: readonly ManifestModule[];
}

/** What a gateway accepts. Every limit is positive: zero never means unlimited. */
export interface BundleLimits {
  readonly bundleBytesMax: number;
  readonly envelopeBytesMax: number;
  readonly modulesMax: number;
  readonly moduleBytesMax: number;
  readonly ruleManifestBytesMax: number;
  readonly fuelPerTickMax: number;
  readonly memoryPagesMax: number;
}

export const bundleLimitsDefault: BundleLimits = {
  bundleBytesMax: 32 * 1024 * 1024,
  envelopeBytesMax: 256 * 1024,
  modulesMax: 256,
  moduleBytesMax: 1024 * 1024,
  ruleManifestBytesMax: 64 * 1024,
  fuelPerTickMax: 10_000_000,
  memoryPagesMax: 256,
};

/** Structural caps of the format itself, whatever a gateway's limits say. */
export const manifestCaps = {
  modulesMax: 4096,
  targetsMax: 4096,
  versionMax: Number.MAX_SAFE_INTEGER,
  sizeMax: 2 ** 32 - 1,
} as const;

const idPattern = new RegExp(idPatternSource);
export const moduleNamePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function parseManifest(value: unknown, what = 'bundle manifest'): BundleManifest {
  const fields = new Fields(bundleErrors.manifestInvalid, what);
  const manifest = fields.object(value, 'manifest', ['type', 'name', 'version', 'targets', 'created', 'expires', 'modules']);
  fields.literal(manifest['type'], 'manifest.type', 'rules-bundle');
  const name = fields.string(manifest['name'], 'manifest.name', idPattern, 63);
  const version = fields.integer(manifest['version'], 'manifest.version', 1, manifestCaps.versionMax);
  const targetFields = fields.object(manifest['targets'], 'manifest.targets', ['gateways', 'groups']);
  const targets = {
    gateways: fields.distinctStrings(targetFields['gateways'], 'manifest.targets.gateways', idPattern, manifestCaps.targetsMax),
    groups: fields.distinctStrings(targetFields['groups'], 'manifest.targets.groups', idPattern, manifestCaps.targetsMax),
  };
  if (targets.gateways.length + targets.groups.length === 0) fields.fail('manifest.targets', 'names no gateway and no group');
  const createdMs = fields.timestamp(manifest['created'], 'manifest.created');
  const expiresMs = fields.timestamp(manifest['expires'], 'manifest.expires');
  if (expiresMs <= createdMs) fields.fail('manifest.expires', 'must be after manifest.created');
  const modules = fields.array(manifest['modules'], 'manifest.modules', manifestCaps.modulesMax).map((item, index): ManifestModule => {
    const path = `manifest.modules[${index}]`;
    const entry = fields.object(item, path, ['name', 'sha256', 'bytes', 'ruleManifestSha256', 'limits']);
    const limits = fields.object(entry['limits'], `${path}.limits`, ['fuelPerTick', 'memoryPagesMax']);
    return {
      name: fields.string(entry['name'], `${path}.name`, moduleNamePattern, 64),
      sha256: fields.string(entry['sha256'], `${path}.sha256`, sha256HexPattern, 64),
      bytes: fields.integer(entry['bytes'], `${path}.bytes`, 8, manifestCaps.sizeMax),
      ruleManifestSha256: fields.string(entry['ruleManifestSha256'], `${path}.ruleManifestSha256`, sha256HexPattern, 64),
      limits: {
        fuelPerTick: fields.integer(limits['fuelPerTick'], `${path}.limits.fuelPerTick`, 1, Number.MAX_SAFE_INTEGER),
        memoryPagesMax: fields.integer(limits['memoryPagesMax'], `${path}.limits.memoryPagesMax`, 1, 65_536),
      },
    };
  });
  const names = modules.map((module) => module.name);
  const duplicate = names.find((moduleName, index) => names.indexOf(moduleName) !== index);
  if (duplicate !== undefined) fields.fail('manifest.modules', `module name '${duplicate}' appears twice`);
  return { type: 'rules-bundle', name, version, targets, created: manifest['created'] as string, expires: manifest['expires'] as string, modules };
}

export function manifestTimes(manifest: BundleManifest): { createdMs: number; expiresMs: number } {
  return { createdMs: Date.parse(manifest.created), expiresMs: Date.parse(manifest.expires) };
}
