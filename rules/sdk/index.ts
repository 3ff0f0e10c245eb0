// The millwright rule SDK: `import { input, output, alarm, TON } from "millwright";`
// See docs/rules.md for the tutorial and the reference.
export { tickCount, tickMs, ticks, fuel } from "./host";
export { Input, Output, Param, Point, input, output, param, point, GOOD, UNCERTAIN, BAD } from "./io";
export { Alarm, Severity, alarm } from "./alarm";
export { TON, TOF, TP } from "./timers";
export { R_TRIG, F_TRIG, SR, RS, CTU, CTD } from "./logic";
export { Deadband, MovingAverage, RateOfChange, WindowMin, WindowMax, Debounce } from "./signals";
