// Test harness for the standard function blocks (rules/stdlib.test.ts): each block kind gets a
// constructor returning a handle, an update returning its main output, and a state getter (ET,
// CV or the value), so the test drives blocks tick by tick from TypeScript.
import { TON, TOF, TP, R_TRIG, F_TRIG, SR, RS, CTU, CTD, Deadband, MovingAverage, RateOfChange, WindowMin, WindowMax, Debounce } from "../index";

export function tick(): void {}

const timers = new Array<TON>();
const offTimers = new Array<TOF>();
const pulses = new Array<TP>();
const rising = new Array<R_TRIG>();
const falling = new Array<F_TRIG>();
const setDominant = new Array<SR>();
const resetDominant = new Array<RS>();
const up = new Array<CTU>();
const down = new Array<CTD>();
const deadbands = new Array<Deadband>();
const averages = new Array<MovingAverage>();
const rates = new Array<RateOfChange>();
const minimums = new Array<WindowMin>();
const maximums = new Array<WindowMax>();
const debounces = new Array<Debounce>();

export function tonNew(pt: i32): i32 { timers.push(new TON(pt)); return timers.length - 1; }
export function tonUpdate(h: i32, input: bool): bool { return timers[h].update(input); }
export function tonEt(h: i32): i32 { return timers[h].et; }

export function tofNew(pt: i32): i32 { offTimers.push(new TOF(pt)); return offTimers.length - 1; }
export function tofUpdate(h: i32, input: bool): bool { return offTimers[h].update(input); }
export function tofEt(h: i32): i32 { return offTimers[h].et; }

export function tpNew(pt: i32): i32 { pulses.push(new TP(pt)); return pulses.length - 1; }
export function tpUpdate(h: i32, input: bool): bool { return pulses[h].update(input); }
export function tpEt(h: i32): i32 { return pulses[h].et; }

export function rTrigNew(): i32 { rising.push(new R_TRIG()); return rising.length - 1; }
export function rTrigUpdate(h: i32, clk: bool): bool { return rising[h].update(clk); }
export function fTrigNew(): i32 { falling.push(new F_TRIG()); return falling.length - 1; }
export function fTrigUpdate(h: i32, clk: bool): bool { return falling[h].update(clk); }

export function srNew(): i32 { setDominant.push(new SR()); return setDominant.length - 1; }
export function srUpdate(h: i32, s1: bool, r: bool): bool { return setDominant[h].update(s1, r); }
export function rsNew(): i32 { resetDominant.push(new RS()); return resetDominant.length - 1; }
export function rsUpdate(h: i32, s: bool, r1: bool): bool { return resetDominant[h].update(s, r1); }

export function ctuNew(pv: i32): i32 { up.push(new CTU(pv)); return up.length - 1; }
export function ctuUpdate(h: i32, cu: bool, r: bool): bool { return up[h].update(cu, r); }
export function ctuCv(h: i32): i32 { return up[h].cv; }
export function ctdNew(pv: i32): i32 { down.push(new CTD(pv)); return down.length - 1; }
export function ctdUpdate(h: i32, cd: bool, ld: bool): bool { return down[h].update(cd, ld); }
export function ctdCv(h: i32): i32 { return down[h].cv; }

export function deadbandNew(band: f64, heartbeatTicks: i32): i32 { deadbands.push(new Deadband(band, heartbeatTicks)); return deadbands.length - 1; }
export function deadbandUpdate(h: i32, value: f64): bool { return deadbands[h].update(value); }

export function averageNew(size: i32): i32 { averages.push(new MovingAverage(size)); return averages.length - 1; }
export function averageUpdate(h: i32, value: f64): f64 { return averages[h].update(value); }

export function rateNew(windowTicks: i32): i32 { rates.push(new RateOfChange(windowTicks)); return rates.length - 1; }
export function rateUpdate(h: i32, value: f64): f64 { return rates[h].update(value); }

export function minNew(size: i32): i32 { minimums.push(new WindowMin(size)); return minimums.length - 1; }
export function minUpdate(h: i32, value: f64): f64 { return minimums[h].update(value); }
export function maxNew(size: i32): i32 { maximums.push(new WindowMax(size)); return maximums.length - 1; }
export function maxUpdate(h: i32, value: f64): f64 { return maximums[h].update(value); }

export function debounceNew(ticks: i32): i32 { debounces.push(new Debounce(ticks)); return debounces.length - 1; }
export function debounceUpdate(h: i32, input: bool): bool { return debounces[h].update(input); }
