// Batching of a device profile's tags into as few Modbus read requests as the protocol allows:
// tags of one area sorted by address, merged while the span stays within the per-request limit
// (125 registers, 2000 bits) and the hole between neighbours is at most `gapMax`.
import { registerCount, type ProfileTag, type RegisterArea } from '../../common/device-profile.ts';

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
