import { describe, expect, it } from 'vitest';
import type { DeviceProfile, Endianness, ProfileTag, RegisterType } from '../common/device-profile.ts';
import { createDataStore } from './modbus-data-store.ts';
import { TagMap, decodeTagValue, encodeTagValue, storeSizesFor } from './register-codec.ts';

const orders: Endianness[] = ['big', 'little'];
const samples: Record<RegisterType, readonly number[]> = {
  bool: [0, 1],
  int16: [-32_768, -1, 0, 12_345, 32_767],
  uint16: [0, 1, 40_000, 65_535],
  int32: [-2_147_483_648, -70_000, 0, 2_147_483_647],
  uint32: [0, 70_000, 4_294_967_295],
  float32: [0, -1.5, Math.fround(123.456), Math.fround(-3.4e38)],
  float64: [0, -1e-300, Math.PI, 1e300],
};

function profileOf(tags: ProfileTag[], defaults: Partial<Pick<DeviceProfile, 'wordOrder' | 'byteOrder'>> = {}): DeviceProfile {
  return { profile: 'test', protocol: 'modbus', tags, ...defaults };
}

describe('simulator register codec', () => {
  for (const [type, values] of Object.entries(samples) as [RegisterType, readonly number[]][]) {
    for (const wordOrder of orders) {
      for (const byteOrder of orders) {
        it(`round-trips ${type} through the store with words ${wordOrder}-first and bytes ${byteOrder}`, () => {
          // The orders come once from the profile defaults and once from the tag itself.
          for (const [tagOrders, profileOrders] of [
            [{}, { wordOrder, byteOrder }],
            [{ wordOrder, byteOrder }, { wordOrder: 'big', byteOrder: 'big' }],
          ] as const) {
            const tag: ProfileTag = { name: 'value', area: 'holding', address: 1, type, ...tagOrders };
            const store = createDataStore({ holdingRegisters: 6 });
            store.holdingRegisters.fill(0xa5a5);
            const tags = new TagMap(profileOf([tag], profileOrders), store);
            for (const value of values) {
              tags.write('value', value);
              expect(tags.readNumber('value')).toBe(value);
              expect(decodeTagValue(tag, store.holdingRegisters, 1, { wordOrder, byteOrder })).toBe(value);
            }
            expect(store.holdingRegisters[0]).toBe(0xa5a5);
            expect(store.holdingRegisters[5]).toBe(0xa5a5);
          }
        });
      }
    }
  }

  it('lays out a float32 as the textbook ABCD, CDAB, BADC and DCBA', () => {
    const tag: ProfileTag = { name: 't', area: 'input', address: 0, type: 'float32' };
    const layouts: [Endianness, Endianness, number[]][] = [
      ['big', 'big', [0x42f6, 0xe979]],
      ['little', 'big', [0xe979, 0x42f6]],
      ['big', 'little', [0xf642, 0x79e9]],
      ['little', 'little', [0x79e9, 0xf642]],
    ];
    for (const [wordOrder, byteOrder, expected] of layouts) {
      const registers = [0, 0];
      encodeTagValue(tag, 123.456, registers, 0, { wordOrder, byteOrder });
      expect(registers).toEqual(expected);
    }
  });

  it('applies scale and offset both ways and saturates integers instead of wrapping them', () => {
    const tag: ProfileTag = { name: 'speed', area: 'holding', address: 0, type: 'uint16', scale: 0.1 };
    const tags = new TagMap(profileOf([tag, { name: 'temp', area: 'holding', address: 1, type: 'int16', scale: 0.1, offset: -40 }]), createDataStore());
    tags.write('speed', 60.5);
    expect(tags.store.holdingRegisters[0]).toBe(605);
    expect(tags.readNumber('speed')).toBeCloseTo(60.5);
    tags.write('speed', 1e9);
    expect(tags.store.holdingRegisters[0]).toBe(65_535);
    tags.write('speed', -5);
    expect(tags.store.holdingRegisters[0]).toBe(0);
    tags.write('temp', 25);
    expect(tags.store.holdingRegisters[1]).toBe(650);
    expect(tags.readNumber('temp')).toBeCloseTo(25);
  });

  it('keeps bool tags in coils and discrete inputs as single bits', () => {
    const tags = new TagMap(
      profileOf([
        { name: 'run', area: 'coil', address: 2, type: 'bool' },
        { name: 'alarm', area: 'discrete', address: 0, type: 'bool' },
        { name: 'flag', area: 'holding', address: 0, type: 'bool' },
      ]),
      createDataStore({ coils: 3, discreteInputs: 1, holdingRegisters: 1 }),
    );
    tags.write('run', true);
    tags.write('alarm', 1);
    tags.write('flag', true);
    expect([...tags.store.coils]).toEqual([0, 0, 1]);
    expect(tags.store.discreteInputs[0]).toBe(1);
    expect(tags.store.holdingRegisters[0]).toBe(1);
    expect(tags.readBoolean('run')).toBe(true);
    tags.write('run', false);
    expect(tags.readBoolean('run')).toBe(false);
  });

  it('sizes a store to the profile and refuses tags that do not fit it', () => {
    const profile = profileOf([
      { name: 'a', area: 'input', address: 3, type: 'float64' },
      { name: 'b', area: 'coil', address: 9, type: 'bool' },
    ]);
    expect(storeSizesFor(profile)).toEqual({ coils: 10, discreteInputs: 0, holdingRegisters: 0, inputRegisters: 7 });
    expect(() => new TagMap(profile, createDataStore({ inputRegisters: 6, coils: 10 }))).toThrowError(/does not fit the input area/);
    expect(() => new TagMap(profileOf([{ name: 'c', area: 'coil', address: 0, type: 'uint16' }]), createDataStore())).toThrow(/must be bool/);
  });
});
