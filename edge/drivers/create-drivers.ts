// Builds the gateway's drivers from its device configs, checking everything a driver needs
// (profiles, serial patterns, distinct serial ports) before any of them opens. node-opcua takes
// seconds to load, so it is imported only when a gateway has an OPC UA device.
import { isAbsolute, resolve } from 'node:path';
import type { Clock } from '../../common/clock.ts';
import { loadConfigFile } from '../../common/config.ts';
import { deviceProfileSchema, type DeviceProfile } from '../../common/device-profile.ts';
import type { Logger } from '../../common/log.ts';
import type { DeviceConfig } from '../gateway-config.ts';
import type { Driver } from './driver.ts';
import { checkProfileRegisters } from './modbus-plan.ts';
import { ModbusRtuDriver } from './modbus-rtu.ts';
import { ModbusTcpDriver } from './modbus-tcp.ts';
import { compileSerialLineConfig } from './serial-line-config.ts';
import { checkSerialPathsDistinct } from './serial-line-settings.ts';
import { SerialLineDriver } from './serial-line.ts';

function resolveFrom(base: string, path: string): string {
  return isAbsolute(path) ? path : resolve(base, path);
}

export async function createDrivers(devices: readonly DeviceConfig[], configDir: string, clock: Clock, logger: Logger): Promise<Driver[]> {
  const profiles = new Map<string, DeviceProfile>();
  const profileOf = (path: string): DeviceProfile => {
    const absolute = resolveFrom(configDir, path);
    let profile = profiles.get(absolute);
    if (profile === undefined) {
      profile = loadConfigFile<DeviceProfile>(absolute, deviceProfileSchema);
      checkProfileRegisters(profile, absolute);
      profiles.set(absolute, profile);
    }
    return profile;
  };
  checkSerialPathsDistinct(devices.flatMap((device) => (device.driver === 'modbus-rtu' || device.driver === 'serial-line' ? [{ id: device.id, path: device.path }] : [])));
  for (const device of devices) {
    if (device.driver === 'modbus-tcp' || device.driver === 'modbus-rtu') profileOf(device.profile);
    if (device.driver === 'serial-line') compileSerialLineConfig(device);
  }
  const opcua = devices.some((device) => device.driver === 'opcua') ? await import('./opcua.ts') : undefined;
  return devices.map((device): Driver => {
    switch (device.driver) {
      case 'modbus-tcp':
        return new ModbusTcpDriver(device, profileOf(device.profile), clock);
      case 'modbus-rtu':
        return new ModbusRtuDriver(device, profileOf(device.profile), clock);
      case 'serial-line':
        return new SerialLineDriver(device, clock, logger.child(device.id));
      case 'opcua':
        return new opcua!.OpcUaDriver({ ...device, pkiDir: resolveFrom(configDir, device.pkiDir) }, clock, logger.child(device.id));
    }
  });
}
