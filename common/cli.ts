// Shared command-line plumbing: argument parsing with usage errors, help text, and the mapping of
// errors to the exit codes scripts rely on (0 ok, 1 runtime failure, 2 bad usage or bad config).
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { MillwrightError, commonErrors, exitCode, isMillwrightError } from './errors.ts';

export interface CommandSpec<O extends NonNullable<ParseArgsConfig['options']>> {
  /** e.g. 'millwright gateway' */
  readonly name: string;
  readonly summary: string;
  /** Lines after the usage line: arguments, options, examples. */
  readonly help: string;
  readonly options: O;
  readonly positionalsMax?: number;
}

export type ParsedCommand<O extends NonNullable<ParseArgsConfig['options']>> = ReturnType<
  typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>
>;

export function helpText(spec: CommandSpec<NonNullable<ParseArgsConfig['options']>>): string {
  return `usage: ${spec.name} [options]\n\n${spec.summary}\n\n${spec.help.trim()}\n`;
}

/**
 * Parses argv for one subcommand. Returns undefined after printing help for --help/-h.
 * Throws a usage MillwrightError (exit 2) for unknown options or too many arguments.
 */
export function parseCommand<O extends NonNullable<ParseArgsConfig['options']>>(
  spec: CommandSpec<O>,
  argv: readonly string[],
): ParsedCommand<O> | undefined {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(helpText(spec));
    return undefined;
  }
  let parsed: ParsedCommand<O>;
  try {
    parsed = parseArgs({ args: [...argv], options: spec.options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new MillwrightError(commonErrors.usage, `${spec.name}: ${(error as Error).message}\nrun '${spec.name} --help' for usage`);
  }
  if (parsed.positionals.length > (spec.positionalsMax ?? 0)) {
    throw new MillwrightError(
      commonErrors.usage,
      `${spec.name}: unexpected argument '${parsed.positionals[spec.positionalsMax ?? 0]}'\nrun '${spec.name} --help' for usage`,
    );
  }
  return parsed;
}

export function usageError(message: string): MillwrightError {
  return new MillwrightError(commonErrors.usage, message);
}

/** Prints an error the way every millwright command does and returns its exit code. */
export function reportError(error: unknown): number {
  if (isMillwrightError(error)) {
    process.stderr.write(`error ${error.code}: ${error.message}\n`);
    return error.exit;
  }
  process.stderr.write(`error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return exitCode.runtimeFailure;
}

/**
 * Resolves when the process is asked to stop: SIGINT or SIGTERM, or, when started by a supervisor
 * that sets MILLWRIGHT_STOP_ON_STDIN_END=1 (the demo does), the end of stdin, so children never
 * outlive a supervisor that was killed. Later signals are ignored while the process closes what it
 * opened; SIGKILL remains for a process that does not stop.
 */
export function stopSignal(): Promise<string> {
  return new Promise((resolve) => {
    let stopped = false;
    const stop = (reason: string): void => {
      if (stopped) return;
      stopped = true;
      process.stdin.pause();
      resolve(reason);
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
    if (process.env['MILLWRIGHT_STOP_ON_STDIN_END'] === '1') {
      process.stdin.on('end', () => stop('stdin closed'));
      process.stdin.on('error', () => stop('stdin closed'));
      process.stdin.resume();
    }
  });
}
