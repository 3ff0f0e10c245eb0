// Site, gateway, line and device ids. They appear in MQTT topics, file names and SQL, so they are
// restricted to lower-case letters, digits and dashes: no escaping is ever needed downstream.
import { MillwrightError, commonErrors } from './errors.ts';

const idPattern = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const idPatternSource = idPattern.source;

export function isId(value: string): boolean {
  return idPattern.test(value);
}

export function parseId(value: string, what: string): string {
  if (!isId(value)) {
    throw new MillwrightError(
      commonErrors.idInvalid,
      `${what} '${value}' is not a valid id: use 1-63 lower-case letters, digits and dashes, starting with a letter or digit`,
      { what, value },
    );
  }
  return value;
}
