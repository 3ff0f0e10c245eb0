// Small argument helpers shared by the keys and bundle commands.
import { usageError } from '../common/cli.ts';
import { systemClock } from '../common/clock.ts';

export function required(value: string | undefined, what: string, command: string): string {
  if (value === undefined || value === '') throw usageError(`${command}: ${what} is required\nrun '${command} --help' for usage`);
  return value;
}

export function list(text: string): string[] {
  return text.split(',').map((item) => item.trim()).filter((item) => item !== '');
}

/** Now, to the whole second: times in roots and manifests read like 2026-01-01T00:00:00Z. */
export function wholeSecondsNowMs(): number {
  return Math.floor(systemClock.nowMs() / 1000) * 1000;
}
