// Driver for line-oriented serial instruments (a scale, a barcode reader): the device talks on its
// own, one text line per reading, and configured patterns turn each line into tag values
// (serial-line-parser.ts). Values are written to the sink as their line arrives, not on poll();
// poll() only checks that the port is open, reopens it if it closed (a cable pulled and plugged
// back), and turns tags that stopped being refreshed uncertain. A failed reopen marks every tag
// bad and throws EDGE_DEVICE_UNREACHABLE, like any other unreachable device. A port that closes
// under us marks every tag bad at once. Noise on the line (unmatched, garbage, overlong lines)
// changes no quality; a value that does not convert marks its own tag bad: serial-line-parser.ts
// says why.
//
// These instruments are read-only here: every write is refused with EDGE_WRITE_NOT_PERMITTED.
// Tags are number or boolean: a barcode's text needs a string tag type, which the tag table
// (Float64Array values) does not have yet; a reader can still feed a boolean via `equals`.
import { SerialPort } from 'serialport';
import type { Clock } from '../../common/clock.ts';
import { MillwrightError } from '../../common/errors.ts';
import type { Logger } from '../../common/log.ts';
import { edgeErrors } from '../errors.ts';
import type { Driver, DriverHealth, DriverTag, TagSink } from './driver.ts';
import { compileSerialLineConfig, type SerialLineDeviceConfig } from './serial-line-config.ts';
import { SerialLineParser, type LineCounters, type LineNoise } from './serial-line-parser.ts';
import { TagState } from './serial-line-tag-state.ts';

export interface SerialLineHealth extends DriverHealth, Readonly<LineCounters> {
  /** Times poll() found the port closed and opened it again. */
  readonly reopens: number;
}

/** One log line per kind of noise per device per interval; the counters keep the full count. */
export const noiseLogIntervalMs = 10_000;

const noiseMessages: Readonly<Record<LineNoise, string>> = {
  unmatched: 'line matches no pattern, ignored',
  garbage: 'line has bytes outside its encoding, discarded',
  overlong: 'line longer than lineBytesMax, discarded',
  unparsable: 'value does not convert, tag marked bad',
};

export class SerialLineDriver implements Driver {
  readonly deliversChangesOnly = true;
  readonly deviceId: string;
  readonly tags: readonly DriverTag[];
  readonly pollIntervalMs: number;
  readonly #config: SerialLineDeviceConfig;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #parser: SerialLineParser;
  readonly #state: TagState;
  #port: SerialPort | undefined;
  #reopens = 0;
  #health = { connected: false, polls: 0, pollFailures: 0, consecutiveFailures: 0, lastError: undefined as string | undefined, lastErrorCode: undefined as string | undefined };

  constructor(config: SerialLineDeviceConfig, clock: Clock, logger: Logger) {
    const compiled = compileSerialLineConfig(config);
    this.deviceId = config.id;
    this.tags = compiled.tags;
    this.pollIntervalMs = config.pollIntervalMs;
    this.#config = config;
    this.#clock = clock;
    this.#logger = logger;
    this.#state = new TagState(compiled.tags.length);
    const { delimiter, lineBytesMax, encoding } = config;
    this.#parser = new SerialLineParser(compiled, { delimiter, lineBytesMax, encoding, onNoise: (kind, sample) => this.#logNoise(kind, sample) });
  }

  async open(): Promise<void> {
    await this.#closePort();
    // Bytes from before a reopen are not the start of the first line after it.
    this.#parser.reset();
    const { path, baudRate, parity, dataBits, stopBits } = this.#config;
    let port: SerialPort;
    try {
      port = new SerialPort({ path, baudRate, parity, dataBits, stopBits, autoOpen: false });
      port.on('error', (error: Error) => this.#fail(`serial port ${path}: ${error.message}`));
      await new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(error) : resolve())));
    } catch (error) {
      this.#fail(`cannot open serial port ${path}: ${(error as Error).message}`);
      throw new MillwrightError(edgeErrors.deviceUnreachable, `device ${this.deviceId}: ${this.#health.lastError}`, { path }, error);
    }
    port.on('data', (chunk: Buffer) => this.#parser.push(chunk, this.#clock.nowMs(), this.#state));
    port.on('close', (error: Error | null) => this.#lost(port, error));
    this.#port = port;
    this.#health.connected = true;
  }

  async poll(sink: TagSink): Promise<void> {
    this.#health.polls++;
    this.#state.attach(sink);
    if (this.#port?.isOpen !== true) {
      try {
        await this.open();
      } catch (error) {
        this.#state.markAll('bad', this.#clock.nowMs());
        this.#health.pollFailures++;
        this.#health.consecutiveFailures++;
        throw error;
      }
      this.#reopens++;
      this.#logger.info(`device ${this.deviceId}: serial port ${this.#config.path} open again`);
    }
    this.#state.markStale(this.#clock.nowMs(), this.#config.staleAfterMs);
    this.#health.consecutiveFailures = 0;
  }

  async write(tagName: string, value: number | boolean): Promise<void> {
    if (!this.tags.some((tag) => tag.name === tagName)) throw new MillwrightError(edgeErrors.unknownTag, `device ${this.deviceId} has no tag '${tagName}'`);
    throw new MillwrightError(edgeErrors.writeNotPermitted, `cannot write ${value} to '${this.deviceId}/${tagName}': serial line instruments are read-only`);
  }

  async close(): Promise<void> {
    await this.#closePort();
  }

  health(): SerialLineHealth {
    return { ...this.#health, ...this.#parser.counters, reopens: this.#reopens };
  }

  /** The port closed without us closing it: unplugged, or the device end went away. */
  #lost(port: SerialPort, error: Error | null): void {
    if (port !== this.#port) return;
    this.#health.connected = false;
    this.#fail(`serial port ${this.#config.path} closed: ${error?.message ?? 'closed by the system'}`);
    this.#state.markAll('bad', this.#clock.nowMs());
  }

  async #closePort(): Promise<void> {
    const port = this.#port;
    this.#port = undefined;
    this.#health.connected = false;
    if (port === undefined) return;
    port.removeAllListeners('data');
    port.removeAllListeners('close');
    if (!port.isOpen) return;
    // A close error leaves nothing to undo: the port object is dropped either way.
    await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  #fail(message: string): void {
    this.#health.lastError = message;
    this.#health.lastErrorCode = edgeErrors.deviceUnreachable.code;
  }

  #logNoise(kind: LineNoise, sample: string): void {
    const counters = this.#parser.counters;
    const total = { unmatched: counters.linesUnmatched, garbage: counters.linesGarbage, overlong: counters.linesOverlong, unparsable: counters.valuesUnparsable }[kind];
    this.#logger.rateLimited(`device:${this.deviceId}:serial-${kind}`, noiseLogIntervalMs, 'warn', `device ${this.deviceId}: ${noiseMessages[kind]}`, { device: this.deviceId, sample, total });
  }
}
