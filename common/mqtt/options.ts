// What the uplink client can be told, its defaults in one object (every limit named with its
// unit), and the check that turns a bad option into a coded error before any socket opens.
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Clock } from '../clock.ts';
import { MillwrightError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { RandomSource } from '../random.ts';
import { topicNameProblem, type ProtocolVersion } from './codec.ts';
import { mqttErrors } from './errors.ts';
import { packetIdMax } from './session-state.ts';

/** A birth or will message: always QoS 1; retained unless retain is false. */
export interface StateMessageSpec {
  readonly topic: string;
  readonly payload: Buffer | string;
  readonly retain?: boolean;
}

export interface MqttClientOptions {
  /** Broker address for the default TCP transport; unused when `connect` is given. */
  readonly host?: string;
  readonly port?: number;
  /** Opens a fresh transport for each connection attempt (tests pass in-memory pairs). */
  readonly connect?: () => Duplex;
  readonly clientId: string;
  readonly protocolVersion?: ProtocolVersion;
  /** false (the default) asks the broker to keep the session across connections. */
  readonly clean?: boolean;
  readonly username?: string;
  readonly password?: Buffer | string;
  readonly keepaliveS?: number;
  /** From opening the transport to CONNACK. */
  readonly connectTimeoutMs?: number;
  /** After DISCONNECT, how long close() waits for the broker to close before destroying. */
  readonly closeGraceMs?: number;
  /** Un-acknowledged QoS 1 publishes at most; publish() refuses beyond it. */
  readonly inflightMax?: number;
  readonly subscriptionsMax?: number;
  /** Largest packet sent or accepted; MQTT 5 brokers are told it in CONNECT. */
  readonly packetBytesMax?: number;
  /** Bytes the transport may hold unflushed before publish() refuses. */
  readonly writeBufferBytesMax?: number;
  /** MQTT 5 only: how long the broker keeps a persistent session after a disconnect. */
  readonly sessionExpiryS?: number;
  readonly reconnectMinMs?: number;
  readonly reconnectMaxMs?: number;
  /** A connection that lasted this long resets the backoff; shorter ones keep it growing. */
  readonly stableConnectionMs?: number;
  readonly will?: StateMessageSpec;
  /** Published (QoS 1) after every CONNACK; a function is called each time for a fresh payload. */
  readonly birth?: StateMessageSpec | (() => StateMessageSpec);
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly logger: Logger;
}

export const mqttClientDefaults = {
  protocolVersion: 4,
  clean: false,
  keepaliveS: 30,
  connectTimeoutMs: 10_000,
  closeGraceMs: 2_000,
  inflightMax: 64,
  subscriptionsMax: 32,
  packetBytesMax: 1_048_576,
  writeBufferBytesMax: 1_048_576,
  sessionExpiryS: 3_600,
  reconnectMinMs: 500,
  reconnectMaxMs: 30_000,
} as const;

export interface ClientSettings {
  readonly connect: () => Duplex;
  readonly brokerLabel: string;
  readonly clientId: string;
  readonly protocolVersion: ProtocolVersion;
  readonly clean: boolean;
  readonly username: string | undefined;
  readonly password: Buffer | undefined;
  readonly keepaliveS: number;
  readonly connectTimeoutMs: number;
  readonly closeGraceMs: number;
  readonly inflightMax: number;
  readonly subscriptionsMax: number;
  readonly packetBytesMax: number;
  readonly writeBufferBytesMax: number;
  readonly sessionExpiryS: number;
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
  readonly stableConnectionMs: number;
  readonly will: StateMessageSpec | undefined;
  readonly birth: StateMessageSpec | (() => StateMessageSpec) | undefined;
}

function invalid(field: string, problem: string): MillwrightError {
  return new MillwrightError(mqttErrors.optionsInvalid, `uplink option ${field}: ${problem}`, { field });
}

function integerIn(field: string, value: number, min: number, max: number): number {
  // Zero never means "unlimited" here: every limit is a real, positive bound.
  if (!Number.isInteger(value) || value < min || value > max) throw invalid(field, `must be an integer in ${min}..${max}, got ${value}`);
  return value;
}

export function resolveOptions(options: MqttClientOptions): ClientSettings {
  const d = mqttClientDefaults;
  if (options.connect === undefined && (options.host === undefined || options.port === undefined)) {
    throw invalid('host/port', 'give host and port, or a connect factory');
  }
  const { host, port } = options;
  if (options.clientId.length === 0 || Buffer.byteLength(options.clientId) > 65_535) throw invalid('clientId', 'must be 1..65535 bytes');
  if (options.password !== undefined && options.username === undefined) throw invalid('password', 'MQTT sends a password only with a username');
  for (const [field, message] of [['will', options.will], ['birth', typeof options.birth === 'function' ? undefined : options.birth]] as const) {
    const problem = message === undefined ? undefined : topicNameProblem(message.topic);
    if (problem !== undefined) throw invalid(`${field}.topic`, problem);
  }
  const inflightMax = integerIn('inflightMax', options.inflightMax ?? d.inflightMax, 1, 65_535);
  const subscriptionsMax = integerIn('subscriptionsMax', options.subscriptionsMax ?? d.subscriptionsMax, 1, 10_000);
  // Publishes, subscribes and the birth message share one identifier space.
  if (inflightMax + subscriptionsMax + 1 > packetIdMax - 1) throw invalid('inflightMax', 'inflightMax + subscriptionsMax must leave room in 65535 packet ids');
  const reconnectMinMs = integerIn('reconnectMinMs', options.reconnectMinMs ?? d.reconnectMinMs, 1, 3_600_000);
  const reconnectMaxMs = integerIn('reconnectMaxMs', options.reconnectMaxMs ?? d.reconnectMaxMs, reconnectMinMs, 3_600_000);
  return {
    // Nagle would hold small PUBACKs and PINGREQs back for no gain on a link this chatty.
    connect: options.connect ?? (() => net.connect({ host: host!, port: port!, noDelay: true })),
    brokerLabel: options.connect === undefined ? `${host}:${port}` : 'custom transport',
    clientId: options.clientId,
    protocolVersion: options.protocolVersion ?? d.protocolVersion,
    clean: options.clean ?? d.clean,
    username: options.username,
    password: options.password === undefined ? undefined : Buffer.from(options.password),
    keepaliveS: integerIn('keepaliveS', options.keepaliveS ?? d.keepaliveS, 1, 65_535),
    connectTimeoutMs: integerIn('connectTimeoutMs', options.connectTimeoutMs ?? d.connectTimeoutMs, 1, 600_000),
    closeGraceMs: integerIn('closeGraceMs', options.closeGraceMs ?? d.closeGraceMs, 1, 600_000),
    inflightMax,
    subscriptionsMax,
    packetBytesMax: integerIn('packetBytesMax', options.packetBytesMax ?? d.packetBytesMax, 64, 268_435_455),
    writeBufferBytesMax: integerIn('writeBufferBytesMax', options.writeBufferBytesMax ?? d.writeBufferBytesMax, 1, 2 ** 31),
    sessionExpiryS: integerIn('sessionExpiryS', options.sessionExpiryS ?? d.sessionExpiryS, 0, 4_294_967_295),
    reconnectMinMs,
    reconnectMaxMs,
    stableConnectionMs: integerIn('stableConnectionMs', options.stableConnectionMs ?? reconnectMaxMs, 1, 86_400_000),
    will: options.will,
    birth: options.birth,
  };
}
