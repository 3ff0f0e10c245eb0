// TUF-style trust: a pinned root lists the keys and signature threshold of each role (root, rules,
// firmware). Metadata is trusted when a role's threshold of distinct keys signed its canonical
// bytes; a new root must be signed by the old root's threshold and its own, one version at a time.
// See docs/adr/0005-tuf-like-trust-for-bundles.md.
import type { KeyObject } from 'node:crypto';
import { MillwrightError, isMillwrightError } from './errors.ts';
import { canonicalBytes, sha256Hex } from './trust-canonical-json.ts';
import { trustErrors } from './trust-errors.ts';
import { formatTimestamp } from './trust-fields.ts';
import { parsePublicKey, publicKeyInfo, signBytes, verifyBytes } from './trust-keys.ts';
import { parseEnvelope, parseRootDocument, roleNames, type RoleName, type RootDocument, type SignedEnvelope, type TrustedRoot } from './trust-root.ts';

export * from './trust-root.ts';

/** Signs the canonical bytes of `signed` with each key (one signature per distinct key). */
export function signEnvelope<T>(signed: T, privateKeys: readonly KeyObject[]): SignedEnvelope<T> {
  const bytes = canonicalBytes(signed);
  const signedSha256 = sha256Hex(bytes);
  const seen = new Set<string>();
  const signatures = [];
  for (const key of privateKeys) {
    const { keyId } = publicKeyInfo(key);
    if (seen.has(keyId)) continue;
    seen.add(keyId);
    signatures.push({ keyId, signedSha256, sig: signBytes(bytes, key) });
  }
  return { signed, signatures };
}

/**
 * Checks that at least the role's threshold of distinct keys listed for the role signed the
 * envelope. Returns the key ids whose signatures verified; otherwise throws the most precise code.
 */
export function verifyRole(envelope: SignedEnvelope<unknown>, root: TrustedRoot, role: RoleName, what: string): string[] {
  const bytes = canonicalBytes(envelope.signed);
  const signedSha256 = sha256Hex(bytes);
  const spec = root.document.roles[role];
  const valid = new Set<string>();
  const invalid: string[] = [];
  const mismatched: string[] = [];
  const unknown: string[] = [];
  for (const signature of envelope.signatures) {
    const key = spec.keyIds.includes(signature.keyId) ? root.publicKeys.get(signature.keyId) : undefined;
    if (signature.signedSha256 !== signedSha256) mismatched.push(signature.keyId);
    else if (key === undefined) unknown.push(signature.keyId);
    else if (verifyBytes(bytes, signature.sig, key)) valid.add(signature.keyId);
    else invalid.push(signature.keyId);
  }
  if (valid.size >= spec.threshold) return [...valid];
  const details = { role, threshold: spec.threshold, valid: [...valid], invalid, mismatched, unknown, signedSha256 };
  const rootName = `root v${root.document.version}`;
  if (envelope.signatures.length === 0) throw new MillwrightError(trustErrors.signatureMissing, `${what} carries no signatures`, details);
  if (invalid.length > 0) {
    throw new MillwrightError(trustErrors.signatureInvalid, `${what}: the signature by ${role} key ${short(invalid[0])} does not verify: it is forged or corrupted`, details);
  }
  if (valid.size === 0 && mismatched.length > 0) {
    const theirs = envelope.signatures.find((signature) => signature.signedSha256 !== signedSha256)?.signedSha256;
    throw new MillwrightError(
      trustErrors.signatureMismatch,
      `${what}: the signatures cover a document with sha256 ${short(theirs)}, this one has ${short(signedSha256)}: they belong to another document, or this one was changed after signing`,
      details,
    );
  }
  if (valid.size === 0 && unknown.length > 0) {
    throw new MillwrightError(trustErrors.keyUnknown, `${what} is signed only by keys that ${rootName} does not list for the ${role} role (${unknown.map(short).join(', ')})`, details);
  }
  throw new MillwrightError(trustErrors.thresholdNotMet, `${what}: ${valid.size} valid ${role} signature(s), ${rootName} requires ${spec.threshold}`, details);
}

/** Parses a root envelope and checks it is signed by its own root threshold. Expiry is separate. */
export function trustRoot(value: unknown, what = 'root'): TrustedRoot {
  const envelope = parseEnvelope(value, what);
  const { document, expiresMs, publicKeys } = parseRootDocument(envelope.signed, what);
  const root: TrustedRoot = { document, expiresMs, publicKeys };
  verifyRole(envelope, root, 'root', `${what} v${document.version}`);
  return root;
}

export function assertNotExpired(expiresMs: number, nowMs: number, what: string): void {
  if (expiresMs <= nowMs) {
    throw new MillwrightError(trustErrors.expired, `${what} expired at ${formatTimestamp(expiresMs)} (now ${formatTimestamp(nowMs)})`, { expiresMs, nowMs });
  }
}

/**
 * Accepts root version N+1 given trusted root N: it must be signed by N's root threshold and by
 * its own. Expiry is not checked here (an offline gateway may catch up through expired roots);
 * applyRootChain checks that the root it ends on is current.
 */
export function rotateRoot(trusted: TrustedRoot, value: unknown, what = 'new root'): TrustedRoot {
  const envelope = parseEnvelope(value, what);
  const { document, expiresMs, publicKeys } = parseRootDocument(envelope.signed, what);
  const from = trusted.document.version;
  if (document.version <= from) {
    throw new MillwrightError(trustErrors.rollback, `${what} has version ${document.version}, not above the trusted root v${from}`, { version: document.version, trusted: from });
  }
  if (document.version !== from + 1) {
    throw new MillwrightError(trustErrors.rootRotationInvalid, `${what} has version ${document.version}; roots rotate one version at a time, expected ${from + 1}`, { version: document.version, trusted: from });
  }
  const candidate: TrustedRoot = { document, expiresMs, publicKeys };
  for (const [signer, label] of [[trusted, `the old root v${from}`], [candidate, `its own root keys`]] as const) {
    try {
      verifyRole(envelope, signer, 'root', `${what} v${document.version}`);
    } catch (error) {
      if (!isMillwrightError(error)) throw error;
      throw new MillwrightError(trustErrors.rootRotationInvalid, `${error.message} (checking the threshold of ${label})`, { ...error.details, reason: error.code }, error);
    }
  }
  return candidate;
}

/** Applies root rotations in order (skipping versions already trusted) and checks the result is current. */
export function applyRootChain(trusted: TrustedRoot, chain: readonly unknown[], nowMs: number): TrustedRoot {
  let root = trusted;
  for (const [index, value] of chain.entries()) {
    const version = versionOf(value);
    if (version !== undefined && version <= root.document.version) continue;
    root = rotateRoot(root, value, `root chain[${index}]`);
  }
  assertNotExpired(root.expiresMs, nowMs, `root v${root.document.version}`);
  return root;
}

export interface RoleKeysInput {
  /** Public keys as base64 or PEM text. */
  readonly keys: readonly string[];
  readonly threshold: number;
}

/** Builds (but does not sign) a root document; parseRootDocument checks the result. */
export function buildRootDocument(version: number, expiresMs: number, roles: Readonly<Record<RoleName, RoleKeysInput>>): RootDocument {
  const keys: Record<string, { type: 'ed25519'; public: string }> = {};
  const roleSpecs = {} as Record<RoleName, { keyIds: string[]; threshold: number }>;
  for (const role of roleNames) {
    const keyIds = roles[role].keys.map((text, index) => {
      const info = parsePublicKey(text, `${role} key ${index + 1}`);
      keys[info.keyId] = { type: 'ed25519', public: info.base64 };
      return info.keyId;
    });
    roleSpecs[role] = { keyIds: [...new Set(keyIds)], threshold: roles[role].threshold };
  }
  const document: RootDocument = { type: 'root', version, expires: formatTimestamp(expiresMs), keys, roles: roleSpecs };
  return parseRootDocument(document, `root v${version}`).document;
}

function versionOf(value: unknown): number | undefined {
  const signed = (value as { signed?: { version?: unknown } } | null)?.signed;
  return typeof signed?.version === 'number' ? signed.version : undefined;
}

function short(keyId: string | undefined): string {
  return keyId === undefined ? '?' : keyId.slice(0, 12);
}
