// Per-gateway sequence bookkeeping, pure and synchronous: the highest contiguous sequence the hub
// has accounted for (what it acks) plus the accounted ranges above a gap, so a resend of what is
// already stored past a gap is recognised as a duplicate. "Accounted for" means committed to the
// points table or declared lost by the gateway (lost_ranges): both fill a gap for the ack. The
// store persists the mark; the ranges are rebuilt from points and lost_ranges on open.
//
// A gateway the hub has never seen starts at mark 0 (sequences start at 1). A gateway whose
// oldest record is past the hub's mark + 1 (the hub lost its database) declares the sequences it
// no longer holds as lost, so the ack can move (docs/protocol.md).
import { assert } from '../common/assert.ts';
import type { SeqRange } from '../common/wire-batch.ts';

export type { SeqRange } from '../common/wire-batch.ts';

/** Committed ranges above the mark per gateway; past this a batch that adds a new gap is refused. */
export const seqRangesMax = 1024;

export class GatewaySeqs {
  #acked: bigint;
  /** Sorted, disjoint, non-adjacent, every first > acked + 1. */
  #ranges: SeqRange[];

  constructor(acked: bigint, ranges: readonly SeqRange[] = []) {
    assert(acked >= 0n, `acked sequence must not be negative, got ${acked}`);
    this.#acked = acked;
    this.#ranges = [];
    const sorted = [...ranges].sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
    for (const range of sorted) {
      assert(range.first <= range.last, `range ${range.first}..${range.last} is empty`);
      const previous = this.#ranges.at(-1);
      if (range.last <= this.#acked) continue;
      const first = range.first <= this.#acked ? this.#acked + 1n : range.first;
      if (first === this.#acked + 1n) {
        this.#acked = range.last;
      } else if (previous !== undefined && first <= previous.last + 1n) {
        if (range.last > previous.last) this.#ranges[this.#ranges.length - 1] = { first: previous.first, last: range.last };
      } else {
        this.#ranges.push({ first, last: range.last });
      }
    }
  }

  get acked(): bigint {
    return this.#acked;
  }

  get ranges(): readonly SeqRange[] {
    return this.#ranges;
  }

  has(seq: bigint): boolean {
    if (seq <= this.#acked) return true;
    const index = this.#firstRangeEndingAtOrAfter(seq);
    const range = this.#ranges[index];
    return range !== undefined && range.first <= seq;
  }

  /**
   * Records a committed sequence; returns false (and changes nothing) when it would open more than
   * seqRangesMax gaps. The caller has checked has(seq) is false.
   */
  add(seq: bigint): boolean {
    assert(!this.has(seq), `sequence ${seq} is already recorded`);
    return this.addRange(seq, seq);
  }

  /** The highest sequence accounted for (the mark when nothing is stored past a gap). */
  get highest(): bigint {
    return this.#ranges.at(-1)?.last ?? this.#acked;
  }

  /** Sequences missing between the mark and the highest accounted-for sequence. */
  get missing(): bigint {
    let missing = 0n;
    let previous = this.#acked;
    for (const range of this.#ranges) {
      missing += range.first - previous - 1n;
      previous = range.last;
    }
    return missing;
  }

  /** The parts of first..last not yet accounted for, in order. */
  missingIn(first: bigint, last: bigint): SeqRange[] {
    const parts: SeqRange[] = [];
    let cursor = first > this.#acked ? first : this.#acked + 1n;
    let index = this.#firstRangeEndingAtOrAfter(cursor);
    while (cursor <= last) {
      const range = this.#ranges[index];
      if (range === undefined || range.first > last) {
        parts.push({ first: cursor, last });
        break;
      }
      if (range.first > cursor) parts.push({ first: cursor, last: range.first - 1n });
      cursor = range.last + 1n;
      index++;
    }
    return parts;
  }

  /**
   * Records first..last, none of which is accounted for yet (use missingIn). Returns false and
   * changes nothing when it would open more than seqRangesMax gaps.
   */
  addRange(first: bigint, last: bigint): boolean {
    assert(first <= last && first > this.#acked, `range ${first}..${last} is empty or at or below the mark ${this.#acked}`);
    if (first === this.#acked + 1n) {
      this.#acked = last;
      const next = this.#ranges[0];
      assert(next === undefined || next.first > last, `range ${first}..${last} overlaps ${next?.first}..${next?.last}`);
      if (next !== undefined && next.first === last + 1n) {
        this.#acked = next.last;
        this.#ranges.shift();
      }
      return true;
    }
    const index = this.#firstRangeEndingAtOrAfter(first);
    const before = this.#ranges[index - 1];
    const after = this.#ranges[index];
    assert(after === undefined || after.first > last, `range ${first}..${last} overlaps ${after?.first}..${after?.last}`);
    const joinsBefore = before !== undefined && before.last + 1n === first;
    const joinsAfter = after !== undefined && after.first - 1n === last;
    if (joinsBefore && joinsAfter) {
      this.#ranges.splice(index - 1, 2, { first: before.first, last: after.last });
    } else if (joinsBefore) {
      this.#ranges[index - 1] = { first: before.first, last };
    } else if (joinsAfter) {
      this.#ranges[index] = { first, last: after.last };
    } else {
      if (this.#ranges.length >= seqRangesMax) return false;
      this.#ranges.splice(index, 0, { first, last });
    }
    return true;
  }

  clone(): GatewaySeqs {
    const copy = new GatewaySeqs(this.#acked);
    copy.#ranges = [...this.#ranges];
    return copy;
  }

  /** Binary search: index of the first range whose last >= seq (ranges.length if none). */
  #firstRangeEndingAtOrAfter(seq: bigint): number {
    let low = 0;
    let high = this.#ranges.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.#ranges[middle] as SeqRange).last < seq) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}
