// The serial-line driver on a socat pty pair: the test plays the instrument on one end (a
// SerialPort writing lines), the driver reads the other, with a real serial byte stream between.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../common/clock.ts';
import { MillwrightError } from '../../common/errors.ts';
import { createLogger } from '../../common/log.ts';
import { startPtyPair, type PtyPair } from './fixtures/pty-pair.ts';
import { recordingSink } from './fixtures/recording-sink.ts';
import type { SerialLineDeviceConfig } from './serial-line-config.ts';
import { SerialLineDriver } from './serial-line.ts';

const WEIGHT = 0;
const STABLE = 1;

interface Instrument {
  send(data: string | Buffer): Promise<void>;
  close(): Promise<void>;
}

/** The instrument's end of the cable: bytes written here arrive at the driver's end. */
async function openInstrument(path: string): Promise<Instrument> {
  const port = new SerialPort({ path, baudRate: 9600, autoOpen: false });
  port.on('error', () => undefined); // the pair may vanish under it on purpose
  await new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(error) : resolve())));
  return {
    send: (data) => new Promise<void>((resolve, reject) => port.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data, (error) => (error ? reject(error) : port.drain(() => resolve())))),
    close: () => new Promise<void>((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve())),
  };
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function rejection(promise: Promise<unknown>): Promise<MillwrightError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(MillwrightError);
  return error as MillwrightError;
}

function scaleConfig(path: string, overrides: Partial<SerialLineDeviceConfig> = {}): SerialLineDeviceConfig {
  return {
    id: 'scale-1',
    driver: 'serial-line',
    path,
    baudRate: 9600,
    parity: 'none',
    dataBits: 8,
    stopBits: 1,
    delimiter: '\r\n',
    lineBytesMax: 64,
    encoding: 'ascii',
    staleAfterMs: 5000,
    pollIntervalMs: 100,
    patterns: [
      {
        regex: '^(?<status>ST|US),GS,(?<weight>[+-]\\d+\\.\\d+) kg$',
        tags: [
          { name: 'weight', group: 'weight', type: 'number' },
          { name: 'stable', group: 'status', type: 'boolean', equals: 'ST' },
        ],
      },
    ],
    ...overrides,
  };
}

function harness(pair: PtyPair, overrides: Partial<SerialLineDeviceConfig> = {}) {
  const logLines: string[] = [];
  const logger = createLogger({ component: 'test', clock: systemClock, write: (line) => void logLines.push(line) });
  const driver = new SerialLineDriver(scaleConfig(pair.devicePath, overrides), systemClock, logger);
  return { driver, logLines, sink: recordingSink() };
}

describe('SerialLineDriver on a pty pair', () => {
  let dir: string;
  let pair: PtyPair;
  let instrument: Instrument;
  const drivers: SerialLineDriver[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'millwright-serial-line-'));
    pair = await startPtyPair(dir);
    instrument = await openInstrument(pair.peerPath);
  });
  afterEach(async () => {
    for (const driver of drivers.splice(0)) await driver.close();
  });
  afterAll(async () => {
    await instrument?.close();
    await pair?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function started(overrides: Partial<SerialLineDeviceConfig> = {}) {
    const test = harness(pair, overrides);
    drivers.push(test.driver);
    await test.driver.open();
    await test.driver.poll(test.sink);
    return test;
  }

  it('turns each line into tag values as it arrives, without waiting for a poll', async () => {
    const { driver, sink } = await started();
    await instrument.send('ST,GS,+0012.34 kg\r\n');
    await expect.poll(() => sink.values).toEqual([12.34, 1]);
    expect(sink.qualities).toEqual(['good', 'good']);
    await instrument.send('US,GS,-0000.20 kg\r\n');
    await expect.poll(() => sink.values).toEqual([-0.2, 0]);
    expect(driver.health()).toMatchObject({ connected: true, linesMatched: 2, linesUnmatched: 0 });
  });

  it('reassembles a line split across writes, delimiter included', async () => {
    const { driver, sink } = await started();
    for (const part of ['ST,GS,+00', '07.5', '0 kg\r', '\n']) {
      await instrument.send(part);
      await pause(30); // separate reads on the driver's end
    }
    await expect.poll(() => sink.values[WEIGHT]).toBe(7.5);
    expect(driver.health()).toMatchObject({ linesMatched: 1, linesUnmatched: 0, linesGarbage: 0 });
  });

  it('counts garbage bytes and an overlong line, keeps the last good weight, and parses the next valid line', async () => {
    const { driver, sink, logLines } = await started();
    await instrument.send('ST,GS,+0001.00 kg\r\n');
    await expect.poll(() => sink.values[WEIGHT]).toBe(1);
    await instrument.send(Buffer.from([0xff, 0xfe, 0x00, 0x81, 0x0d, 0x0a, 0xc3, 0x28, 0x0d, 0x0a]));
    await instrument.send(`${'X'.repeat(500)}\r\n`);
    await instrument.send('no scale here\r\n');
    await expect.poll(() => driver.health()).toMatchObject({ linesGarbage: 2, linesOverlong: 1, linesUnmatched: 1 });
    expect(sink.values[WEIGHT]).toBe(1);
    expect(sink.qualities[WEIGHT]).toBe('good');
    await instrument.send('ST,GS,+0002.00 kg\r\n');
    await expect.poll(() => sink.values[WEIGHT]).toBe(2);
    // Two garbage lines, one log line: repeated noise is rate limited per kind.
    expect(logLines.filter((line) => line.includes('outside its encoding'))).toHaveLength(1);
    expect(logLines.filter((line) => line.includes('longer than lineBytesMax'))).toHaveLength(1);
  });

  it('refuses every write: the instrument is read-only', async () => {
    const { driver } = await started();
    expect((await rejection(driver.write('weight', 1))).code).toBe('EDGE_WRITE_NOT_PERMITTED');
    expect((await rejection(driver.write('tare', 1))).code).toBe('EDGE_UNKNOWN_TAG');
  });

  it('reports a tag not refreshed for staleAfterMs as uncertain, and good again on the next line', async () => {
    const { driver, sink } = await started({ staleAfterMs: 200 });
    await instrument.send('ST,GS,+0005.00 kg\r\n');
    await expect.poll(() => sink.qualities[WEIGHT]).toBe('good');
    await pause(250);
    await driver.poll(sink);
    expect(sink.qualities).toEqual(['uncertain', 'uncertain']);
    expect(sink.values[WEIGHT]).toBe(5);
    await instrument.send('US,GS,+0005.10 kg\r\n');
    await expect.poll(() => sink.qualities).toEqual(['good', 'good']);
  });
});

describe('SerialLineDriver when the port goes away', () => {
  it('reports the lost port, throws a coded error from poll, and reopens on poll once the port is back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'millwright-serial-line-unplug-'));
    const pair = await startPtyPair(dir);
    let instrument = await openInstrument(pair.peerPath);
    const { driver, sink } = harness(pair);
    try {
      await driver.open();
      await driver.poll(sink);
      await instrument.send('ST,GS,+0003.00 kg\r\n');
      await expect.poll(() => sink.values[WEIGHT]).toBe(3);

      await instrument.close();
      await pair.stop(); // the cable is pulled: both pty ends go away
      await expect.poll(() => driver.health().connected).toBe(false);
      expect(sink.qualities).toEqual(['bad', 'bad']);
      const error = await rejection(driver.poll(sink));
      expect(error.code).toBe('EDGE_DEVICE_UNREACHABLE');
      expect(error.message).toContain(pair.devicePath);
      expect(driver.health()).toMatchObject({ connected: false, pollFailures: 1, consecutiveFailures: 1, lastErrorCode: 'EDGE_DEVICE_UNREACHABLE' });

      await pair.start(); // plugged back: same paths, new ptys
      instrument = await openInstrument(pair.peerPath);
      await driver.poll(sink);
      expect(driver.health()).toMatchObject({ connected: true, reopens: 1, consecutiveFailures: 0 });
      await instrument.send('ST,GS,+0004.00 kg\r\n');
      await expect.poll(() => sink.values[WEIGHT]).toBe(4);
      expect(sink.qualities[STABLE]).toBe('good');
    } finally {
      await driver.close();
      await instrument.close();
      await pair.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
