// Ed25519 keys through node:crypto. A public key travels as base64 of its 32 raw bytes (PEM is
// accepted too); its key id is the hex SHA-256 of those raw bytes, so an id cannot name another key.
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { MillwrightError } from './errors.ts';
import { sha256Hex } from './trust-canonical-json.ts';
import { trustErrors } from './trust-errors.ts';

export const ed25519PublicKeyBytes = 32;
export const ed25519SignatureBytes = 64;
/** The DER prefix of an Ed25519 SubjectPublicKeyInfo; the raw key follows it. */
const spkiPrefix = Buffer.from('302a300506032b6570032100', 'hex');

export interface PublicKeyInfo {
  readonly keyId: string;
  /** base64 of the 32 raw bytes: the form root documents carry. */
  readonly base64: string;
  readonly key: KeyObject;
}

export interface GeneratedKeyPair {
  readonly keyId: string;
  readonly privatePem: string;
  readonly publicPem: string;
  readonly publicBase64: string;
}

export function generateKeyPair(): GeneratedKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const info = publicKeyInfo(publicKey);
  return {
    keyId: info.keyId,
    privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    publicBase64: info.base64,
  };
}

/** The public half of a key (given the private or the public key object) with its id. */
export function publicKeyInfo(key: KeyObject): PublicKeyInfo {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  const der = publicKey.export({ format: 'der', type: 'spki' });
  const raw = der.subarray(spkiPrefix.length);
  return { keyId: sha256Hex(raw), base64: raw.toString('base64'), key: publicKey };
}

/** Reads a public key given as base64 of the raw bytes or as an SPKI PEM. */
export function parsePublicKey(text: string, what: string): PublicKeyInfo {
  const trimmed = text.trim();
  if (trimmed.startsWith('-----BEGIN')) {
    let key: KeyObject;
    try {
      key = createPublicKey(trimmed);
    } catch (error) {
      throw new MillwrightError(trustErrors.keyInvalid, `${what}: not a PEM public key (${(error as Error).message})`, { what });
    }
    if (key.asymmetricKeyType !== 'ed25519') {
      throw new MillwrightError(trustErrors.keyInvalid, `${what}: a ${key.asymmetricKeyType ?? 'unknown'} key; expected ed25519`, { what });
    }
    return publicKeyInfo(key);
  }
  const raw = decodeBase64Strict(trimmed);
  if (raw === undefined || raw.length !== ed25519PublicKeyBytes) {
    throw new MillwrightError(trustErrors.keyInvalid, `${what}: expected base64 of a 32-byte Ed25519 public key or a PEM`, { what });
  }
  return publicKeyInfo(createPublicKey({ key: Buffer.concat([spkiPrefix, raw]), format: 'der', type: 'spki' }));
}

/** Reads a PKCS#8 PEM Ed25519 private key. */
export function parsePrivateKey(pem: string, what: string): { readonly key: KeyObject; readonly keyId: string } {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (error) {
    throw new MillwrightError(trustErrors.keyInvalid, `${what}: not a PEM private key (${(error as Error).message})`, { what });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new MillwrightError(trustErrors.keyInvalid, `${what}: a ${key.asymmetricKeyType ?? 'unknown'} key; expected ed25519`, { what });
  }
  return { key, keyId: publicKeyInfo(key).keyId };
}

export function signBytes(bytes: Uint8Array, privateKey: KeyObject): string {
  return sign(null, bytes, privateKey).toString('base64');
}

/** False for a wrong signature and for one that is not 64 bytes of canonical base64. */
export function verifyBytes(bytes: Uint8Array, signatureBase64: string, publicKey: KeyObject): boolean {
  const signature = decodeBase64Strict(signatureBase64);
  if (signature === undefined || signature.length !== ed25519SignatureBytes) return false;
  return verify(null, bytes, publicKey, signature);
}

/**
 * Decodes base64 only in its canonical form. Node's decoder ignores stray characters and the unused
 * low bits of the last symbol, which would let a changed file carry the "same" signature.
 */
export function decodeBase64Strict(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}
