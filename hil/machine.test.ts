import { describe, expect, it } from 'vitest';
import type { DeviceProfile } from '../common/device-profile.ts';
import { seededRandom } from '../common/random.ts';
import { SimulatedMachine, type MachineParams } from './machine.ts';
import { createDataStore } from './modbus-data-store.ts';
import { defaultProfilePath, loadDeviceProfile } from './plant-config.ts';
import { TagMap, storeSizesFor } from './register-codec.ts';

const profile = loadDeviceProfile(defaultProfilePath);

function machine(seed: number, params: Partial<MachineParams> = {}, deviceProfile: DeviceProfile = profile) {
  const tags = new TagMap(deviceProfile, createDataStore(storeSizesFor(deviceProfile)));
  return { tags, machine: new SimulatedMachine(tags, seededRandom(seed), params) };
}

/** Everything a Modbus client could read, as one comparable value. */
function registers(tags: TagMap): string {
  const { inputRegisters, discreteInputs, coils, holdingRegisters } = tags.store;
  return [inputRegisters, discreteInputs, coils, holdingRegisters].map((area) => [...area].join(',')).join('|');
}

function trajectory(seed: number, steps: number): string[] {
  const { tags, machine: subject } = machine(seed, { faultRatePerHour: 360, operatorResetAfterMs: 5_000 });
  const out: string[] = [];
  for (let step = 0; step < steps; step++) {
    subject.step(100);
    out.push(registers(tags));
  }
  return out;
}

describe('simulated machine', () => {
  it('follows the same trajectory for the same seed and another for another seed', () => {
    const first = trajectory(42, 3_000);
    expect(first.some((registers) => registers.startsWith('2,'))).toBe(true); // it went through faults
    expect(trajectory(42, 3_000)).toEqual(first);
    expect(trajectory(43, 3_000)).not.toEqual(first);
  });

  it('runs by itself and publishes its variables through the profile', () => {
    const { tags, machine: subject } = machine(1, { speedSetpoint: 90, faultRatePerHour: 0 });
    expect(tags.readNumber('speed_setpoint')).toBeCloseTo(90);
    for (let step = 0; step < 600; step++) subject.step(100); // one minute
    const snapshot = subject.snapshot();
    expect(snapshot.state).toBe('running');
    expect(tags.readNumber('state')).toBe(1);
    expect(tags.readBoolean('running')).toBe(true);
    expect(tags.readBoolean('faulted')).toBe(false);
    expect(tags.readNumber('speed')).toBeCloseTo(90);
    expect(snapshot.goodCount + snapshot.scrapCount).toBeGreaterThanOrEqual(89);
    expect(snapshot.goodCount + snapshot.scrapCount).toBeLessThanOrEqual(90);
    expect(tags.readNumber('good_count')).toBe(snapshot.goodCount);
    expect(tags.readNumber('scrap_count')).toBe(snapshot.scrapCount);
    expect(Math.abs(tags.readNumber('temperature') - snapshot.temperatureC)).toBeLessThan(1.5); // sensor noise
  });

  it('goes idle when run_command is cleared: speed 0, counters frozen, cooling down', () => {
    const { tags, machine: subject } = machine(2, { faultRatePerHour: 0 });
    for (let step = 0; step < 1_200; step++) subject.step(100);
    const running = subject.snapshot();
    tags.write('run_command', false);
    for (let step = 0; step < 1_200; step++) subject.step(100);
    const idle = subject.snapshot();
    expect(idle.state).toBe('idle');
    expect(tags.readNumber('state')).toBe(0);
    expect(tags.readNumber('speed')).toBe(0);
    expect([idle.goodCount, idle.scrapCount]).toEqual([running.goodCount, running.scrapCount]);
    expect(idle.temperatureC).toBeLessThan(running.temperatureC);
    expect(idle.vibrationMmS).toBeLessThan(1);
  });

  it('holds a fault until a fault_reset rising edge, then runs again and clears the button', () => {
    const { tags, machine: subject } = machine(3, { faultRatePerHour: 0 });
    subject.step(100);
    subject.injectFault();
    expect(tags.readNumber('state')).toBe(2);
    expect(tags.readBoolean('faulted')).toBe(true);
    for (let step = 0; step < 100; step++) subject.step(100);
    const faulted = subject.snapshot();
    expect(faulted.state).toBe('fault');
    expect(faulted.speed).toBe(0);
    tags.write('fault_reset', true);
    subject.step(100);
    expect(subject.state).toBe('running');
    expect(tags.readBoolean('fault_reset')).toBe(false);
    expect(subject.snapshot().faults).toBe(1);
  });

  it('catches a reset pulse written and released between two steps', () => {
    const { tags, machine: subject } = machine(4, { faultRatePerHour: 0 });
    subject.injectFault();
    const resetAddress = tags.tag('fault_reset').address;
    tags.write('fault_reset', true);
    tags.store.onClientWrite?.('coil', resetAddress, 1);
    tags.write('fault_reset', false);
    tags.store.onClientWrite?.('coil', resetAddress, 1);
    subject.step(100);
    expect(subject.state).toBe('running');
  });

  it('faults at about the configured rate and lets the simulated operator reset it', () => {
    const { machine: subject } = machine(5, { faultRatePerHour: 36, operatorResetAfterMs: 1_000 });
    for (let step = 0; step < 36_000; step++) subject.step(1_000); // ten hours
    const { faults } = subject.snapshot();
    expect(faults).toBeGreaterThan(300);
    expect(faults).toBeLessThan(420);
  });

  it('scraps about the configured fraction of parts', () => {
    const { machine: subject } = machine(6, { faultRatePerHour: 0, scrapFraction: 0.1, speedSetpoint: 600 });
    for (let step = 0; step < 1_000; step++) subject.step(1_000);
    const { goodCount, scrapCount } = subject.snapshot();
    expect(goodCount + scrapCount).toBe(10_000);
    expect(scrapCount).toBeGreaterThan(900);
    expect(scrapCount).toBeLessThan(1_100);
  });

  it('refuses a profile that lacks a tag it needs', () => {
    const partial: DeviceProfile = { ...profile, tags: profile.tags.filter((tag) => tag.name !== 'vibration') };
    expect(() => machine(7, {}, partial)).toThrowError(/has no tag 'vibration'/);
  });
});
