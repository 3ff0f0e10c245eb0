// The gateway's configuration: identity, scan tick, uplink and devices. One JSON Schema validates
// the YAML file (through common/config.ts) and the interface below is what the code reads.
import { idPatternSource } from '../common/ids.ts';
import { rulesConfigSchema, type RulesConfig } from './rules/rule-config.ts';
import type { ModbusRtuDeviceConfig } from './drivers/modbus-rtu-config.ts';
import { modbusRtuDeviceSchema } from './drivers/modbus-rtu-config.ts';
import type { OpcUaDeviceConfig } from './drivers/opcua-config.ts';
import { opcuaDeviceSchema } from './drivers/opcua-config.ts';
import type { SerialLineDeviceConfig } from './drivers/serial-line-config.ts';
import { serialLineDeviceSchema } from './drivers/serial-line-config.ts';

export interface ModbusTcpDeviceConfig {
  readonly id: string;
  readonly driver: 'modbus-tcp';
  readonly host: string;
  readonly port: number;
  readonly unitId: number;
  /** Device profile file; relative paths resolve against the config file's folder. */
  readonly profile: string;
  readonly pollIntervalMs: number;
  readonly timeoutMs: number;
  /** Largest gap (in registers) bridged when batching adjacent tags into one request. */
  readonly batchGapMax: number;
  /**
   * Reads of one poll sent before the first answer (Modbus TCP transactions in flight). 1 sends
   * each read after the previous answer, which every device accepts; devices that take several
   * transactions (most PLCs, our simulator, pymodbus) can be polled with fewer wake-ups and writes.
   */
  readonly pipelineMax?: number;
}

export type DeviceConfig = ModbusTcpDeviceConfig | ModbusRtuDeviceConfig | OpcUaDeviceConfig | SerialLineDeviceConfig;

export interface UplinkConfig {
  readonly host: string;
  readonly port: number;
  readonly protocolVersion: 4 | 5;
  readonly keepaliveS: number;
  readonly publishIntervalMs: number;
  readonly batchPointsMax: number;
  readonly inflightMax: number;
  /** Backlog drained beside live traffic after an outage, marked historical. */
  readonly backlogPointsPerSecond: number;
  /** Sent records the hub has not acknowledged after this long are sent again. */
  readonly ackTimeoutMs: number;
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
  /** How often the gateway publishes its own health points under {area}/_gateway/. */
  readonly healthIntervalMs: number;
}

export interface AlarmConfig {
  readonly id: string;
  /** `{device}/{tag}` inside this gateway's area. */
  readonly tag: string;
  readonly above?: number;
  readonly below?: number;
  readonly hysteresis: number;
  readonly onDelayMs: number;
  readonly severity: 'low' | 'medium' | 'high' | 'critical';
  readonly message?: string;
  readonly actions: readonly { readonly write: string; readonly value: number | boolean }[];
}

export interface GatewayConfig {
  readonly gateway: { readonly id: string; readonly site: string; readonly area: string };
  /** Folder for the gateway's own state (sequence numbers); relative to the config file. */
  readonly dataDir: string;
  readonly scan: {
    readonly tickMs: number;
    readonly seed: number;
    /** How long before each tick the scan thread stops sleeping and spins for precision. */
    readonly spinUs: number;
    /** Nice value of the scan thread (-20..19); raising priority needs root or CAP_SYS_NICE. */
    readonly threadNice: number;
    /** SCHED_FIFO priority of the scan thread (1..99), 0 = off; needs root or CAP_SYS_NICE (ADR 0006). */
    readonly realtimePriority: number;
    /** A tag not refreshed by its driver for this long turns uncertain, then bad. */
    readonly staleUncertainMs: number;
    readonly staleBadMs: number;
  };
  readonly alarms: readonly AlarmConfig[];
  /** Compiled AssemblyScript rules run in the scan after the built-in alarms (docs/rules.md). */
  readonly rules: RulesConfig;
  /** The durable store-and-forward log under dataDir/log. */
  readonly log: {
    readonly budgetBytes: number;
    readonly segmentBytesMax: number;
    readonly policy: 'thin-oldest' | 'drop-oldest-telemetry';
  };
  /** Local HTTP API (stats, health); absent = off. */
  readonly api?: { readonly host: string; readonly port: number };
  readonly uplink: UplinkConfig;
  readonly devices: readonly DeviceConfig[];
}

const id = { type: 'string', pattern: idPatternSource } as const;

export const modbusTcpDeviceSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'driver', 'host', 'port', 'profile'],
  properties: {
    id,
    driver: { type: 'string', const: 'modbus-tcp' },
    host: { type: 'string', minLength: 1 },
    port: { type: 'integer', minimum: 1, maximum: 65_535 },
    unitId: { type: 'integer', minimum: 0, maximum: 255, default: 1 },
    profile: { type: 'string', minLength: 1 },
    pollIntervalMs: { type: 'integer', minimum: 1, maximum: 3_600_000, default: 100 },
    timeoutMs: { type: 'integer', minimum: 1, maximum: 60_000, default: 500 },
    batchGapMax: { type: 'integer', minimum: 0, maximum: 100, default: 8 },
    pipelineMax: { type: 'integer', minimum: 1, maximum: 16, default: 1 },
  },
} as const;

export const gatewayConfigSchema = {
  $id: 'millwright/gateway-config',
  type: 'object',
  additionalProperties: false,
  required: ['gateway', 'dataDir', 'uplink', 'devices'],
  properties: {
    gateway: {
      type: 'object',
      additionalProperties: false,
      required: ['id', 'site', 'area'],
      properties: { id, site: id, area: id },
    },
    dataDir: { type: 'string', minLength: 1 },
    scan: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        tickMs: { type: 'integer', minimum: 1, maximum: 10_000, default: 10 },
        seed: { type: 'integer', minimum: 0, maximum: 4_294_967_295, default: 1 },
        spinUs: { type: 'integer', minimum: 0, maximum: 5000, default: 100 },
        threadNice: { type: 'integer', minimum: -20, maximum: 19, default: -10 },
        realtimePriority: { type: 'integer', minimum: 0, maximum: 99, default: 40 },
        staleUncertainMs: { type: 'integer', minimum: 1, maximum: 86_400_000, default: 2000 },
        staleBadMs: { type: 'integer', minimum: 1, maximum: 86_400_000, default: 10_000 },
      },
    },
    alarms: {
      type: 'array',
      default: [],
      maxItems: 10_000,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'tag'],
        oneOf: [{ required: ['above'] }, { required: ['below'] }],
        properties: {
          id,
          tag: { type: 'string', pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]*/[A-Za-z0-9_][A-Za-z0-9_.-]*$' },
          above: { type: 'number' },
          below: { type: 'number' },
          hysteresis: { type: 'number', minimum: 0, default: 0 },
          onDelayMs: { type: 'integer', minimum: 0, maximum: 86_400_000, default: 0 },
          severity: { type: 'string', enum: ['low', 'medium', 'high', 'critical'], default: 'high' },
          message: { type: 'string' },
          actions: {
            type: 'array',
            default: [],
            maxItems: 16,
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['write', 'value'],
              properties: {
                write: { type: 'string', pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]*/[A-Za-z0-9_][A-Za-z0-9_.-]*$' },
                value: { type: ['number', 'boolean'] },
              },
            },
          },
        },
      },
    },
    rules: rulesConfigSchema,
    log: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        budgetBytes: { type: 'integer', minimum: 1_048_576, maximum: 1_099_511_627_776, default: 1_073_741_824 },
        segmentBytesMax: { type: 'integer', minimum: 65_536, maximum: 1_073_741_824, default: 8_388_608 },
        policy: { type: 'string', enum: ['thin-oldest', 'drop-oldest-telemetry'], default: 'thin-oldest' },
      },
    },
    api: {
      type: 'object',
      additionalProperties: false,
      required: ['port'],
      properties: {
        host: { type: 'string', minLength: 1, default: '127.0.0.1' },
        port: { type: 'integer', minimum: 0, maximum: 65_535 },
      },
    },
    uplink: {
      type: 'object',
      additionalProperties: false,
      required: ['host', 'port'],
      properties: {
        host: { type: 'string', minLength: 1 },
        port: { type: 'integer', minimum: 1, maximum: 65_535 },
        protocolVersion: { type: 'integer', enum: [4, 5], default: 4 },
        keepaliveS: { type: 'integer', minimum: 1, maximum: 3600, default: 10 },
        publishIntervalMs: { type: 'integer', minimum: 1, maximum: 60_000, default: 100 },
        batchPointsMax: { type: 'integer', minimum: 1, maximum: 100_000, default: 1000 },
        inflightMax: { type: 'integer', minimum: 1, maximum: 1000, default: 32 },
        backlogPointsPerSecond: { type: 'integer', minimum: 1, maximum: 10_000_000, default: 50_000 },
        ackTimeoutMs: { type: 'integer', minimum: 100, maximum: 3_600_000, default: 10_000 },
        reconnectMinMs: { type: 'integer', minimum: 10, maximum: 600_000, default: 200 },
        reconnectMaxMs: { type: 'integer', minimum: 10, maximum: 600_000, default: 10_000 },
        healthIntervalMs: { type: 'integer', minimum: 100, maximum: 3_600_000, default: 10_000 },
      },
    },
    devices: {
      type: 'array',
      minItems: 1,
      maxItems: 1000,
      // One schema per driver; the config loader reports the branch that `driver` selects.
      items: {
        type: 'object',
        required: ['driver'],
        properties: { driver: { type: 'string' } },
        discriminator: { propertyName: 'driver' },
        oneOf: [modbusTcpDeviceSchema, modbusRtuDeviceSchema, opcuaDeviceSchema, serialLineDeviceSchema],
      },
    },
  },
} as const;
