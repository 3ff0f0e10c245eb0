// Configuration of a Modbus RTU device: the serial port settings plus the settings every Modbus
// transport has. The schema validates one entry of the gateway's `devices` list (it carries no
// $id so the gateway schema can embed it); the interface is what the driver reads.
import { idPatternSource } from '../../common/ids.ts';
import { baudRateSchema, serialSchemaFields, type SerialParity } from './serial-line-settings.ts';

export interface ModbusRtuDeviceConfig {
  readonly id: string;
  readonly driver: 'modbus-rtu';
  /** Serial device, e.g. /dev/ttyUSB0 or /dev/serial/by-id/... (stable across replugging). */
  readonly path: string;
  readonly baudRate: number;
  /** The Modbus spec's default framing is 8E1; 8N2 is its other legal form. */
  readonly parity: SerialParity;
  readonly dataBits: 8;
  readonly stopBits: 1 | 2;
  /** Slave address on the bus, 1..247 (0 is broadcast, which never answers). */
  readonly unitId: number;
  /** Device profile file; relative paths resolve against the config file's folder. */
  readonly profile: string;
  readonly pollIntervalMs: number;
  readonly timeoutMs: number;
  /** Largest gap (in registers) bridged when batching adjacent tags into one request. */
  readonly batchGapMax: number;
}

export const modbusRtuDeviceSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'driver', 'path', 'profile'],
  properties: {
    id: { type: 'string', pattern: idPatternSource },
    driver: { type: 'string', const: 'modbus-rtu' },
    path: serialSchemaFields.path,
    baudRate: baudRateSchema(19_200),
    parity: { ...serialSchemaFields.parity, default: 'even' },
    // RTU frames are 8-bit binary; 7 data bits is Modbus ASCII, which this driver does not speak.
    dataBits: { type: 'integer', enum: [8], default: 8 },
    stopBits: serialSchemaFields.stopBits,
    unitId: { type: 'integer', minimum: 1, maximum: 247, default: 1 },
    profile: { type: 'string', minLength: 1 },
    // A serial bus carries far less than Ethernet: 125 registers take ~140 ms at 19200 baud.
    pollIntervalMs: { type: 'integer', minimum: 10, maximum: 3_600_000, default: 500 },
    timeoutMs: { type: 'integer', minimum: 10, maximum: 60_000, default: 1000 },
    batchGapMax: { type: 'integer', minimum: 0, maximum: 100, default: 8 },
  },
} as const;
