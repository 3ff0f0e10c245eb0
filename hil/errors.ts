// Error catalog of the hardware-in-the-loop rig (hil/). Codes are stable: logs and tests use them.
import { MillwrightError, exitCode, type ErrorSpec } from '../common/errors.ts';

export const hilErrors = {
  /** A device profile lacks a tag the simulated machine needs, or maps it to the wrong area or type. */
  profileMismatch: { code: 'HIL_PROFILE_MISMATCH', exit: exitCode.badUsageOrConfig },
  /** A simulated device could not bind its port. */
  listenFailed: { code: 'HIL_LISTEN_FAILED', exit: exitCode.runtimeFailure },
  /** A step of the demo that runs another millwright command (building its rule) failed. */
  childFailed: { code: 'HIL_CHILD_FAILED', exit: exitCode.runtimeFailure },
} as const satisfies Record<string, ErrorSpec>;

export function hilError(spec: ErrorSpec, message: string, details: Record<string, unknown> = {}, cause?: unknown): MillwrightError {
  return new MillwrightError(spec, message, details, cause);
}
