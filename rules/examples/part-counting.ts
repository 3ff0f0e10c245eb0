// Part counting for OEE: counts parts passing the packer's photo-eye and parts the reject gate
// pushes out (each sensor debounced, then R_TRIG -> CTU), and publishes the total, good and reject
// counts the hub's OEE calculation reads, plus the number of completed batches. Counts are
// published only when they change.
import { input, point, param, R_TRIG, CTU, Debounce, Input } from "millwright";

const partSensor = input("packer/part_sensor");
const rejectSensor = input("packer/reject_sensor");
const totalCount = point("packer/oee/total_count");
const goodCount = point("packer/oee/good_count");
const rejectCount = point("packer/oee/reject_count");
const batches = point("packer/oee/batches");
const batchSize = param("batch-size", 100, 1, 1000000);
const debounceTicks = param("debounce-ticks", 2, 1, 1000);

class Counter {
  clean: Debounce = new Debounce(2);
  edge: R_TRIG = new R_TRIG();
  count: CTU = new CTU(i32.MAX_VALUE);
  constructor(public sensor: Input) {}

  /** Counts one part per rising edge of the debounced sensor; a sensor that is not good counts nothing. */
  update(debounce: i32): bool {
    this.clean.ticks = debounce;
    const present = this.clean.update(this.sensor.good && this.sensor.on);
    const before = this.count.cv;
    this.count.update(this.edge.update(present));
    return this.count.cv != before;
  }
}

const parts = new Counter(partSensor);
const rejects = new Counter(rejectSensor);
let batchesDone: i32 = 0;

export function tick(): void {
  const debounce = <i32>debounceTicks.value;
  const partCounted = parts.update(debounce);
  const rejectCounted = rejects.update(debounce);
  if (!partCounted && !rejectCounted) return;
  const total = parts.count.cv;
  const rejected = min(rejects.count.cv, total);
  totalCount.publish(total);
  rejectCount.publish(rejected);
  goodCount.publish(total - rejected);
  const done = total / max(<i32>batchSize.value, 1);
  if (done != batchesDone) {
    batchesDone = done;
    batches.publish(done);
  }
}
