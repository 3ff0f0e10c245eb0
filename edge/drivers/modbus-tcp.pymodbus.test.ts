// The Modbus TCP driver against pymodbus's TCP server: MBAP framing, transaction ids and the
// register map served by a Modbus implementation nobody here wrote (hil/ has our own server).
import { createServer } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../common/clock.ts';
import type { DeviceProfile } from '../../common/device-profile.ts';
import { MillwrightError } from '../../common/errors.ts';
import type { ModbusTcpDeviceConfig } from '../gateway-config.ts';
import { pymodbusInitialValues, pymodbusProfileWithMissingAddress, pymodbusTestProfile, startPymodbusTcp, valuesByName, type PymodbusPeer } from './fixtures/pymodbus-peer.ts';
import { recordingSink } from './fixtures/recording-sink.ts';
import { ModbusTcpDriver } from './modbus-tcp.ts';

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

describe('ModbusTcpDriver against pymodbus', () => {
  let peer: PymodbusPeer;
  const drivers: ModbusTcpDriver[] = [];

  const driverFor = (profile: DeviceProfile, overrides: Partial<ModbusTcpDeviceConfig> = {}): ModbusTcpDriver => {
    const config: ModbusTcpDeviceConfig = { id: 'tcp-test', driver: 'modbus-tcp', host: '127.0.0.1', port: peer.port!, unitId: 1, profile: 'test', pollIntervalMs: 100, timeoutMs: 500, batchGapMax: 8, ...overrides };
    const driver = new ModbusTcpDriver(config, profile, systemClock);
    drivers.push(driver);
    return driver;
  };

  beforeAll(async () => {
    peer = await startPymodbusTcp(1);
  });
  afterEach(async () => {
    for (const driver of drivers.splice(0)) await driver.close();
  });
  afterAll(async () => {
    await peer?.server.stop();
  });

  it('polls and decodes every type in both word orders, coils and discrete inputs', async () => {
    const driver = driverFor(pymodbusTestProfile);
    await driver.open();
    const sink = recordingSink();
    await driver.poll(sink);
    expect(valuesByName(pymodbusTestProfile, sink.values)).toEqual(closeToAll(pymodbusInitialValues));
    expect(sink.qualities).toEqual(pymodbusTestProfile.tags.map(() => 'good'));
    expect(driver.health()).toMatchObject({ connected: true, polls: 1, pollFailures: 0 });
  });

  it("reads the same values with a poll's reads pipelined (several transactions in flight, one write)", async () => {
    const driver = driverFor(pymodbusTestProfile, { pipelineMax: 4 });
    expect(driver.requestsPerPoll).toBeGreaterThan(1);
    await driver.open();
    const sink = recordingSink();
    await driver.poll(sink);
    expect(valuesByName(pymodbusTestProfile, sink.values)).toEqual(closeToAll(pymodbusInitialValues));
    expect(sink.qualities).toEqual(pymodbusTestProfile.tags.map(() => 'good'));
  });

  it('writes a holding register, a little-word-order float and a coil, which land on the server and read back', async () => {
    const driver = driverFor(pymodbusTestProfile);
    await driver.open();
    const setsBefore = peer.setLines().length;
    await driver.write('h_int16', -42);
    await driver.write('h_setpoint', 12.3);
    await driver.write('h_float_little', 3.5);
    await driver.write('c_run', false);
    await expect.poll(() => peer.setLines().slice(setsBefore)).toEqual(['SET holding 0 [65494]', 'SET holding 7 [123]', 'SET holding 5 [0, 16480]', 'SET coil 0 [0]']);
    const sink = recordingSink();
    await driver.poll(sink);
    expect(valuesByName(pymodbusTestProfile, sink.values)).toEqual(closeToAll({ ...pymodbusInitialValues, h_int16: -42, h_setpoint: 12.3, h_float_little: 3.5, c_run: 0 }));
    await driver.write('h_int16', -1234);
    await driver.write('h_setpoint', 15);
    await driver.write('h_float_little', -7.75);
    await driver.write('c_run', true);
  });

  it('refuses a write to a tag its profile does not mark writable without sending it', async () => {
    const driver = driverFor(pymodbusTestProfile);
    await driver.open();
    const setsBefore = peer.setLines().length;
    expect((await rejection(driver.write('h_uint32', 1))).code).toBe('EDGE_WRITE_NOT_PERMITTED');
    expect((await rejection(driver.write('d_ready', false))).code).toBe('EDGE_WRITE_NOT_PERMITTED');
    await driver.write('h_int16', -1234); // ordered marker: a refused write that got out would print first
    await expect.poll(() => peer.setLines().slice(setsBefore)).toEqual(['SET holding 0 [64302]']);
  });

  it('marks only the tags of a request answered with exception 2 bad, and reports the code', async () => {
    const driver = driverFor(pymodbusProfileWithMissingAddress);
    await driver.open();
    const sink = recordingSink();
    const error = await rejection(driver.poll(sink));
    expect(error.code).toBe('EDGE_MODBUS_EXCEPTION');
    expect(error.details).toEqual({ modbusCode: 2 });
    const missing = pymodbusProfileWithMissingAddress.tags.length - 1;
    expect(sink.qualities[missing]).toBe('bad');
    expect(sink.qualities.slice(0, missing)).toEqual(pymodbusTestProfile.tags.map(() => 'good'));
  });

  it('times out on a unit id the server does not serve and marks every tag bad, read or skipped', async () => {
    // pymodbus ignores requests for units it lacks (some TCP gateways answer exception 11 instead).
    const driver = driverFor(pymodbusTestProfile, { unitId: 7, timeoutMs: 200 });
    await driver.open();
    const sink = recordingSink();
    const error = await rejection(driver.poll(sink));
    expect(error.code).toBe('EDGE_DEVICE_TIMEOUT');
    expect(sink.qualities).toEqual(pymodbusTestProfile.tags.map(() => 'bad'));
    expect(driver.health()).toMatchObject({ connected: true, consecutiveFailures: 1, lastErrorCode: 'EDGE_DEVICE_TIMEOUT' });
  });

  it('fails to connect to a port nobody listens on with EDGE_DEVICE_UNREACHABLE naming host and port', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as { port: number };
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const driver = driverFor(pymodbusTestProfile, { port });
    const error = await rejection(driver.open());
    expect(error.code).toBe('EDGE_DEVICE_UNREACHABLE');
    expect(error.message).toContain(`connect to 127.0.0.1:${port} failed`);
    expect(driver.health()).toMatchObject({ connected: false, lastErrorCode: 'EDGE_DEVICE_UNREACHABLE' });
  });
});
