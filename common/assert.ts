// Invariant checks that stay on in production. A failed assert is a bug in millwright, never
// an expected failure: expected failures are typed results or MillwrightError with a code.

export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

export function assert(condition: unknown, message = 'assertion failed'): asserts condition {
  if (!condition) throw new AssertionError(message);
}

export function unreachable(value: never, message = 'unreachable'): never {
  throw new AssertionError(`${message}: ${String(value)}`);
}

/** For tests: the stable code of the error an action throws, or undefined when it does not throw. */
export function thrownCode(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}
