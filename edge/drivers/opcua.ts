// OPC UA driver on node-opcua's client: one session, one subscription, one monitored item per tag.
// Being subscription-based, it reads the poll contract of driver.ts this way:
//  - open() connects and creates the session, trying twice at most: the engine owns the backoff
//    until a first connection succeeds; after that node-opcua repairs lost connections by itself,
//    transferring the subscription to a new session or recreating it on a restarted server;
//  - the first poll(sink) after open() creates the subscription; from then on every data change
//    is written into that sink as it arrives, stamped with the source (else server) timestamp;
//  - later polls are cheap health checks: they recreate a subscription the server dropped, fail
//    when neither data nor keep-alives arrived in time, and re-read every value once after a
//    reconnection so values that did not change get their quality back;
//  - while node-opcua repairs a connection the tags are bad and poll() counts failures without
//    throwing (a throw would make the engine tear the client down mid-repair) until the repair has
//    run for selfRepairLimitMs; then poll() throws and the engine starts from a fresh client.
// Certificates: the client's own certificate is created on first use in pkiDir/own. Production
// trusts a server by placing its certificate (or its CA in issuers/, with CRLs) in
// pkiDir/trusted/certs; an unknown server certificate is refused and copied to pkiDir/rejected
// for an operator to review (and move to trusted/certs). The server must likewise trust
// pkiDir/own/certs/client_certificate.pem.
import {
  AttributeIds, DataChangeFilter, DataChangeTrigger, DataType, DeadbandType, MessageSecurityMode, NodeId,
  OPCUACertificateManager, OPCUAClient, SecurityPolicy, TimestampsToReturn, UserTokenType, findBasicDataType, resolveNodeId,
  type ClientSession, type ClientSubscription, type DataValue, type UserIdentityInfo,
} from 'node-opcua';
import type { Clock } from '../../common/clock.ts';
import { MillwrightError, commonErrors } from '../../common/errors.ts';
import type { Logger } from '../../common/log.ts';
import type { Quality } from '../../common/point.ts';
import { edgeErrors } from '../errors.ts';
import type { Driver, DriverHealth, DriverTag, TagSink } from './driver.ts';
import type { OpcUaDeviceConfig, OpcUaTagConfig } from './opcua-config.ts';
import { describeOpcUaError, opcuaErrors, writeStatusError } from './opcua-errors.ts';
import { qualityOfStatus, readingOf, writeVariantOf } from './opcua-values.ts';

/** How often the engine calls poll(): a health check, not a read. */
export const healthCheckIntervalMs = 1000;
/** node-opcua's delays between reconnection attempts after a lost connection. */
const reconnectFirstDelayMs = 250;
const reconnectDelayMaxMs = 5000;
/** After this long in node-opcua's own repair, poll() throws so the engine starts over. */
const selfRepairLimitMs = 60_000;
/** The server sends a keep-alive after this long without data changes. */
const keepAliveTargetMs = 1000;
/** Missed keep-alives (plus one request timeout) before the subscription counts as stalled. */
const keepAlivesMissedMax = 3;
/** The server keeps an unattended subscription this long, so a short outage can transfer it. */
const subscriptionLifetimeTargetMs = 60_000;
const notificationsPerPublishMax = 1000;
const readNodesPerRequestMax = 500;
const wrongTypeLogIntervalMs = 60_000;
const linkLogIntervalMs = 10_000;
/** One application name for every device, so devices may share one pkiDir and its certificate. */
const applicationName = 'millwright-gateway';

/** The logger a driver needs: rate-limited lines only, so a broken peer cannot flood the log. */
export type DriverLog = Pick<Logger, 'rateLimited'>;

export interface OpcUaDriverOptions {
  /**
   * Trust any server certificate on first sight (node-opcua copies it to pkiDir/trusted/certs).
   * For tests and supervised commissioning only; production pre-trusts the server's certificate.
   */
  readonly trustUnknownServerCertificate?: boolean;
}

interface Connection {
  readonly client: OPCUAClient;
  readonly certificateManager: OPCUACertificateManager;
  session: ClientSession | undefined;
  subscription: ClientSubscription | undefined;
  /** Tags whose monitored item the server accepted on the current subscription. */
  readonly monitored: boolean[];
  /** Node data types read once for writes. */
  readonly dataTypes: Map<number, DataType>;
  /** Set while node-opcua repairs a lost connection. */
  lostAtMs: number | undefined;
  /** node-opcua gave up (or the channel closed without a repair): only a new open() helps. */
  abandoned: boolean;
  closing: boolean;
  refreshNeeded: boolean;
  lastAliveMs: number;
}

export class OpcUaDriver implements Driver {
  readonly deliversChangesOnly = true;
  readonly deviceId: string;
  readonly tags: readonly DriverTag[];
  readonly pollIntervalMs = healthCheckIntervalMs;
  readonly #config: OpcUaDeviceConfig;
  readonly #clock: Clock;
  readonly #log: DriverLog;
  readonly #options: OpcUaDriverOptions;
  readonly #nodeIds: readonly NodeId[];
  /** Data changes seen per tag: a refresh read skips tags that a fresher change already wrote. */
  readonly #changeCounts: Uint32Array;
  #connection: Connection | undefined;
  #sink: TagSink | undefined;
  #health = { connected: false, polls: 0, pollFailures: 0, consecutiveFailures: 0, lastError: undefined as string | undefined, lastErrorCode: undefined as string | undefined };

  constructor(config: OpcUaDeviceConfig, clock: Clock, log: DriverLog, options: OpcUaDriverOptions = {}) {
    this.deviceId = config.id;
    this.#config = config;
    this.#clock = clock;
    this.#log = log;
    this.#options = options;
    const names = new Set<string>();
    this.#nodeIds = config.tags.map((tag) => {
      if (names.has(tag.name)) throw new MillwrightError(commonErrors.configInvalid, `device ${config.id}: tag '${tag.name}' is defined twice`, { field: 'tags' });
      names.add(tag.name);
      try {
        return resolveNodeId(tag.nodeId);
      } catch (error) {
        throw new MillwrightError(commonErrors.configInvalid, `device ${config.id}: tag '${tag.name}' has an invalid nodeId '${tag.nodeId}'`, { field: 'nodeId' }, error);
      }
    });
    this.tags = config.tags.map((tag) => ({ name: tag.name, kind: tag.type, writable: tag.writable === true }));
    this.#changeCounts = new Uint32Array(config.tags.length);
  }

  async open(): Promise<void> {
    await this.close();
    const config = this.#config;
    const certificateManager = new OPCUACertificateManager({ rootFolder: config.pkiDir, automaticallyAcceptUnknownCertificate: this.#options.trustUnknownServerCertificate === true });
    const client = OPCUAClient.create({
      applicationName,
      clientName: `millwright-${config.id}`,
      securityMode: MessageSecurityMode[config.securityMode],
      securityPolicy: SecurityPolicy[config.securityPolicy],
      clientCertificateManager: certificateManager,
      // maxRetry bounds open() to two attempts (0 would also switch off node-opcua's repair of a
      // lost connection); that repair retries forever with these delays.
      connectionStrategy: { maxRetry: 1, initialDelay: reconnectFirstDelayMs, maxDelay: reconnectDelayMaxMs },
      defaultTransactionTimeout: config.timeoutMs,
    });
    const connection: Connection = {
      client, certificateManager, session: undefined, subscription: undefined, monitored: config.tags.map(() => false), dataTypes: new Map(),
      lostAtMs: undefined, abandoned: false, closing: false, refreshNeeded: false, lastAliveMs: this.#clock.nowMs(),
    };
    this.#watch(connection);
    try {
      await client.connect(config.endpointUrl);
      connection.session = await client.createSession(this.#identity());
    } catch (error) {
      await this.#release(connection);
      throw this.#record(this.#describe(error));
    }
    this.#connection = connection;
    this.#health.connected = true;
  }

  async poll(sink: TagSink): Promise<void> {
    this.#sink = sink;
    this.#health.polls++;
    const connection = this.#connection;
    const session = connection?.session;
    if (connection === undefined || session === undefined || connection.abandoned) {
      this.#health.connected = false;
      this.#markAll('bad');
      throw this.#countFailure(new MillwrightError(edgeErrors.deviceUnreachable, `device ${this.deviceId} is not connected`));
    }
    if (connection.lostAtMs !== undefined) {
      const downMs = this.#clock.nowMs() - connection.lostAtMs;
      const failure = this.#countFailure(new MillwrightError(edgeErrors.deviceUnreachable, `device ${this.deviceId}: connection lost ${Math.round(downMs)} ms ago, reconnecting`));
      if (downMs > selfRepairLimitMs) throw failure;
      return;
    }
    try {
      if (connection.subscription === undefined) await this.#subscribe(connection, session);
      else this.#checkAlive(connection);
      if (connection.refreshNeeded) await this.#refresh(connection, session);
    } catch (error) {
      this.#markAll('bad');
      throw this.#countFailure(this.#describe(error));
    }
    this.#health.consecutiveFailures = 0;
  }

  async write(tagName: string, value: number | boolean): Promise<void> {
    const index = this.#config.tags.findIndex((tag) => tag.name === tagName);
    const tag = this.#config.tags[index];
    if (tag === undefined) throw new MillwrightError(edgeErrors.unknownTag, `device ${this.deviceId} has no tag '${tagName}'`);
    if (tag.writable !== true) throw new MillwrightError(edgeErrors.writeNotPermitted, `tag '${this.deviceId}/${tagName}' is not writable in its device config`);
    const connection = this.#connection;
    const session = connection?.session;
    if (connection === undefined || session === undefined || connection.abandoned || connection.lostAtMs !== undefined) {
      throw new MillwrightError(edgeErrors.deviceUnreachable, `device ${this.deviceId} is not connected`);
    }
    try {
      const dataType = await this.#dataTypeOf(connection, session, index);
      const variant = writeVariantOf(dataType, value);
      if (!variant.ok) throw new MillwrightError(edgeErrors.writeOutOfRange, `tag '${this.deviceId}/${tagName}': ${variant.problem}`);
      const nodeId = this.#nodeIds[index]!;
      const status = await session.write({ nodeId, attributeId: AttributeIds.Value, value: { value: { dataType: variant.dataType, value: variant.value } } });
      if (qualityOfStatus(status.value) !== 'good') throw writeStatusError(this.deviceId, tagName, status.name);
    } catch (error) {
      throw this.#describe(error);
    }
  }

  async close(): Promise<void> {
    const connection = this.#connection;
    this.#connection = undefined;
    this.#health.connected = false;
    if (connection !== undefined) await this.#release(connection);
  }

  health(): DriverHealth {
    return { ...this.#health };
  }

  #identity(): UserIdentityInfo {
    const auth = this.#config.auth;
    if (auth.type === 'username') return { type: UserTokenType.UserName, userName: auth.username, password: auth.password };
    return { type: UserTokenType.Anonymous };
  }

  /** Follows node-opcua's own connection repair; events of a replaced connection are ignored. */
  #watch(connection: Connection): void {
    const current = (): boolean => this.#connection === connection && !connection.closing;
    const { client } = connection;
    client.on('connection_lost', () => {
      if (!current()) return;
      connection.lostAtMs = this.#clock.nowMs();
      this.#health.connected = false;
      this.#markAll('bad');
      this.#record(new MillwrightError(edgeErrors.deviceUnreachable, `device ${this.deviceId}: connection lost, reconnecting`));
      this.#log.rateLimited(`opcua:${this.deviceId}:link`, linkLogIntervalMs, 'warn', `device ${this.deviceId}: OPC UA connection lost; tags bad while reconnecting`, { device: this.deviceId });
    });
    client.on('connection_reestablished', () => {
      if (!current()) return;
      // node-opcua has reactivated or recreated the session and transferred or recreated the
      // subscription; values that did not change since the loss are read again by the next poll.
      connection.lostAtMs = undefined;
      connection.refreshNeeded = true;
      connection.lastAliveMs = this.#clock.nowMs();
      this.#health.connected = true;
      this.#log.rateLimited(`opcua:${this.deviceId}:relink`, linkLogIntervalMs, 'info', `device ${this.deviceId}: OPC UA connection re-established`, { device: this.deviceId });
    });
    client.on('close', () => {
      if (!current()) return;
      connection.abandoned = true;
      this.#health.connected = false;
      this.#markAll('bad');
    });
  }

  async #subscribe(connection: Connection, session: ClientSession): Promise<void> {
    const publishingIntervalMs = this.#config.publishingIntervalMs;
    const maxKeepAliveCount = Math.max(1, Math.ceil(keepAliveTargetMs / publishingIntervalMs));
    const subscription = await session.createSubscription2({
      requestedPublishingInterval: publishingIntervalMs,
      requestedMaxKeepAliveCount: maxKeepAliveCount,
      requestedLifetimeCount: Math.max(3 * maxKeepAliveCount, Math.ceil(subscriptionLifetimeTargetMs / publishingIntervalMs)),
      maxNotificationsPerPublish: notificationsPerPublishMax,
      publishingEnabled: true,
      priority: 1,
    });
    connection.subscription = subscription;
    connection.lastAliveMs = this.#clock.nowMs();
    connection.monitored.fill(false);
    const alive = (): void => {
      connection.lastAliveMs = this.#clock.nowMs();
    };
    subscription.on('keepalive', alive);
    subscription.on('received_notifications', alive);
    subscription.on('error', (error: Error) => {
      if (this.#connection === connection) this.#record(this.#describe(error));
    });
    subscription.on('terminated', () => {
      if (this.#connection !== connection || connection.closing || connection.subscription !== subscription) return;
      // The server dropped it (lifetime expired, or it was deleted): the next poll makes a new one.
      connection.subscription = undefined;
      this.#markAll('bad');
    });
    const refused = await Promise.all(this.#config.tags.map((tag, index) => this.#monitor(connection, subscription, tag, index)));
    const problems = refused.filter((problem): problem is string => problem !== undefined);
    if (problems.length > 0) {
      // The other tags are fine: these stay bad until the next open(), and the device keeps running.
      this.#record(new MillwrightError(opcuaErrors.badStatus, `device ${this.deviceId}: monitored items refused: ${problems.join('; ')}`));
      this.#log.rateLimited(`opcua:${this.deviceId}:monitor`, wrongTypeLogIntervalMs, 'warn', `device ${this.deviceId}: monitored items refused: ${problems.join('; ')}`, { device: this.deviceId, count: problems.length });
    }
  }

  /** Creates one tag's monitored item; returns why the server refused it, if it did. */
  async #monitor(connection: Connection, subscription: ClientSubscription, tag: OpcUaTagConfig, index: number): Promise<string | undefined> {
    const filter = tag.deadband === undefined ? undefined : new DataChangeFilter({
      trigger: DataChangeTrigger.StatusValue,
      deadbandType: tag.deadband.type === 'absolute' ? DeadbandType.Absolute : DeadbandType.Percent,
      deadbandValue: tag.deadband.value,
    });
    try {
      const item = await subscription.monitor(
        { nodeId: this.#nodeIds[index]!, attributeId: AttributeIds.Value },
        { samplingInterval: tag.samplingIntervalMs ?? this.#config.samplingIntervalMs, queueSize: 1, discardOldest: true, ...(filter !== undefined && { filter }) },
        TimestampsToReturn.Both,
      );
      if (!item.statusCode.isGood()) {
        this.#sink?.markQuality(index, 'bad', this.#clock.nowMs());
        return `${tag.name} (${tag.nodeId}): ${item.statusCode.name}`;
      }
      connection.monitored[index] = true;
      item.on('changed', (dataValue: DataValue) => {
        if (this.#connection !== connection) return;
        connection.lastAliveMs = this.#clock.nowMs();
        this.#changeCounts[index] = (this.#changeCounts[index]! + 1) >>> 0;
        this.#deliver(index, dataValue);
      });
      return undefined;
    } catch (error) {
      this.#sink?.markQuality(index, 'bad', this.#clock.nowMs());
      return `${tag.name} (${tag.nodeId}): ${this.#describe(error).message}`;
    }
  }

  #checkAlive(connection: Connection): void {
    const subscription = connection.subscription!;
    const keepAliveMs = subscription.publishingInterval * subscription.maxKeepAliveCount;
    const silentMs = this.#clock.nowMs() - connection.lastAliveMs;
    if (silentMs <= keepAlivesMissedMax * keepAliveMs + this.#config.timeoutMs) return;
    // A hung server or a half-open socket: nothing says the last values still hold.
    connection.refreshNeeded = true;
    throw new MillwrightError(edgeErrors.deviceTimeout, `device ${this.deviceId}: no data or keep-alive for ${Math.round(silentMs)} ms`);
  }

  /** Reads every monitored tag once and writes what no fresher data change has written since. */
  async #refresh(connection: Connection, session: ClientSession): Promise<void> {
    const indexes = connection.monitored.flatMap((monitored, index) => (monitored ? [index] : []));
    for (let start = 0; start < indexes.length; start += readNodesPerRequestMax) {
      const chunk = indexes.slice(start, start + readNodesPerRequestMax);
      const before = chunk.map((index) => this.#changeCounts[index]!);
      const dataValues = await session.read(chunk.map((index) => ({ nodeId: this.#nodeIds[index]!, attributeId: AttributeIds.Value })), 0);
      chunk.forEach((index, position) => {
        const dataValue = dataValues[position];
        if (dataValue !== undefined && this.#changeCounts[index] === before[position]) this.#deliver(index, dataValue);
      });
    }
    connection.refreshNeeded = false;
  }

  #deliver(index: number, dataValue: DataValue): void {
    const sink = this.#sink;
    const tag = this.#config.tags[index]!;
    if (sink === undefined) return;
    const reading = readingOf(tag.type, dataValue, this.#clock.nowMs());
    if (reading.kind === 'value') {
      sink.write(index, reading.value, reading.quality, reading.tsMs);
      return;
    }
    sink.markQuality(index, 'bad', reading.tsMs);
    if (reading.kind === 'wrong-type') {
      this.#log.rateLimited(`opcua:${this.deviceId}:${tag.name}:type`, wrongTypeLogIntervalMs, 'warn', `tag ${this.deviceId}/${tag.name} (${tag.nodeId}): ${reading.problem}; marked bad`, { device: this.deviceId, tag: tag.name });
    }
  }

  async #dataTypeOf(connection: Connection, session: ClientSession, index: number): Promise<DataType> {
    const cached = connection.dataTypes.get(index);
    if (cached !== undefined) return cached;
    const dataValue = await session.read({ nodeId: this.#nodeIds[index]!, attributeId: AttributeIds.DataType });
    const dataTypeId: unknown = dataValue.value.value;
    if (qualityOfStatus(dataValue.statusCode.value) === 'bad' || !(dataTypeId instanceof NodeId)) {
      throw writeStatusError(this.deviceId, this.#config.tags[index]!.name, dataValue.statusCode.name);
    }
    const dataType = await findBasicDataType(session, dataTypeId);
    connection.dataTypes.set(index, dataType);
    return dataType;
  }

  async #release(connection: Connection): Promise<void> {
    connection.closing = true;
    const { client, session } = connection;
    // Best effort: the server may already be gone, and disconnect() frees our side regardless.
    // deleteSubscriptions: the server would otherwise keep sampling for a client that left.
    if (session !== undefined && connection.lostAtMs === undefined && !connection.abandoned) {
      await session.close(true).catch((error: unknown) => this.#closeFailed(error));
    }
    await client.disconnect().catch((error: unknown) => this.#closeFailed(error));
    // The client's disconnect only drops its reference; this stops the store's file watchers.
    await connection.certificateManager.dispose().catch((error: unknown) => this.#closeFailed(error));
  }

  #closeFailed(error: unknown): void {
    this.#log.rateLimited(`opcua:${this.deviceId}:close`, linkLogIntervalMs, 'debug', `device ${this.deviceId}: while closing: ${(error as Error).message}`, { device: this.deviceId });
  }

  #markAll(quality: Quality): void {
    const sink = this.#sink;
    if (sink === undefined) return;
    const ts = this.#clock.nowMs();
    for (let index = 0; index < this.tags.length; index++) sink.markQuality(index, quality, ts);
  }

  #describe(error: unknown): MillwrightError {
    return describeOpcUaError(error, this.deviceId, this.#config.timeoutMs, this.#config.pkiDir);
  }

  #record(failure: MillwrightError): MillwrightError {
    this.#health.lastError = failure.message;
    this.#health.lastErrorCode = failure.code;
    return failure;
  }

  #countFailure(failure: MillwrightError): MillwrightError {
    this.#health.pollFailures++;
    this.#health.consecutiveFailures++;
    return this.#record(failure);
  }
}
