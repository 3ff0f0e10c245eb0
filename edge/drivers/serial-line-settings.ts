// Serial port settings shared by the serial drivers (Modbus RTU, line-oriented instruments): the
// rates and framings a port can be configured with, as schema fragments, and the load-time check
// that no two devices claim one port.
import { MillwrightError, commonErrors } from '../../common/errors.ts';

export type SerialParity = 'none' | 'even' | 'odd';

/** Rates serial adapters actually offer; a typo such as 96000 is refused at load. */
export const serialBaudRates = [300, 600, 1200, 2400, 4800, 9600, 14_400, 19_200, 38_400, 57_600, 115_200, 230_400] as const;

export const serialSchemaFields = {
  path: { type: 'string', minLength: 1 },
  parity: { type: 'string', enum: ['none', 'even', 'odd'] },
  stopBits: { type: 'integer', enum: [1, 2], default: 1 },
} as const;

export function baudRateSchema(defaultRate: (typeof serialBaudRates)[number]) {
  return { type: 'integer', enum: [...serialBaudRates], default: defaultRate } as const;
}

/**
 * Refuses two devices on one serial path. A port is opened exclusively, so the second device
 * would only ever fail to connect; several Modbus units on one RTU bus need the shared-port
 * driver described in modbus-rtu.ts, which does not exist yet.
 */
export function checkSerialPathsDistinct(devices: readonly { readonly id: string; readonly path: string }[]): void {
  const owners = new Map<string, string>();
  for (const device of devices) {
    const owner = owners.get(device.path);
    if (owner !== undefined) {
      throw new MillwrightError(
        commonErrors.configInvalid,
        `devices '${owner}' and '${device.id}' both use serial port ${device.path}; one serial port serves one device for now (several Modbus units on one bus are not supported yet)`,
        { path: device.path, devices: [owner, device.id] },
      );
    }
    owners.set(device.path, device.id);
  }
}
