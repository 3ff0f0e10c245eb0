// A peer process a bench starts (a pymodbus server, a Modbus server in another Node process):
// wait for its `READY port=N` line, stop it with SIGTERM (SIGKILL after 2 s). Every bench stops
// what it starts, also when it fails.
import { spawn, type ChildProcess } from 'node:child_process';

export interface Peer {
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

export function startPeer(name: string, command: string, args: readonly string[], readyTimeoutMs = 15_000): Promise<Peer> {
  const child: ChildProcess = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' } });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // A bench that dies of an uncaught error skips its finally blocks: never leave the peer behind.
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => process.off('exit', killOnExit));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(killer);
  };
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${name}: not ready within ${readyTimeoutMs} ms; output:\n${output.slice(-2000)}`));
    }, readyTimeoutMs);
    const onData = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-8000);
      const ready = /READY port=(\d+)/.exec(output);
      if (ready === null) return;
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stdout?.resume();
      resolve({ port: Number(ready[1]), pid: child.pid ?? 0, stop });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-8000)));
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${name} exited before it was ready; output:\n${output.slice(-2000)}`));
    });
  });
}
