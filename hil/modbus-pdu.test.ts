import { describe, expect, it } from 'vitest';
import { createDataStore, type WritableArea } from './modbus-data-store.ts';
import { exceptionCode, executePdu, functionCode, pduLimits } from './modbus-pdu.ts';

const store = () => createDataStore({ coils: 3000, discreteInputs: 3000, holdingRegisters: 200, inputRegisters: 200 });

function pdu(...words: [code: number, ...fields: number[]]): Buffer {
  const [code, ...fields] = words;
  const buffer = Buffer.alloc(1 + fields.length * 2);
  buffer[0] = code;
  fields.forEach((field, index) => buffer.writeUInt16BE(field, 1 + index * 2));
  return buffer;
}

function run(target: ReturnType<typeof store>, request: Buffer): Buffer {
  const out = Buffer.alloc(pduLimits.pduBytesMax);
  const length = executePdu(target, request, 0, request.length, out, 0);
  return out.subarray(0, length);
}

const exception = (code: number, exceptionValue: number) => Buffer.from([code | 0x80, exceptionValue]);

describe('Modbus PDU execution', () => {
  it('packs coils and discrete inputs least significant bit first, padding the last byte with zeros', () => {
    const target = store();
    [1, 0, 1, 1, 0, 0, 0, 0, 1, 1].forEach((bit, index) => (target.coils[10 + index] = bit));
    target.discreteInputs[0] = 1;
    expect([...run(target, pdu(functionCode.readCoils, 10, 10))]).toEqual([1, 2, 0b0000_1101, 0b0000_0011]);
    expect([...run(target, pdu(functionCode.readDiscreteInputs, 0, 1))]).toEqual([2, 1, 1]);
  });

  it('reads holding and input registers big-endian', () => {
    const target = store();
    target.holdingRegisters.set([0x1234, 0xabcd], 5);
    target.inputRegisters[199] = 0xbeef;
    expect([...run(target, pdu(functionCode.readHoldingRegisters, 5, 2))]).toEqual([3, 4, 0x12, 0x34, 0xab, 0xcd]);
    expect([...run(target, pdu(functionCode.readInputRegisters, 199, 1))]).toEqual([4, 2, 0xbe, 0xef]);
  });

  const limits: [string, number, number][] = [
    ['read coils', functionCode.readCoils, pduLimits.readBitsMax],
    ['read discrete inputs', functionCode.readDiscreteInputs, pduLimits.readBitsMax],
    ['read holding registers', functionCode.readHoldingRegisters, pduLimits.readRegistersMax],
    ['read input registers', functionCode.readInputRegisters, pduLimits.readRegistersMax],
  ];
  for (const [name, code, max] of limits) {
    it(`${name}: accepts 1..${max} and answers 03 for 0 or ${max + 1}`, () => {
      const target = store();
      expect(run(target, pdu(code, 0, max))[0]).toBe(code);
      expect(run(target, pdu(code, 0, 0))).toEqual(exception(code, exceptionCode.illegalDataValue));
      expect(run(target, pdu(code, 0, max + 1))).toEqual(exception(code, exceptionCode.illegalDataValue));
    });
  }

  it('answers 02 when a range runs past the end of its area, and serves a range that ends exactly at it', () => {
    const target = store();
    expect(run(target, pdu(functionCode.readHoldingRegisters, 199, 1))[0]).toBe(3);
    expect(run(target, pdu(functionCode.readHoldingRegisters, 199, 2))).toEqual(exception(3, exceptionCode.illegalDataAddress));
    expect(run(target, pdu(functionCode.readCoils, 2999, 2))).toEqual(exception(1, exceptionCode.illegalDataAddress));
    expect(run(target, pdu(functionCode.writeSingleRegister, 200, 1))).toEqual(exception(6, exceptionCode.illegalDataAddress));
    expect(run(target, pdu(functionCode.writeSingleCoil, 3000, 0xff00))).toEqual(exception(5, exceptionCode.illegalDataAddress));
  });

  it('answers 01 for a function it does not implement and 03 for a request of the wrong length', () => {
    const target = store();
    expect(run(target, pdu(0x2b, 0x0e01))).toEqual(exception(0x2b, exceptionCode.illegalFunction));
    expect(run(target, Buffer.from([0x07]))).toEqual(exception(0x07, exceptionCode.illegalFunction));
    expect(run(target, Buffer.from([3, 0, 0, 0]))).toEqual(exception(3, exceptionCode.illegalDataValue));
    expect(run(target, Buffer.from([3, 0, 0, 0, 1, 9]))).toEqual(exception(3, exceptionCode.illegalDataValue));
  });

  it('writes single coils (only FF00 and 0000 are values) and single registers, echoing the request', () => {
    const target = store();
    const writes: [WritableArea, number, number][] = [];
    target.onClientWrite = (area, address, count) => writes.push([area, address, count]);
    expect(run(target, pdu(5, 7, 0xff00))).toEqual(pdu(5, 7, 0xff00));
    expect(run(target, pdu(5, 7, 0x0001))).toEqual(exception(5, exceptionCode.illegalDataValue));
    expect(run(target, pdu(6, 3, 0xfffe))).toEqual(pdu(6, 3, 0xfffe));
    expect(target.coils[7]).toBe(1);
    expect(target.holdingRegisters[3]).toBe(0xfffe);
    expect(writes).toEqual([
      ['coil', 7, 1],
      ['holding', 3, 1],
    ]);
  });

  it('writes multiple coils up to 1968 and multiple registers up to 123, checking the byte count', () => {
    const target = store();
    const coilBytes = Buffer.alloc(246, 0xff);
    const coils = (quantity: number, bytes: Buffer) => Buffer.concat([pdu(15, 100, quantity), Buffer.from([bytes.length]), bytes]);
    expect(run(target, coils(pduLimits.writeBitsMax, coilBytes))).toEqual(pdu(15, 100, 1968));
    expect(target.coils[100 + 1967]).toBe(1);
    expect(target.coils[100 + 1968]).toBe(0);
    expect(run(target, coils(1969, Buffer.alloc(247)))[1]).toBe(exceptionCode.illegalDataValue);
    expect(run(target, coils(9, Buffer.from([0xff])))[1]).toBe(exceptionCode.illegalDataValue);
    expect(run(target, coils(3, Buffer.from([0b101])))).toEqual(pdu(15, 100, 3));
    expect([...target.coils.subarray(100, 104)]).toEqual([1, 0, 1, 1]);

    const registers = (quantity: number) => Buffer.concat([pdu(16, 0, quantity), Buffer.from([quantity * 2]), Buffer.alloc(quantity * 2, 0x11)]);
    expect(run(target, registers(pduLimits.writeRegistersMax))).toEqual(pdu(16, 0, 123));
    expect(target.holdingRegisters[122]).toBe(0x1111);
    expect(run(target, registers(124))[1]).toBe(exceptionCode.illegalDataValue);
    expect(run(target, Buffer.concat([pdu(16, 190, 11), Buffer.from([22]), Buffer.alloc(22)]))[1]).toBe(exceptionCode.illegalDataAddress);
  });

  it('read/write multiple registers (23) writes before it reads', () => {
    const target = store();
    const request = Buffer.concat([pdu(23, 10, 2, 11, 1), Buffer.from([2, 0x77, 0x88])]);
    expect([...run(target, request)]).toEqual([23, 4, 0, 0, 0x77, 0x88]);
    expect(run(target, Buffer.concat([pdu(23, 0, 1, 0, 122), Buffer.from([244]), Buffer.alloc(244)]))[1]).toBe(exceptionCode.illegalDataValue);
  });
});
