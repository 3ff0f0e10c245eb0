// Modbus TCP driver: a socket to one device (or one unit behind a TCP gateway), through the lean
// client in modbus-tcp-client.ts. Planning, reading, decoding, writing and error mapping are shared
// with Modbus RTU in modbus-client-driver.ts; this file only says which client and how it connects.
import type { DeviceProfile } from '../../common/device-profile.ts';
import type { Clock } from '../../common/clock.ts';
import type { ModbusTcpDeviceConfig } from '../gateway-config.ts';
import { ModbusClientDriver, type ModbusLink } from './modbus-client-driver.ts';
import { ModbusTcpClient } from './modbus-tcp-client.ts';

export class ModbusTcpDriver extends ModbusClientDriver<ModbusTcpClient> {
  constructor(config: ModbusTcpDeviceConfig, profile: DeviceProfile, clock: Clock) {
    const link: ModbusLink<ModbusTcpClient> = { endpoint: `${config.host}:${config.port}`, createClient: () => new ModbusTcpClient(config.host, config.port), connect: (client) => client.connect() };
    super(config, link, profile, clock);
  }
}
