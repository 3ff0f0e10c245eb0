// The embedded MQTT broker (aedes on TCP). The hub consumes gateway traffic in-process: server-side
// subscriptions on the data and state filters hand each message to ingest, and acks go out with
// broker.publish; no loopback client. Limits live in one defaults object.
import net from 'node:net';
import { Aedes, type AedesPublishPacket } from 'aedes';
import type { Logger } from '../common/log.ts';
import { topics, type AckMessage } from '../common/wire.ts';
import { hubError, hubErrors } from './errors.ts';

export const brokerDefaults = {
  /** Messages a client may have queued in the broker before it is considered too slow. */
  queueLimit: 1000,
  /** Concurrent deliveries inside the broker. */
  concurrency: 100,
  /** Gateway ids are up to 63 characters; client ids may add a prefix. */
  clientIdLengthMax: 128,
  connectTimeoutMs: 30_000,
  /** How long close() waits for clients to go before destroying their sockets. */
  closeTimeoutMs: 5_000,
} as const;

export interface BrokerDeps {
  readonly host: string;
  readonly port: number;
  readonly onData: (topic: string, payload: Buffer) => void;
  readonly onState: (topic: string, payload: Buffer) => void;
  readonly logger: Logger;
}

export interface RunningBroker {
  readonly port: number;
  publishAck(site: string, gateway: string, ack: AckMessage): void;
  /** Stops accepting connections; clients already connected stay. */
  stopAccepting(): void;
  /** Disconnects every client and closes the server. Idempotent. */
  close(): Promise<void>;
}

export async function startBroker(deps: BrokerDeps): Promise<RunningBroker> {
  const broker = await Aedes.createBroker({
    queueLimit: brokerDefaults.queueLimit,
    concurrency: brokerDefaults.concurrency,
    maxClientsIdLength: brokerDefaults.clientIdLengthMax,
    connectTimeout: brokerDefaults.connectTimeoutMs,
  });
  const server = net.createServer(broker.handle);
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  broker.on('clientError', (client, error) => deps.logger.rateLimited(`client:${client.id}`, 10_000, 'warn', 'mqtt client error', { client: client.id, error: error.message }));
  broker.on('connectionError', (_client, error) => deps.logger.rateLimited('connection', 10_000, 'warn', 'mqtt connection error', { error: error.message }));

  // Ingest copies what it keeps, so each delivery returns at once and the broker PUBACKs promptly.
  const deliverData = (packet: AedesPublishPacket, done: () => void): void => {
    deps.onData(packet.topic, toBuffer(packet.payload));
    done();
  };
  const deliverState = (packet: AedesPublishPacket, done: () => void): void => {
    deps.onState(packet.topic, toBuffer(packet.payload));
    done();
  };
  await new Promise<void>((resolve) => broker.subscribe(topics.allData, deliverData, resolve));
  await new Promise<void>((resolve) => broker.subscribe(topics.allState, deliverState, resolve));

  const closeBroker = (): Promise<void> => new Promise((resolve) => broker.close(() => resolve()));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(deps.port, deps.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await closeBroker();
    throw hubError(hubErrors.listenFailed, `mqtt broker cannot listen on ${deps.host}:${deps.port}: ${(error as Error).message}`, {}, error);
  }
  const port = (server.address() as net.AddressInfo).port;

  let serverClosed: Promise<void> | undefined;
  const stopServer = (): Promise<void> => (serverClosed ??= new Promise((resolve) => server.close(() => resolve())));
  let closing: Promise<void> | undefined;
  return {
    port,
    publishAck(site, gateway, ack) {
      if (broker.closed) return;
      const packet = { cmd: 'publish', topic: topics.ack(site, gateway), payload: Buffer.from(JSON.stringify(ack)), qos: 1, retain: false, dup: false } as const;
      broker.publish(packet, (error) => {
        if (error) deps.logger.rateLimited(`ack:${gateway}`, 10_000, 'warn', 'cannot publish ack', { gateway, error: error.message });
      });
    },
    stopAccepting() {
      void stopServer();
    },
    close() {
      closing ??= (async () => {
        const stopped = stopServer();
        await Promise.race([closeBroker(), delay(brokerDefaults.closeTimeoutMs)]);
        for (const socket of sockets) socket.destroy();
        await stopped;
      })();
      return closing;
    },
  };
}

function toBuffer(payload: string | Buffer): Buffer {
  return typeof payload === 'string' ? Buffer.from(payload) : payload;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
