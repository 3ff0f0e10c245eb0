// Invariant checks for the dashboard. They stay on in production: a broken invariant is a bug,
// and failing loudly beats drawing a wrong number on a plant wall screen.

export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}
