import { describe, expect, it } from 'vitest';
import { bundleLimitsDefault, openBundle, packBundle, readBundleParts, verifyBundle, type OpenOptions } from './bundle.ts';
import { assembleBundle, dayMs, jsonCopy, testBundle, testKey, testModule, testNowMs, testRoleKeys, testTrustedRoot, tinyWasm, withEnvelope } from './bundle-testing.ts';
import { MillwrightError, isMillwrightError } from './errors.ts';
import { canonicalBytes, sha256Hex } from './trust-canonical-json.ts';
import { signEnvelope } from './trust.ts';

const keys = testRoleKeys({ rules: 3 });
const root = testTrustedRoot(keys);
const signer = keys.rules[0]!;
const gateway: OpenOptions = { now: testNowMs, gatewayId: 'line1-gw', groups: [], installedVersion: 1 };

function refusal(bytes: Uint8Array, options: Partial<OpenOptions> = {}, trusted = root): string {
  try {
    openBundle(bytes, trusted, { ...gateway, ...options });
  } catch (error) {
    if (isMillwrightError(error)) return error.code;
    throw error;
  }
  return 'accepted';
}

describe('packBundle and openBundle', () => {
  it('round-trips modules, rule manifests and the signed manifest', () => {
    const bytes = testBundle([signer]);
    expect(Buffer.from(bytes.subarray(0, 8)).toString()).toBe('MWBUNDLE');
    const opened = openBundle(bytes, root, gateway);
    expect(opened.manifest).toMatchObject({ type: 'rules-bundle', name: 'line1-rules', version: 2, targets: { gateways: ['line1-gw'], groups: ['press-lines'] } });
    expect(opened.modules.map((module) => module.name)).toEqual(['press-overtemp', 'filler-jam']);
    expect(Buffer.from(opened.modules[0]!.wasm).equals(Buffer.from(tinyWasm('press-overtemp')))).toBe(true);
    expect(opened.modules[1]!.ruleManifest).toEqual(testModule('filler-jam').ruleManifest);
    expect(opened.manifest.modules[0]!.sha256).toBe(sha256Hex(tinyWasm('press-overtemp')));
    expect(opened.manifest.modules[0]!.ruleManifestSha256).toBe(sha256Hex(canonicalBytes(testModule('press-overtemp').ruleManifest)));
    expect(opened.signers).toEqual([signer.keyId]);
    const wasm = (globalThis as unknown as { WebAssembly: { validate(bytes: Uint8Array): boolean } }).WebAssembly;
    expect(wasm.validate(opened.modules[0]!.wasm)).toBe(true);
  });

  it('accepts a bundle for one of the gateway groups', () => {
    expect(refusal(testBundle([signer]), { gatewayId: 'line7-gw', groups: ['press-lines'] })).toBe('accepted');
  });

  it('packs identical input into identical bytes', () => {
    expect(Buffer.from(testBundle([signer])).equals(Buffer.from(testBundle([signer])))).toBe(true);
  });

  it('refuses to pack what could never be opened', () => {
    const pack = (change: Partial<Parameters<typeof packBundle>[0]>): string => {
      try {
        testBundle([signer], change);
        return 'accepted';
      } catch (error) {
        return (error as MillwrightError).code;
      }
    };
    expect(pack({ modules: [testModule('x', { wasm: new Uint8Array([1, 2, 3]) })] })).toBe('BUNDLE_PACK_INVALID');
    expect(pack({ modules: [testModule('x', { ruleManifest: { value: Number.NaN } })] })).toBe('BUNDLE_PACK_INVALID');
    expect(pack({ modules: [testModule('x'), testModule('x')] })).toBe('BUNDLE_PACK_INVALID');
    expect(pack({ targets: { gateways: [], groups: [] } })).toBe('BUNDLE_PACK_INVALID');
    expect(pack({ signingKeys: [] })).toBe('BUNDLE_PACK_INVALID');
    expect(pack({ name: 'Bad Name' })).toBe('BUNDLE_PACK_INVALID');
  });
});

describe('openBundle refuses', () => {
  const good = testBundle([signer]);

  it('a bundle without signatures', () => {
    expect(refusal(withEnvelope(good, (envelope) => void (envelope.signatures = [])))).toBe('TRUST_SIGNATURE_MISSING');
  });

  it('a corrupted signature', () => {
    const corrupt = withEnvelope(good, (envelope) => {
      const sig = Buffer.from(envelope.signatures[0]!['sig'] as string, 'base64');
      sig[10]! ^= 1;
      envelope.signatures[0]!['sig'] = sig.toString('base64');
    });
    expect(refusal(corrupt)).toBe('TRUST_SIGNATURE_INVALID');
  });

  it('a bundle signed by an unknown key or by a key of another role', () => {
    expect(refusal(testBundle([testKey()]))).toBe('TRUST_KEY_UNKNOWN');
    expect(refusal(testBundle([keys.firmware[0]!]))).toBe('TRUST_KEY_UNKNOWN');
  });

  it('fewer signatures than a 2-of-3 threshold, and accepts two', () => {
    const strict = testTrustedRoot(keys, { thresholds: { rules: 2 } });
    expect(refusal(testBundle([keys.rules[1]!]), {}, strict)).toBe('TRUST_THRESHOLD_NOT_MET');
    expect(refusal(testBundle([keys.rules[1]!, testKey()]), {}, strict)).toBe('TRUST_THRESHOLD_NOT_MET');
    expect(refusal(testBundle([keys.rules[0]!, keys.rules[2]!]), {}, strict)).toBe('accepted');
  });

  it('an expired manifest, and a bundle checked against an expired root', () => {
    expect(refusal(testBundle([signer], { expiresMs: testNowMs }))).toBe('BUNDLE_EXPIRED');
    const oldRoot = testTrustedRoot(keys, { expiresMs: testNowMs - 1 });
    expect(refusal(good, {}, oldRoot)).toBe('TRUST_EXPIRED');
  });

  it('a version not above the installed one (rollback)', () => {
    expect(refusal(good, { installedVersion: 2 })).toBe('BUNDLE_ROLLBACK');
    expect(refusal(good, { installedVersion: 5 })).toBe('BUNDLE_ROLLBACK');
    expect(refusal(good, { installedVersion: 1 })).toBe('accepted');
  });

  it('a bundle meant for other gateways', () => {
    expect(refusal(good, { gatewayId: 'line2-gw', groups: ['packaging'] })).toBe('BUNDLE_NOT_TARGETED');
  });

  it('a module or rule manifest whose bytes differ from the signed hash', () => {
    const parts = readBundleParts(good);
    const envelope = { signed: parts.signed, signatures: parts.signatures };
    const wasm = Uint8Array.from(parts.modules[1]!.wasm);
    wasm[wasm.length - 1]! ^= 0x01;
    expect(refusal(assembleBundle(envelope, [parts.modules[0]!, { ...parts.modules[1]!, wasm }]))).toBe('BUNDLE_MODULE_HASH_MISMATCH');
    const ruleManifestBytes = new TextEncoder().encode(new TextDecoder().decode(parts.modules[0]!.ruleManifestBytes).replace('high', 'HIGH'));
    expect(refusal(assembleBundle(envelope, [{ ...parts.modules[0]!, ruleManifestBytes }, parts.modules[1]!]))).toBe('BUNDLE_MODULE_HASH_MISMATCH');
  });

  it('modules over the size, fuel or memory limits, and an oversize file', () => {
    expect(refusal(good, { limits: { ...bundleLimitsDefault, moduleBytesMax: 20 } })).toBe('BUNDLE_MODULE_TOO_LARGE');
    expect(refusal(good, { limits: { ...bundleLimitsDefault, ruleManifestBytesMax: 10 } })).toBe('BUNDLE_MODULE_TOO_LARGE');
    expect(refusal(good, { limits: { ...bundleLimitsDefault, fuelPerTickMax: 1000 } })).toBe('BUNDLE_LIMIT_EXCEEDED');
    expect(refusal(good, { limits: { ...bundleLimitsDefault, memoryPagesMax: 1 } })).toBe('BUNDLE_LIMIT_EXCEEDED');
    expect(refusal(good, { limits: { ...bundleLimitsDefault, modulesMax: 1 } })).toBe('BUNDLE_LIMIT_EXCEEDED');
    expect(refusal(good, { limits: { ...bundleLimitsDefault, bundleBytesMax: 100 } })).toBe('BUNDLE_TOO_LARGE');
    expect(refusal(good, { limits: { ...bundleLimitsDefault, envelopeBytesMax: 100 } })).toBe('BUNDLE_TOO_LARGE');
  });

  it("another bundle's signatures or envelope", () => {
    const other = testBundle([signer], { version: 3, modules: [testModule('press-overtemp', { wasm: tinyWasm('press-overtemX') }), testModule('filler-jam')] });
    const otherParts = readBundleParts(other);
    const mixed = withEnvelope(good, (envelope) => void (envelope.signatures = jsonCopy<unknown>(otherParts.signatures) as Record<string, unknown>[]));
    expect(refusal(mixed)).toBe('TRUST_SIGNATURE_MISMATCH');
    expect(() => openBundle(mixed, root, gateway)).toThrow(/signatures cover a document with sha256/);
    const spliced = assembleBundle({ signed: otherParts.signed, signatures: otherParts.signatures }, readBundleParts(good).modules);
    expect(refusal(spliced)).toBe('BUNDLE_MODULE_HASH_MISMATCH');
  });

  it('a signed manifest with wrong types, naming the field', () => {
    const parts = readBundleParts(good);
    const cases: [(manifest: Record<string, unknown>) => void, RegExp][] = [
      [(manifest) => (manifest['version'] = '3'), /manifest\.version: expected an integer/],
      [(manifest) => (manifest['version'] = 2.5), /manifest\.version: expected an integer/],
      [(manifest) => ((manifest['modules'] as Record<string, unknown>[])[0]!['bytes'] = -1), /manifest\.modules\[0\]\.bytes/],
      [(manifest) => ((manifest['targets'] as Record<string, unknown>)['gateways'] = 'line1-gw'), /manifest\.targets\.gateways: expected an array/],
      [(manifest) => (manifest['expires'] = 'tomorrow'), /manifest\.expires/],
      [(manifest) => (manifest['type'] = 'root'), /manifest\.type/],
      [(manifest) => (manifest['extra'] = true), /unknown field 'extra'/],
    ];
    for (const [change, message] of cases) {
      const manifest = jsonCopy(parts.signed) as Record<string, unknown>;
      change(manifest);
      const bytes = assembleBundle(signEnvelope(manifest, [signer.privateKey]), parts.modules);
      expect(() => openBundle(bytes, root, gateway), String(message)).toThrow(message);
      expect(refusal(bytes), String(message)).toBe('BUNDLE_MANIFEST_INVALID');
    }
  });

  it('a signed module that is not WebAssembly', () => {
    const junk = new TextEncoder().encode('#!/bin/sh\nrm -rf /\n');
    const manifest = { ...(readBundleParts(good).signed as Record<string, unknown>) };
    const ruleManifestBytes = canonicalBytes({});
    manifest['modules'] = [{ name: 'junk', sha256: sha256Hex(junk), bytes: junk.length, ruleManifestSha256: sha256Hex(ruleManifestBytes), limits: { fuelPerTick: 1, memoryPagesMax: 1 } }];
    expect(refusal(assembleBundle(signEnvelope(manifest, [signer.privateKey]), [{ wasm: junk, ruleManifestBytes }]))).toBe('BUNDLE_MODULE_INVALID');
  });

  it('wrong magic, another format version, flags, a non-canonical envelope and trailing bytes', () => {
    const parts = readBundleParts(good);
    const envelope = { signed: parts.signed, signatures: parts.signatures };
    const notBundle = Uint8Array.from(good);
    notBundle[0] = 0x7f;
    expect(refusal(notBundle)).toBe('BUNDLE_MALFORMED');
    expect(refusal(new TextEncoder().encode('{"hello": 1}'))).toBe('BUNDLE_MALFORMED');
    expect(refusal(assembleBundle(envelope, parts.modules, 2))).toBe('BUNDLE_FORMAT_UNSUPPORTED');
    const flagged = Uint8Array.from(good);
    flagged[11] = 1;
    expect(refusal(flagged)).toBe('BUNDLE_MALFORMED');
    expect(refusal(assembleBundle(JSON.stringify(envelope, null, 2), parts.modules))).toBe('BUNDLE_MALFORMED');
    expect(refusal(Buffer.concat([good, Buffer.from([0])]))).toBe('BUNDLE_MALFORMED');
    expect(refusal(new Uint8Array())).toBe('BUNDLE_TRUNCATED');
  });
});

describe('reload and the rule runtime hook', () => {
  it('re-verifies an accepted bundle after a restart even once expired or no longer newest', () => {
    const bundle = testBundle([signer], { expiresMs: testNowMs + dayMs });
    const later = { now: testNowMs + 2 * dayMs, gatewayId: 'line1-gw', installedVersion: 2, purpose: 'reload' } as const;
    expect(openBundle(bundle, root, later).manifest.version).toBe(2);
    expect(refusal(testBundle([testKey()]), later)).toBe('TRUST_KEY_UNKNOWN');
  });

  it('runs the module validator over every module and passes its refusal on', () => {
    const seen: string[] = [];
    verifyBundle(testBundle([signer]), root, gateway, (module) => void seen.push(module.name));
    expect(seen).toEqual(['press-overtemp', 'filler-jam']);
    const refuse = (): void => {
      throw new MillwrightError({ code: 'RULE_IMPORT_NOT_ALLOWED', exit: 1 }, 'imports wasi');
    };
    expect(() => verifyBundle(testBundle([signer]), root, gateway, refuse)).toThrow(/imports wasi/);
  });
});
