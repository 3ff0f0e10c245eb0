// The data model a simulated Modbus device serves: four areas (coils, discrete inputs, holding and
// input registers) in typed arrays of fixed size, plus one hook through which the simulator learns
// about client writes. The server reads and writes these arrays directly; nothing else is shared.
import { assert } from '../common/assert.ts';

export interface DataStoreSizes {
  /** Number of coils (bits). Addresses 0..coils-1 are valid; others answer exception 02. */
  readonly coils: number;
  readonly discreteInputs: number;
  readonly holdingRegisters: number;
  readonly inputRegisters: number;
}

/** Which areas a Modbus client may write. */
export type WritableArea = 'coil' | 'holding';

/** Called after a client write has been applied, with the first address and how many it wrote. */
export type ClientWriteHook = (area: WritableArea, address: number, count: number) => void;

export interface ModbusDataStore {
  /** One element per coil, 0 or 1 (a byte per bit: simpler and faster than packing). */
  readonly coils: Uint8Array;
  readonly discreteInputs: Uint8Array;
  readonly holdingRegisters: Uint16Array;
  readonly inputRegisters: Uint16Array;
  /** Single slot: the owner of the device (the simulated machine) sets it. */
  onClientWrite: ClientWriteHook | undefined;
}

/** Modbus addresses are 16 bits, so no area can hold more than this. */
export const areaSizeMax = 65_536;

export const defaultStoreSizes: DataStoreSizes = { coils: 1024, discreteInputs: 1024, holdingRegisters: 1024, inputRegisters: 1024 };

export function createDataStore(sizes: Partial<DataStoreSizes> = {}): ModbusDataStore {
  const full = { ...defaultStoreSizes, ...sizes };
  for (const [area, size] of Object.entries(full)) {
    assert(Number.isInteger(size) && size >= 0 && size <= areaSizeMax, `data store ${area} size must be 0..${areaSizeMax}, got ${size}`);
  }
  return {
    coils: new Uint8Array(full.coils),
    discreteInputs: new Uint8Array(full.discreteInputs),
    holdingRegisters: new Uint16Array(full.holdingRegisters),
    inputRegisters: new Uint16Array(full.inputRegisters),
    onClientWrite: undefined,
  };
}
