// The hub's error catalog: every expected hub failure has a stable code, the exit code a CLI
// returns when it ends the process, and (for API errors) the HTTP status it maps to.
import { MillwrightError, exitCode, type ErrorSpec } from '../common/errors.ts';

export interface HubErrorSpec extends ErrorSpec {
  readonly httpStatus: number;
}

export const hubErrors = {
  badRequest: { code: 'HUB_BAD_REQUEST', exit: exitCode.badUsageOrConfig, httpStatus: 400 },
  notFound: { code: 'HUB_NOT_FOUND', exit: exitCode.runtimeFailure, httpStatus: 404 },
  unavailable: { code: 'HUB_UNAVAILABLE', exit: exitCode.runtimeFailure, httpStatus: 503 },
  internal: { code: 'HUB_INTERNAL', exit: exitCode.runtimeFailure, httpStatus: 500 },
  configInvalid: { code: 'HUB_CONFIG_INVALID', exit: exitCode.badUsageOrConfig, httpStatus: 500 },
  listenFailed: { code: 'HUB_LISTEN_FAILED', exit: exitCode.runtimeFailure, httpStatus: 500 },
  storeFailed: { code: 'HUB_STORE_FAILED', exit: exitCode.runtimeFailure, httpStatus: 500 },
} as const satisfies Record<string, HubErrorSpec>;

export function hubError(spec: HubErrorSpec, message: string, details: Record<string, unknown> = {}, cause?: unknown): MillwrightError {
  return new MillwrightError(spec, message, details, cause);
}

/** The HTTP status for an error's code; 500 for anything outside the catalog. */
export function httpStatusOf(code: string): number {
  for (const spec of Object.values(hubErrors)) if (spec.code === code) return spec.httpStatus;
  return hubErrors.internal.httpStatus;
}
