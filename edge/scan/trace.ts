// Record and replay of the scan. A trace holds the scan's configuration (tags, alarms) and, per
// tick, its clock reading and every collected input; the live run also records its outputs. The
// scan core is a pure function of that trace, so replaying it reproduces the outputs byte for
// byte. Format (little-endian): "MWTRACE1", u32 header length, header JSON, then records:
//   1 tick    u32 tick, f64 nowMs
//   2 input   u32 tag, u8 quality, f64 value, f64 ts
//   3 point   u32 tag, u8 quality, f64 value, f64 ts      (recorded output)
//   4 write   u32 tag, f64 value                          (recorded output)
//   5 alarm   u32 alarm, u8 active, f64 value, u8 severity (recorded output)
//   6 rules   u32 length, JSON RecordedSwap                (a bundle swapped in before the next tick)
// The writer fills fixed chunks and hands each full chunk on: nothing is allocated per tick.
import { MillwrightError } from '../../common/errors.ts';
import { qualityFromCode } from '../../common/point.ts';
import { edgeErrors } from '../errors.ts';
import type { AlarmDefinition } from './alarms.ts';
import type { SerializedRulePlan } from '../rules/rule-plan.ts';
import type { ScanOutputs } from './scan-core.ts';
import type { RecordedSwap } from './scan-program.ts';

export const traceMagic = 'MWTRACE1';

export interface TraceHeader {
  readonly version: 1;
  readonly gateway: string;
  readonly tickMs: number;
  readonly publishInputs: boolean;
  readonly staleUncertainMs?: number;
  readonly staleBadMs?: number;
  /** `aged: false` exempts a tag from staleness (drivers that deliver changes only). */
  readonly tags: readonly { readonly tag: string; readonly kind: 'number' | 'boolean'; readonly aged?: boolean }[];
  /** Room in the tag table for the tags of rules swapped in later (default: tags.length). */
  readonly tagCapacity?: number;
  readonly alarms: readonly AlarmDefinition[];
  /** Compiled rules bound to the tags above (module bytes in base64); their alarms follow `alarms`. */
  readonly rules?: SerializedRulePlan;
  readonly ruleAlarms?: readonly RuleAlarmDefinition[];
}

/** A rule's alarm as the scan numbers it: after the built-in alarms, in rule plan order. */
export interface RuleAlarmDefinition {
  readonly id: string;
  readonly rule: string;
  readonly severity: number;
  readonly message: string;
}

/** The id of alarm `index`, built-in or rule, for printing. */
export function alarmIdOf(header: TraceHeader, index: number): string | undefined {
  return index < header.alarms.length ? header.alarms[index]?.id : header.ruleAlarms?.[index - header.alarms.length]?.id;
}

const recordBytesMax = 22;

export class TraceWriter implements ScanOutputs {
  readonly #chunkBytes: number;
  readonly #flushChunk: (chunk: Uint8Array) => void;
  #buffer: ArrayBuffer;
  #view: DataView;
  #offset = 0;

  constructor(header: TraceHeader, flushChunk: (chunk: Uint8Array) => void, chunkBytes = 1 << 20) {
    this.#chunkBytes = chunkBytes;
    this.#flushChunk = flushChunk;
    const json = Buffer.from(JSON.stringify(header));
    const start = Buffer.alloc(12 + json.length);
    start.write(traceMagic, 0, 'latin1');
    start.writeUInt32LE(json.length, 8);
    json.copy(start, 12);
    flushChunk(start);
    this.#buffer = new ArrayBuffer(chunkBytes);
    this.#view = new DataView(this.#buffer);
  }

  tick(tick: number, nowMs: number): void {
    this.#room();
    this.#view.setUint8(this.#offset, 1);
    this.#view.setUint32(this.#offset + 1, tick, true);
    this.#view.setFloat64(this.#offset + 5, nowMs, true);
    this.#offset += 13;
  }

  input(index: number, value: number, quality: number, tsMs: number): void {
    this.#sample(2, index, value, quality, tsMs);
  }

  point(_tick: number, index: number, value: number, quality: number, tsMs: number): void {
    this.#sample(3, index, value, quality, tsMs);
  }

  write(_tick: number, index: number, value: number): void {
    this.#room();
    this.#view.setUint8(this.#offset, 4);
    this.#view.setUint32(this.#offset + 1, index, true);
    this.#view.setFloat64(this.#offset + 5, value, true);
    this.#offset += 13;
  }

  alarm(_tick: number, index: number, active: boolean, value: number, severity: number): void {
    this.#room();
    const view = this.#view;
    view.setUint8(this.#offset, 5);
    view.setUint32(this.#offset + 1, index, true);
    view.setUint8(this.#offset + 5, active ? 1 : 0);
    view.setFloat64(this.#offset + 6, value, true);
    view.setUint8(this.#offset + 14, severity);
    this.#offset += 15;
  }

  /** A rule swap, before the tick it takes effect in (rare: allocates). */
  swap(recorded: RecordedSwap): void {
    const json = Buffer.from(JSON.stringify(recorded));
    const start = Buffer.alloc(5);
    start.writeUInt8(6, 0);
    start.writeUInt32LE(json.length, 1);
    this.flush();
    this.#flushChunk(Buffer.concat([start, json]));
  }

  /** Hands on what is buffered (at stop, or periodically so a crash loses little). */
  flush(): void {
    if (this.#offset === 0) return;
    this.#flushChunk(new Uint8Array(this.#buffer, 0, this.#offset));
    this.#buffer = new ArrayBuffer(this.#chunkBytes);
    this.#view = new DataView(this.#buffer);
    this.#offset = 0;
  }

  #sample(kind: number, index: number, value: number, quality: number, tsMs: number): void {
    this.#room();
    const view = this.#view;
    view.setUint8(this.#offset, kind);
    view.setUint32(this.#offset + 1, index, true);
    view.setUint8(this.#offset + 5, quality);
    view.setFloat64(this.#offset + 6, value, true);
    view.setFloat64(this.#offset + 14, tsMs, true);
    this.#offset += 22;
  }

  #room(): void {
    if (this.#offset + recordBytesMax > this.#chunkBytes) this.flush();
  }
}

export type TraceRecord =
  | { kind: 'tick'; tick: number; nowMs: number }
  | { kind: 'input' | 'point'; index: number; quality: number; value: number; tsMs: number }
  | { kind: 'write'; index: number; value: number }
  | { kind: 'alarm'; index: number; active: boolean; value: number; severity: number }
  | { kind: 'rules'; swap: RecordedSwap };

function traceError(message: string): MillwrightError {
  return new MillwrightError(edgeErrors.traceInvalid, message);
}

export function readTraceHeader(bytes: Buffer): { header: TraceHeader; bodyOffset: number } {
  if (bytes.length < 12 || bytes.toString('latin1', 0, 8) !== traceMagic) throw traceError('not a millwright scan trace (bad magic)');
  const length = bytes.readUInt32LE(8);
  if (12 + length > bytes.length) throw traceError('trace header is truncated');
  let header: TraceHeader;
  try {
    header = JSON.parse(bytes.toString('utf8', 12, 12 + length)) as TraceHeader;
  } catch {
    throw traceError('trace header is not valid JSON');
  }
  if (header.version !== 1 || !Array.isArray(header.tags) || !Array.isArray(header.alarms)) throw traceError('unsupported trace header');
  return { header, bodyOffset: 12 + length };
}

/** Iterates the records after the header. A truncated last record (a crash mid-write) ends the trace. */
export function* traceRecords(bytes: Buffer, offset: number): Generator<TraceRecord> {
  let at = offset;
  while (at < bytes.length) {
    const kind = bytes.readUInt8(at);
    if (kind === 6) {
      if (at + 5 > bytes.length) return;
      const length = bytes.readUInt32LE(at + 1);
      if (at + 5 + length > bytes.length) return;
      let swap: RecordedSwap;
      try {
        swap = JSON.parse(bytes.toString('utf8', at + 5, at + 5 + length)) as RecordedSwap;
      } catch {
        throw traceError(`rule swap record at byte ${at} is not valid JSON`);
      }
      yield { kind: 'rules', swap };
      at += 5 + length;
      continue;
    }
    const size = kind === 1 || kind === 4 ? 13 : kind === 5 ? 15 : kind === 2 || kind === 3 ? 22 : -1;
    if (size < 0) throw traceError(`unknown trace record kind ${kind} at byte ${at}`);
    if (at + size > bytes.length) return;
    if (kind === 1) yield { kind: 'tick', tick: bytes.readUInt32LE(at + 1), nowMs: bytes.readDoubleLE(at + 5) };
    else if (kind === 2 || kind === 3) yield { kind: kind === 2 ? 'input' : 'point', index: bytes.readUInt32LE(at + 1), quality: bytes.readUInt8(at + 5), value: bytes.readDoubleLE(at + 6), tsMs: bytes.readDoubleLE(at + 14) };
    else if (kind === 4) yield { kind: 'write', index: bytes.readUInt32LE(at + 1), value: bytes.readDoubleLE(at + 5) };
    else yield { kind: 'alarm', index: bytes.readUInt32LE(at + 1), active: bytes.readUInt8(at + 5) === 1, value: bytes.readDoubleLE(at + 6), severity: bytes.readUInt8(at + 14) };
    at += size;
  }
}

/** ScanOutputs that prints one stable line per output: what replay prints and tests compare. */
export class OutputPrinter implements ScanOutputs {
  /** Replaced when a rule swap renames the rules' tags and alarms. */
  #header: TraceHeader;
  readonly #emit: (line: string) => void;

  constructor(header: TraceHeader, emit: (line: string) => void) {
    this.#header = header;
    this.#emit = emit;
  }

  set header(header: TraceHeader) {
    this.#header = header;
  }

  point(tick: number, index: number, value: number, quality: number, tsMs: number): void {
    const tag = this.#header.tags[index];
    const shown = tag?.kind === 'boolean' ? String(value !== 0) : Object.is(value, -0) ? '-0' : String(value);
    this.#emit(`tick ${tick} point ${tag?.tag ?? `#${index}`} ${shown} ${qualityFromCode(quality) ?? quality} ${tsMs}`);
  }

  write(tick: number, index: number, value: number): void {
    this.#emit(`tick ${tick} write ${this.#header.tags[index]?.tag ?? `#${index}`} ${value}`);
  }

  alarm(tick: number, index: number, active: boolean, value: number, severity: number): void {
    this.#emit(`tick ${tick} alarm ${alarmIdOf(this.#header, index) ?? `#${index}`} ${active ? 'raise' : 'clear'} ${value} severity=${severity}`);
  }
}
