// Variable-length integers for the binary batch codec (wire-batch.ts): LEB128 unsigned varints of
// safe integers (at most 2^53, 8 bytes) and their zigzag signed form. Plain numbers, no BigInt:
// the hot path stays in small-integer arithmetic. Reading never throws: a truncated or oversized
// varint comes back as -1 for the caller to turn into a reason.

/** Largest unsigned value a varint may carry: every value up to it is exact in a double. */
export const varintValueMax = 2 ** 53;
/** Largest magnitude a zigzag varint may carry (its unsigned form is then at most 2^53). */
export const zigzagAbsMax = 2 ** 52;
export const varintBytesMax = 8;

/** Bytes an unsigned varint of `value` takes. */
export function varintLength(value: number): number {
  let length = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    length++;
  }
  return length;
}

/** Writes `value` (an integer in 0..2^53) at `offset`; returns the offset after it. */
export function writeVarint(bytes: Uint8Array, offset: number, value: number): number {
  while (value >= 0x80000000) {
    bytes[offset++] = (value % 128) | 0x80;
    value = Math.floor(value / 128);
  }
  while (value >= 128) {
    bytes[offset++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  bytes[offset++] = value;
  return offset;
}

export function zigzag(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

export function unzigzag(value: number): number {
  // value is at most 2^53, so value / 2 and its floor are exact.
  return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
}

/** A cursor over bytes; reads report failure as -1 so a decoder never throws on bad input. */
export class ByteReader {
  readonly bytes: Uint8Array;
  offset: number;

  constructor(bytes: Uint8Array, offset = 0) {
    this.bytes = bytes;
    this.offset = offset;
  }

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  /** An unsigned varint, or -1 when truncated, longer than 8 bytes or past 2^53. */
  varint(): number {
    const bytes = this.bytes;
    let offset = this.offset;
    let result = 0;
    let scale = 1;
    for (let index = 0; index < varintBytesMax; index++) {
      if (offset >= bytes.length) return -1;
      const byte = bytes[offset++]!;
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        if (result > varintValueMax) return -1;
        this.offset = offset;
        return result;
      }
      scale *= 128;
    }
    return -1;
  }

  /** One byte, or -1 when none is left. */
  byte(): number {
    if (this.offset >= this.bytes.length) return -1;
    return this.bytes[this.offset++]!;
  }
}
