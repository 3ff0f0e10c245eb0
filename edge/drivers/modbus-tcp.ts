// Modbus TCP driver: a socket to one device (or one unit behind a TCP gateway). Planning, reading,
// decoding, writing and error mapping are shared with Modbus RTU in modbus-client-driver.ts; this
// file only says how the client connects.
import type { DeviceProfile } from '../../common/device-profile.ts';
import type { Clock } from '../../common/clock.ts';
import type { ModbusTcpDeviceConfig } from '../gateway-config.ts';
import { ModbusClientDriver } from './modbus-client-driver.ts';

export class ModbusTcpDriver extends ModbusClientDriver {
  constructor(config: ModbusTcpDeviceConfig, profile: DeviceProfile, clock: Clock) {
    super(config, { endpoint: `${config.host}:${config.port}`, connect: (client) => client.connectTCP(config.host, { port: config.port }) }, profile, clock);
  }
}
