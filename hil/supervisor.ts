// Starts millwright commands as child processes for the demo and the end-to-end tests: waits for
// each child's one-line JSON ready event on stdout, prefixes its log lines on our stderr, and
// stops children in order with SIGTERM (SIGKILL after a grace period). Children also stop when
// our stdin pipe to them closes, so a killed supervisor leaves nothing running (they run in
// process groups of their own, so a terminal's Ctrl-C does not reach them directly).
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const millwrightEntry = fileURLToPath(new URL('../bin/millwright.mjs', import.meta.url));

export interface ReadyEvent {
  readonly event: string;
  readonly [key: string]: unknown;
}

export interface SupervisedChild {
  readonly name: string;
  readonly process: ChildProcess;
  readonly ready: ReadyEvent;
  /** Resolves with the exit code (or signal name) when the child has exited. */
  readonly exited: Promise<number | string>;
  stop(graceMs?: number): Promise<number | string>;
}

export interface StartOptions {
  readonly name: string;
  readonly args: readonly string[];
  readonly readyEvent: string;
  readonly readyTimeoutMs?: number;
  readonly log?: (line: string) => void;
  readonly env?: NodeJS.ProcessEnv;
}

export function startChild(options: StartOptions): Promise<SupervisedChild> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const child = spawn(process.execPath, [millwrightEntry, ...options.args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    // A process group of its own: Ctrl-C in a terminal reaches only the supervisor, which stops
    // children in order (gateways first, so they flush to a hub that is still there).
    detached: true,
    env: { ...process.env, ...options.env, MILLWRIGHT_STOP_ON_STDIN_END: '1' },
  });
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  const recent: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    recent.push(line);
    if (recent.length > 20) recent.shift();
    log(`[${options.name}] ${line}`);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${options.name} did not report ready within ${options.readyTimeoutMs ?? 30_000} ms`));
    }, options.readyTimeoutMs ?? 30_000);
    let ready = false;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (ready) return log(`[${options.name}] ${line}`);
      let event: ReadyEvent | undefined;
      try {
        event = JSON.parse(line) as ReadyEvent;
      } catch {
        return log(`[${options.name}] ${line}`);
      }
      if (event.event !== options.readyEvent) return log(`[${options.name}] ${line}`);
      ready = true;
      clearTimeout(timer);
      resolve({
        name: options.name,
        process: child,
        ready: event,
        exited,
        async stop(graceMs = 10_000) {
          if (child.exitCode !== null || child.signalCode !== null) return exited;
          child.kill('SIGTERM');
          const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
          const result = await exited;
          clearTimeout(killer);
          return result;
        },
      });
    });
    void exited.then((code) => {
      if (ready) return;
      clearTimeout(timer);
      reject(new Error(`${options.name} exited (${code}) before it was ready:\n${recent.join('\n')}`));
    });
  });
}
