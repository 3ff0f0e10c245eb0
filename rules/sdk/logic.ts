// IEC 61131-3 edge detectors, bistables and counters. Call update() once per tick.

/** Rising edge: Q is true for the one tick in which CLK goes from false to true. */
// @ts-ignore: decorator
@unmanaged
export class R_TRIG {
  q: bool = false;
  private m: bool = false;
  update(clk: bool): bool {
    this.q = clk && !this.m;
    this.m = clk;
    return this.q;
  }
}

/** Falling edge: Q is true for the one tick in which CLK goes from true to false (M starts true, as in the standard). */
// @ts-ignore: decorator
@unmanaged
export class F_TRIG {
  q: bool = false;
  private m: bool = true;
  update(clk: bool): bool {
    this.q = !clk && !this.m;
    this.m = !clk;
    return this.q;
  }
}

/** Set-dominant bistable: Q1 = S1 OR (NOT R AND Q1). */
// @ts-ignore: decorator
@unmanaged
export class SR {
  q1: bool = false;
  update(s1: bool, r: bool): bool {
    this.q1 = s1 || (!r && this.q1);
    return this.q1;
  }
}

/** Reset-dominant bistable: Q1 = NOT R1 AND (S OR Q1). */
// @ts-ignore: decorator
@unmanaged
export class RS {
  q1: bool = false;
  update(s: bool, r1: bool): bool {
    this.q1 = !r1 && (s || this.q1);
    return this.q1;
  }
}

/** Up counter: CV counts rising edges of CU, R resets it to 0; Q = CV >= PV. */
// @ts-ignore: decorator
@unmanaged
export class CTU {
  q: bool = false;
  cv: i32 = 0;
  private edge: R_TRIG = new R_TRIG();
  constructor(public pv: i32) {}

  update(cu: bool, r: bool = false): bool {
    const rising = this.edge.update(cu);
    if (r) this.cv = 0;
    else if (rising && this.cv < i32.MAX_VALUE) this.cv++;
    this.q = this.cv >= this.pv;
    return this.q;
  }
}

/** Down counter: LD loads CV with PV, rising edges of CD count it down; Q = CV <= 0. */
// @ts-ignore: decorator
@unmanaged
export class CTD {
  q: bool = false;
  cv: i32 = 0;
  private edge: R_TRIG = new R_TRIG();
  constructor(public pv: i32) {}

  update(cd: bool, ld: bool = false): bool {
    const rising = this.edge.update(cd);
    if (ld) this.cv = this.pv;
    else if (rising && this.cv > i32.MIN_VALUE) this.cv--;
    this.q = this.cv <= 0;
    return this.q;
  }
}
