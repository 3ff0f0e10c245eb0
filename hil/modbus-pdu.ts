// The Modbus application layer of the simulated devices: executes one request PDU against a
// ModbusDataStore and writes the response PDU (or exception) into a caller-owned buffer. Pure and
// synchronous, no sockets: the TCP server frames bytes around it, and tests call it directly.
// Check order follows the Modbus spec: function (01), then quantity and form (03), then address (02).
import type { ModbusDataStore, WritableArea } from './modbus-data-store.ts';

export const functionCode = {
  readCoils: 0x01,
  readDiscreteInputs: 0x02,
  readHoldingRegisters: 0x03,
  readInputRegisters: 0x04,
  writeSingleCoil: 0x05,
  writeSingleRegister: 0x06,
  writeMultipleCoils: 0x0f,
  writeMultipleRegisters: 0x10,
  readWriteMultipleRegisters: 0x17,
} as const;

export const exceptionCode = {
  illegalFunction: 0x01,
  illegalDataAddress: 0x02,
  illegalDataValue: 0x03,
  serverDeviceFailure: 0x04,
  serverDeviceBusy: 0x06,
  gatewayPathUnavailable: 0x0a,
  gatewayTargetFailedToRespond: 0x0b,
} as const;

/** Quantity limits of the Modbus application protocol spec (V1.1b3), so every response fits a PDU. */
export const pduLimits = {
  readBitsMax: 2000,
  readRegistersMax: 125,
  writeBitsMax: 1968,
  writeRegistersMax: 123,
  /** The write half of function 23 (read/write multiple registers). */
  readWriteRegistersMax: 121,
  /** Largest PDU in either direction (256-byte serial ADU minus address and CRC). */
  pduBytesMax: 253,
} as const;

/** Writes an exception response and returns its length (always 2). */
export function writeException(out: Buffer, at: number, requestFunction: number, code: number): number {
  out[at] = (requestFunction | 0x80) & 0xff;
  out[at + 1] = code;
  return 2;
}

/**
 * Executes the request PDU request[start, end) against the store; writes the response PDU into
 * out at `at` (room for pduLimits.pduBytesMax bytes is the caller's job) and returns its length.
 * A response byte 0 with the high bit set is an exception response.
 */
export function executePdu(store: ModbusDataStore, request: Buffer, start: number, end: number, out: Buffer, at: number): number {
  const length = end - start;
  const code = request[start] ?? 0;
  switch (code) {
    case functionCode.readCoils:
      return readBits(store.coils, request, start, length, out, at);
    case functionCode.readDiscreteInputs:
      return readBits(store.discreteInputs, request, start, length, out, at);
    case functionCode.readHoldingRegisters:
      return readRegisters(store.holdingRegisters, request, start, length, out, at);
    case functionCode.readInputRegisters:
      return readRegisters(store.inputRegisters, request, start, length, out, at);
    case functionCode.writeSingleCoil:
      return writeSingleCoil(store, request, start, length, out, at);
    case functionCode.writeSingleRegister:
      return writeSingleRegister(store, request, start, length, out, at);
    case functionCode.writeMultipleCoils:
      return writeMultipleCoils(store, request, start, length, out, at);
    case functionCode.writeMultipleRegisters:
      return writeMultipleRegisters(store, request, start, length, out, at);
    case functionCode.readWriteMultipleRegisters:
      return readWriteMultipleRegisters(store, request, start, length, out, at);
    default:
      return writeException(out, at, code, exceptionCode.illegalFunction);
  }
}

function notify(store: ModbusDataStore, area: WritableArea, address: number, count: number): void {
  store.onClientWrite?.(area, address, count);
}

function readBits(bits: Uint8Array, request: Buffer, start: number, length: number, out: Buffer, at: number): number {
  const code = request[start]!;
  if (length !== 5) return writeException(out, at, code, exceptionCode.illegalDataValue);
  const address = request.readUInt16BE(start + 1);
  const quantity = request.readUInt16BE(start + 3);
  if (quantity < 1 || quantity > pduLimits.readBitsMax) return writeException(out, at, code, exceptionCode.illegalDataValue);
  if (address + quantity > bits.length) return writeException(out, at, code, exceptionCode.illegalDataAddress);
  const byteCount = (quantity + 7) >>> 3;
  out[at] = code;
  out[at + 1] = byteCount;
  for (let byte = 0; byte < byteCount; byte++) {
    let packed = 0;
    const first = byte * 8;
    const last = Math.min(first + 8, quantity);
    for (let index = first; index < last; index++) if (bits[address + index] !== 0) packed |= 1 << (index - first);
    out[at + 2 + byte] = packed;
  }
  return 2 + byteCount;
}

function readRegisters(registers: Uint16Array, request: Buffer, start: number, length: number, out: Buffer, at: number): number {
  const code = request[start]!;
  if (length !== 5) return writeException(out, at, code, exceptionCode.illegalDataValue);
  const address = request.readUInt16BE(start + 1);
  const quantity = request.readUInt16BE(start + 3);
  if (quantity < 1 || quantity > pduLimits.readRegistersMax) return writeException(out, at, code, exceptionCode.illegalDataValue);
  if (address + quantity > registers.length) return writeException(out, at, code, exceptionCode.illegalDataAddress);
  out[at] = code;
  out[at + 1] = quantity * 2;
  copyRegistersOut(registers, address, quantity, out, at + 2);
  return 2 + quantity * 2;
}

function copyRegistersOut(registers: Uint16Array, address: number, quantity: number, out: Buffer, at: number): void {
  for (let index = 0; index < quantity; index++) out.writeUInt16BE(registers[address + index]!, at + index * 2);
}

function writeSingleCoil(store: ModbusDataStore, request: Buffer, start: number, length: number, out: Buffer, at: number): number {
  const code = request[start]!;
  if (length !== 5) return writeException(out, at, code, exceptionCode.illegalDataValue);
  const address = request.readUInt16BE(start + 1);
  const value = request.readUInt16BE(start + 3);
  if (value !== 0xff00 && value !== 0x0000) return writeException(out, at, code, exceptionCode.illegalDataValue);
  if (address >= store.coils.length) return writeException(out, at, code, exceptionCode.illegalDataAddress);
  store.coils[address] = value === 0xff00 ? 1 : 0;
  notify(store, 'coil', address, 1);
  request.copy(out, at, start, start + 5);
  return 5;
}

function writeSingleRegister(store: ModbusDataStore, request: Buffer, start: number, length: number, out: Buffer, at: number): number {
  const code = request[start]!;
  if (length !== 5) return writeException(out, at, code, exceptionCode.illegalDataValue);
  const address = request.readUInt16BE(start + 1);
  if (address >= store.holdingRegisters.length) return writeException(out, at, code, exceptionCode.illegalDataAddress);
  store.holdingRegisters[address] = request.readUInt16BE(start + 3);
  notify(store, 'holding', address, 1);
  request.copy(out, at, start, start + 5);
  return 5;
}

/** Response of both multiple-write functions: function, address, quantity. */
function echoAddressAndQuantity(request: Buffer, start: number, out: Buffer, at: number): number {
  request.copy(out, at, start, start + 5);
  return 5;
}

function writeMultipleCoils(store: ModbusDataStore, request: Buffer, start: number, length: number, out: Buffer, at: number): number {
  const code = request[start]!;
  if (length < 6) return writeException(out, at, code, exceptionCode.illegalDataValue);
  const address = request.readUInt16BE(start + 1);
  const quantity = request.readUInt16BE(start + 3);
  const byteCount = request[start + 5]!;
  if (quantity < 1 || quantity > pduLimits.writeBitsMax || byteCount !== (quantity + 7) >>> 3 || length !== 6 + byteCount) {
    return writeException(out, at, code, exceptionCode.illegalDataValue);
  }
  if (address + quantity > store.coils.length) return writeException(out, at, code, exceptionCode.illegalDataAddress);
  for (let index = 0; index < quantity; index++) {
    store.coils[address + index] = (request[start + 6 + (index >>> 3)]! >>> (index & 7)) & 1;
  }
  notify(store, 'coil', address, quantity);
  return echoAddressAndQuantity(request, start, out, at);
}

function writeMultipleRegisters(store: ModbusDataStore, request: Buffer, start: number, length: number, out: Buffer, at: number): number {
  const code = request[start]!;
  if (length < 6) return writeException(out, at, code, exceptionCode.illegalDataValue);
  const address = request.readUInt16BE(start + 1);
  const quantity = request.readUInt16BE(start + 3);
  const byteCount = request[start + 5]!;
  if (quantity < 1 || quantity > pduLimits.writeRegistersMax || byteCount !== quantity * 2 || length !== 6 + byteCount) {
    return writeException(out, at, code, exceptionCode.illegalDataValue);
  }
  if (address + quantity > store.holdingRegisters.length) return writeException(out, at, code, exceptionCode.illegalDataAddress);
  copyRegistersIn(store.holdingRegisters, address, quantity, request, start + 6);
  notify(store, 'holding', address, quantity);
  return echoAddressAndQuantity(request, start, out, at);
}

function copyRegistersIn(registers: Uint16Array, address: number, quantity: number, request: Buffer, from: number): void {
  for (let index = 0; index < quantity; index++) registers[address + index] = request.readUInt16BE(from + index * 2);
}

/** Function 23: the write is applied before the read, as the spec requires. */
function readWriteMultipleRegisters(store: ModbusDataStore, request: Buffer, start: number, length: number, out: Buffer, at: number): number {
  const code = request[start]!;
  if (length < 10) return writeException(out, at, code, exceptionCode.illegalDataValue);
  const readAddress = request.readUInt16BE(start + 1);
  const readQuantity = request.readUInt16BE(start + 3);
  const writeAddress = request.readUInt16BE(start + 5);
  const writeQuantity = request.readUInt16BE(start + 7);
  const byteCount = request[start + 9]!;
  if (
    readQuantity < 1 ||
    readQuantity > pduLimits.readRegistersMax ||
    writeQuantity < 1 ||
    writeQuantity > pduLimits.readWriteRegistersMax ||
    byteCount !== writeQuantity * 2 ||
    length !== 10 + byteCount
  ) {
    return writeException(out, at, code, exceptionCode.illegalDataValue);
  }
  const registers = store.holdingRegisters;
  if (readAddress + readQuantity > registers.length || writeAddress + writeQuantity > registers.length) {
    return writeException(out, at, code, exceptionCode.illegalDataAddress);
  }
  copyRegistersIn(registers, writeAddress, writeQuantity, request, start + 10);
  notify(store, 'holding', writeAddress, writeQuantity);
  out[at] = code;
  out[at + 1] = readQuantity * 2;
  copyRegistersOut(registers, readAddress, readQuantity, out, at + 2);
  return 2 + readQuantity * 2;
}
