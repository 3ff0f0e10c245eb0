// Safety interlock chain on a filler -> capper -> packer line: when a machine downstream is down
// (faulted, stopped, or its state is unknown) for longer than the stop delay, the machine feeding
// it is stopped, so parts do not pile up; the stop then propagates upstream the same way. While an
// interlock is tripped, a restart of the stopped machine is stopped again at once. The trip
// resets by itself when the downstream machine runs again.
import { input, output, param, alarm, Severity, Input, Output, Alarm, TON, SR, R_TRIG, ticks } from "millwright";

const fillerRunning = input("filler/running");
const capperRunning = input("capper/running");
const capperFaulted = input("capper/faulted");
const packerRunning = input("packer/running");
const packerFaulted = input("packer/faulted");
const capperRun = output("capper/run_command", 0);
const fillerRun = output("filler/run_command", 0);
const stopDelayMs = param("stop-delay-ms", 3000, 0, 60000);

class Interlock {
  timer: TON = new TON(0);
  trip: SR = new SR();
  restart: R_TRIG = new R_TRIG();
  constructor(public alarm: Alarm, public upstreamRun: Output, public upstreamRunning: Input) {}

  update(downstreamDown: bool, delayTicks: i32): void {
    this.timer.pt = delayTicks;
    // Set when the downstream machine has been down for the delay, reset when it runs again.
    const tripped = this.trip.update(this.timer.update(downstreamDown), !downstreamDown);
    this.alarm.when(tripped);
    const restarted = this.restart.update(this.upstreamRunning.on);
    if (this.alarm.raised || (tripped && restarted)) this.upstreamRun.write(0);
  }
}

const packerStopsCapper = new Interlock(alarm("packer-down-capper-stopped", Severity.HIGH, "Packer down: capper stopped by interlock"), capperRun, capperRunning);
const capperStopsFiller = new Interlock(alarm("capper-down-filler-stopped", Severity.HIGH, "Capper down: filler stopped by interlock"), fillerRun, fillerRunning);

/** Fail safe: a machine whose state is not known for sure counts as down. */
function down(running: Input, faulted: Input): bool {
  return !running.good || !faulted.good || faulted.on || !running.on;
}

export function tick(): void {
  const delay = ticks(stopDelayMs.value);
  packerStopsCapper.update(down(packerRunning, packerFaulted), delay);
  capperStopsFiller.update(down(capperRunning, capperFaulted), delay);
}
