// Engineering values <-> a simulated device's ModbusDataStore, by profile tag name. The byte
// layout (types, word order, byte order, scale and offset) is common/register-codec.ts, the same
// code the gateway decodes with, so simulator and gateway cannot disagree about a register. This
// file adds what a device needs on top: bit areas versus register areas, the profile's default
// orders, checking the profile against the store once, and saturating out-of-range integers the
// way a real device's analogue output clamps, instead of refusing them.
import { assert } from '../common/assert.ts';
import { registerCount, type DeviceProfile, type ProfileTag, type RegisterType } from '../common/device-profile.ts';
import { decodeRaw, encodeRaw, fromEngineering, ordersOf, toEngineering, type ByteOrders } from '../common/register-codec.ts';
import { hilError, hilErrors } from './errors.ts';
import type { DataStoreSizes, ModbusDataStore } from './modbus-data-store.ts';

export type TagValue = number | boolean;

const integerRanges: Partial<Record<RegisterType, readonly [number, number]>> = {
  int16: [-32_768, 32_767],
  uint16: [0, 65_535],
  int32: [-2_147_483_648, 2_147_483_647],
  uint32: [0, 4_294_967_295],
};

/** Raw register value for an engineering value; integers saturate at their type's range. */
export function rawFor(tag: ProfileTag, value: TagValue): number {
  const engineering = typeof value === 'boolean' ? (value ? 1 : 0) : value;
  const raw = fromEngineering(tag, engineering);
  if (raw !== undefined) return raw;
  const range = integerRanges[tag.type];
  assert(range !== undefined && !Number.isNaN(engineering), `tag ${tag.name}: cannot encode ${engineering} as ${tag.type}`);
  const unclamped = (engineering - (tag.offset ?? 0)) / (tag.scale ?? 1);
  return Math.min(range[1], Math.max(range[0], Math.round(unclamped)));
}

/** Writes an engineering value into registers at offset (a register-area tag). */
export function encodeTagValue(tag: ProfileTag, value: TagValue, registers: Uint16Array | number[], offset: number, orders: ByteOrders): void {
  encodeRaw(tag, rawFor(tag, value), registers, offset, orders);
}

/** Engineering value of a register-area tag; bool tags read as 0 or 1. */
export function decodeTagValue(tag: ProfileTag, registers: ArrayLike<number>, offset: number, orders: ByteOrders): number {
  const raw = decodeRaw(tag, registers, offset, orders);
  return tag.type === 'bool' ? raw : toEngineering(tag, raw);
}

/** The smallest store that holds every tag of the profile. */
export function storeSizesFor(profile: DeviceProfile): DataStoreSizes {
  const end = { coil: 0, discrete: 0, holding: 0, input: 0 };
  for (const tag of profile.tags) end[tag.area] = Math.max(end[tag.area], tag.address + registerCount(tag.type));
  return { coils: end.coil, discreteInputs: end.discrete, holdingRegisters: end.holding, inputRegisters: end.input };
}

interface BoundTag {
  readonly tag: ProfileTag;
  readonly orders: ByteOrders;
}

/** A device profile bound to a data store: read and write tags by name. */
export class TagMap {
  readonly profile: DeviceProfile;
  readonly store: ModbusDataStore;
  readonly #tags = new Map<string, BoundTag>();

  /** Throws HIL_PROFILE_MISMATCH when a tag does not fit its area or the store. */
  constructor(profile: DeviceProfile, store: ModbusDataStore) {
    this.profile = profile;
    this.store = store;
    const defaults = { ...(profile.wordOrder && { wordOrder: profile.wordOrder }), ...(profile.byteOrder && { byteOrder: profile.byteOrder }) };
    for (const tag of profile.tags) {
      const isBitArea = tag.area === 'coil' || tag.area === 'discrete';
      if (isBitArea && tag.type !== 'bool') throw mismatch(profile, `tag ${tag.name} is a ${tag.area} and must be bool, not ${tag.type}`);
      const areaSize = this.#area(tag).length;
      if (tag.address + registerCount(tag.type) > areaSize) {
        throw mismatch(profile, `tag ${tag.name} (${tag.area} ${tag.address}, ${tag.type}) does not fit the ${tag.area} area of ${areaSize}`);
      }
      if (this.#tags.has(tag.name)) throw mismatch(profile, `tag ${tag.name} appears twice`);
      this.#tags.set(tag.name, { tag, orders: ordersOf(tag, defaults) });
    }
  }

  has(name: string): boolean {
    return this.#tags.has(name);
  }

  tag(name: string): ProfileTag {
    return this.#bound(name).tag;
  }

  readNumber(name: string): number {
    const { tag, orders } = this.#bound(name);
    const area = this.#area(tag);
    if (area instanceof Uint8Array) return area[tag.address] !== 0 ? 1 : 0;
    return decodeTagValue(tag, area, tag.address, orders);
  }

  readBoolean(name: string): boolean {
    return this.readNumber(name) !== 0;
  }

  write(name: string, value: TagValue): void {
    const { tag, orders } = this.#bound(name);
    const area = this.#area(tag);
    if (area instanceof Uint8Array) area[tag.address] = value === true || (typeof value === 'number' && value !== 0) ? 1 : 0;
    else encodeTagValue(tag, value, area, tag.address, orders);
  }

  #bound(name: string): BoundTag {
    const bound = this.#tags.get(name);
    assert(bound !== undefined, `profile ${this.profile.profile} has no tag ${name}`);
    return bound;
  }

  #area(tag: ProfileTag): Uint8Array | Uint16Array {
    switch (tag.area) {
      case 'coil':
        return this.store.coils;
      case 'discrete':
        return this.store.discreteInputs;
      case 'holding':
        return this.store.holdingRegisters;
      case 'input':
        return this.store.inputRegisters;
    }
  }
}

function mismatch(profile: DeviceProfile, message: string): Error {
  return hilError(hilErrors.profileMismatch, `device profile ${profile.profile}: ${message}`, { profile: profile.profile });
}
