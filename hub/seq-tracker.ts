// Per-gateway sequence bookkeeping, pure and synchronous: the highest contiguous committed
// sequence (what the hub acks) plus the committed ranges above a gap, so a resend of points already
// stored past a gap is recognised as a duplicate. The store persists the mark; ranges are rebuilt
// from the points table on open.
//
// Simplified for this slice (a fuller exactly-once design comes later): sequences start at 1 and
// a gateway the hub has never seen starts at mark 0, so a hub that lost its database will not ack a
// gateway whose oldest buffered record is past 1 until that gap is filled.
import { assert } from '../common/assert.ts';

export interface SeqRange {
  readonly first: bigint;
  readonly last: bigint;
}

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
    return this.#addOne(seq);
  }

  clone(): GatewaySeqs {
    const copy = new GatewaySeqs(this.#acked);
    copy.#ranges = [...this.#ranges];
    return copy;
  }

  #addOne(seq: bigint): boolean {
    if (seq === this.#acked + 1n) {
      this.#acked = seq;
      const next = this.#ranges[0];
      if (next !== undefined && next.first === seq + 1n) {
        this.#acked = next.last;
        this.#ranges.shift();
      }
      return true;
    }
    const index = this.#firstRangeEndingAtOrAfter(seq);
    const before = this.#ranges[index - 1];
    const after = this.#ranges[index];
    const joinsBefore = before !== undefined && before.last + 1n === seq;
    const joinsAfter = after !== undefined && after.first - 1n === seq;
    if (joinsBefore && joinsAfter) {
      this.#ranges.splice(index - 1, 2, { first: before.first, last: after.last });
    } else if (joinsBefore) {
      this.#ranges[index - 1] = { first: before.first, last: seq };
    } else if (joinsAfter) {
      this.#ranges[index] = { first: seq, last: after.last };
    } else {
      if (this.#ranges.length >= seqRangesMax) return false;
      this.#ranges.splice(index, 0, { first: seq, last: seq });
    }
    return true;
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
