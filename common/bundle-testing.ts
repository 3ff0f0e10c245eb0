// Test fixtures for trust and bundles, shared by the tests of common/, rules/ and edge/: key sets,
// signed roots and small valid bundles. Not used by production code.
import type { KeyObject } from 'node:crypto';
import { packBundle, readBundleParts, type BundleParts, type PackInput, type PackModule } from './bundle.ts';
import { ByteWriter, bundleFormatVersion, bundleMagic } from './bundle-format.ts';
import { canonicalJson } from './trust-canonical-json.ts';
import { generateKeyPair, parsePrivateKey, publicKeyInfo } from './trust-keys.ts';
import { buildRootDocument, signEnvelope, trustRoot, type RoleName, type SignedEnvelope, type RootDocument, type TrustedRoot } from './trust.ts';

/** 2026-01-01T00:00:00Z, the SimulatedClock's default start. */
export const testNowMs = 1_767_225_600_000;
export const dayMs = 86_400_000;

export interface TestKey {
  readonly keyId: string;
  readonly privateKey: KeyObject;
  readonly privatePem: string;
  readonly publicBase64: string;
}

export function testKey(): TestKey {
  const pair = generateKeyPair();
  return { keyId: pair.keyId, privateKey: parsePrivateKey(pair.privatePem, 'test key').key, privatePem: pair.privatePem, publicBase64: pair.publicBase64 };
}

export function publicOf(key: TestKey | KeyObject): string {
  return 'publicBase64' in key ? key.publicBase64 : publicKeyInfo(key).base64;
}

export type RoleKeys = Readonly<Record<RoleName, readonly TestKey[]>>;

export function testRoleKeys(counts: Partial<Record<RoleName, number>> = {}): RoleKeys {
  const make = (count: number): TestKey[] => Array.from({ length: count }, testKey);
  return { root: make(counts.root ?? 1), rules: make(counts.rules ?? 1), firmware: make(counts.firmware ?? 1) };
}

export interface TestRootOptions {
  readonly version?: number;
  readonly expiresMs?: number;
  readonly thresholds?: Partial<Record<RoleName, number>>;
  /** Defaults to every root key. */
  readonly signWith?: readonly TestKey[];
}

export function testRootDocument(keys: RoleKeys, options: TestRootOptions = {}): RootDocument {
  const role = (name: RoleName): { keys: string[]; threshold: number } => ({ keys: keys[name].map(publicOf), threshold: options.thresholds?.[name] ?? 1 });
  return buildRootDocument(options.version ?? 1, options.expiresMs ?? testNowMs + 365 * dayMs, { root: role('root'), rules: role('rules'), firmware: role('firmware') });
}

/** A signed root envelope as it would be read from root.json. */
export function testRootEnvelope(keys: RoleKeys, options: TestRootOptions = {}): SignedEnvelope<RootDocument> {
  const signers = options.signWith ?? keys.root;
  return jsonCopy(signEnvelope(testRootDocument(keys, options), signers.map((key) => key.privateKey)));
}

export function testTrustedRoot(keys: RoleKeys, options: TestRootOptions = {}): TrustedRoot {
  return trustRoot(testRootEnvelope(keys, options));
}

/** A valid WebAssembly binary: the header and one custom section carrying `tag`. */
export function tinyWasm(tag: string, padBytes = 0): Uint8Array {
  const name = new TextEncoder().encode('mw');
  const payload = new TextEncoder().encode(tag.padEnd(tag.length + padBytes, '.'));
  const body = [name.length, ...name, ...payload];
  return Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x00, ...leb128(body.length), ...body]);
}

export function testModule(name: string, overrides: Partial<PackModule> = {}): PackModule {
  return {
    name,
    wasm: tinyWasm(name),
    ruleManifest: { inputs: [`line1/${name}/in`], outputs: [], alarms: [{ id: `${name}-high`, severity: 'high' }] },
    limits: { fuelPerTick: 100_000, memoryPagesMax: 2 },
    ...overrides,
  };
}

export function testBundle(signers: readonly TestKey[], overrides: Partial<PackInput> = {}): Uint8Array {
  return packBundle({
    name: 'line1-rules',
    version: 2,
    targets: { gateways: ['line1-gw'], groups: ['press-lines'] },
    createdMs: testNowMs - dayMs,
    expiresMs: testNowMs + 30 * dayMs,
    modules: [testModule('press-overtemp'), testModule('filler-jam')],
    signingKeys: signers.map((key) => key.privateKey),
    ...overrides,
  });
}

/** Writes a container around any envelope (canonical JSON of a value, or the exact text given). */
export function assembleBundle(envelope: unknown, modules: BundleParts['modules'], format = bundleFormatVersion): Uint8Array {
  const text = typeof envelope === 'string' ? envelope : canonicalJson(envelope);
  const writer = new ByteWriter().bytes(bundleMagic).u16(format).u16(0).block(new TextEncoder().encode(text));
  for (const module of modules) writer.block(module.wasm).block(module.ruleManifestBytes);
  return writer.finish();
}

/** Rebuilds a bundle with its envelope changed by `change` (signatures are not redone). */
export function withEnvelope(bytes: Uint8Array, change: (envelope: { signed: Record<string, unknown>; signatures: Record<string, unknown>[] }) => unknown): Uint8Array {
  const parts = readBundleParts(bytes);
  const envelope = jsonCopy<unknown>({ signed: parts.signed, signatures: parts.signatures }) as { signed: Record<string, unknown>; signatures: Record<string, unknown>[] };
  return assembleBundle(change(envelope) ?? envelope, parts.modules);
}

export function jsonCopy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function leb128(value: number): number[] {
  const bytes: number[] = [];
  let rest = value;
  do {
    const byte = rest & 0x7f;
    rest >>>= 7;
    bytes.push(rest === 0 ? byte : byte | 0x80);
  } while (rest !== 0);
  return bytes;
}
