// The embedded MQTT broker (aedes on TCP). The hub consumes gateway traffic in-process: server-side
// subscriptions on the data and state filters hand each message to ingest, and acks go out with
// broker.publish; no loopback client. Topic authorization stops a client from speaking for a
// gateway it is not: only client id millwright-{site}-{gateway} may publish to that gateway's data
// and state topics, and no client may publish acks. Limits live in one defaults object.
import net from 'node:net';
import { Aedes, type AedesPublishPacket, type Client } from 'aedes';
import type { Logger } from '../common/log.ts';
import { parseTopic, topics } from '../common/wire.ts';
import type { BrokerInbox, BrokerLink } from './broker-link.ts';
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
  /** One log line per offending client id per interval. */
  refusalLogIntervalMs: 10_000,
} as const;

export interface BrokerDeps extends BrokerInbox {
  readonly host: string;
  readonly port: number;
  readonly logger: Logger;
}

/** The MQTT client id a gateway must connect with to publish on its own topics. */
export function gatewayClientId(site: string, gateway: string): string {
  return `millwright-${site}-${gateway}`;
}

/** Why a client may not publish on a topic, or undefined when it may. Null is the broker itself. */
export function publishRefusal(client: Pick<Client, 'id'> | null, topic: string): string | undefined {
  if (topic.startsWith('$SYS')) return '$SYS topics are reserved';
  if (client === null) return undefined;
  const address = parseTopic(topic);
  if (address === undefined) return undefined;
  if (address.kind === 'ack') return 'only the hub publishes acks';
  if (address.kind === 'bundle') return 'only the hub publishes bundles';
  const expected = gatewayClientId(address.site, address.gateway);
  return client.id === expected ? undefined : `only client id '${expected}' may publish to ${address.kind} of ${address.site}/${address.gateway}`;
}

export type RunningBroker = BrokerLink;

export async function startBroker(deps: BrokerDeps): Promise<RunningBroker> {
  const counters = { refusedPublishes: 0, clientErrors: 0, acksSent: 0, acksFailed: 0 };
  const broker = await Aedes.createBroker({
    queueLimit: brokerDefaults.queueLimit,
    concurrency: brokerDefaults.concurrency,
    maxClientsIdLength: brokerDefaults.clientIdLengthMax,
    connectTimeout: brokerDefaults.connectTimeoutMs,
    authorizePublish: (client, packet, callback) => {
      const refusal = publishRefusal(client, packet.topic);
      if (refusal === undefined) return callback(null);
      counters.refusedPublishes++;
      deps.logger.rateLimited(`refused:${client?.id ?? ''}`, brokerDefaults.refusalLogIntervalMs, 'warn', 'refused a publish and disconnected the client', {
        client: client?.id.slice(0, 128),
        topic: packet.topic.slice(0, 200),
        reason: refusal,
      });
      callback(new Error(refusal)); // aedes disconnects the client: MQTT 3.1.1 has no negative PUBACK
    },
  });
  const server = net.createServer(broker.handle);
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  broker.on('clientError', (client, error) => {
    counters.clientErrors++;
    deps.logger.rateLimited(`client:${client.id}`, brokerDefaults.refusalLogIntervalMs, 'warn', 'mqtt client error', { client: client.id, error: error.message });
  });
  broker.on('connectionError', (_client, error) => {
    counters.clientErrors++;
    deps.logger.rateLimited('connection', brokerDefaults.refusalLogIntervalMs, 'warn', 'mqtt connection error', { error: error.message });
  });

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
        if (!error) return void counters.acksSent++;
        counters.acksFailed++;
        deps.logger.rateLimited(`ack:${gateway}`, brokerDefaults.refusalLogIntervalMs, 'warn', 'cannot publish ack', { gateway, error: error.message });
      });
    },
    publishBundle(site, gateway, bundle) {
      if (broker.closed) return Promise.reject(new Error('the broker is closed'));
      const packet = { cmd: 'publish', topic: topics.bundle(site, gateway), payload: Buffer.from(bundle), qos: 1, retain: false, dup: false } as const;
      return new Promise<void>((resolve, reject) => broker.publish(packet, (error) => (error ? reject(error) : resolve())));
    },
    counters: () => ({ mode: 'embedded', connected: !broker.closed, ...counters }),
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
