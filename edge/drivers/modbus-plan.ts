// Batching of a device profile's tags into as few Modbus read requests as the protocol allows:
// tags of one area sorted by address, merged while the span stays within the per-request limit
// (125 registers, 2000 bits) and the hole between neighbours is at most `gapMax`.
import { registerCount, type DeviceProfile, type ProfileTag, type RegisterArea } from '../../common/device-profile.ts';
import { MillwrightError } from '../../common/errors.ts';
import { edgeErrors } from '../errors.ts';

export const registersPerReadMax = 125;
export const bitsPerReadMax = 2000;

export interface ReadSlot {
  /** Index of the tag in the profile's tag list. */
  readonly tagIndex: number;
  /** Offset of the tag's first register (or bit) from the request's start. */
  readonly offset: number;
}

export interface ReadRequest {
  readonly area: RegisterArea;
  readonly start: number;
  readonly count: number;
  readonly slots: readonly ReadSlot[];
}

export function isBitArea(area: RegisterArea): boolean {
  return area === 'coil' || area === 'discrete';
}

export function planReads(tags: readonly ProfileTag[], gapMax: number): ReadRequest[] {
  const requests: ReadRequest[] = [];
  for (const area of ['coil', 'discrete', 'holding', 'input'] as const) {
    const limit = isBitArea(area) ? bitsPerReadMax : registersPerReadMax;
    const members = tags
      .map((tag, tagIndex) => ({ tag, tagIndex, width: isBitArea(area) ? 1 : registerCount(tag.type) }))
      .filter((member) => member.tag.area === area)
      .sort((a, b) => a.tag.address - b.tag.address || a.tagIndex - b.tagIndex);
    let start = -1;
    let end = -1; // exclusive
    let slots: { tagIndex: number; address: number }[] = [];
    const flush = (): void => {
      if (slots.length === 0) return;
      const first = start;
      requests.push({ area, start: first, count: end - first, slots: slots.map((slot) => ({ tagIndex: slot.tagIndex, offset: slot.address - first })) });
      slots = [];
    };
    for (const member of members) {
      const memberEnd = member.tag.address + member.width;
      const fits = slots.length > 0 && member.tag.address - end <= gapMax && Math.max(end, memberEnd) - start <= limit;
      if (!fits) {
        flush();
        start = member.tag.address;
        end = memberEnd;
      } else {
        end = Math.max(end, memberEnd);
      }
      slots.push({ tagIndex: member.tagIndex, address: member.tag.address });
    }
    flush();
  }
  return requests;
}

/**
 * Refuses a profile that names a tag twice or maps two tags onto overlapping registers with a
 * different type, address or order: such a map reads the same bits two ways, and a write to one
 * tag would silently change the other. Identical mappings under two names are allowed (aliases).
 */
export function checkProfileRegisters(profile: DeviceProfile, file: string): void {
  const names = new Set<string>();
  for (const tag of profile.tags) {
    if (names.has(tag.name)) throw new MillwrightError(edgeErrors.profileConflict, `${file}: tag '${tag.name}' is defined twice`, { file, tag: tag.name });
    names.add(tag.name);
  }
  const orderOf = (tag: ProfileTag): string => `${tag.wordOrder ?? profile.wordOrder ?? 'big'}/${tag.byteOrder ?? profile.byteOrder ?? 'big'}`;
  for (const area of ['coil', 'discrete', 'holding', 'input'] as const) {
    const members = profile.tags.filter((tag) => tag.area === area).sort((a, b) => a.address - b.address);
    for (let i = 0; i < members.length; i++) {
      const first = members[i]!;
      const firstEnd = first.address + (isBitArea(area) ? 1 : registerCount(first.type));
      for (let j = i + 1; j < members.length && members[j]!.address < firstEnd; j++) {
        const second = members[j]!;
        const same = second.address === first.address && second.type === first.type && orderOf(second) === orderOf(first);
        if (!same) {
          throw new MillwrightError(
            edgeErrors.profileConflict,
            `${file}: tags '${first.name}' (${first.type} at ${area} ${first.address}) and '${second.name}' (${second.type} at ${area} ${second.address}) overlap with conflicting types; map each register once, or alias it with the same type and order`,
            { file, tags: [first.name, second.name] },
          );
        }
      }
    }
  }
}
