// Error catalog of the gateway's bundle store and installer. Refusals of the bundle itself carry the
// BUNDLE_* and TRUST_* codes of common/; these codes are about the gateway's own state.
import { exitCode, type ErrorSpec } from '../../common/errors.ts';

export const edgeBundleErrors = {
  /** No trusted root is pinned in the bundle folder (or it does not verify): nothing can be installed. */
  rootMissing: { code: 'EDGE_BUNDLE_ROOT_MISSING', exit: exitCode.badUsageOrConfig },
  /** A bundle is staged or on probation; the next one waits until that settles. */
  busy: { code: 'EDGE_BUNDLE_BUSY', exit: exitCode.runtimeFailure },
  /** The rule host could not load the modules at the swap; the running bundle was kept. */
  swapFailed: { code: 'EDGE_BUNDLE_SWAP_FAILED', exit: exitCode.runtimeFailure },
  stateUnwritable: { code: 'EDGE_BUNDLE_STATE_UNWRITABLE', exit: exitCode.runtimeFailure },
  stateCorrupt: { code: 'EDGE_BUNDLE_STATE_CORRUPT', exit: exitCode.runtimeFailure },
} as const satisfies Record<string, ErrorSpec>;
