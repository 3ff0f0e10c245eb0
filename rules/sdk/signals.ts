// Signal blocks: deadband (report by exception), moving average, rate of change, min and max over
// a window, and debounce. Windows count samples, one per update() call (once per tick). Fixed
// memory: every buffer is allocated once, when the block is declared at the top level.
import { tickMs } from "./host";

/** Report by exception: true when the value moved more than `band` from the last reported one. */
// @ts-ignore: decorator
@unmanaged
export class Deadband {
  last: f64 = NaN;
  private started: bool = false;
  private silent: i32 = 0;
  /** heartbeatTicks: also report when nothing was reported for this many ticks. */
  constructor(public band: f64, public heartbeatTicks: i32 = i32.MAX_VALUE) {}

  update(value: f64): bool {
    const moved = isNaN(value) != isNaN(this.last) || Math.abs(value - this.last) > this.band;
    const due = this.silent + 1 >= this.heartbeatTicks;
    if (this.started && !moved && !due) {
      this.silent++;
      return false;
    }
    this.started = true;
    this.last = value;
    this.silent = 0;
    return true;
  }
}

/** Mean of the last `size` samples (of fewer until that many arrived). */
// @ts-ignore: decorator
@unmanaged
export class MovingAverage {
  value: f64 = NaN;
  private buffer: StaticArray<f64>;
  private next: i32 = 0;
  private count: i32 = 0;
  private sum: f64 = 0;
  constructor(size: i32) {
    this.buffer = new StaticArray<f64>(max(size, 1));
  }

  update(sample: f64): f64 {
    const size = this.buffer.length;
    if (this.count == size) this.sum -= unchecked(this.buffer[this.next]);
    else this.count++;
    unchecked((this.buffer[this.next] = sample));
    this.sum += sample;
    this.next = this.next + 1 == size ? 0 : this.next + 1;
    if (this.next == 0) {
      // Re-add from scratch once per window, so rounding errors cannot accumulate.
      let sum: f64 = 0;
      for (let index = 0; index < size; index++) sum += unchecked(this.buffer[index]);
      this.sum = sum;
    }
    const mean = this.sum / <f64>this.count;
    this.value = mean;
    return mean;
  }
}

/** Change per second over the last `windowTicks` ticks (over fewer until that many passed). */
// @ts-ignore: decorator
@unmanaged
export class RateOfChange {
  value: f64 = 0;
  private buffer: StaticArray<f64>;
  private next: i32 = 0;
  private count: i32 = 0;
  constructor(windowTicks: i32) {
    this.buffer = new StaticArray<f64>(max(windowTicks, 1) + 1);
  }

  update(sample: f64): f64 {
    const size = this.buffer.length;
    unchecked((this.buffer[this.next] = sample));
    this.next = this.next + 1 == size ? 0 : this.next + 1;
    if (this.count < size) this.count++;
    if (this.count < 2) {
      this.value = 0;
      return 0;
    }
    const oldest = this.count < size ? unchecked(this.buffer[0]) : unchecked(this.buffer[this.next]);
    const rate = ((sample - oldest) * 1000) / (<f64>(this.count - 1) * tickMs());
    this.value = rate;
    return rate;
  }
}

/** index mod capacity for 0 <= index < 2 * capacity, without a division. */
// @ts-ignore: decorator
@inline function wrap(index: i32, capacity: i32): i32 {
  return index >= capacity ? index - capacity : index;
}

/** Largest (or smallest) of the last `size` samples, O(1) amortised per sample. NaN samples are skipped. */
// @ts-ignore: decorator
@unmanaged
class WindowExtreme {
  value: f64 = NaN;
  private values: StaticArray<f64>;
  private sequence: StaticArray<f64>;
  private head: i32 = 0;
  private length: i32 = 0;
  private seen: f64 = 0;
  constructor(private size: i32, private largest: bool) {
    this.values = new StaticArray<f64>(max(size, 1));
    this.sequence = new StaticArray<f64>(max(size, 1));
  }

  update(sample: f64): f64 {
    const capacity = this.values.length;
    this.seen += 1;
    while (this.length > 0 && unchecked(this.sequence[this.head]) <= this.seen - <f64>capacity) {
      this.head = this.head + 1 == capacity ? 0 : this.head + 1;
      this.length--;
    }
    if (!isNaN(sample)) {
      while (this.length > 0) {
        const last = unchecked(this.values[wrap(this.head + this.length - 1, capacity)]);
        if (this.largest ? last > sample : last < sample) break;
        this.length--;
      }
      const tail = wrap(this.head + this.length, capacity);
      unchecked((this.values[tail] = sample));
      unchecked((this.sequence[tail] = this.seen));
      this.length++;
    }
    this.value = this.length > 0 ? unchecked(this.values[this.head]) : NaN;
    return this.value;
  }
}

// @ts-ignore: decorator
@unmanaged
export class WindowMax extends WindowExtreme {
  constructor(size: i32) {
    super(size, true);
  }
}

// @ts-ignore: decorator
@unmanaged
export class WindowMin extends WindowExtreme {
  constructor(size: i32) {
    super(size, false);
  }
}

/** Debounce: Q takes the input's state only after it has held that state for `ticks` ticks in a row. */
// @ts-ignore: decorator
@unmanaged
export class Debounce {
  q: bool;
  private count: i32 = 0;
  constructor(public ticks: i32, initial: bool = false) {
    this.q = initial;
  }

  update(input: bool): bool {
    if (input == this.q) {
      this.count = 0;
      return this.q;
    }
    this.count++;
    if (this.count >= this.ticks) {
      this.q = input;
      this.count = 0;
    }
    return this.q;
  }
}
