// A peer process a bench starts (a pymodbus server, a Modbus server in another Node process):
// wait for its `READY port=N` line, stop it with SIGTERM (SIGKILL after 2 s). Every bench stops
// what it starts, also when it fails.
import { spawn, type ChildProcess } from 'node:child_process';

export interface Peer {
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

export interface StartedProcess {
  readonly pid: number;
  /** What the ready pattern matched in the process's output. */
  readonly ready: RegExpExecArray;
  stop(): Promise<void>;
}

export interface ProcessOptions {
  /** Matched against stdout and stderr so far; the process is ready once it matches. */
  readonly ready: RegExp;
  readonly readyTimeoutMs?: number;
  /** After SIGTERM, SIGKILL this much later. */
  readonly killAfterMs?: number;
}

/** Starts a process and resolves once its output matches `ready`; it is killed if this process exits first. */
export function startProcess(name: string, command: string, args: readonly string[], options: ProcessOptions): Promise<StartedProcess> {
  const readyTimeoutMs = options.readyTimeoutMs ?? 15_000;
  const child: ChildProcess = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' } });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // A bench that dies of an uncaught error skips its finally blocks: never leave the peer behind.
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => process.off('exit', killOnExit));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs ?? 2000);
    await exited;
    clearTimeout(killer);
  };
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${name}: not ready within ${readyTimeoutMs} ms; output:\n${output.slice(-2000)}`));
    }, readyTimeoutMs);
    let done = false;
    const onData = (chunk: Buffer): void => {
      if (done) return;
      output = (output + chunk.toString('utf8')).slice(-8000);
      const ready = options.ready.exec(output);
      if (ready === null) return;
      done = true;
      clearTimeout(timer);
      resolve({ pid: child.pid ?? 0, ready, stop });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then(() => {
      clearTimeout(timer);
      if (!done) reject(new Error(`${name} exited before it was ready; output:\n${output.slice(-2000)}`));
    });
  });
}

/** A peer that prints `READY port=N` when it listens. */
export async function startPeer(name: string, command: string, args: readonly string[], readyTimeoutMs = 15_000): Promise<Peer> {
  const started = await startProcess(name, command, args, { ready: /READY port=(\d+)/, readyTimeoutMs });
  return { port: Number(started.ready[1]), pid: started.pid, stop: started.stop };
}
