// Test support for the uplink (not a test itself): the real brokers it is proven against (aedes
// in-process, mosquitto as a child process when installed), a TCP proxy that can black-hole or cut
// the link and records what the client sent, and fake brokers that misbehave. Everything listens
// on 127.0.0.1 with port 0 (mosquitto: a free port found that way) and stops what it starts.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Aedes } from 'aedes';
import { parser, type Packet } from 'mqtt-packet';

export const mosquittoPath = '/usr/sbin/mosquitto';

export interface TestBroker {
  readonly port: number;
  /** Drops every connection and stops, losing all broker state (no persistence). */
  stop(): Promise<void>;
  /** Starts a fresh broker on the same port. */
  start(): Promise<void>;
  /** Stops and removes whatever the broker left on disk. */
  dispose(): Promise<void>;
}

export interface BrokerKind {
  readonly name: 'aedes' | 'mosquitto';
  /** Why this broker cannot run here, or undefined when it can. */
  readonly unavailable: string | undefined;
  /** Protocol versions the broker speaks, and why a missing one is missing. */
  readonly protocolVersions: readonly (4 | 5)[];
  readonly versionNote: string | undefined;
  launch(): Promise<TestBroker>;
}

function listen(server: net.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
  });
}

function closeServer(server: net.Server, sockets: Set<net.Socket>): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  for (const socket of sockets) socket.destroy();
  return closed;
}

function track(sockets: Set<net.Socket>, socket: net.Socket): void {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
  socket.on('error', () => socket.destroy());
}

async function launchAedes(): Promise<TestBroker> {
  let port = 0;
  let broker: Aedes | undefined;
  let server: net.Server | undefined;
  const sockets = new Set<net.Socket>();
  const start = async (): Promise<void> => {
    const current = await Aedes.createBroker();
    broker = current;
    server = net.createServer((socket) => {
      track(sockets, socket);
      current.handle(socket);
    });
    port = await listen(server, port);
  };
  const stop = async (): Promise<void> => {
    if (server !== undefined) await closeServer(server, sockets);
    if (broker !== undefined) await new Promise<void>((resolve) => broker!.close(() => resolve()));
    server = undefined;
    broker = undefined;
  };
  await start();
  return {
    get port() {
      return port;
    },
    stop,
    start,
    dispose: stop,
  };
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  const port = await listen(server, 0);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function waitForPort(port: number, timeoutMs: number, describe: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port} after ${timeoutMs} ms: ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function launchMosquitto(): Promise<TestBroker> {
  const dir = mkdtempSync(join(tmpdir(), 'millwright-mosquitto-'));
  const port = await freePort();
  const configPath = join(dir, 'mosquitto.conf');
  writeFileSync(configPath, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n`);
  let child: ChildProcess | undefined;
  let stderrTail = '';
  const start = async (): Promise<void> => {
    const current = spawn(mosquittoPath, ['-c', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = current;
    current.stderr?.on('data', (chunk: Buffer) => {
      stderrTail = (stderrTail + chunk.toString('utf8')).slice(-2000);
    });
    try {
      await waitForPort(port, 5000, () => `mosquitto exit code ${String(current.exitCode)}; stderr: ${stderrTail}`);
    } catch (error) {
      current.kill('SIGKILL');
      throw error;
    }
  };
  const stop = async (): Promise<void> => {
    const current = child;
    child = undefined;
    if (current === undefined || current.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => current.once('exit', () => resolve()));
    current.kill('SIGTERM');
    await exited;
  };
  await start();
  return {
    port,
    stop,
    start,
    async dispose() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const brokerKinds: readonly BrokerKind[] = [
  {
    name: 'aedes',
    unavailable: undefined,
    protocolVersions: [4],
    versionNote: "aedes 1.2.0 speaks MQTT 3.1.1 only: it answers an MQTT 5 CONNECT with 'unacceptable protocol version'",
    launch: launchAedes,
  },
  {
    name: 'mosquitto',
    unavailable: existsSync(mosquittoPath) ? undefined : `${mosquittoPath} is not installed (apt-get install mosquitto)`,
    protocolVersions: [4, 5],
    versionNote: undefined,
    launch: launchMosquitto,
  },
];

export interface RecordedPacket {
  readonly connection: number;
  readonly forwarded: boolean;
  readonly packet: Packet;
}

/**
 * A TCP proxy in front of a broker. While black-holed it drops bytes both ways without closing
 * anything, like a dead network path; cut() drops every connection as a broken link would.
 * It decodes what clients send so tests can check packet ids and DUP flags.
 */
export class TcpProxy {
  readonly port: number;
  readonly sent: RecordedPacket[] = [];
  readonly decodeErrors: string[] = [];
  blackHoled = false;
  connections = 0;
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();

  private constructor(server: net.Server, port: number) {
    this.#server = server;
    this.port = port;
  }

  static async start(targetPort: () => number): Promise<TcpProxy> {
    const server = net.createServer();
    const proxy = new TcpProxy(server, await listen(server, 0));
    server.on('connection', (client) => proxy.#pair(client, targetPort()));
    return proxy;
  }

  #pair(client: net.Socket, targetPort: number): void {
    const connection = ++this.connections;
    const upstream = net.connect({ host: '127.0.0.1', port: targetPort });
    track(this.#sockets, client);
    track(this.#sockets, upstream);
    const decoder = parser({ protocolVersion: 5 });
    decoder.on('error', (error: Error) => this.decodeErrors.push(error.message));
    decoder.on('packet', (packet: Packet) => this.sent.push({ connection, forwarded: !this.blackHoled, packet }));
    client.on('data', (chunk: Buffer) => {
      decoder.parse(chunk);
      if (!this.blackHoled) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!this.blackHoled) client.write(chunk);
    });
    // A dead path carries no FIN either: while black-holed, one side closing is not passed on,
    // so the client must find out by its keepalive.
    for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
      from.on('end', () => {
        if (!this.blackHoled) to.end();
      });
      from.on('close', () => {
        if (!this.blackHoled) to.destroy();
      });
    }
  }

  cut(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  close(): Promise<void> {
    return closeServer(this.#server, this.#sockets);
  }
}

/** A listener that hands every accepted socket to `onConnection`; counts connections. */
export class FakeBroker {
  readonly port: number;
  connections = 0;
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();

  private constructor(server: net.Server, port: number) {
    this.#server = server;
    this.port = port;
  }

  static async start(onConnection: (socket: net.Socket) => void): Promise<FakeBroker> {
    const server = net.createServer();
    const fake = new FakeBroker(server, await listen(server, 0));
    server.on('connection', (socket) => {
      fake.connections++;
      track(fake.#sockets, socket);
      onConnection(socket);
    });
    return fake;
  }

  close(): Promise<void> {
    return closeServer(this.#server, this.#sockets);
  }
}
