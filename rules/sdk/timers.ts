// IEC 61131-3 timers counted in ticks (the rule's only clock; use ticks(ms) to convert). Call
// update() once per tick. ET counts the ticks elapsed, Q is the timer output.

/** On-delay: Q turns on once IN has been on for PT ticks; IN off resets Q and ET at once. */
// @ts-ignore: decorator
@unmanaged
export class TON {
  q: bool = false;
  et: i32 = 0;
  private running: bool = false;
  constructor(public pt: i32) {}

  update(input: bool): bool {
    if (!input) {
      this.running = false;
      this.q = false;
      this.et = 0;
      return false;
    }
    if (!this.running) {
      this.running = true;
      this.et = 0;
    } else if (this.et < this.pt) this.et++;
    this.q = this.et >= this.pt;
    return this.q;
  }
}

/** Off-delay: Q follows IN on at once and stays on for PT ticks after IN turns off. */
// @ts-ignore: decorator
@unmanaged
export class TOF {
  q: bool = false;
  et: i32 = 0;
  private timing: bool = false;
  constructor(public pt: i32) {}

  update(input: bool): bool {
    if (input) {
      this.q = true;
      this.timing = false;
      this.et = 0;
      return true;
    }
    if (!this.q) return false;
    if (!this.timing) {
      this.timing = true;
      this.et = 0;
    } else if (this.et < this.pt) this.et++;
    if (this.et >= this.pt) {
      this.q = false;
      this.timing = false;
    }
    return this.q;
  }
}

/** Pulse: a rising edge of IN starts a pulse of exactly PT ticks; edges during the pulse are ignored. */
// @ts-ignore: decorator
@unmanaged
export class TP {
  q: bool = false;
  et: i32 = 0;
  private previous: bool = false;
  constructor(public pt: i32) {}

  update(input: bool): bool {
    if (this.q) {
      this.et++;
      if (this.et >= this.pt) this.q = false;
    } else if (input && !this.previous && this.pt > 0) {
      this.q = true;
      this.et = 0;
    }
    if (!this.q && !input) this.et = 0;
    this.previous = input;
    return this.q;
  }
}
