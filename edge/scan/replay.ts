// Replays a scan trace through a fresh scan core and returns what it printed, beside what the
// live run recorded. Equal lists mean the run was a pure function of its recorded inputs.
import { AlarmProgram } from './alarms.ts';
import { notAgedOf, ScanCore } from './scan-core.ts';
import { OutputPrinter, readTraceHeader, traceRecords, type TraceHeader } from './trace.ts';

export interface ReplayResult {
  readonly header: TraceHeader;
  readonly ticks: number;
  readonly replayed: readonly string[];
  readonly recorded: readonly string[];
}

export function replayTrace(bytes: Buffer): ReplayResult {
  const { header, bodyOffset } = readTraceHeader(bytes);
  const replayed: string[] = [];
  const recorded: string[] = [];
  const core = new ScanCore({
    tagCount: header.tags.length,
    program: new AlarmProgram(header.alarms),
    outputs: new OutputPrinter(header, (line) => replayed.push(line)),
    publishInputs: header.publishInputs,
    ...(header.staleUncertainMs !== undefined && { staleUncertainMs: header.staleUncertainMs }),
    ...(header.staleBadMs !== undefined && { staleBadMs: header.staleBadMs }),
    notAged: notAgedOf(header),
  });
  const recordedPrinter = new OutputPrinter(header, (line) => recorded.push(line));
  let open = false;
  let tick = 0;
  let ticks = 0;
  for (const record of traceRecords(bytes, bodyOffset)) {
    switch (record.kind) {
      case 'tick':
        if (open) core.run();
        core.begin(record.tick, record.nowMs);
        tick = record.tick;
        open = true;
        ticks++;
        break;
      case 'input':
        core.input(record.index, record.value, record.quality, record.tsMs);
        break;
      case 'point':
        recordedPrinter.point(tick, record.index, record.value, record.quality, record.tsMs);
        break;
      case 'write':
        recordedPrinter.write(tick, record.index, record.value);
        break;
      case 'alarm':
        recordedPrinter.alarm(tick, record.index, record.active, record.value, record.severity);
        break;
    }
  }
  if (open) core.run();
  return { header, ticks, replayed, recorded };
}
