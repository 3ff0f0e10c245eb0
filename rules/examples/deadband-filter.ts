// Report by exception: publishes the filler temperature as a derived point only when it moved
// more than the band since the last report, when its quality changes, and at least once per
// heartbeat, instead of every sample. Cuts uplink traffic for slow signals without losing a
// meaningful change.
import { input, point, param, Deadband, ticks } from "millwright";

const temperature = input("filler/temperature");
const reported = point("filler/temperature_reported");
const band = param("band", 0.5, 0, 1000);
const heartbeatS = param("heartbeat-s", 60, 1, 86400);
const filter = new Deadband(0.5);
let lastQuality: i32 = -1;

export function tick(): void {
  filter.band = band.value;
  filter.heartbeatTicks = ticks(heartbeatS.value * 1000);
  const value = temperature.value;
  const quality = temperature.quality;
  const moved = filter.update(value);
  if (moved || <i32>quality != lastQuality) {
    filter.last = value; // a quality change reports the value too: it becomes the reference
    lastQuality = quality;
    reported.publish(value, quality);
  }
}
