// The Modbus RTU driver against pymodbus's RTU server over a socat pty pair: a real serial byte
// stream, real RTU framing and CRCs, and a Modbus implementation nobody here wrote.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../common/clock.ts';
import { parseConfigText } from '../../common/config.ts';
import type { DeviceProfile } from '../../common/device-profile.ts';
import { MillwrightError } from '../../common/errors.ts';
import { startPtyPair, type PtyPair } from './fixtures/pty-pair.ts';
import { pymodbusInitialValues, pymodbusProfileWithMissingAddress, pymodbusTestProfile, startPymodbusRtu, valuesByName, type PymodbusPeer } from './fixtures/pymodbus-peer.ts';
import { recordingSink } from './fixtures/recording-sink.ts';
import { modbusRtuDeviceSchema, type ModbusRtuDeviceConfig } from './modbus-rtu-config.ts';
import { checkSerialPathsDistinct } from './serial-line-settings.ts';
import { ModbusRtuDriver } from './modbus-rtu.ts';

const closeToAll = (expected: Readonly<Record<string, number>>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(expected).map(([name, value]) => [name, expect.closeTo(value, 5)]));

async function rejection(promise: Promise<unknown>): Promise<MillwrightError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(MillwrightError);
  return error as MillwrightError;
}

describe('modbus-rtu config', () => {
  it('fills the Modbus serial defaults (19200 8E1, unit 1) and refuses unknown fields', () => {
    const config = parseConfigText<ModbusRtuDeviceConfig>('id: boiler\ndriver: modbus-rtu\npath: /dev/ttyUSB0\nprofile: boiler.yaml\n', 'rtu.yaml', modbusRtuDeviceSchema);
    expect(config).toMatchObject({ baudRate: 19_200, parity: 'even', dataBits: 8, stopBits: 1, unitId: 1, pollIntervalMs: 500, timeoutMs: 1000, batchGapMax: 8 });
    expect(() => parseConfigText('id: boiler\ndriver: modbus-rtu\npath: /dev/ttyUSB0\nprofile: b.yaml\nbaudRate: 96000\nhost: x\n', 'rtu.yaml', modbusRtuDeviceSchema)).toThrow(/baudRate[\s\S]*host|host[\s\S]*baudRate/);
  });

  it('refuses two devices on one serial port, naming both', () => {
    expect(() => checkSerialPathsDistinct([{ id: 'a', path: '/dev/ttyUSB0' }, { id: 'b', path: '/dev/ttyUSB1' }, { id: 'c', path: '/dev/ttyUSB0' }])).toThrow(/'a' and 'c' both use serial port \/dev\/ttyUSB0/);
  });
});

describe('ModbusRtuDriver against pymodbus over a pty pair', () => {
  let dir: string;
  let pair: PtyPair;
  let peer: PymodbusPeer;
  const drivers: ModbusRtuDriver[] = [];

  const driverFor = (profile: DeviceProfile, overrides: Partial<ModbusRtuDeviceConfig> = {}): ModbusRtuDriver => {
    const config: ModbusRtuDeviceConfig = { id: 'rtu-test', driver: 'modbus-rtu', path: pair.devicePath, baudRate: 19_200, parity: 'even', dataBits: 8, stopBits: 1, unitId: 1, profile: 'test', pollIntervalMs: 100, timeoutMs: 500, batchGapMax: 8, ...overrides };
    const driver = new ModbusRtuDriver(config, profile, systemClock);
    drivers.push(driver);
    return driver;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'millwright-modbus-rtu-'));
    pair = await startPtyPair(dir);
    peer = await startPymodbusRtu(pair.peerPath, 1);
  });
  afterEach(async () => {
    for (const driver of drivers.splice(0)) await driver.close();
  });
  afterAll(async () => {
    await peer?.server.stop();
    await pair?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('polls and decodes every type in both word orders, coils and discrete inputs', async () => {
    const driver = driverFor(pymodbusTestProfile);
    await driver.open();
    const sink = recordingSink();
    await driver.poll(sink);
    expect(valuesByName(pymodbusTestProfile, sink.values)).toEqual(closeToAll(pymodbusInitialValues));
    expect(sink.qualities.every((quality) => quality === 'good')).toBe(true);
    expect(sink.qualities).toHaveLength(pymodbusTestProfile.tags.length);
    expect(driver.requestsPerPoll).toBe(4);
    expect(driver.health()).toMatchObject({ connected: true, polls: 1, pollFailures: 0, consecutiveFailures: 0 });
  });

  it('writes a holding register, a little-word-order float and a coil, which land on the server and read back', async () => {
    const driver = driverFor(pymodbusTestProfile);
    await driver.open();
    const setsBefore = peer.setLines().length;
    await driver.write('h_int16', -42);
    await driver.write('h_setpoint', 12.3);
    await driver.write('h_float_little', 3.5);
    await driver.write('c_run', false);
    // What the server itself stored, independent of our read path: -42 as a 16-bit word, 12.3
    // at scale 0.1, 3.5 (0x40600000) with its low word first, and the coil off.
    // The server prints on stdout, which can trail its reply on the serial line: poll for it.
    await expect.poll(() => peer.setLines().slice(setsBefore)).toEqual(['SET holding 0 [65494]', 'SET holding 7 [123]', 'SET holding 5 [0, 16480]', 'SET coil 0 [0]']);
    const sink = recordingSink();
    await driver.poll(sink);
    expect(valuesByName(pymodbusTestProfile, sink.values)).toEqual(closeToAll({ ...pymodbusInitialValues, h_int16: -42, h_setpoint: 12.3, h_float_little: 3.5, c_run: 0 }));
    await driver.write('h_int16', -1234);
    await driver.write('h_setpoint', 15);
    await driver.write('h_float_little', -7.75);
    await driver.write('c_run', true);
  });

  it('refuses writes to read-only, unknown and out-of-range tags without sending anything', async () => {
    const driver = driverFor(pymodbusTestProfile);
    await driver.open();
    const setsBefore = peer.setLines().length;
    expect((await rejection(driver.write('h_uint32', 1))).code).toBe('EDGE_WRITE_NOT_PERMITTED');
    expect((await rejection(driver.write('c_fault', true))).code).toBe('EDGE_WRITE_NOT_PERMITTED');
    expect((await rejection(driver.write('no_such_tag', 1))).code).toBe('EDGE_UNKNOWN_TAG');
    expect((await rejection(driver.write('h_int16', 40_000))).code).toBe('EDGE_WRITE_OUT_OF_RANGE');
    // One allowed write as a marker: server output is ordered, so had any refused write reached
    // the server its SET line would come before the marker's.
    await driver.write('h_int16', -1234);
    await expect.poll(() => peer.setLines().slice(setsBefore)).toEqual(['SET holding 0 [64302]']);
  });

  it('marks only the tags of a request the server answers with exception 2 bad, and reports the code', async () => {
    const driver = driverFor(pymodbusProfileWithMissingAddress);
    await driver.open();
    const sink = recordingSink();
    const error = await rejection(driver.poll(sink));
    expect(error.code).toBe('EDGE_MODBUS_EXCEPTION');
    expect(error.details).toEqual({ modbusCode: 2 });
    expect(error.message).toMatch(/exception 2 \(illegal data address\)/);
    const missing = pymodbusProfileWithMissingAddress.tags.length - 1;
    expect(sink.qualities[missing]).toBe('bad');
    expect(sink.qualities.slice(0, missing).every((quality) => quality === 'good')).toBe(true);
    expect(driver.health()).toMatchObject({ connected: true, pollFailures: 1, lastErrorCode: 'EDGE_MODBUS_EXCEPTION' });
  });

  it('times out on a unit id nobody answers and marks every tag bad, read or skipped', async () => {
    const driver = driverFor(pymodbusTestProfile, { unitId: 7, timeoutMs: 200 });
    await driver.open();
    const sink = recordingSink();
    const error = await rejection(driver.poll(sink));
    expect(error.code).toBe('EDGE_DEVICE_TIMEOUT');
    expect(sink.qualities).toEqual(pymodbusTestProfile.tags.map(() => 'bad'));
    expect(sink.writes).toBe(0);
    // Silence is not a lost port: the port stays open and the poller decides when to reopen.
    expect(driver.health()).toMatchObject({ connected: true, consecutiveFailures: 1, lastErrorCode: 'EDGE_DEVICE_TIMEOUT' });
  });

  it('fails to open a serial path that does not exist with EDGE_DEVICE_UNREACHABLE', async () => {
    const driver = driverFor(pymodbusTestProfile, { path: join(dir, 'no-such-port') });
    const error = await rejection(driver.open());
    expect(error.code).toBe('EDGE_DEVICE_UNREACHABLE');
    expect(error.message).toContain('no-such-port');
    expect(driver.health()).toMatchObject({ connected: false, lastErrorCode: 'EDGE_DEVICE_UNREACHABLE' });
  });
});

describe('ModbusRtuDriver when the port goes away', () => {
  it('reports the lost port as disconnected, marks every tag bad, and reads again after reopening', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'millwright-modbus-rtu-unplug-'));
    const pair = await startPtyPair(dir);
    let peer = await startPymodbusRtu(pair.peerPath, 1);
    const driver = new ModbusRtuDriver({ id: 'rtu-unplug', driver: 'modbus-rtu', path: pair.devicePath, baudRate: 19_200, parity: 'even', dataBits: 8, stopBits: 1, unitId: 1, profile: 'test', pollIntervalMs: 100, timeoutMs: 500, batchGapMax: 8 }, pymodbusTestProfile, systemClock);
    try {
      await driver.open();
      await driver.poll(recordingSink());
      await peer.server.stop();
      await pair.stop();
      await expect.poll(() => driver.health().connected).toBe(false);
      const sink = recordingSink();
      expect((await rejection(driver.poll(sink))).code).toBe('EDGE_DEVICE_UNREACHABLE');
      expect(sink.qualities).toEqual(pymodbusTestProfile.tags.map(() => 'bad'));

      await pair.start();
      peer = await startPymodbusRtu(pair.peerPath, 1);
      await driver.open();
      const after = recordingSink();
      await driver.poll(after);
      expect(valuesByName(pymodbusTestProfile, after.values)).toEqual(closeToAll(pymodbusInitialValues));
    } finally {
      await driver.close();
      await peer.server.stop();
      await pair.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
