import { describe, expect, it } from 'vitest';
import type { ProfileTag, RegisterType } from './device-profile.ts';
import { decodeRaw, encodeRaw, fromEngineering, ordersOf, toEngineering, type ByteOrders } from './register-codec.ts';

const tag = (type: RegisterType, extra: Partial<ProfileTag> = {}): ProfileTag => ({ name: 't', area: 'holding', address: 0, type, ...extra });
const allOrders: ByteOrders[] = [
  { wordOrder: 'big', byteOrder: 'big' },
  { wordOrder: 'little', byteOrder: 'big' },
  { wordOrder: 'big', byteOrder: 'little' },
  { wordOrder: 'little', byteOrder: 'little' },
];

describe('register codec', () => {
  const samples: [RegisterType, number[]][] = [
    ['int16', [-32_768, -1, 0, 32_767]],
    ['uint16', [0, 1, 65_535]],
    ['int32', [-2_147_483_648, -70_000, 0, 2_147_483_647]],
    ['uint32', [0, 70_000, 4_294_967_295]],
    ['float32', [0, -1.5, 3.25, Math.fround(123.456)]],
    ['float64', [0, -1e-300, Math.PI, 1e300]],
    ['bool', [0, 1]],
  ];
  for (const [type, values] of samples) {
    for (const orders of allOrders) {
      it(`round-trips ${type} with words ${orders.wordOrder}-first and bytes ${orders.byteOrder}`, () => {
        for (const value of values) {
          const registers = [0xdead, 0, 0, 0, 0, 0xbeef];
          encodeRaw(tag(type), value, registers, 1, orders);
          expect(decodeRaw(tag(type), registers, 1, orders)).toBe(value);
          expect(registers[0]).toBe(0xdead);
          expect(registers[5]).toBe(0xbeef);
        }
      });
    }
  }

  it('reads the textbook layouts of a float32 (ABCD, CDAB, BADC, DCBA)', () => {
    // 123.456f is 0x42F6E979.
    expect(decodeRaw(tag('float32'), [0x42f6, 0xe979], 0, { wordOrder: 'big', byteOrder: 'big' })).toBeCloseTo(123.456, 3);
    expect(decodeRaw(tag('float32'), [0xe979, 0x42f6], 0, { wordOrder: 'little', byteOrder: 'big' })).toBeCloseTo(123.456, 3);
    expect(decodeRaw(tag('float32'), [0xf642, 0x79e9], 0, { wordOrder: 'big', byteOrder: 'little' })).toBeCloseTo(123.456, 3);
    expect(decodeRaw(tag('float32'), [0x79e9, 0xf642], 0, { wordOrder: 'little', byteOrder: 'little' })).toBeCloseTo(123.456, 3);
  });

  it('applies scale and offset both ways', () => {
    const scaled = tag('int16', { scale: 0.1, offset: -40 });
    expect(toEngineering(scaled, 650)).toBeCloseTo(25);
    expect(fromEngineering(scaled, 25)).toBe(650);
  });

  it('refuses engineering values that do not fit the integer type', () => {
    expect(fromEngineering(tag('uint16'), -1)).toBeUndefined();
    expect(fromEngineering(tag('int16'), 40_000)).toBeUndefined();
    expect(fromEngineering(tag('uint32'), Number.NaN)).toBeUndefined();
    expect(fromEngineering(tag('float32'), Number.NaN)).toBeNaN();
  });

  it('takes orders from the tag, then the profile defaults, then big-endian', () => {
    expect(ordersOf(tag('uint32', { wordOrder: 'little' }), { wordOrder: 'big', byteOrder: 'little' })).toEqual({ wordOrder: 'little', byteOrder: 'little' });
    expect(ordersOf(tag('uint32'), {})).toEqual({ wordOrder: 'big', byteOrder: 'big' });
  });
});
