// Error catalog of rule bundles (common/bundle*.ts). Signature, key, threshold and root expiry
// refusals come from the trust catalog (TRUST_*); everything about the file and its manifest is here.
import { exitCode, type ErrorSpec } from './errors.ts';

export const bundleErrors = {
  /** The file ends before a length field or the data it announces. */
  truncated: { code: 'BUNDLE_TRUNCATED', exit: exitCode.runtimeFailure },
  /** Wrong magic, flags, a non-canonical or unparsable envelope, lengths that disagree, trailing bytes. */
  malformed: { code: 'BUNDLE_MALFORMED', exit: exitCode.runtimeFailure },
  formatUnsupported: { code: 'BUNDLE_FORMAT_UNSUPPORTED', exit: exitCode.runtimeFailure },
  /** The signed manifest has a missing, extra or wrongly typed field (the field is named). */
  manifestInvalid: { code: 'BUNDLE_MANIFEST_INVALID', exit: exitCode.runtimeFailure },
  /** The whole file or its envelope is larger than the gateway accepts. */
  tooLarge: { code: 'BUNDLE_TOO_LARGE', exit: exitCode.runtimeFailure },
  expired: { code: 'BUNDLE_EXPIRED', exit: exitCode.runtimeFailure },
  /** The version is not above the one installed (or ever installed): a rollback attempt. */
  rollback: { code: 'BUNDLE_ROLLBACK', exit: exitCode.runtimeFailure },
  notTargeted: { code: 'BUNDLE_NOT_TARGETED', exit: exitCode.runtimeFailure },
  /** A module's or rule manifest's SHA-256 differs from the signed manifest. */
  moduleHashMismatch: { code: 'BUNDLE_MODULE_HASH_MISMATCH', exit: exitCode.runtimeFailure },
  moduleTooLarge: { code: 'BUNDLE_MODULE_TOO_LARGE', exit: exitCode.runtimeFailure },
  /** Not a WebAssembly binary (magic and version), or refused by the rule runtime's validation. */
  moduleInvalid: { code: 'BUNDLE_MODULE_INVALID', exit: exitCode.runtimeFailure },
  /** A per-rule limit (fuel, memory pages) or the module count above what the gateway allows. */
  limitExceeded: { code: 'BUNDLE_LIMIT_EXCEEDED', exit: exitCode.runtimeFailure },
  /** Packing input that cannot make a valid bundle. */
  packInvalid: { code: 'BUNDLE_PACK_INVALID', exit: exitCode.badUsageOrConfig },
} as const satisfies Record<string, ErrorSpec>;
