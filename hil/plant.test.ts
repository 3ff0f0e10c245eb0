import { createServer } from 'node:net';
import ModbusSerial from 'modbus-serial';
import type { ModbusRTU } from 'modbus-serial/ModbusRTU.js';
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from '../common/clock.ts';
import type { ProfileTag } from '../common/device-profile.ts';
import { ordersOf } from '../common/register-codec.ts';
import { loadDeviceProfile, plantConfigFrom } from './plant-config.ts';
import { PlantModel, machineSeed, startPlant, type RunningPlant } from './plant.ts';
import { decodeTagValue } from './register-codec.ts';

const ModbusClient = ModbusSerial as unknown as new () => ModbusRTU;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const twoLines = {
  seed: 11,
  stepMs: 20,
  lines: [
    { id: 'line1', machines: [{ id: 'filler', speedSetpoint: 600 }, { id: 'capper', unitId: 7 }] },
    { id: 'line2', machines: [{ id: 'packer', speedSetpoint: 300 }] },
  ],
};

async function start(document: object): Promise<RunningPlant> {
  const plant = await startPlant(plantConfigFrom(document));
  cleanups.push(() => plant.close());
  return plant;
}

async function client(port: number, unitId: number): Promise<ModbusRTU> {
  const modbus = new ModbusClient();
  modbus.setID(unitId);
  modbus.setTimeout(1000);
  await modbus.connectTCP('127.0.0.1', { port });
  cleanups.push(() => new Promise<void>((resolve) => modbus.close(() => resolve())));
  return modbus;
}

/** Decodes every input-register tag of the demo profile as a gateway would. */
async function readInputs(modbus: ModbusRTU, profilePath: string): Promise<Record<string, number>> {
  const profile = loadDeviceProfile(profilePath);
  const registers = (await modbus.readInputRegisters(0, 10)).data;
  const values: Record<string, number> = {};
  for (const tag of profile.tags.filter((candidate: ProfileTag) => candidate.area === 'input')) {
    values[tag.name] = decodeTagValue(tag, registers, tag.address, ordersOf(tag, profile));
  }
  return values;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('simulated plant', () => {
  it('serves every machine of two lines on its own port, with values a Modbus client decodes through the profile', async () => {
    const plant = await start(twoLines);
    expect(plant.machines.map(({ line, machine, host, unitId }) => ({ line, machine, host, unitId }))).toEqual([
      { line: 'line1', machine: 'filler', host: '127.0.0.1', unitId: 1 },
      { line: 'line1', machine: 'capper', host: '127.0.0.1', unitId: 7 },
      { line: 'line2', machine: 'packer', host: '127.0.0.1', unitId: 1 },
    ]);
    expect(new Set(plant.machines.map((machine) => machine.port)).size).toBe(3);
    await pause(300);
    for (const [index, info] of plant.machines.entries()) {
      const modbus = await client(info.port, info.unitId);
      const values = await readInputs(modbus, info.profilePath);
      const snapshot = plant.model.units[index]!.machine.snapshot();
      expect(values['state']).toBe(1);
      expect(values['speed']).toBeCloseTo(plant.model.units[index]!.config.speedSetpoint, 5);
      expect(values['temperature']).toBeGreaterThan(15);
      expect(values['temperature']).toBeLessThan(40);
      expect(values['vibration']).toBeGreaterThanOrEqual(0);
      expect(values['good_count']! + values['scrap_count']!).toBeLessThanOrEqual(snapshot.goodCount + snapshot.scrapCount);
      const [running, faulted] = (await modbus.readDiscreteInputs(0, 2)).data;
      expect([running, faulted]).toEqual([true, false]);
    }
    const filler = await client(plant.machines[0]!.port, 1);
    const before = await readInputs(filler, plant.machines[0]!.profilePath);
    await pause(300);
    const after = await readInputs(filler, plant.machines[0]!.profilePath);
    expect(after['good_count']! + after['scrap_count']!).toBeGreaterThan(before['good_count']! + before['scrap_count']!);
  });

  it('obeys a run_command written by a Modbus client and answers only its unit id', async () => {
    const plant = await start(twoLines);
    const packer = plant.machines[2]!;
    const modbus = await client(packer.port, packer.unitId);
    await modbus.writeCoil(0, false);
    await pause(100);
    expect((await modbus.readInputRegisters(0, 1)).data[0]).toBe(0);
    expect(plant.model.units[2]!.machine.state).toBe('idle');
    await modbus.writeRegister(0, 1234);
    expect(plant.model.units[2]!.tags.readNumber('speed_setpoint')).toBeCloseTo(123.4);
    await expect((await client(packer.port, 9)).readInputRegisters(0, 1)).rejects.toMatchObject({ modbusCode: 0x0b });
  });

  it('gives the same trajectory for the same seed and each machine a seed of its own', () => {
    const config = plantConfigFrom({ ...twoLines, lines: [{ id: 'line1', machines: [{ id: 'a', faultRatePerHour: 600 }, { id: 'b', faultRatePerHour: 600 }] }] });
    const profiles = new Map([[config.profile, loadDeviceProfile(config.profile)]]);
    const run = () => {
      const model = new PlantModel(config, profiles);
      for (let step = 0; step < 2_000; step++) model.step(config.stepMs);
      return model.units.map((unit) => [...unit.store.inputRegisters].join(','));
    };
    const [a, b] = run();
    expect(run()).toEqual([a, b]);
    expect(a).not.toEqual(b);
    expect(machineSeed(1, 'line1', 'a')).not.toBe(machineSeed(2, 'line1', 'a'));
  });

  it('runs the steps its clock says are due and counts those it could not catch up', async () => {
    const clock = new SimulatedClock();
    const plant = await startPlant(plantConfigFrom({ stepMs: 10 }), { clock, stepsPerTickMax: 10 });
    cleanups.push(() => plant.close());
    clock.advanceMs(1_000);
    await pause(150);
    expect(plant.model.steps).toBe(10);
    expect(plant.skippedSteps).toBe(90);
    clock.advanceMs(50);
    await pause(150);
    expect(plant.model.steps).toBe(15);
    expect(plant.skippedSteps).toBe(90);
  });

  it('fails with HIL_LISTEN_FAILED naming the machine whose port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => blocker.close(() => resolve())));
    const takenPort = (blocker.address() as { port: number }).port;
    const config = plantConfigFrom({ lines: [{ id: 'l', machines: [{ id: 'free' }, { id: 'taken', port: takenPort }] }] });
    await expect(startPlant(config)).rejects.toMatchObject({ code: 'HIL_LISTEN_FAILED', message: expect.stringContaining('l/taken') });
  });
});
