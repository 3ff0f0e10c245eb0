// Modbus RTU driver: one unit on a serial port (RS-485 or RS-232), opened through modbus-serial's
// buffered RTU port, which assembles response frames from the byte stream by expected length.
// Planning, reading, decoding, writing and error mapping are shared with Modbus TCP in
// modbus-client-driver.ts; this file only says how the port opens.
//
// Several units on one bus: RTU is multi-drop, but a serial port opens exclusively, so today one
// port serves one device config (checkSerialPathsDistinct in serial-line-settings.ts is the
// load-time check). The later improvement: the drivers of one port share a port object that
// serializes their requests (one in flight, setID before each) and owns reopening, so that one
// silent unit, whose poller closes and reopens its driver, does not close the port under the
// others. Not built yet: the port sharing and that reopen policy are the work, not the Modbus part.
//
// RTU has no transaction ids, so a reply that comes after its timeout could be taken for the
// answer to a later request. A poll stops at its first timeout and the next one starts a poll
// interval later; a late reply that arrives in that pause is matched to the timed-out request and
// dropped by the client. Only a reply later than timeoutMs + pollIntervalMs, to a request of the
// same function code and length, could be misread.
import type { Clock } from '../../common/clock.ts';
import type { DeviceProfile } from '../../common/device-profile.ts';
import ModbusSerial from 'modbus-serial';
import type { ModbusRTU } from 'modbus-serial/ModbusRTU.js';
import { ModbusClientDriver, type ModbusLink } from './modbus-client-driver.ts';
import type { ModbusRtuDeviceConfig } from './modbus-rtu-config.ts';

// modbus-serial is CommonJS; its typings describe the default export as the client class.
const ModbusClient = ModbusSerial as unknown as new () => ModbusRTU;

export class ModbusRtuDriver extends ModbusClientDriver<ModbusRTU> {
  constructor(config: ModbusRtuDeviceConfig, profile: DeviceProfile, clock: Clock) {
    const serial = { baudRate: config.baudRate, parity: config.parity, dataBits: config.dataBits, stopBits: config.stopBits };
    // A fresh options object per connect: modbus-serial writes into the one it is given.
    const link: ModbusLink<ModbusRTU> = { endpoint: config.path, createClient: () => new ModbusClient(), connect: (client) => client.connectRTUBuffered(config.path, { ...serial }) };
    super(config, link, profile, clock);
  }
}
