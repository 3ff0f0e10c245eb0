// The uplink client against real brokers (aedes in-process; mosquitto when installed), a proxy
// that black-holes or cuts the link, and fake brokers that misbehave. Reference subscribers use
// the `mqtt` package, so what the gateway sends is checked by an independent implementation.
import net from 'node:net';
import { duplexPair } from 'node:stream';
import { Aedes } from 'aedes';
import { connectAsync, type IClientOptions, type MqttClient as ReferenceClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../clock.ts';
import { isMillwrightError } from '../errors.ts';
import { createLogger } from '../log.ts';
import { seededRandom } from '../random.ts';
import { mqttErrors } from './errors.ts';
import { MqttClient, type MqttClientEvent, type MqttClientOptions } from './mqtt-client.ts';
import { brokerKinds, FakeBroker, TcpProxy, type TestBroker } from './test-peers.ts';

const logLines: string[] = [];
const cleanups: (() => Promise<unknown>)[] = [];
let uniqueId = 0;

afterEach(async () => {
  // Uplink clients first (their DISCONNECT needs the broker), then reference clients and peers.
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function unique(name: string): string {
  return `${name}-${process.pid}-${++uniqueId}`;
}

function openClient(port: () => number, overrides: Partial<MqttClientOptions> = {}): MqttClient {
  const client = new MqttClient({
    host: '127.0.0.1',
    port: port(),
    connect: () => net.connect({ host: '127.0.0.1', port: port() }),
    clientId: unique('uplink'),
    keepaliveS: 5,
    connectTimeoutMs: 2000,
    closeGraceMs: 500,
    reconnectMinMs: 20,
    reconnectMaxMs: 200,
    clock: systemClock,
    random: seededRandom(7),
    logger: createLogger({ component: 'uplink-test', clock: systemClock, level: 'debug', write: (line) => logLines.push(line) }),
    ...overrides,
  });
  cleanups.push(() => client.close());
  return client;
}

async function reference(port: number, protocolVersion: 4 | 5): Promise<ReferenceClient> {
  const options: IClientOptions = { protocolVersion, clientId: unique('reference'), reconnectPeriod: 0, clean: true };
  const client = await connectAsync(`mqtt://127.0.0.1:${port}`, options);
  client.on('error', (error) => logLines.push(`reference client error: ${error.message}`));
  cleanups.push(() => client.endAsync(true));
  return client;
}

interface Received {
  readonly topic: string;
  readonly payload: string;
  readonly retain: boolean;
}

async function collect(client: ReferenceClient, topic: string): Promise<Received[]> {
  const received: Received[] = [];
  client.on('message', (messageTopic, payload, packet) => {
    if (messageTopic === topic) received.push({ topic: messageTopic, payload: payload.toString(), retain: packet.retain });
  });
  await client.subscribeAsync(topic, { qos: 1 });
  return received;
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function nextEvent<T extends MqttClientEvent['type']>(client: MqttClient, type: T): Promise<Extract<MqttClientEvent, { type: T }>> {
  return new Promise((resolve) => {
    const remove = client.onEvent((event) => {
      if (event.type !== type) return;
      remove();
      resolve(event as Extract<MqttClientEvent, { type: T }>);
    });
  });
}

async function started(client: MqttClient): Promise<void> {
  const connected = nextEvent(client, 'connected');
  client.start();
  await connected;
}

async function rejectionCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isMillwrightError(error)) return error.code;
    throw error;
  }
  throw new Error('expected a rejection');
}

async function startProxy(port: () => number): Promise<TcpProxy> {
  const proxy = await TcpProxy.start(port);
  cleanups.push(() => proxy.close());
  return proxy;
}

describe.each(brokerKinds)('against $name', (kind) => {
  if (kind.unavailable !== undefined) console.warn(`skipping the ${kind.name} uplink tests: ${kind.unavailable}`);
  let broker: TestBroker;
  const port = (): number => broker.port;

  beforeAll(async () => {
    if (kind.unavailable === undefined) broker = await kind.launch();
  });
  afterAll(async () => {
    await broker?.dispose();
  });

  describe.each([4, 5] as const)('MQTT protocol version %i', (protocolVersion) => {
    const speaks = kind.protocolVersions.includes(protocolVersion);
    if (kind.unavailable === undefined && !speaks) console.warn(`skipping ${kind.name} with MQTT ${protocolVersion}: ${kind.versionNote}`);
    const test = kind.unavailable === undefined && speaks ? it : it.skip;
    test('a QoS 1 publish resolves on PUBACK and a reference subscriber receives it', async () => {
      const topic = unique('mw-test/data');
      const received = await collect(await reference(port(), protocolVersion), topic);
      const client = openClient(port, { protocolVersion });
      await started(client);
      await client.publish(topic, Buffer.from('batch-1'), { qos: 1, retain: false });
      await waitFor(() => received.length === 1, 'the reference subscriber');
      expect(received[0]).toMatchObject({ payload: 'batch-1', retain: false });
      expect(client.stats()).toMatchObject({ publishesSent: 1, publishesAcked: 1, inflight: 0, connects: 1 });
      expect(client.stats().bytesOut).toBeGreaterThan(0);
      expect(client.stats().bytesIn).toBeGreaterThan(0);
    });

    test('a full in-flight window refuses with MQTT_WINDOW_FULL and queues nothing', async () => {
      const topic = unique('mw-test/window');
      const received = await collect(await reference(port(), protocolVersion), topic);
      const client = openClient(port, { protocolVersion, inflightMax: 4 });
      await started(client);
      // All in one tick: no PUBACK can arrive before the window is full.
      const accepted = [0, 1, 2, 3].map((index) => client.publish(topic, `m${index}`, { qos: 1, retain: false }));
      expect(client.canPublish()).toBe(false);
      expect(await rejectionCode(client.publish(topic, 'refused', { qos: 1, retain: false }))).toBe(mqttErrors.windowFull.code);
      expect(client.stats()).toMatchObject({ inflight: 4, rejectedWindowFull: 1 });
      await Promise.all(accepted);
      expect(client.canPublish()).toBe(true);
      await client.publish(topic, 'after', { qos: 1, retain: false });
      await waitFor(() => received.length === 5, 'five messages');
      expect(received.map((message) => message.payload)).toEqual(['m0', 'm1', 'm2', 'm3', 'after']);
    });

    test('publish refuses with MQTT_OFFLINE before the first CONNACK', async () => {
      const client = openClient(port, { protocolVersion });
      expect(client.canPublish()).toBe(false);
      expect(await rejectionCode(client.publish('mw-test/offline', 'x', { qos: 1, retain: false }))).toBe(mqttErrors.offline.code);
      expect(client.stats()).toMatchObject({ rejectedOffline: 1, inflight: 0, publishesSent: 0 });
    });

    test('after the broker restarts the client reconnects with backoff, re-subscribes and receives again', async () => {
      const topic = unique('mw-test/ack');
      const client = openClient(port, { protocolVersion, reconnectMinMs: 100, reconnectMaxMs: 400 });
      const messages: string[] = [];
      client.onMessage((messageTopic, payload) => {
        if (messageTopic === topic) messages.push(payload.toString());
      });
      const subscribed = client.subscribe(topic, 1);
      await started(client);
      expect(await subscribed).toBe(1);
      const before = await reference(port(), protocolVersion);
      await before.publishAsync(topic, 'before', { qos: 1 });
      await waitFor(() => messages.includes('before'), 'the message before the restart');

      const disconnected = nextEvent(client, 'disconnected');
      await broker.stop();
      const { atMs } = await disconnected;
      expect(await rejectionCode(client.publish(topic, 'x', { qos: 1, retain: false }))).toBe(mqttErrors.offline.code);
      await waitFor(() => client.stats().reconnectAttempts >= 1, 'a reconnect attempt');
      expect(Date.now() - atMs).toBeGreaterThanOrEqual(90); // reconnectMinMs, less timer slack
      await waitFor(() => client.stats().connectFailures >= 1, 'a refused attempt while the broker is down');

      const reconnected = nextEvent(client, 'connected');
      await broker.start();
      await reconnected;
      // The restarted broker kept nothing: the message only arrives if the client re-subscribed.
      const after = await reference(port(), protocolVersion);
      for (let attempt = 0; !messages.includes('after'); attempt++) {
        if (attempt === 100) throw new Error('no message after the restart');
        await after.publishAsync(topic, 'after', { qos: 1 });
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(client.stats()).toMatchObject({ connects: 2, disconnects: 1 });
    });

    test('in-flight QoS 1 publishes are re-sent with DUP and their packet ids after a reconnect', async () => {
      const topic = unique('mw-test/resend');
      const received = await collect(await reference(port(), protocolVersion), topic);
      const proxy = await startProxy(port);
      const client = openClient(() => proxy.port, { protocolVersion });
      await started(client);

      proxy.blackHoled = true;
      const pending = ['r0', 'r1', 'r2'].map((payload) => client.publish(topic, payload, { qos: 1, retain: false }));
      const firstSends = () => proxy.sent.filter((record) => record.connection === 1 && record.packet.cmd === 'publish' && record.packet.topic === topic);
      await waitFor(() => firstSends().length === 3, 'the proxy to see three publishes');
      expect(client.stats().inflight).toBe(3);

      const reconnected = nextEvent(client, 'connected');
      proxy.blackHoled = false;
      proxy.cut();
      await reconnected;
      await Promise.all(pending);
      await waitFor(() => received.length === 3, 'three messages at the subscriber');
      expect(received.map((message) => message.payload)).toEqual(['r0', 'r1', 'r2']);

      const resends = proxy.sent.filter((record) => record.connection === 2 && record.packet.cmd === 'publish' && record.packet.topic === topic);
      const summary = (records: typeof resends) => records.map(({ packet }) => (packet.cmd === 'publish' ? { id: packet.messageId, dup: packet.dup } : undefined));
      expect(summary(firstSends()).map((item) => item?.dup)).toEqual([false, false, false]);
      expect(summary(resends)).toEqual(summary(firstSends()).map((item) => ({ id: item?.id, dup: true })));
      expect(client.stats()).toMatchObject({ publishesResent: 3, publishesAcked: 3, inflight: 0 });
    });

    test('the will is published when the link breaks without DISCONNECT, and the next birth replaces it', async () => {
      const stateTopic = unique('mw-test/state');
      const received = await collect(await reference(port(), protocolVersion), stateTopic);
      const proxy = await startProxy(port);
      let births = 0;
      const client = openClient(() => proxy.port, {
        protocolVersion,
        will: { topic: stateTopic, payload: 'offline', retain: true },
        birth: () => ({ topic: stateTopic, payload: `online ${++births}`, retain: true }),
      });
      await started(client);
      await waitFor(() => received.length === 1, 'the birth message');
      proxy.cut();
      await waitFor(() => received.length === 3, 'the will and the second birth');
      expect(received.map((message) => message.payload)).toEqual(['online 1', 'offline', 'online 2']);
    });

    test('the birth message is retained (QoS 1) for subscribers that arrive later', async () => {
      const stateTopic = unique('mw-test/state');
      const client = openClient(port, { protocolVersion, birth: { topic: stateTopic, payload: 'online' } });
      await started(client);
      await waitFor(() => client.stats().birthsAcked === 1, 'the PUBACK of the birth message');
      const received = await collect(await reference(port(), protocolVersion), stateTopic);
      await waitFor(() => received.length === 1, 'the retained birth message');
      expect(received[0]).toEqual({ topic: stateTopic, payload: 'online', retain: true });
    });

    test('close() sends DISCONNECT, so the broker discards the will', async () => {
      const stateTopic = unique('mw-test/state');
      const received = await collect(await reference(port(), protocolVersion), stateTopic);
      const proxy = await startProxy(port);
      const client = openClient(() => proxy.port, {
        protocolVersion,
        will: { topic: stateTopic, payload: 'offline' },
        birth: { topic: stateTopic, payload: 'online' },
      });
      await started(client);
      await waitFor(() => received.length === 1, 'the birth message');
      const disconnected = nextEvent(client, 'disconnected');
      await client.close();
      expect((await disconnected).kind).toBe('local-close');
      expect(client.state).toBe('closed');
      expect(proxy.sent.some((record) => record.packet.cmd === 'disconnect')).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(received.map((message) => message.payload)).toEqual(['online']);
      expect(await rejectionCode(client.publish(stateTopic, 'late', { qos: 1, retain: false }))).toBe(mqttErrors.closed.code);
    });

    test('close() rejects pending publishes with MQTT_CLOSED and resolves once the socket is closed', async () => {
      const proxy = await startProxy(port);
      const client = openClient(() => proxy.port, { protocolVersion, closeGraceMs: 300 });
      await started(client);
      proxy.blackHoled = true;
      const pending = [client.publish('mw-test/pending', 'a', { qos: 1, retain: false }), client.publish('mw-test/pending', 'b', { qos: 1, retain: false })];
      const codes = Promise.all(pending.map(rejectionCode));
      await client.close();
      expect(await codes).toEqual([mqttErrors.closed.code, mqttErrors.closed.code]);
      expect(client.stats()).toMatchObject({ state: 'closed', inflight: 0, publishesAbandoned: 2 });
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(client.stats().connectAttempts).toBe(1); // no reconnect after close()
    });
  });
});

describe('a broker that misbehaves', () => {
  async function fake(onConnection: (socket: net.Socket) => void): Promise<FakeBroker> {
    const broker = await FakeBroker.start(onConnection);
    cleanups.push(() => broker.close());
    return broker;
  }

  it('bytes that are not MQTT are a protocol error: logged, reconnected, the process lives on', async () => {
    const broker = await fake((socket) => socket.write('HTTP/1.1 400 Bad Request\r\n\r\n'));
    logLines.length = 0;
    const client = openClient(() => broker.port, { reconnectMinMs: 10, reconnectMaxMs: 20 });
    client.start();
    await waitFor(() => broker.connections >= 3 && client.stats().protocolErrors >= 2, 'repeated attempts');
    expect(client.stats().lastDisconnectReason).toMatch(/^protocol-error: invalid flags/);
    expect(logLines.some((line) => line.includes('connect attempt failed') && line.includes('protocol-error'))).toBe(true);
    await client.close();
    expect(client.state).toBe('closed');
  });

  it('garbage after a good CONNACK drops the connection and the client reconnects', async () => {
    const broker = await fake((socket) => {
      socket.once('data', () => socket.write(Buffer.from([0x20, 0x02, 0x00, 0x00, 0xff, 0xff, 0xff])));
    });
    const client = openClient(() => broker.port, { reconnectMinMs: 10, reconnectMaxMs: 20 });
    const disconnects: MqttClientEvent[] = [];
    client.onEvent((event) => {
      if (event.type === 'disconnected') disconnects.push(event);
    });
    client.start();
    await waitFor(() => disconnects.length >= 2, 'two dropped connections');
    expect(disconnects[0]).toMatchObject({ kind: 'protocol-error' });
    expect(client.stats().connects).toBeGreaterThanOrEqual(2);
  });

  it('seeded random bytes never crash the client (seed printed for replay)', async () => {
    const seed = 20_260_101;
    console.info(`uplink garbage seed ${seed}`);
    const random = seededRandom(seed);
    const broker = await fake((socket) => {
      socket.once('data', () => {
        const garbage = Buffer.from(Array.from({ length: random.int(1, 64) }, () => random.int(0, 255)));
        // Half the time a valid CONNACK first, so garbage also reaches the connected state.
        socket.write(random.next() < 0.5 ? Buffer.concat([Buffer.from([0x20, 0x02, 0x00, 0x00]), garbage]) : garbage);
      });
    });
    const client = openClient(() => broker.port, { reconnectMinMs: 5, reconnectMaxMs: 10, connectTimeoutMs: 100, keepaliveS: 1 });
    client.start();
    await waitFor(() => broker.connections >= 20, "twenty connections", 15_000);
    await client.close();
    expect(client.stats().connects + client.stats().connectFailures).toBeGreaterThanOrEqual(19);
  });

  it('a refused CONNACK is logged and retried with backoff', async () => {
    const broker = await fake((socket) => {
      socket.once('data', () => socket.write(Buffer.from([0x20, 0x02, 0x00, 0x05])));
    });
    const client = openClient(() => broker.port, { reconnectMinMs: 10, reconnectMaxMs: 40 });
    client.start();
    await waitFor(() => client.stats().connectFailures >= 3, 'three refused attempts');
    expect(client.stats().lastDisconnectReason).toBe('connack-refused: the broker refused the connection: 5 (not authorized)');
    expect(client.stats().connects).toBe(0);
  });
});

describe('a broker without MQTT 5', () => {
  it('refusing an MQTT 5 CONNECT is logged, counted and retried with backoff', async () => {
    const broker = await brokerKinds[0]!.launch();
    cleanups.push(() => broker.dispose());
    const client = openClient(() => broker.port, { protocolVersion: 5, reconnectMinMs: 10, reconnectMaxMs: 40 });
    client.start();
    await waitFor(() => client.stats().connectFailures >= 2, 'two refused attempts');
    expect(client.stats().lastDisconnectReason).toMatch(/^connack-refused: .*unacceptable protocol version/);
    expect(client.stats().connects).toBe(0);
  });
});

describe('transport', () => {
  it('the protocol core runs over an in-memory duplex pair', async () => {
    const broker = await Aedes.createBroker();
    cleanups.push(() => new Promise<void>((resolve) => broker.close(() => resolve())));
    const client = openClient(() => 0, {
      closeGraceMs: 100, // a duplex pair does not pass the broker's close on to our side
      connect: () => {
        const [clientSide, brokerSide] = duplexPair();
        broker.handle(brokerSide);
        return clientSide;
      },
    });
    const messages: string[] = [];
    client.onMessage((_topic, payload) => messages.push(payload.toString()));
    const subscribed = client.subscribe('mw-test/loop', 1);
    await started(client);
    expect(await subscribed).toBe(1);
    await client.publish('mw-test/loop', 'over a pipe', { qos: 1, retain: false });
    await waitFor(() => messages.length === 1, 'the looped-back message');
    expect(messages).toEqual(['over a pipe']);
  });

  it('a link that stops answering is declared dead after one keepalive without PINGRESP', async () => {
    const broker = await brokerKinds[0]!.launch();
    cleanups.push(() => broker.dispose());
    const proxy = await startProxy(() => broker.port);
    const client = openClient(() => proxy.port, { keepaliveS: 1 });
    await started(client);
    const disconnected = nextEvent(client, 'disconnected');
    proxy.blackHoled = true;
    const blackHoledAt = Date.now();
    const event = await disconnected;
    expect(event.kind).toBe('keepalive-timeout');
    expect(Date.now() - blackHoledAt).toBeLessThan(3000);
    const reconnected = nextEvent(client, 'connected');
    proxy.blackHoled = false;
    await reconnected;
    expect(client.stats().keepaliveTimeouts).toBe(1);
  });

  it('refuses invalid options with MQTT_OPTIONS_INVALID before opening anything', () => {
    const base = { clientId: 'c', clock: systemClock, random: seededRandom(1), logger: createLogger({ component: 't', clock: systemClock, write: () => {} }) };
    expect(() => new MqttClient({ ...base, host: '127.0.0.1', port: 1, keepaliveS: 0 })).toThrow(expect.objectContaining({ code: mqttErrors.optionsInvalid.code }));
    expect(() => new MqttClient({ ...base })).toThrow(/host and port/);
    expect(() => new MqttClient({ ...base, host: 'h', port: 1, will: { topic: 'a/#', payload: 'x' } })).toThrow(/will.topic/);
  });
});
