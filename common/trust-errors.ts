// Error catalog of the trust code (common/trust*.ts): root documents, signatures, thresholds,
// expiry and rotation. Codes are stable: gateways report them, the CLI prints them, tests match them.
import { exitCode, type ErrorSpec } from './errors.ts';

export const trustErrors = {
  /** A root document, signed envelope or key that is not shaped as documented. */
  rootInvalid: { code: 'TRUST_ROOT_INVALID', exit: exitCode.badUsageOrConfig },
  /** A key file that cannot be read or is not an Ed25519 key. */
  keyInvalid: { code: 'TRUST_KEY_INVALID', exit: exitCode.badUsageOrConfig },
  /** No signatures at all. */
  signatureMissing: { code: 'TRUST_SIGNATURE_MISSING', exit: exitCode.runtimeFailure },
  /** A signature that claims to cover this document but does not verify: forged or corrupted. */
  signatureInvalid: { code: 'TRUST_SIGNATURE_INVALID', exit: exitCode.runtimeFailure },
  /**
   * The signatures cover a document with another SHA-256 (their signedSha256): they belong to
   * another bundle or root, or this document was changed after signing.
   */
  signatureMismatch: { code: 'TRUST_SIGNATURE_MISMATCH', exit: exitCode.runtimeFailure },
  /** Signed only by keys the root does not list for the role. */
  keyUnknown: { code: 'TRUST_KEY_UNKNOWN', exit: exitCode.runtimeFailure },
  /** Some valid signatures, fewer distinct ones than the role's threshold. */
  thresholdNotMet: { code: 'TRUST_THRESHOLD_NOT_MET', exit: exitCode.runtimeFailure },
  /** Metadata whose `expires` lies in the past. */
  expired: { code: 'TRUST_EXPIRED', exit: exitCode.runtimeFailure },
  /** A root whose version is not above the trusted one. */
  rollback: { code: 'TRUST_ROLLBACK', exit: exitCode.runtimeFailure },
  /** A new root that skips a version or lacks the old or the new root threshold. */
  rootRotationInvalid: { code: 'TRUST_ROOT_ROTATION_INVALID', exit: exitCode.runtimeFailure },
} as const satisfies Record<string, ErrorSpec>;
