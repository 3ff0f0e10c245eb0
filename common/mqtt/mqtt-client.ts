// millwright's own MQTT 3.1.1/5 client (the gateway's uplink, the hub's link to an external broker): one connection at a time, reconnecting with jittered
// backoff forever until close(). It owns the session rules (re-send in-flight QoS 1 with DUP,
// re-subscribe, birth after every CONNACK, will in CONNECT) and what it tells its caller.
//
// Bounded by design, never an offline queue: publish() either hands the packet to the transport
// or rejects at once with a coded error (MQTT_OFFLINE while disconnected,
// MQTT_WINDOW_FULL when inflightMax QoS 1 publishes await PUBACK or the transport holds
// writeBufferBytesMax unflushed bytes). Callers that would rather not be refused check
// canPublish() first. The durable log upstream owns retries; this client holds at most
// inflightMax publishes, which it re-sends after a reconnect until acknowledged or close().
import type { IConnackPacket, IConnectPacket, IPublishPacket, Packet } from 'mqtt-packet';
import type { Clock } from '../clock.ts';
import { MillwrightError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { Backoff } from './backoff.ts';
import { describeConnackCode, encodeOwnPacket } from './codec.ts';
import { Connection, type CloseKind, type CloseReason } from './connection.ts';
import { mqttErrors } from './errors.ts';
import { resolveOptions, type ClientSettings, type MqttClientOptions, type StateMessageSpec } from './options.ts';
import { Session } from './session.ts';

export type { MqttClientOptions, StateMessageSpec } from './options.ts';

export type ClientState = 'idle' | 'connecting' | 'connected' | 'backoff' | 'closing' | 'closed';

export interface PublishOptions {
  readonly qos: 0 | 1;
  readonly retain: boolean;
}

export type MessageHandler = (topic: string, payload: Buffer) => void;

export type MqttClientEvent =
  | { readonly type: 'connected'; readonly sessionPresent: boolean; readonly atMs: number }
  | { readonly type: 'disconnected'; readonly kind: CloseKind; readonly reason: string; readonly atMs: number };

function newCounters() {
  return {
    connectAttempts: 0,
    reconnectAttempts: 0,
    connects: 0,
    connectFailures: 0,
    disconnects: 0,
    protocolErrors: 0,
    keepaliveTimeouts: 0,
    publishesSent: 0,
    publishesAcked: 0,
    publishesRefused: 0,
    publishesResent: 0,
    publishesAbandoned: 0,
    rejectedOffline: 0,
    rejectedWindowFull: 0,
    rejectedInvalid: 0,
    rejectedClosed: 0,
    birthsSent: 0,
    birthsAcked: 0,
    messagesReceived: 0,
    handlerErrors: 0,
    bytesIn: 0,
    bytesOut: 0,
  };
}

export type MqttClientStats = ReturnType<typeof newCounters> & {
  readonly state: ClientState;
  readonly inflight: number;
  readonly inflightLimit: number;
  readonly subscriptions: number;
  readonly lastDisconnectReason: string | undefined;
};

export class MqttClient {
  readonly #settings: ClientSettings;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #backoff: Backoff;
  readonly #session: Session;
  readonly #listeners = new Set<(event: MqttClientEvent) => void>();
  readonly #counters = newCounters();
  readonly #pingRequest: Buffer;
  #onMessage: MessageHandler | undefined;
  #state: ClientState = 'idle';
  #connection: Connection | undefined;
  #connectedAtNs: bigint | undefined;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #lastDisconnectReason: string | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: MqttClientOptions) {
    this.#settings = resolveOptions(options);
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#backoff = new Backoff(this.#settings.reconnectMinMs, this.#settings.reconnectMaxMs, options.random);
    this.#session = new Session(this.#settings);
    this.#pingRequest = encodeOwnPacket({ cmd: 'pingreq' }, this.#settings.protocolVersion);
  }

  get state(): ClientState {
    return this.#state;
  }

  /** Opens the first connection; later ones follow by themselves until close(). */
  start(): void {
    if (this.#state === 'idle') this.#openConnection();
  }

  /** Resolves on PUBACK (QoS 1) or once handed to the transport (QoS 0); never queues. */
  publish(topic: string, payload: Buffer | string, options: PublishOptions = { qos: 1, retain: false }): Promise<void> {
    const connection = this.#connection;
    if (this.#closing !== undefined) {
      this.#counters.rejectedClosed++;
      return Promise.reject(new MillwrightError(mqttErrors.closed, 'the uplink was closed', { topic }));
    }
    if (this.#state !== 'connected' || connection === undefined) {
      this.#counters.rejectedOffline++;
      return Promise.reject(new MillwrightError(mqttErrors.offline, `not connected to the broker (${this.#state})`, { topic }));
    }
    if (connection.pendingWriteBytes > this.#settings.writeBufferBytesMax) {
      this.#counters.rejectedWindowFull++;
      const message = `the transport holds ${connection.pendingWriteBytes} unflushed bytes (writeBufferBytesMax ${this.#settings.writeBufferBytesMax})`;
      return Promise.reject(new MillwrightError(mqttErrors.windowFull, message, { topic }));
    }
    const prepared = this.#session.publish(topic, payload, options.qos, options.retain);
    if (!prepared.ok) {
      if (prepared.error.code === mqttErrors.windowFull.code) this.#counters.rejectedWindowFull++;
      else this.#counters.rejectedInvalid++;
      return Promise.reject(prepared.error);
    }
    this.#counters.publishesSent++;
    connection.write(prepared.value.bytes);
    return prepared.value.done ?? Promise.resolve();
  }

  /** True when a publish() now would be handed to the broker rather than refused. */
  canPublish(): boolean {
    const connection = this.#connection;
    return this.#state === 'connected' && connection !== undefined && !this.#session.windowFull && connection.pendingWriteBytes <= this.#settings.writeBufferBytesMax;
  }

  /**
   * Kept across reconnects and re-sent after every CONNACK. Resolves with the granted QoS at the
   * next SUBACK. The returned promise is pre-handled so a fire-and-forget caller cannot turn a
   * refusal into an unhandled rejection that ends the process; every refusal is also logged.
   */
  subscribe(filter: string, qos: 0 | 1 = 1): Promise<0 | 1> {
    const promise = this.#subscribe(filter, qos);
    promise.catch(() => {});
    return promise;
  }

  onMessage(handler: MessageHandler): void {
    this.#onMessage = handler;
  }

  /** Connected and disconnected events; returns a function that removes the listener. */
  onEvent(listener: (event: MqttClientEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  stats(): MqttClientStats {
    return {
      ...this.#counters,
      state: this.#state,
      inflight: this.#session.inflight,
      inflightLimit: this.#session.inflightLimit,
      subscriptions: this.#session.subscriptionCount,
      lastDisconnectReason: this.#lastDisconnectReason,
    };
  }

  /** DISCONNECT when connected, no more reconnects, pending work rejected; resolves once closed. */
  close(): Promise<void> {
    this.#closing ??= this.#shutDown();
    return this.#closing;
  }

  async #shutDown(): Promise<void> {
    clearTimeout(this.#reconnectTimer);
    const wasConnected = this.#state === 'connected';
    this.#state = 'closing';
    this.#counters.publishesAbandoned += this.#session.abandon(() => new MillwrightError(mqttErrors.closed, 'the uplink was closed', {}));
    const connection = this.#connection;
    if (connection !== undefined) {
      if (wasConnected) {
        const disconnect: Packet = this.#settings.protocolVersion === 5 ? { cmd: 'disconnect', reasonCode: 0 } : { cmd: 'disconnect' };
        await connection.end(encodeOwnPacket(disconnect, this.#settings.protocolVersion), this.#settings.closeGraceMs);
      } else {
        connection.destroy({ kind: 'local-close', detail: 'close() was called before CONNACK' });
        await connection.closed;
      }
    }
    this.#state = 'closed';
  }

  #subscribe(filter: string, qos: 0 | 1): Promise<0 | 1> {
    if (this.#closing !== undefined) return Promise.reject(new MillwrightError(mqttErrors.closed, 'the uplink was closed', { filter }));
    const recorded = this.#session.subscribe(filter, qos);
    if (!recorded.ok) {
      this.#logger.error(`subscribe refused: ${recorded.error.message}`, { code: recorded.error.code, filter });
      return Promise.reject(recorded.error);
    }
    const connection = this.#connection;
    if (this.#state === 'connected' && connection !== undefined) connection.write(this.#session.subscribePacket(recorded.value.subscription));
    return recorded.value.done;
  }

  #openConnection(): void {
    this.#reconnectTimer = undefined;
    if (this.#closing !== undefined) return;
    this.#counters.connectAttempts++;
    if (this.#counters.connectAttempts > 1) this.#counters.reconnectAttempts++;
    this.#state = 'connecting';
    const { protocolVersion, packetBytesMax, connectTimeoutMs } = this.#settings;
    let stream;
    try {
      stream = this.#settings.connect();
    } catch (error) {
      this.#afterConnection({ kind: 'transport-error', detail: `could not open the transport: ${(error as Error).message}` });
      return;
    }
    const connection: Connection = new Connection(stream, {
      protocolVersion,
      packetBytesMax,
      connectTimeoutMs,
      counters: this.#counters,
      onPacket: (packet) => this.#onPacket(connection, packet),
      onClosed: (reason) => {
        if (this.#connection === connection) this.#connection = undefined;
        this.#afterConnection(reason);
      },
    });
    this.#connection = connection;
    connection.write(encodeOwnPacket(this.#connectPacket(), protocolVersion));
  }

  #connectPacket(): IConnectPacket {
    const settings = this.#settings;
    const packet: IConnectPacket = {
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: settings.protocolVersion,
      clientId: settings.clientId,
      clean: settings.clean,
      keepalive: settings.keepaliveS,
    };
    if (settings.username !== undefined) packet.username = settings.username;
    if (settings.password !== undefined) packet.password = settings.password;
    if (settings.will !== undefined) packet.will = { topic: settings.will.topic, payload: settings.will.payload, qos: 1, retain: settings.will.retain ?? true };
    if (settings.protocolVersion === 5) {
      // Without a session expiry an MQTT 5 broker ends the session at disconnect despite clean=false.
      packet.properties = { sessionExpiryInterval: settings.clean ? 0 : settings.sessionExpiryS, maximumPacketSize: settings.packetBytesMax };
    }
    return packet;
  }

  #onPacket(connection: Connection, packet: Packet): void {
    if (connection !== this.#connection || this.#closing !== undefined) return;
    if (packet.cmd === 'connack') return this.#onConnack(connection, packet);
    if (this.#state !== 'connected') return this.#protocolError(connection, `${packet.cmd} before CONNACK`);
    switch (packet.cmd) {
      case 'publish':
        return this.#onPublish(connection, packet);
      case 'puback':
        return this.#onPuback(connection, packet.messageId, packet.reasonCode ?? 0);
      case 'suback': {
        if (packet.messageId === undefined) return this.#protocolError(connection, 'SUBACK without a packet id');
        const outcome = this.#session.onSuback(packet.messageId, packet.granted);
        if (outcome.kind === 'unknown-id') return this.#protocolError(connection, `SUBACK for unknown packet id ${packet.messageId}`);
        if (outcome.kind === 'malformed') return this.#protocolError(connection, 'SUBACK does not grant exactly one filter');
        if (outcome.kind === 'refused') this.#logger.error(outcome.error.message, { code: outcome.error.code });
        return;
      }
      case 'pingresp':
        return connection.pingResponded();
      case 'disconnect':
        return connection.destroy({ kind: 'server-disconnect', detail: `reason code ${packet.reasonCode ?? 0} ${packet.properties?.reasonString ?? ''}`.trim() });
      default:
        return this.#protocolError(connection, `unexpected ${packet.cmd} from the broker`);
    }
  }

  #protocolError(connection: Connection, detail: string): void {
    connection.destroy({ kind: 'protocol-error', detail });
  }

  #onConnack(connection: Connection, packet: IConnackPacket): void {
    if (this.#state !== 'connecting') return this.#protocolError(connection, 'a second CONNACK');
    const version = this.#settings.protocolVersion;
    const code = (version === 5 ? packet.reasonCode : packet.returnCode) ?? 0;
    if (code !== 0) return connection.destroy({ kind: 'connack-refused', detail: `the broker refused the connection: ${describeConnackCode(code)}` });
    const serverKeepAliveS = packet.properties?.serverKeepAlive;
    const keepaliveS = serverKeepAliveS !== undefined && serverKeepAliveS > 0 ? serverKeepAliveS : this.#settings.keepaliveS;
    connection.established(keepaliveS * 1000, this.#pingRequest);
    this.#state = 'connected';
    this.#connectedAtNs = this.#clock.monotonicNs();
    this.#counters.connects++;
    // Session continuity first (re-sent publishes keep their order), then subscriptions, then birth.
    const { packets, resent } = this.#session.resume(packet.properties);
    for (const bytes of packets) connection.write(bytes);
    this.#counters.publishesResent += resent;
    this.#publishBirth(connection);
    this.#logger.info('connected', { broker: this.#settings.brokerLabel, protocolVersion: version, sessionPresent: packet.sessionPresent, resent });
    this.#emit({ type: 'connected', sessionPresent: packet.sessionPresent, atMs: this.#clock.nowMs() });
  }

  #onPublish(connection: Connection, packet: IPublishPacket): void {
    // Subscriptions ask for QoS ≤ 1 and topic aliases are never enabled, so either is a violation.
    if (packet.qos === 2) return this.#protocolError(connection, 'QoS 2 PUBLISH although no subscription asked for QoS 2');
    if (packet.topic.length === 0) return this.#protocolError(connection, 'PUBLISH without a topic');
    if (packet.qos === 1 && packet.messageId === undefined) return this.#protocolError(connection, 'QoS 1 PUBLISH without a packet id');
    this.#counters.messagesReceived++;
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    try {
      this.#onMessage?.(packet.topic, payload);
    } catch (error) {
      // Acknowledged all the same: a handler that throws would throw again on every redelivery.
      this.#counters.handlerErrors++;
      this.#logger.error(`message handler threw: ${(error as Error).message}`, { topic: packet.topic });
    }
    if (packet.qos === 1) connection.write(encodeOwnPacket({ cmd: 'puback', messageId: packet.messageId! }, this.#settings.protocolVersion));
  }

  #onPuback(connection: Connection, id: number | undefined, reasonCode: number): void {
    if (id === undefined) return this.#protocolError(connection, 'PUBACK without a packet id');
    switch (this.#session.onPuback(id, reasonCode)) {
      case 'acked':
        this.#counters.publishesAcked++;
        return;
      case 'refused':
        this.#counters.publishesRefused++;
        return;
      case 'birth-acked':
        this.#counters.birthsAcked++;
        return;
      case 'birth-refused':
        this.#logger.error('the broker refused the birth message', { reasonCode });
        return;
      case 'unknown':
        // A broker may acknowledge a re-sent publish twice; harmless, but worth seeing.
        this.#logger.rateLimited('uplink-unknown-puback', 10_000, 'warn', 'PUBACK for a packet id not in flight', { id });
        return;
    }
  }

  #publishBirth(connection: Connection): void {
    const birth = this.#settings.birth;
    if (birth === undefined) return;
    let message: StateMessageSpec;
    try {
      message = typeof birth === 'function' ? birth() : birth;
    } catch (error) {
      this.#logger.error(`the birth message function threw: ${(error as Error).message}`);
      return;
    }
    const packet = this.#session.birthPacket(message);
    if (!packet.ok) {
      this.#logger.error(`birth message not sent: ${packet.error.message}`, { code: packet.error.code });
      return;
    }
    connection.write(packet.value);
    this.#counters.birthsSent++;
  }

  /** Every connection ends here exactly once, established or not. */
  #afterConnection(reason: CloseReason): void {
    this.#session.connectionLost();
    if (reason.kind === 'protocol-error') this.#counters.protocolErrors++;
    if (reason.kind === 'keepalive-timeout') this.#counters.keepaliveTimeouts++;
    const text = `${reason.kind}: ${reason.detail}`;
    this.#lastDisconnectReason = text;
    const connectedAtNs = this.#connectedAtNs;
    this.#connectedAtNs = undefined;
    if (connectedAtNs !== undefined) {
      this.#counters.disconnects++;
      // Only a connection that lasted resets the backoff, so a broker that accepts and then
      // drops us at once (a client-id takeover loop, say) still sees growing delays.
      if (Number(this.#clock.monotonicNs() - connectedAtNs) / 1e6 >= this.#settings.stableConnectionMs) this.#backoff.reset();
      if (reason.kind === 'local-close') this.#logger.info('disconnected', { reason: text });
      else this.#logger.warn('disconnected', { reason: text });
      this.#emit({ type: 'disconnected', kind: reason.kind, reason: text, atMs: this.#clock.nowMs() });
    } else {
      this.#counters.connectFailures++;
      if (reason.kind !== 'local-close') this.#logger.rateLimited('uplink-connect-failed', 10_000, 'warn', 'connect attempt failed', { broker: this.#settings.brokerLabel, reason: text });
    }
    if (this.#closing !== undefined) return;
    const delayMs = this.#backoff.nextDelayMs();
    this.#state = 'backoff';
    this.#reconnectTimer = setTimeout(() => this.#openConnection(), delayMs);
  }

  #emit(event: MqttClientEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.#logger.error(`uplink event listener threw: ${(error as Error).message}`, { event: event.type });
      }
    }
  }
}
