// The hub's configuration: site identity, data directory, broker and HTTP listeners, ingest limits
// and the dashboard directory. One JSON Schema validates the YAML file (cli.ts loads it through
// common/config.ts, which applies the defaults below); HubConfig is what the code reads, with
// absolute paths.
import path from 'node:path';
import { MillwrightError, commonErrors } from '../common/errors.ts';
import { idPatternSource } from '../common/ids.ts';

export interface ListenConfig {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
}

export interface HubConfig {
  /** The site id, as in gateway configs and MQTT topics. */
  readonly site: string;
  /** Holds hub.duckdb. Absolute after loading; relative paths in the file resolve against its folder. */
  readonly dataDir: string;
  readonly broker: ListenConfig;
  readonly http: ListenConfig;
  readonly ingest: {
    /** Points committed in one transaction at most. */
    readonly batchPointsMax: number;
    readonly flushIntervalMs: number;
    /** Points waiting for a commit; past this batches are refused (not acked) and counted. */
    readonly queuePointsMax: number;
  };
  /** Built dashboard files served at `/`. */
  readonly uiDir?: string;
}

export const databaseFileName = 'hub.duckdb';

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
    broker: listen(1883),
    http: listen(8080),
    ingest: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        batchPointsMax: { type: 'integer', minimum: 1, maximum: 1_000_000, default: 10_000 },
        flushIntervalMs: { type: 'integer', minimum: 1, maximum: 60_000, default: 200 },
        queuePointsMax: { type: 'integer', minimum: 1, maximum: 100_000_000, default: 200_000 },
      },
    },
    uiDir: { type: 'string', minLength: 1 },
  },
} as const;

/** Resolves relative paths against configDir and checks what the schema cannot express. */
export function resolveHubConfig(raw: HubConfig, configDir: string, fileName = '<config>'): HubConfig {
  if (raw.ingest.queuePointsMax < raw.ingest.batchPointsMax) {
    throw new MillwrightError(
      commonErrors.configInvalid,
      `${fileName}: ingest.queuePointsMax (${raw.ingest.queuePointsMax}) must be at least ingest.batchPointsMax (${raw.ingest.batchPointsMax})`,
      { file: fileName, field: 'ingest.queuePointsMax' },
    );
  }
  const { uiDir, ...rest } = raw;
  return {
    ...rest,
    dataDir: path.resolve(configDir, raw.dataDir),
    ...(uiDir === undefined ? {} : { uiDir: path.resolve(configDir, uiDir) }),
  };
}
