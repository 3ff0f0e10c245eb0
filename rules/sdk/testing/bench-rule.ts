// The rule of bench/rules.bench.ts, a machine monitor of typical size: ten inputs, an
// over-temperature alarm with hysteresis that stops the machine, a vibration RMS over a moving
// window published by exception, a start counter (R_TRIG -> CTU), and the mean of seven process
// values published by exception. bench/rules.bench.ts runs the same logic as TypeScript.
import { input, output, point, param, alarm, Severity, Input, MovingAverage, Deadband, R_TRIG, CTU } from "../index";

const temperature = input("dev/temperature");
const vibration = input("dev/vibration");
const running = input("dev/running");
const process: Input[] = [input("dev/p0"), input("dev/p1"), input("dev/p2"), input("dev/p3"), input("dev/p4"), input("dev/p5"), input("dev/p6")];
const stop = output("dev/stop", 0);
const rmsPoint = point("dev/vibration_rms");
const meanPoint = point("dev/process_mean");
const limit = param("limit", 85, 0, 200);
const overTemperature = alarm("over-temperature", Severity.HIGH, "over temperature", 2);
const meanSquare = new MovingAverage(16);
const rmsReport = new Deadband(0.1);
const meanReport = new Deadband(0.5);
const startEdge = new R_TRIG();
const starts = new CTU(i32.MAX_VALUE);

export function tick(): void {
  if (temperature.good) {
    overTemperature.above(temperature.value, limit.value);
    if (overTemperature.raised) stop.write(0);
  } else overTemperature.hold();
  const sample = vibration.value;
  const rms = Math.sqrt(meanSquare.update(sample * sample));
  if (rmsReport.update(rms)) rmsPoint.publish(rms);
  starts.update(startEdge.update(running.on));
  let sum: f64 = 0;
  for (let index = 0; index < process.length; index++) sum += unchecked(process[index]).value;
  const mean = sum / <f64>process.length;
  if (meanReport.update(mean)) meanPoint.publish(mean);
}
