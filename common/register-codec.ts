// Modbus register codec: engineering values <-> 16-bit registers for every profile type, with
// word order (which register holds the most significant word) and byte order inside a register,
// then scale and offset. Gateways decode with it and the plant simulator encodes with it, so the
// two can never disagree about a register's layout.
import { registerCount, type Endianness, type ProfileTag } from './device-profile.ts';

export interface ByteOrders {
  readonly wordOrder: Endianness;
  readonly byteOrder: Endianness;
}

const scratch = new DataView(new ArrayBuffer(8));

function swapBytes(register: number): number {
  return ((register & 0xff) << 8) | ((register >>> 8) & 0xff);
}

/** Lays registers into the scratch view in big-endian order, as the type's byte image. */
function loadScratch(registers: ArrayLike<number>, offset: number, words: number, orders: ByteOrders): void {
  for (let word = 0; word < words; word++) {
    const source = orders.wordOrder === 'big' ? word : words - 1 - word;
    let register = (registers[offset + source] ?? 0) & 0xffff;
    if (orders.byteOrder === 'little') register = swapBytes(register);
    scratch.setUint16(word * 2, register);
  }
}

function storeScratch(registers: number[] | Uint16Array, offset: number, words: number, orders: ByteOrders): void {
  for (let word = 0; word < words; word++) {
    const target = orders.wordOrder === 'big' ? word : words - 1 - word;
    let register = scratch.getUint16(word * 2);
    if (orders.byteOrder === 'little') register = swapBytes(register);
    registers[offset + target] = register;
  }
}

export function ordersOf(tag: ProfileTag, defaults: Partial<ByteOrders>): ByteOrders {
  return { wordOrder: tag.wordOrder ?? defaults.wordOrder ?? 'big', byteOrder: tag.byteOrder ?? defaults.byteOrder ?? 'big' };
}

/** Raw (unscaled) value of a register-typed tag. */
export function decodeRaw(tag: ProfileTag, registers: ArrayLike<number>, offset: number, orders: ByteOrders): number {
  const words = registerCount(tag.type);
  loadScratch(registers, offset, words, orders);
  switch (tag.type) {
    case 'bool':
      return scratch.getUint16(0) !== 0 ? 1 : 0;
    case 'int16':
      return scratch.getInt16(0);
    case 'uint16':
      return scratch.getUint16(0);
    case 'int32':
      return scratch.getInt32(0);
    case 'uint32':
      return scratch.getUint32(0);
    case 'float32':
      return scratch.getFloat32(0);
    case 'float64':
      return scratch.getFloat64(0);
  }
}

export function toEngineering(tag: ProfileTag, raw: number): number {
  return raw * (tag.scale ?? 1) + (tag.offset ?? 0);
}

/**
 * Raw value for an engineering value, or undefined when it cannot be represented in the tag's
 * type (out of range, not finite for an integer type).
 */
export function fromEngineering(tag: ProfileTag, value: number): number | undefined {
  const raw = (value - (tag.offset ?? 0)) / (tag.scale ?? 1);
  switch (tag.type) {
    case 'float32':
    case 'float64':
      return raw;
    case 'bool':
      return raw !== 0 ? 1 : 0;
    default: {
      if (!Number.isFinite(raw)) return undefined;
      const rounded = Math.round(raw);
      const [min, max] = integerRange(tag.type);
      return rounded < min || rounded > max ? undefined : rounded;
    }
  }
}

function integerRange(type: ProfileTag['type']): [number, number] {
  switch (type) {
    case 'int16':
      return [-32_768, 32_767];
    case 'uint16':
      return [0, 65_535];
    case 'int32':
      return [-2_147_483_648, 2_147_483_647];
    case 'uint32':
      return [0, 4_294_967_295];
    default:
      return [-Infinity, Infinity];
  }
}

/** Writes a raw value into registers at offset, in the tag's type and orders. */
export function encodeRaw(tag: ProfileTag, raw: number, registers: number[] | Uint16Array, offset: number, orders: ByteOrders): void {
  switch (tag.type) {
    case 'bool':
      scratch.setUint16(0, raw !== 0 ? 1 : 0);
      break;
    case 'int16':
      scratch.setInt16(0, raw);
      break;
    case 'uint16':
      scratch.setUint16(0, raw);
      break;
    case 'int32':
      scratch.setInt32(0, raw);
      break;
    case 'uint32':
      scratch.setUint32(0, raw);
      break;
    case 'float32':
      scratch.setFloat32(0, raw);
      break;
    case 'float64':
      scratch.setFloat64(0, raw);
      break;
  }
  storeScratch(registers, offset, registerCount(tag.type), orders);
}
