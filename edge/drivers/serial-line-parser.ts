// Turns the byte stream of a line-oriented instrument into tag values: the bounded splitter cuts
// lines, each line is checked against its encoding, matched against the configured patterns in
// order (first match wins), and the named groups are converted per tag and written to a sink.
// Pure apart from the sink: no port, no timers; the time of arrival is passed in.
//
// What is noise and what is bad (quality), and why:
// - a line that matches no pattern, carries bytes outside its encoding (or NUL), or is too long
//   is counted and reported, and no tag changes quality. Such a line names no tag, and a serial
//   line carries noise that says nothing about the reading: power-up banners, the tail of a line
//   cut when the port opened mid-stream, a burst of interference. The last good weight is still
//   the last good weight; a device that only sends noise goes uncertain through staleness.
// - a matched line whose group for a tag does not convert (`+OL.--- kg` on overload) marks that
//   tag bad: the device did report this tag, and what it reported is not a value, so the previous
//   reading is no longer current. The other tags of that line are still written.
// - a group that did not take part in the match (an optional group) leaves its tag untouched.
// - empty lines are skipped silently: many instruments send them between records.
import type { TagSink } from './driver.ts';
import type { CompiledPattern, CompiledSerialLine, SerialLineDelimiter, TagBinding } from './serial-line-config.ts';
import { LineSplitter } from './serial-line-splitter.ts';

export type LineNoise = 'unmatched' | 'garbage' | 'overlong' | 'unparsable';

export interface LineCounters {
  bytesReceived: number;
  linesMatched: number;
  linesUnmatched: number;
  linesGarbage: number;
  linesOverlong: number;
  valuesUnparsable: number;
}

export interface ParserOptions {
  readonly delimiter: SerialLineDelimiter;
  readonly lineBytesMax: number;
  readonly encoding: 'ascii' | 'latin1';
  /** Told about every noisy line, with a short escaped sample, for a rate-limited log line. */
  readonly onNoise?: (kind: LineNoise, sample: string) => void;
}

/** Sign, optional spaces (scales pad `+  12.5`), digits with an optional fraction, optional exponent. */
const decimal = /^([+-]?) *(\d+(?:\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const booleanWords: ReadonlyMap<string, boolean> = new Map([['1', true], ['0', false], ['true', true], ['false', false], ['on', true], ['off', false]]);
const sampleCharsMax = 48;

export function parseDecimal(text: string): number | undefined {
  const match = decimal.exec(text.trim());
  if (match === null) return undefined;
  const value = Number(`${match[1]}${match[2]}${match[3] ?? ''}`);
  return Number.isFinite(value) ? value : undefined;
}

export class SerialLineParser {
  readonly counters: LineCounters = { bytesReceived: 0, linesMatched: 0, linesUnmatched: 0, linesGarbage: 0, linesOverlong: 0, valuesUnparsable: 0 };
  readonly #patterns: readonly CompiledPattern[];
  readonly #tagNames: readonly string[];
  readonly #splitter: LineSplitter;
  readonly #options: ParserOptions;

  constructor(compiled: CompiledSerialLine, options: ParserOptions) {
    this.#patterns = compiled.patterns;
    this.#tagNames = compiled.tags.map((tag) => tag.name);
    this.#splitter = new LineSplitter(options.delimiter, options.lineBytesMax);
    this.#options = options;
  }

  push(chunk: Uint8Array, nowMs: number, sink: TagSink): void {
    this.counters.bytesReceived += chunk.length;
    this.#splitter.push(chunk, {
      line: (bytes) => this.#line(bytes, nowMs, sink),
      overlong: () => {
        this.counters.linesOverlong++;
        this.#noise('overlong', `longer than ${this.#options.lineBytesMax} bytes`);
      },
    });
  }

  /** Forgets a partial line, e.g. after the port was reopened: its two halves are not one line. */
  reset(): void {
    this.#splitter.reset();
  }

  #line(bytes: Buffer, nowMs: number, sink: TagSink): void {
    if (bytes.length === 0) return;
    const text = bytes.toString('latin1');
    if (!this.#encodable(bytes)) {
      this.counters.linesGarbage++;
      this.#noise('garbage', text);
      return;
    }
    for (const pattern of this.#patterns) {
      const match = pattern.regex.exec(text);
      if (match === null) continue;
      this.counters.linesMatched++;
      for (const binding of pattern.bindings) this.#apply(binding, match.groups?.[binding.group], nowMs, sink);
      return;
    }
    this.counters.linesUnmatched++;
    this.#noise('unmatched', text);
  }

  #encodable(bytes: Buffer): boolean {
    const highest = this.#options.encoding === 'ascii' ? 0x7f : 0xff;
    for (const byte of bytes) if (byte === 0 || byte > highest) return false;
    return true;
  }

  #apply(binding: TagBinding, text: string | undefined, nowMs: number, sink: TagSink): void {
    if (text === undefined) return;
    const value = binding.type === 'number' ? this.#number(binding, text) : this.#boolean(binding, text);
    if (value === undefined) {
      this.counters.valuesUnparsable++;
      this.#noise('unparsable', `${this.#tagNames[binding.tagIndex]}=${text}`);
      sink.markQuality(binding.tagIndex, 'bad', nowMs);
      return;
    }
    sink.write(binding.tagIndex, value, 'good', nowMs);
  }

  #number(binding: TagBinding, text: string): number | undefined {
    const raw = parseDecimal(text);
    if (raw === undefined) return undefined;
    const value = raw * binding.scale + binding.offset;
    return Number.isFinite(value) ? value : undefined;
  }

  #boolean(binding: TagBinding, text: string): number | undefined {
    if (binding.equals !== undefined) return text === binding.equals ? 1 : 0;
    const word = booleanWords.get(text.trim().toLowerCase());
    return word === undefined ? undefined : word ? 1 : 0;
  }

  #noise(kind: LineNoise, sample: string): void {
    const short = sample.length > sampleCharsMax ? `${sample.slice(0, sampleCharsMax)}...` : sample;
    this.#options.onNoise?.(kind, JSON.stringify(short));
  }
}
