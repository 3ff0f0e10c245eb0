// The shapes of signed metadata: the signed envelope `{ signed, signatures }` and the root document
// that pins each role's keys and threshold. Parsing checks every field (TRUST_ROOT_INVALID names
// it) and that each key id is the SHA-256 of its key, so ids and keys cannot be mixed up.
import type { KeyObject } from 'node:crypto';
import type { ErrorSpec } from './errors.ts';
import { Fields, sha256HexPattern } from './trust-fields.ts';
import { trustErrors } from './trust-errors.ts';
import { parsePublicKey } from './trust-keys.ts';

export const roleNames = ['root', 'rules', 'firmware'] as const;
export type RoleName = (typeof roleNames)[number];

export const rootLimits = {
  keysMax: 64,
  keyIdsPerRoleMax: 16,
  signaturesMax: 16,
  versionMax: 2 ** 31 - 1,
} as const;

export interface Signature {
  readonly keyId: string;
  /** SHA-256 of the canonical bytes signed: tells a signature made for another document at once. */
  readonly signedSha256: string;
  /** base64 Ed25519 signature over the canonical JSON bytes of `signed`. */
  readonly sig: string;
}

export interface SignedEnvelope<T> {
  readonly signed: T;
  readonly signatures: readonly Signature[];
}

export interface RoleSpec {
  readonly keyIds: readonly string[];
  readonly threshold: number;
}

export interface RootDocument {
  readonly type: 'root';
  readonly version: number;
  /** RFC 3339 UTC. */
  readonly expires: string;
  readonly keys: Readonly<Record<string, { readonly type: 'ed25519'; readonly public: string }>>;
  readonly roles: Readonly<Record<RoleName, RoleSpec>>;
}

/** A root whose self-signature was verified, with its keys ready for use. */
export interface TrustedRoot {
  readonly document: RootDocument;
  readonly expiresMs: number;
  readonly publicKeys: ReadonlyMap<string, KeyObject>;
}

/** Checks an envelope's shape; `signed` stays unknown for the caller's own parser. */
export function parseEnvelope(value: unknown, what: string, spec: ErrorSpec = trustErrors.rootInvalid): SignedEnvelope<unknown> {
  const fields = new Fields(spec, what);
  const envelope = fields.object(value, 'envelope', ['signed', 'signatures']);
  const signatures = fields.array(envelope['signatures'], 'signatures', rootLimits.signaturesMax).map((item, index): Signature => {
    const path = `signatures[${index}]`;
    const signature = fields.object(item, path, ['keyId', 'signedSha256', 'sig']);
    return {
      keyId: fields.string(signature['keyId'], `${path}.keyId`, sha256HexPattern, 64),
      signedSha256: fields.string(signature['signedSha256'], `${path}.signedSha256`, sha256HexPattern, 64),
      sig: fields.string(signature['sig'], `${path}.sig`, /^[A-Za-z0-9+/=]+$/, 128),
    };
  });
  return { signed: envelope['signed'], signatures };
}

/** Checks a root document and returns it with its parsed public keys. */
export function parseRootDocument(value: unknown, what: string): { document: RootDocument; expiresMs: number; publicKeys: Map<string, KeyObject> } {
  const fields = new Fields(trustErrors.rootInvalid, what);
  const root = fields.object(value, 'signed', ['type', 'version', 'expires', 'keys', 'roles']);
  fields.literal(root['type'], 'signed.type', 'root');
  const version = fields.integer(root['version'], 'signed.version', 1, rootLimits.versionMax);
  const expiresMs = fields.timestamp(root['expires'], 'signed.expires');
  const keyEntries = fields.map(root['keys'], 'signed.keys', sha256HexPattern, rootLimits.keysMax);
  const keys: Record<string, { type: 'ed25519'; public: string }> = {};
  const publicKeys = new Map<string, KeyObject>();
  for (const [keyId, entry] of Object.entries(keyEntries)) {
    const path = `signed.keys.${keyId}`;
    const key = fields.object(entry, path, ['type', 'public']);
    fields.literal(key['type'], `${path}.type`, 'ed25519');
    const text = fields.string(key['public'], `${path}.public`, /^[\s\S]+$/, 512);
    const info = parsePublicKey(text, `${what}: ${path}.public`);
    if (info.keyId !== keyId) fields.fail(path, `the key id is not the SHA-256 of the key (that is ${info.keyId})`);
    keys[keyId] = { type: 'ed25519', public: text };
    publicKeys.set(keyId, info.key);
  }
  const roleEntries = fields.object(root['roles'], 'signed.roles', roleNames);
  const roles = {} as Record<RoleName, RoleSpec>;
  for (const role of roleNames) {
    const path = `signed.roles.${role}`;
    const spec = fields.object(roleEntries[role], path, ['keyIds', 'threshold']);
    const keyIds = fields.distinctStrings(spec['keyIds'], `${path}.keyIds`, sha256HexPattern, rootLimits.keyIdsPerRoleMax);
    for (const keyId of keyIds) if (!publicKeys.has(keyId)) fields.fail(`${path}.keyIds`, `key ${keyId} is not in signed.keys`);
    if (keyIds.length === 0) fields.fail(`${path}.keyIds`, 'a role needs at least one key');
    const threshold = fields.integer(spec['threshold'], `${path}.threshold`, 1, keyIds.length);
    roles[role] = { keyIds, threshold };
  }
  const expires = root['expires'] as string;
  return { document: { type: 'root', version, expires, keys, roles }, expiresMs, publicKeys };
}
