import { describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { isMillwrightError } from './errors.ts';
import { dayMs, jsonCopy, testKey, testNowMs, testRoleKeys, testRootDocument, testRootEnvelope, testTrustedRoot } from './bundle-testing.ts';
import { canonicalBytes, sha256Hex } from './trust-canonical-json.ts';
import { parsePublicKey } from './trust-keys.ts';
import { applyRootChain, assertNotExpired, rotateRoot, signEnvelope, trustRoot, verifyRole, type SignedEnvelope } from './trust.ts';

function codeOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    if (isMillwrightError(error)) return error.code;
    throw error;
  }
  return 'accepted';
}

describe('keys', () => {
  it('names a key by the SHA-256 of its raw bytes, whether given as base64 or PEM', () => {
    const pair = generateKeyPairSync('ed25519');
    const pem = pair.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const fromPem = parsePublicKey(pem, 'pem');
    const fromBase64 = parsePublicKey(fromPem.base64, 'base64');
    expect(fromBase64.keyId).toBe(fromPem.keyId);
    expect(fromPem.keyId).toBe(sha256Hex(Buffer.from(fromPem.base64, 'base64')));
  });

  it('refuses keys that are not Ed25519 public keys', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'pem', type: 'spki' }).toString();
    expect(codeOf(() => parsePublicKey(rsa, 'rsa'))).toBe('TRUST_KEY_INVALID');
    expect(codeOf(() => parsePublicKey('AAAA', 'short'))).toBe('TRUST_KEY_INVALID');
    expect(codeOf(() => parsePublicKey('-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----', 'pem'))).toBe('TRUST_KEY_INVALID');
  });
});

describe('root documents', () => {
  it('trusts a root signed by its own root threshold', () => {
    const keys = testRoleKeys({ root: 3 });
    const root = trustRoot(testRootEnvelope(keys, { thresholds: { root: 2 }, signWith: keys.root.slice(0, 2) }));
    expect(root.document.version).toBe(1);
    expect(root.document.roles.root.threshold).toBe(2);
  });

  it('refuses a root changed after signing', () => {
    const keys = testRoleKeys();
    const envelope = jsonCopy(testRootEnvelope(keys)) as { signed: { expires: string } };
    envelope.signed.expires = '2099-01-01T00:00:00Z';
    expect(codeOf(() => trustRoot(envelope))).toBe('TRUST_SIGNATURE_MISMATCH');
    const rehashed = envelope as unknown as { signed: unknown; signatures: { signedSha256: string }[] };
    rehashed.signatures[0]!.signedSha256 = sha256Hex(canonicalBytes(rehashed.signed));
    expect(codeOf(() => trustRoot(rehashed))).toBe('TRUST_SIGNATURE_INVALID');
  });

  it('refuses a root signed by a key it does not list for the root role', () => {
    const keys = testRoleKeys();
    expect(codeOf(() => trustRoot(testRootEnvelope(keys, { signWith: keys.rules })))).toBe('TRUST_KEY_UNKNOWN');
  });

  it('names the field of a malformed root', () => {
    const keys = testRoleKeys();
    const cases: [string, (signed: Record<string, unknown>) => void, RegExp][] = [
      ['version', (signed) => (signed['version'] = '1'), /signed\.version: expected an integer/],
      ['expires', (signed) => (signed['expires'] = '2026-02-30T00:00:00Z'), /signed\.expires: .* not a real UTC time/],
      ['threshold', (signed) => ((signed['roles'] as Record<string, { threshold: number }>)['rules']!.threshold = 2), /signed\.roles\.rules\.threshold: expected an integer 1\.\.1/],
      ['extra', (signed) => (signed['extra'] = 1), /unknown field 'extra'/],
      ['role', (signed) => delete (signed['roles'] as Record<string, unknown>)['firmware'], /missing field 'firmware'/],
    ];
    for (const [name, change, message] of cases) {
      const signed = jsonCopy(testRootDocument(keys)) as unknown as Record<string, unknown>;
      change(signed);
      const envelope = signEnvelope(signed, keys.root.map((key) => key.privateKey));
      expect(() => trustRoot(envelope), name).toThrow(message);
      expect(codeOf(() => trustRoot(envelope)), name).toBe('TRUST_ROOT_INVALID');
    }
  });

  it('refuses a key listed under an id that is not its SHA-256', () => {
    const keys = testRoleKeys();
    const signed = jsonCopy(testRootDocument(keys)) as unknown as { keys: Record<string, { public: string }> };
    const [first, second] = Object.keys(signed.keys);
    signed.keys[first!]!.public = signed.keys[second!]!.public;
    expect(() => trustRoot(signEnvelope(signed, keys.root.map((key) => key.privateKey)))).toThrow(/not the SHA-256 of the key/);
  });

  it('refuses an expired root', () => {
    const root = testTrustedRoot(testRoleKeys(), { expiresMs: testNowMs + dayMs });
    expect(codeOf(() => assertNotExpired(root.expiresMs, testNowMs + dayMs, 'root'))).toBe('TRUST_EXPIRED');
    expect(codeOf(() => assertNotExpired(root.expiresMs, testNowMs, 'root'))).toBe('accepted');
  });
});

describe('role thresholds (2 of 3 rules keys)', () => {
  const keys = testRoleKeys({ rules: 3 });
  const root = testTrustedRoot(keys, { thresholds: { rules: 2 } });
  const [a, b, c] = keys.rules as [ReturnType<typeof testKey>, ReturnType<typeof testKey>, ReturnType<typeof testKey>];
  const document = { type: 'rules-bundle', name: 'x', version: 1 };
  const signed = (...signers: ReturnType<typeof testKey>[]): SignedEnvelope<unknown> => signEnvelope(document, signers.map((key) => key.privateKey));
  const verify = (envelope: SignedEnvelope<unknown>): string => codeOf(() => verifyRole(envelope, root, 'rules', 'doc'));

  it('accepts two distinct valid signatures, and three', () => {
    expect(verifyRole(signed(a, c), root, 'rules', 'doc').sort()).toEqual([a.keyId, c.keyId].sort());
    expect(verify(signed(a, b, c))).toBe('accepted');
  });

  it('refuses one signature, or the same key twice', () => {
    expect(verify(signed(a))).toBe('TRUST_THRESHOLD_NOT_MET');
    const once = signed(a);
    expect(verify({ signed: document, signatures: [...once.signatures, ...once.signatures] })).toBe('TRUST_THRESHOLD_NOT_MET');
  });

  it('does not count a signature by an unknown key or another role', () => {
    expect(verify(signed(a, testKey()))).toBe('TRUST_THRESHOLD_NOT_MET');
    expect(verify(signed(a, keys.root[0]!))).toBe('TRUST_THRESHOLD_NOT_MET');
    expect(verify(signed(testKey(), keys.firmware[0]!))).toBe('TRUST_KEY_UNKNOWN');
  });

  it('refuses a bad signature even beside a valid one', () => {
    const envelope = signed(a, b);
    const other = signed(c);
    const bad = { ...envelope.signatures[1]!, sig: signEnvelope({ other: true }, [b.privateKey]).signatures[0]!.sig };
    expect(verify({ signed: document, signatures: [envelope.signatures[0]!, bad] })).toBe('TRUST_SIGNATURE_INVALID');
    expect(verify({ signed: document, signatures: [] })).toBe('TRUST_SIGNATURE_MISSING');
    expect(verify({ signed: { ...document, version: 2 }, signatures: [...envelope.signatures, ...other.signatures] })).toBe('TRUST_SIGNATURE_MISMATCH');
  });

  it('refuses a signature whose base64 differs only in unused bits', () => {
    const envelope = signed(a, b);
    const first = envelope.signatures[0]!;
    const last = first.sig.at(-3)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const sibling = alphabet[alphabet.indexOf(last) ^ 1]!;
    const tweaked = { ...first, sig: `${first.sig.slice(0, -3)}${sibling}==` };
    expect(Buffer.from(tweaked.sig, 'base64').equals(Buffer.from(first.sig, 'base64'))).toBe(true);
    expect(verify({ signed: document, signatures: [tweaked, envelope.signatures[1]!] })).toBe('TRUST_SIGNATURE_INVALID');
  });

  it('signs the canonical bytes, so re-ordered keys still verify', () => {
    const envelope = signed(a, b);
    expect(envelope.signatures[0]!.signedSha256).toBe(sha256Hex(canonicalBytes({ version: 1, name: 'x', type: 'rules-bundle' })));
    expect(verify({ signed: { version: 1, name: 'x', type: 'rules-bundle' }, signatures: envelope.signatures })).toBe('accepted');
  });
});

describe('root rotation', () => {
  const v1Keys = testRoleKeys({ root: 3 });
  const v1 = testTrustedRoot(v1Keys, { thresholds: { root: 2 }, signWith: v1Keys.root.slice(0, 2) });
  // v2 replaces one root key: the old threshold (2 of v1's) and the new one (2 of v2's) must both sign.
  const v2Keys = { ...v1Keys, root: [v1Keys.root[0]!, v1Keys.root[1]!, testKey()] };

  it('accepts version+1 signed by the old and the new root thresholds', () => {
    const v2 = rotateRoot(v1, testRootEnvelope(v2Keys, { version: 2, thresholds: { root: 2 }, signWith: v2Keys.root.slice(0, 2) }));
    expect(v2.document.version).toBe(2);
  });

  it('refuses a new root lacking the old threshold', () => {
    const fresh = { ...v1Keys, root: [testKey(), testKey()] };
    const envelope = testRootEnvelope(fresh, { version: 2, thresholds: { root: 2 } });
    expect(() => rotateRoot(v1, envelope)).toThrow(/threshold of the old root v1/);
    expect(codeOf(() => rotateRoot(v1, envelope))).toBe('TRUST_ROOT_ROTATION_INVALID');
  });

  it('refuses a new root lacking its own threshold', () => {
    const envelope = testRootEnvelope(v2Keys, { version: 2, thresholds: { root: 3 }, signWith: v2Keys.root.slice(0, 2) });
    expect(() => rotateRoot(v1, envelope)).toThrow(/threshold of its own root keys/);
  });

  it('refuses skipped and repeated versions', () => {
    expect(codeOf(() => rotateRoot(v1, testRootEnvelope(v1Keys, { version: 3, thresholds: { root: 2 } })))).toBe('TRUST_ROOT_ROTATION_INVALID');
    expect(codeOf(() => rotateRoot(v1, testRootEnvelope(v1Keys, { version: 1, thresholds: { root: 2 } })))).toBe('TRUST_ROLLBACK');
  });

  it('one compromised old key cannot rotate a 2-of-3 root', () => {
    const attacker = { ...v1Keys, root: [v1Keys.root[0]!] };
    expect(codeOf(() => rotateRoot(v1, testRootEnvelope(attacker, { version: 2 })))).toBe('TRUST_ROOT_ROTATION_INVALID');
  });

  it('applies a chain in order until no v1 key remains, through an expired middle root', () => {
    const v3Keys = testRoleKeys({ root: 2 });
    const v2 = testRootEnvelope(v2Keys, { version: 2, thresholds: { root: 2 }, expiresMs: testNowMs - dayMs, signWith: v2Keys.root });
    const v3 = signEnvelope(testRootDocument(v3Keys, { version: 3, thresholds: { root: 2 } }), [...v2Keys.root, ...v3Keys.root].map((key) => key.privateKey));
    const trusted = applyRootChain(v1, [v2, jsonCopy(v3)], testNowMs);
    expect(trusted.document.version).toBe(3);
    expect(Object.keys(trusted.document.keys)).not.toContain(v1Keys.root[0]!.keyId);
    expect(applyRootChain(trusted, [v2, v3], testNowMs).document.version).toBe(3);
    expect(codeOf(() => applyRootChain(v1, [v3, v2], testNowMs))).toBe('TRUST_ROOT_ROTATION_INVALID');
    expect(codeOf(() => applyRootChain(v1, [v2], testNowMs))).toBe('TRUST_EXPIRED');
  });

  it('refuses a chain whose middle link is forged', () => {
    const forgedKeys = testRoleKeys({ root: 2 });
    const forged = testRootEnvelope(forgedKeys, { version: 2, thresholds: { root: 2 } });
    expect(codeOf(() => applyRootChain(v1, [forged], testNowMs))).toBe('TRUST_ROOT_ROTATION_INVALID');
  });
});
