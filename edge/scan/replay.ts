// Replays a scan trace through a fresh scan core and returns what it printed, beside what the
// live run recorded. Equal lists mean the run was a pure function of its recorded inputs: the
// built-in alarms and the compiled rules of the header run again, and a recorded rule swap swaps
// the same rules in before the same tick.
import { RuleHost } from '../rules/rule-host.ts';
import { notAgedOf, ScanCore } from './scan-core.ts';
import { applyRecordedSwap, buildScanProgram } from './scan-program.ts';
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
  const { program, rules } = buildScanProgram(header);
  const printer = new OutputPrinter(header, (line) => replayed.push(line));
  const core = new ScanCore({
    tagCount: header.tagCapacity ?? header.tags.length,
    program,
    outputs: printer,
    publishInputs: header.publishInputs,
    ...(header.staleUncertainMs !== undefined && { staleUncertainMs: header.staleUncertainMs }),
    ...(header.staleBadMs !== undefined && { staleBadMs: header.staleBadMs }),
    notAged: notAgedOf(header),
  });
  const recordedPrinter = new OutputPrinter(header, (line) => recorded.push(line));
  let current = header;
  let open = false;
  let tick = 0;
  let nowMs = 0;
  let ticks = 0;
  for (const record of traceRecords(bytes, bodyOffset)) {
    switch (record.kind) {
      case 'tick':
        if (open) core.run();
        core.begin(record.tick, record.nowMs);
        tick = record.tick;
        nowMs = record.nowMs;
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
      case 'rules': {
        // The swap happened between ticks: finish the open one under the old rules first.
        if (open) core.run();
        open = false;
        const swapped = applyRecordedSwap(current, record.swap);
        current = swapped.header;
        const host = swapped.plan === null ? undefined : new RuleHost(swapped.plan, rules.host === undefined ? {} : { previous: rules.host });
        rules.host?.retire(printer, tick, nowMs);
        rules.host = host;
        printer.header = current;
        recordedPrinter.header = current;
        break;
      }
    }
  }
  if (open) core.run();
  return { header, ticks, replayed, recorded };
}
