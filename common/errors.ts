// The error-code convention. Every expected failure carries a stable code from its component's
// catalog (COMMON_*, CONFIG_*, EDGE_*, HUB_*, ...), a message for people, and the exit code a CLI
// returns when the error ends a process. Assertion failures are not MillwrightErrors: they are bugs.

/** Exit codes scripts can rely on. */
export const exitCode = {
  ok: 0,
  runtimeFailure: 1,
  badUsageOrConfig: 2,
} as const;
export type ExitCode = (typeof exitCode)[keyof typeof exitCode];

export interface ErrorSpec {
  readonly code: string;
  readonly exit: ExitCode;
}

export class MillwrightError extends Error {
  override readonly name = 'MillwrightError';
  readonly code: string;
  readonly exit: ExitCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(spec: ErrorSpec, message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = spec.code;
    this.exit = spec.exit;
    this.details = details;
  }
}

/** Errors owned by common/. Components keep their own catalogs in the same shape. */
export const commonErrors = {
  usage: { code: 'COMMON_USAGE', exit: exitCode.badUsageOrConfig },
  configInvalid: { code: 'CONFIG_INVALID', exit: exitCode.badUsageOrConfig },
  configUnreadable: { code: 'CONFIG_UNREADABLE', exit: exitCode.badUsageOrConfig },
  idInvalid: { code: 'COMMON_ID_INVALID', exit: exitCode.badUsageOrConfig },
  queueFull: { code: 'COMMON_QUEUE_FULL', exit: exitCode.runtimeFailure },
  notBuilt: { code: 'COMMON_NOT_BUILT', exit: exitCode.runtimeFailure },
} as const satisfies Record<string, ErrorSpec>;

export function isMillwrightError(error: unknown): error is MillwrightError {
  return error instanceof MillwrightError;
}
