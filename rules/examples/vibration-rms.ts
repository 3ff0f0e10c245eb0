// Vibration monitoring on the filler: the RMS of the vibration signal over a one second window,
// published as a derived point when it moves (deadband), an alarm when the RMS rises faster than
// a rate limit (a bearing going bad), and an alarm when it stays above the ISO 10816 limit.
import { input, point, param, alarm, Severity, MovingAverage, RateOfChange, Deadband, ticks } from "millwright";

const vibration = input("filler/vibration");
const rmsPoint = point("filler/vibration_rms");
const rateLimit = param("rate-limit", 2, 0, 1000); // mm/s per second
const highLimit = param("high-limit", 7.1, 0, 100); // mm/s
const rising = alarm("vibration-rising", Severity.MEDIUM, "Filler vibration rising fast", 0.5, 500);
const high = alarm("vibration-high", Severity.HIGH, "Filler vibration above limit", 0.5, 1000);
const meanSquare = new MovingAverage(ticks(1000));
const rate = new RateOfChange(ticks(1000));
const report = new Deadband(0.05, ticks(10000));

export function tick(): void {
  if (!vibration.good) {
    rising.hold();
    high.hold();
    return;
  }
  const sample = vibration.value;
  const rms = Math.sqrt(meanSquare.update(sample * sample));
  rising.above(rate.update(rms), rateLimit.value);
  high.above(rms, highLimit.value);
  if (report.update(rms)) rmsPoint.publish(rms);
}
