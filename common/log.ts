// Human log lines on stderr (stdout is kept for machine-readable events such as ready lines).
// Repeated failures (a silent device, a bad payload stream) go through rateLimited() so a broken
// peer cannot flood the log: one line per key per interval, with how many were suppressed.
import type { Clock } from './clock.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type LogFields = Readonly<Record<string, string | number | boolean | bigint | undefined>>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** Logs at most one line per key per intervalMs; later lines report how many were suppressed. */
  rateLimited(key: string, intervalMs: number, level: LogLevel, message: string, fields?: LogFields): void;
  child(component: string): Logger;
}

export interface LoggerOptions {
  readonly component: string;
  readonly clock: Clock;
  readonly level?: LogLevel;
  readonly write?: (line: string) => void;
  /** Distinct rate-limit keys remembered; past this the oldest are forgotten. */
  readonly rateLimitKeysMax?: number;
}

const levelRank: Readonly<Record<LogLevel, number>> = { debug: 0, info: 1, warn: 2, error: 3 };

function formatFields(fields: LogFields | undefined): string {
  if (fields === undefined) return '';
  const parts: string[] = [];
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const text = String(value);
    parts.push(`${key}=${/[\s"=]/.test(text) ? JSON.stringify(text) : text}`);
  }
  return parts.length === 0 ? '' : ` ${parts.join(' ')}`;
}

export function createLogger(options: LoggerOptions): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const minimum = levelRank[options.level ?? 'info'];
  const keysMax = options.rateLimitKeysMax ?? 1000;
  const limits = new Map<string, { lastMs: number; suppressed: number }>();

  const emit = (level: LogLevel, message: string, fields?: LogFields): void => {
    if (levelRank[level] < minimum) return;
    const time = new Date(options.clock.nowMs()).toISOString();
    write(`${time} ${level.padEnd(5)} ${options.component}: ${message}${formatFields(fields)}\n`);
  };

  return {
    debug: (message, fields) => emit('debug', message, fields),
    info: (message, fields) => emit('info', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    error: (message, fields) => emit('error', message, fields),
    rateLimited(key, intervalMs, level, message, fields) {
      const now = options.clock.nowMs();
      const state = limits.get(key);
      if (state !== undefined && now - state.lastMs < intervalMs) {
        state.suppressed++;
        return;
      }
      const suppressed = state?.suppressed ?? 0;
      limits.delete(key);
      if (limits.size >= keysMax) limits.delete(limits.keys().next().value as string);
      limits.set(key, { lastMs: now, suppressed: 0 });
      emit(level, message, suppressed > 0 ? { ...fields, suppressed } : fields);
    },
    child(component) {
      return createLogger({ ...options, component: `${options.component}/${component}` });
    },
  };
}
