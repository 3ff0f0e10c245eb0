// Over-temperature: stops the filler when its temperature stays above a limit for the on-delay.
// The alarm latches: after the temperature is back below limit - hysteresis, an operator must
// acknowledge it before it clears, and while it is active any restart of the machine is stopped
// again at once.
import { input, output, param, alarm, Severity, R_TRIG } from "millwright";

const temperature = input("filler/temperature");
const running = input("filler/running");
const runCommand = output("filler/run_command", 0); // safe: stopped
const limit = param("limit", 80, 0, 200);
const overTemperature = alarm("over-temperature", Severity.CRITICAL, "Filler over temperature: stopped by rule", 5, 2000, true);
const restarted = new R_TRIG();

export function tick(): void {
  // A value that is not good holds the alarm as it is: rules never act on frozen values.
  const active = temperature.good ? overTemperature.above(temperature.value, limit.value) : overTemperature.hold();
  const restart = restarted.update(running.on);
  if (overTemperature.raised || (active && restart)) runCommand.write(0);
}
