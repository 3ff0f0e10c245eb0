// Test support (not a test itself): the brokers the end-to-end suite and the bench run the hub
// with. aedes is the hub's own embedded broker; mosquitto and nats-server (MQTT mode, which needs
// a server_name and JetStream with a store dir) run as child processes on free 127.0.0.1 ports
// with temporary configs and directories. stop() and start() restart a broker on the same port
// (mosquitto loses its sessions, nats keeps them in its JetStream store); dispose() removes
// everything it wrote. A broker whose binary is missing is reported, never faked.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, mosquittoPath, waitForPort } from '../common/mqtt/test-peers.ts';

/** Debian's package installs it in /usr/sbin; other builds put it in /usr/bin. */
export const natsServerPath = ['/usr/sbin/nats-server', '/usr/bin/nats-server'].find((candidate) => existsSync(candidate)) ?? '/usr/sbin/nats-server';

export const testBrokerDefaults = {
  startTimeoutMs: 10_000,
  /** mosquitto: QoS 1 messages queued per offline persistent session (the hub's, while it restarts). */
  queuedMessagesMax: 100_000,
} as const;

export interface ExternalTestBroker {
  readonly port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
  dispose(): Promise<void>;
}

export interface BrokerUnderTest {
  readonly name: 'aedes-embedded' | 'mosquitto' | 'nats-server';
  readonly mode: 'embedded' | 'external';
  /** Why it cannot run here, or undefined. */
  readonly unavailable: string | undefined;
  readonly protocolVersion: 4 | 5;
  /** External brokers only. */
  launch(): Promise<ExternalTestBroker>;
}

function childBroker(name: string, command: string, args: readonly string[], port: number, dir: string): ExternalTestBroker {
  let child: ChildProcess | undefined;
  let stderrTail = '';
  const stop = async (): Promise<void> => {
    const current = child;
    child = undefined;
    if (current === undefined || current.exitCode !== null || current.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => current.once('exit', () => resolve()));
    current.kill('SIGTERM');
    await exited;
  };
  return {
    port,
    async start() {
      const current = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      child = current;
      current.stderr?.on('data', (chunk: Buffer) => {
        stderrTail = (stderrTail + chunk.toString('utf8')).slice(-4000);
      });
      try {
        await waitForPort(port, testBrokerDefaults.startTimeoutMs, () => `${name} exit code ${String(current.exitCode)}; stderr: ${stderrTail}`);
      } catch (error) {
        current.kill('SIGKILL');
        throw error;
      }
    },
    stop,
    async dispose() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** mosquitto on a free port; `security` returns config lines (it may write files into dir first). */
export async function launchMosquitto(security: (dir: string) => readonly string[] = () => ['allow_anonymous true']): Promise<ExternalTestBroker> {
  const dir = mkdtempSync(join(tmpdir(), 'millwright-mosquitto-'));
  const port = await freePort();
  const config = join(dir, 'mosquitto.conf');
  const lines = [`listener ${port} 127.0.0.1`, ...security(dir), 'persistence false', `max_queued_messages ${testBrokerDefaults.queuedMessagesMax}`, 'max_inflight_messages 100'];
  writeFileSync(config, [...lines, 'log_dest stderr', 'log_type error', 'log_type warning', ''].join('\n'));
  const broker = childBroker('mosquitto', mosquittoPath, ['-c', config], port, dir);
  await broker.start();
  return broker;
}

async function launchNats(): Promise<ExternalTestBroker> {
  const dir = mkdtempSync(join(tmpdir(), 'millwright-nats-'));
  const port = await freePort();
  const config = join(dir, 'nats.conf');
  writeFileSync(
    config,
    [
      `server_name: millwright-test-${port}`,
      'listen: "127.0.0.1:-1"',
      `jetstream { store_dir: "${join(dir, 'jetstream')}", max_memory_store: 268435456, max_file_store: 1073741824 }`,
      `mqtt { host: "127.0.0.1", port: ${port}, max_ack_pending: 1000 }`,
      '',
    ].join('\n'),
  );
  const broker = childBroker('nats-server', natsServerPath, ['-c', config], port, dir);
  await broker.start();
  return broker;
}

function missing(path: string, install: string): string | undefined {
  return existsSync(path) ? undefined : `${path} is not installed (apt-get install ${install})`;
}

export const brokersUnderTest: readonly BrokerUnderTest[] = [
  {
    name: 'aedes-embedded',
    mode: 'embedded',
    unavailable: undefined,
    protocolVersion: 4, // aedes 1.2 speaks MQTT 3.1.1 only
    launch: () => Promise.reject(new Error('the embedded broker is started by the hub itself')),
  },
  { name: 'mosquitto', mode: 'external', unavailable: missing(mosquittoPath, 'mosquitto'), protocolVersion: 5, launch: () => launchMosquitto() },
  // nats-server 2.9 speaks MQTT 3.1.1 (QoS 0 and 1) only.
  { name: 'nats-server', mode: 'external', unavailable: missing(natsServerPath, 'nats-server'), protocolVersion: 4, launch: launchNats },
];
