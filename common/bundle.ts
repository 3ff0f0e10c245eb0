// Rule bundles: pack compiled modules and their rule manifests under one signed manifest, and open
// a bundle file on a gateway, refusing it with a precise code unless it is intact, signed by the
// rules role of the trusted root, current, newer than the running one and meant for this gateway.
// Module bytes are opaque here apart from the WebAssembly header; the rule runtime checks imports,
// start function and fuel when it loads them (see verifyBundle).
import type { KeyObject } from 'node:crypto';
import { bundleErrors } from './bundle-errors.ts';
import { ByteReader, ByteWriter, bundleFormatVersion, bundleMagic, malformed } from './bundle-format.ts';
import { bundleLimitsDefault, manifestTimes, parseManifest, type BundleLimits, type BundleManifest, type ModuleLimits } from './bundle-manifest.ts';
import { MillwrightError, isMillwrightError } from './errors.ts';
import { assertNotExpired, parseEnvelope, signEnvelope, verifyRole, type Signature, type TrustedRoot } from './trust.ts';
import { NotCanonicalError, canonicalBytes, canonicalJson, sha256Hex } from './trust-canonical-json.ts';
import { formatTimestamp } from './trust-fields.ts';

export * from './bundle-manifest.ts';

const wasmHeader = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00);

export interface PackModule {
  readonly name: string;
  readonly wasm: Uint8Array;
  /** The rule's manifest (declared inputs, outputs, alarms): carried and hashed, not interpreted. */
  readonly ruleManifest: unknown;
  readonly limits: ModuleLimits;
}

export interface PackInput {
  readonly name: string;
  readonly version: number;
  readonly targets: { readonly gateways: readonly string[]; readonly groups: readonly string[] };
  readonly createdMs: number;
  readonly expiresMs: number;
  readonly modules: readonly PackModule[];
  /** Private keys of the rules role; each adds one signature. */
  readonly signingKeys: readonly KeyObject[];
}

export interface OpenedModule {
  readonly name: string;
  readonly wasm: Uint8Array;
  readonly ruleManifest: unknown;
  readonly sha256: string;
  readonly limits: ModuleLimits;
}

export interface OpenedBundle {
  readonly manifest: BundleManifest;
  /** SHA-256 of the manifest's canonical bytes: what the signatures cover. */
  readonly manifestSha256: string;
  /** Key ids whose signatures verified. */
  readonly signers: readonly string[];
  readonly modules: readonly OpenedModule[];
}

export interface OpenOptions {
  /** Wall-clock epoch milliseconds, for expiry. */
  readonly now: number;
  /** This gateway's id and groups; omit gatewayId to skip the target check (CLI verify). */
  readonly gatewayId?: string;
  readonly groups?: readonly string[];
  /** Highest version installed so far; the bundle must be above it. Omit when none was. */
  readonly installedVersion?: number;
  readonly limits?: BundleLimits;
  /**
   * 'install' (default) refuses expired and rolled-back bundles. 'reload' re-verifies a bundle
   * this gateway accepted before (after a restart, or for a rollback): signatures, target, limits
   * and hashes are checked again, expiry and version are not.
   */
  readonly purpose?: 'install' | 'reload';
}

export function packBundle(input: PackInput): Uint8Array {
  if (input.signingKeys.length === 0) throw packInvalid('at least one signing key is needed');
  const ruleManifests = input.modules.map((module) => {
    if (!startsWithWasmHeader(module.wasm)) throw packInvalid(`module '${module.name}' is not a WebAssembly binary (no \\0asm version 1 header)`);
    try {
      return canonicalBytes(module.ruleManifest);
    } catch (error) {
      if (error instanceof NotCanonicalError) throw packInvalid(`rule manifest of '${module.name}': ${error.message}`);
      throw error;
    }
  });
  const manifest = {
    type: 'rules-bundle',
    name: input.name,
    version: input.version,
    targets: { gateways: [...input.targets.gateways], groups: [...input.targets.groups] },
    created: formatTimestamp(input.createdMs),
    expires: formatTimestamp(input.expiresMs),
    modules: input.modules.map((module, index) => ({
      name: module.name,
      sha256: sha256Hex(module.wasm),
      bytes: module.wasm.length,
      ruleManifestSha256: sha256Hex(ruleManifests[index] ?? new Uint8Array()),
      limits: { fuelPerTick: module.limits.fuelPerTick, memoryPagesMax: module.limits.memoryPagesMax },
    })),
  };
  try {
    parseManifest(manifest);
  } catch (error) {
    if (isMillwrightError(error)) throw new MillwrightError(bundleErrors.packInvalid, error.message, error.details);
    throw error;
  }
  const envelope = new TextEncoder().encode(canonicalJson(signEnvelope(manifest, input.signingKeys)));
  const writer = new ByteWriter().bytes(bundleMagic).u16(bundleFormatVersion).u16(0).block(envelope);
  input.modules.forEach((module, index) => writer.block(module.wasm).block(ruleManifests[index] ?? new Uint8Array()));
  return writer.finish();
}

/** The parts of a bundle file, structurally checked but not verified: for inspect and openBundle. */
export interface BundleParts {
  readonly manifest: BundleManifest;
  readonly manifestSha256: string;
  readonly signatures: readonly Signature[];
  /** The manifest exactly as signed (before parsing). */
  readonly signed: unknown;
  readonly modules: readonly { readonly wasm: Uint8Array; readonly ruleManifestBytes: Uint8Array }[];
}

export function openBundle(bytes: Uint8Array, root: TrustedRoot, options: OpenOptions): OpenedBundle {
  const limits = options.limits ?? bundleLimitsDefault;
  const install = (options.purpose ?? 'install') === 'install';
  const reader = new ByteReader(bytes);
  const { manifest, manifestSha256, signatures, signed } = readHead(reader, limits);
  const what = `bundle ${manifest.name} v${manifest.version}`;
  if (install) assertNotExpired(root.expiresMs, options.now, `trusted root v${root.document.version}`);
  const signers = verifyRole({ signed, signatures }, root, 'rules', what);
  if (install) checkFreshness(manifest, options, what);
  if (options.gatewayId !== undefined) checkTarget(manifest, options.gatewayId, options.groups ?? [], what);
  checkLimits(manifest, limits, what);
  const parts = readModules(reader, manifest, limits);
  const modules = manifest.modules.map((entry, index): OpenedModule => {
    const part = parts[index];
    if (part === undefined) throw malformed(`module '${entry.name}' is missing`);
    if (sha256Hex(part.wasm) !== entry.sha256) {
      throw new MillwrightError(bundleErrors.moduleHashMismatch, `${what}: module '${entry.name}' does not match its SHA-256 in the signed manifest`, { module: entry.name });
    }
    if (sha256Hex(part.ruleManifestBytes) !== entry.ruleManifestSha256) {
      throw new MillwrightError(bundleErrors.moduleHashMismatch, `${what}: the rule manifest of '${entry.name}' does not match its SHA-256 in the signed manifest`, { module: entry.name });
    }
    if (!startsWithWasmHeader(part.wasm)) {
      throw new MillwrightError(bundleErrors.moduleInvalid, `${what}: module '${entry.name}' is not a WebAssembly binary`, { module: entry.name });
    }
    return { name: entry.name, wasm: part.wasm, ruleManifest: parseJson(part.ruleManifestBytes, `rule manifest of '${entry.name}'`), sha256: entry.sha256, limits: entry.limits };
  });
  return { manifest, manifestSha256, signers, modules };
}

/** Reads every part of a bundle without verifying trust: what `bundle inspect` shows. */
export function readBundleParts(bytes: Uint8Array, limits: BundleLimits = bundleLimitsDefault): BundleParts {
  const reader = new ByteReader(bytes);
  const head = readHead(reader, limits);
  return { ...head, modules: readModules(reader, head.manifest, limits) };
}

/** Validation the rule runtime applies to each module before a swap; throws a coded error. */
export type ModuleValidator = (module: OpenedModule, limits: BundleLimits) => void;

/**
 * Hook for the rule runtime's module checks (imports beyond the host ABI, start function, memory
 * and fuel). common/rule-runtime.ts did not exist when this was written: until it does, pass its
 * validation here from the caller; the default only accepts what openBundle already checked.
 */
export const ruleRuntimeValidation: ModuleValidator = () => undefined;

/** openBundle, then the rule runtime's validation of every module. */
export function verifyBundle(bytes: Uint8Array, root: TrustedRoot, options: OpenOptions, validate: ModuleValidator = ruleRuntimeValidation): OpenedBundle {
  const opened = openBundle(bytes, root, options);
  for (const module of opened.modules) validate(module, options.limits ?? bundleLimitsDefault);
  return opened;
}

function readHead(reader: ByteReader, limits: BundleLimits): Omit<BundleParts, 'modules'> {
  const total = reader.remaining;
  if (total > limits.bundleBytesMax) throw new MillwrightError(bundleErrors.tooLarge, `bundle is ${total} bytes, the limit is ${limits.bundleBytesMax}`, { bytes: total });
  const magic = reader.bytes(Math.min(bundleMagic.length, total), 'magic');
  if (!magic.every((byte, index) => byte === bundleMagic[index])) throw malformed('not a millwright bundle (the file does not start with MWBUNDLE)');
  if (magic.length < bundleMagic.length) reader.bytes(bundleMagic.length - magic.length, 'magic');
  const format = reader.u16('format version');
  if (format !== bundleFormatVersion) {
    throw new MillwrightError(bundleErrors.formatUnsupported, `bundle format ${format} is not supported (this gateway reads format ${bundleFormatVersion})`, { format });
  }
  const flags = reader.u16('flags');
  if (flags !== 0) throw malformed(`flags are ${flags}; format ${bundleFormatVersion} defines none`);
  const envelopeLength = reader.u32('envelope length');
  if (envelopeLength > limits.envelopeBytesMax) {
    throw new MillwrightError(bundleErrors.tooLarge, `bundle envelope is ${envelopeLength} bytes, the limit is ${limits.envelopeBytesMax}`, { bytes: envelopeLength });
  }
  const envelopeBytes = reader.bytes(envelopeLength, 'envelope');
  const value = parseJson(envelopeBytes, 'envelope');
  if (!isCanonical(value, envelopeBytes)) throw malformed('the envelope is not canonical JSON');
  const envelope = parseEnvelope(value, 'bundle', bundleErrors.malformed);
  const manifest = parseManifest(envelope.signed);
  return { manifest, manifestSha256: sha256Hex(canonicalBytes(envelope.signed)), signatures: envelope.signatures, signed: envelope.signed };
}

function readModules(reader: ByteReader, manifest: BundleManifest, limits: BundleLimits): BundleParts['modules'] {
  const modules = manifest.modules.map((entry) => {
    const length = reader.u32(`length of module '${entry.name}'`);
    if (length !== entry.bytes) throw malformed(`module '${entry.name}' is ${length} bytes long, the signed manifest says ${entry.bytes}`, { module: entry.name });
    const wasm = reader.bytes(length, `module '${entry.name}'`);
    const ruleManifestLength = reader.u32(`length of the rule manifest of '${entry.name}'`);
    if (ruleManifestLength > limits.ruleManifestBytesMax) {
      throw new MillwrightError(bundleErrors.moduleTooLarge, `the rule manifest of '${entry.name}' is ${ruleManifestLength} bytes, the limit is ${limits.ruleManifestBytesMax}`, { module: entry.name });
    }
    return { wasm, ruleManifestBytes: reader.bytes(ruleManifestLength, `rule manifest of '${entry.name}'`) };
  });
  if (reader.remaining > 0) throw malformed(`${reader.remaining} bytes follow the last module at offset ${reader.offset}`);
  return modules;
}

function checkFreshness(manifest: BundleManifest, options: OpenOptions, what: string): void {
  const { expiresMs } = manifestTimes(manifest);
  if (expiresMs <= options.now) {
    throw new MillwrightError(bundleErrors.expired, `${what} expired at ${manifest.expires} (now ${formatTimestamp(options.now)})`, { expires: manifest.expires });
  }
  const installed = options.installedVersion;
  if (installed !== undefined && manifest.version <= installed) {
    throw new MillwrightError(bundleErrors.rollback, `${what} is not newer than version ${installed} already installed here: refusing a rollback`, { version: manifest.version, installed });
  }
}

function checkTarget(manifest: BundleManifest, gatewayId: string, groups: readonly string[], what: string): void {
  if (manifest.targets.gateways.includes(gatewayId) || groups.some((group) => manifest.targets.groups.includes(group))) return;
  throw new MillwrightError(bundleErrors.notTargeted, `${what} targets gateways [${manifest.targets.gateways.join(', ')}] and groups [${manifest.targets.groups.join(', ')}], not gateway ${gatewayId} (groups [${groups.join(', ')}])`, {
    gatewayId,
    groups,
    targets: manifest.targets,
  });
}

function checkLimits(manifest: BundleManifest, limits: BundleLimits, what: string): void {
  if (manifest.modules.length > limits.modulesMax) {
    throw new MillwrightError(bundleErrors.limitExceeded, `${what} has ${manifest.modules.length} modules, the limit is ${limits.modulesMax}`);
  }
  for (const entry of manifest.modules) {
    if (entry.bytes > limits.moduleBytesMax) {
      throw new MillwrightError(bundleErrors.moduleTooLarge, `${what}: module '${entry.name}' is ${entry.bytes} bytes, the limit is ${limits.moduleBytesMax}`, { module: entry.name });
    }
    if (entry.limits.fuelPerTick > limits.fuelPerTickMax || entry.limits.memoryPagesMax > limits.memoryPagesMax) {
      throw new MillwrightError(
        bundleErrors.limitExceeded,
        `${what}: module '${entry.name}' asks for ${entry.limits.fuelPerTick} fuel per tick and ${entry.limits.memoryPagesMax} memory pages; this gateway allows ${limits.fuelPerTickMax} and ${limits.memoryPagesMax}`,
        { module: entry.name },
      );
    }
  }
}

function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes));
  } catch (error) {
    throw malformed(`the ${what} is not UTF-8 JSON (${(error as Error).message})`);
  }
}

function isCanonical(value: unknown, bytes: Uint8Array): boolean {
  try {
    return Buffer.from(canonicalBytes(value)).equals(bytes);
  } catch (error) {
    if (error instanceof NotCanonicalError) return false;
    throw error;
  }
}

function startsWithWasmHeader(bytes: Uint8Array): boolean {
  return bytes.length >= wasmHeader.length && wasmHeader.every((byte, index) => bytes[index] === byte);
}

function packInvalid(message: string): MillwrightError {
  return new MillwrightError(bundleErrors.packInvalid, `cannot pack the bundle: ${message}`);
}
