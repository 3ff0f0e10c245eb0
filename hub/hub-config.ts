// The hub's configuration: site identity, data directory, the broker (embedded, listening for
// gateways, or an external broker the hub connects to), the HTTP listener, ingest limits and the
// dashboard directory. One JSON Schema validates the YAML file (cli.ts loads it through
// common/config.ts, which applies the defaults below); HubConfig is what the code reads, with
// absolute paths and the external broker's defaults filled in.
import path from 'node:path';
import { MillwrightError, commonErrors } from '../common/errors.ts';
import { idPatternSource } from '../common/ids.ts';

export interface ListenConfig {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
}

/** The hub runs aedes and gateways connect to it (the default). */
export interface EmbeddedBrokerConfig extends ListenConfig {
  readonly mode?: 'embedded';
}

/** The hub connects to a broker run elsewhere (mosquitto, NATS in MQTT mode, EMQX...). */
export interface ExternalBrokerConfig {
  readonly mode: 'external';
  readonly host: string;
  readonly port: number;
  /** 4 is MQTT 3.1.1, 5 is MQTT 5. */
  readonly protocolVersion: 4 | 5;
  /** Fixed, so the broker keeps the hub's persistent session across restarts. */
  readonly clientId: string;
  readonly username?: string;
  /** Name of the environment variable holding the password (never the password itself). */
  readonly passwordEnv?: string;
}

export type BrokerConfig = EmbeddedBrokerConfig | ExternalBrokerConfig;

export interface HubConfig {
  /** The site id, as in gateway configs and MQTT topics. */
  readonly site: string;
  /** Holds hub.duckdb. Absolute after loading; relative paths in the file resolve against its folder. */
  readonly dataDir: string;
  readonly broker: BrokerConfig;
  readonly http: ListenConfig;
  readonly ingest: {
    /** Points committed in one transaction at most. */
    readonly batchPointsMax: number;
    readonly flushIntervalMs: number;
    /** Points waiting for a commit; past this batches are refused (not acked) and counted. */
    readonly queuePointsMax: number;
    /** Of queuePointsMax, what historical (backlog) batches may hold, so live data always fits; half when absent. */
    readonly historicalQueuePointsMax?: number;
  };
  /** Built dashboard files served at `/`. */
  readonly uiDir?: string;
}

/** The YAML file after schema defaults: the broker's fields not yet checked against its mode. */
export interface RawHubConfig extends Omit<HubConfig, 'broker'> {
  readonly broker: {
    readonly mode: 'embedded' | 'external';
    readonly host: string;
    readonly port: number;
    readonly protocolVersion?: 4 | 5;
    readonly clientId?: string;
    readonly username?: string;
    readonly passwordEnv?: string;
  };
}

export const databaseFileName = 'hub.duckdb';
const externalOnlyFields = ['protocolVersion', 'clientId', 'username', 'passwordEnv'] as const;

const listen = (port: number) =>
  ({
    type: 'object',
    additionalProperties: false,
    default: {},
    properties: {
      host: { type: 'string', minLength: 1, default: '127.0.0.1' },
      port: { type: 'integer', minimum: 0, maximum: 65_535, default: port },
    },
  }) as const;

export const hubConfigSchema = {
  $id: 'millwright/hub-config',
  type: 'object',
  additionalProperties: false,
  required: ['site', 'dataDir'],
  properties: {
    site: { type: 'string', pattern: idPatternSource },
    dataDir: { type: 'string', minLength: 1 },
    broker: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        mode: { type: 'string', enum: ['embedded', 'external'], default: 'embedded' },
        host: { type: 'string', minLength: 1, default: '127.0.0.1' },
        port: { type: 'integer', minimum: 0, maximum: 65_535, default: 1883 },
        protocolVersion: { type: 'integer', enum: [4, 5] },
        clientId: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.-]+$' },
        username: { type: 'string', minLength: 1, maxLength: 256 },
        passwordEnv: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
      },
    },
    http: listen(8080),
    ingest: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        batchPointsMax: { type: 'integer', minimum: 1, maximum: 1_000_000, default: 10_000 },
        flushIntervalMs: { type: 'integer', minimum: 1, maximum: 60_000, default: 200 },
        queuePointsMax: { type: 'integer', minimum: 1, maximum: 100_000_000, default: 200_000 },
        historicalQueuePointsMax: { type: 'integer', minimum: 1, maximum: 100_000_000 },
      },
    },
    uiDir: { type: 'string', minLength: 1 },
  },
} as const;

/** Resolves relative paths against configDir and checks what the schema cannot express. */
export function resolveHubConfig(raw: RawHubConfig, configDir: string, fileName = '<config>'): HubConfig {
  const invalid = (field: string, message: string): MillwrightError =>
    new MillwrightError(commonErrors.configInvalid, `${fileName}: ${field}: ${message}`, { file: fileName, field });
  const { ingest } = raw;
  if (ingest.queuePointsMax < ingest.batchPointsMax) {
    throw invalid('ingest.queuePointsMax', `(${ingest.queuePointsMax}) must be at least ingest.batchPointsMax (${ingest.batchPointsMax})`);
  }
  if (ingest.historicalQueuePointsMax !== undefined && ingest.historicalQueuePointsMax > ingest.queuePointsMax) {
    throw invalid('ingest.historicalQueuePointsMax', `(${ingest.historicalQueuePointsMax}) must not exceed ingest.queuePointsMax (${ingest.queuePointsMax})`);
  }
  const { uiDir, broker, ...rest } = raw;
  return {
    ...rest,
    broker: resolveBroker(broker, raw.site, invalid),
    dataDir: path.resolve(configDir, raw.dataDir),
    ...(uiDir === undefined ? {} : { uiDir: path.resolve(configDir, uiDir) }),
  };
}

function resolveBroker(broker: RawHubConfig['broker'], site: string, invalid: (field: string, message: string) => MillwrightError): BrokerConfig {
  const { mode, host, port, protocolVersion, clientId, username, passwordEnv } = broker;
  if (mode === 'embedded') {
    for (const field of externalOnlyFields) {
      if (broker[field] !== undefined) throw invalid(`broker.${field}`, 'applies only to mode: external (the embedded broker listens; it connects to nothing)');
    }
    return { mode, host, port };
  }
  if (port === 0) throw invalid('broker.port', 'an external broker needs its real port, not 0');
  if (passwordEnv !== undefined && username === undefined) throw invalid('broker.passwordEnv', 'MQTT sends a password only with a username');
  return {
    mode,
    host,
    port,
    protocolVersion: protocolVersion ?? 4,
    clientId: clientId ?? `millwright-hub-${site}`,
    ...(username === undefined ? {} : { username }),
    ...(passwordEnv === undefined ? {} : { passwordEnv }),
  };
}
