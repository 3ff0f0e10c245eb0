// The OPC UA driver against a real node-opcua server in this process (opcua-fixtures/): values
// and qualities through the sink, deadbands, writes and refusals, both security setups, the
// certificate trust workflow, and a server restart on the same port. One client certificate is
// made for the whole file; every test closes what it opens and the temp dir goes at the end.
import { cpSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StatusCodes } from 'node-opcua';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { SimulatedClock, systemClock } from '../../common/clock.ts';
import { createLogger } from '../../common/log.ts';
import type { Quality } from '../../common/point.ts';
import { seededRandom } from '../../common/random.ts';
import { DevicePoller } from '../device-poller.ts';
import type { TagSink } from './driver.ts';
import { OpcUaDriver, type OpcUaDriverOptions } from './opcua.ts';
import type { OpcUaDeviceConfig, OpcUaTagConfig } from './opcua-config.ts';
import { startTestServer, testNodeId, testUser, type OpcUaTestServer, type TestVariable } from './opcua-fixtures/test-server.ts';

interface Sample {
  readonly value: number | undefined;
  readonly quality: Quality;
  readonly tsMs: number;
}

/** Keeps every write and quality mark per tag, like the tag table would see them. */
class RecordingSink implements TagSink {
  readonly history: Sample[][] = [];
  write(index: number, value: number, quality: Quality, sourceTsMs: number): void {
    (this.history[index] ??= []).push({ value, quality, tsMs: sourceTsMs });
  }
  markQuality(index: number, quality: Quality, sourceTsMs: number): void {
    const previous = this.latest(index);
    (this.history[index] ??= []).push({ value: previous?.value, quality, tsMs: sourceTsMs });
  }
  latest(index: number): Sample | undefined {
    return this.history[index]?.at(-1);
  }
  values(index: number): (number | undefined)[] {
    return (this.history[index] ?? []).map((sample) => sample.value);
  }
}

async function eventually(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const pause = (durationMs: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, durationMs));

let tempDir: string;
let server: OpcUaTestServer;
const logLines: string[] = [];
const logger = createLogger({ component: 'opcua-test', clock: systemClock, level: 'debug', write: (line) => logLines.push(line) });
const opened: OpcUaDriver[] = [];

function tag(name: string, variable: TestVariable, type: 'number' | 'boolean', extra: Partial<OpcUaTagConfig> = {}): OpcUaTagConfig {
  return { name, nodeId: testNodeId(variable), type, ...extra };
}

function device(tags: readonly OpcUaTagConfig[], overrides: Partial<OpcUaDeviceConfig> = {}): OpcUaDeviceConfig {
  return {
    id: 'press', driver: 'opcua', endpointUrl: server.endpointUrl, securityMode: 'None', securityPolicy: 'None',
    auth: { type: 'anonymous' }, pkiDir: join(tempDir, 'client-pki'), samplingIntervalMs: 50, publishingIntervalMs: 50,
    timeoutMs: 3000, tags, ...overrides,
  };
}

/** Opens a driver and makes its subscription (the first poll), as the engine would. */
async function start(config: OpcUaDeviceConfig, sink: TagSink, options: OpcUaDriverOptions = { trustUnknownServerCertificate: true }): Promise<OpcUaDriver> {
  const driver = new OpcUaDriver(config, systemClock, logger, options);
  opened.push(driver);
  await driver.open();
  await driver.poll(sink);
  return driver;
}

beforeAll(async () => {
  tempDir = mkdtempSync(join(tmpdir(), 'millwright-opcua-'));
  server = await startTestServer(join(tempDir, 'server-pki'));
  // The client certificate is slow to make: make it once here, for every test of the file.
  const first = new OpcUaDriver(device([tag('temperature', 'Temperature', 'number')]), systemClock, logger, { trustUnknownServerCertificate: true });
  await first.open();
  await first.close();
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((driver) => driver.close()));
});

afterAll(async () => {
  await server?.stop();
  rmSync(tempDir, { recursive: true, force: true });
});

describe('OpcUaDriver', () => {
  it('delivers monitored values anonymously over None with the quality their status code carries', async () => {
    server.set('Temperature', 20);
    server.set('Pressure', 1.5);
    const sink = new RecordingSink();
    const tags = [tag('temperature', 'Temperature', 'number'), tag('running', 'Running', 'boolean'), tag('label', 'Label', 'number'), tag('pressure', 'Pressure', 'number')];
    const driver = await start(device(tags), sink);
    await eventually(() => sink.latest(0)?.value === 20 && sink.latest(1)?.value === 1 && sink.latest(3)?.value === 1.5, 'initial values');
    expect(sink.latest(0)?.quality).toBe('good');
    expect(sink.latest(1)?.quality).toBe('good');

    const beforeMs = Date.now();
    server.set('Temperature', 42.5);
    await eventually(() => sink.latest(0)?.value === 42.5, 'the changed temperature');
    expect(sink.latest(0)).toMatchObject({ quality: 'good' });
    expect(sink.latest(0)!.tsMs).toBeGreaterThanOrEqual(beforeMs - 5);
    expect(sink.latest(0)!.tsMs).toBeLessThanOrEqual(Date.now());

    // A String on a number tag is bad quality and one rate-limited log line, not a crash.
    expect(sink.latest(2)?.quality).toBe('bad');
    server.set('Label', 'still text');
    await pause(200);
    expect(sink.latest(2)?.quality).toBe('bad');
    expect(logLines.filter((line) => line.includes('press/label') && line.includes('expected a number, got String'))).toHaveLength(1);

    server.set('Pressure', 1.7, StatusCodes.UncertainLastUsableValue);
    await eventually(() => sink.latest(3)?.quality === 'uncertain', 'uncertain pressure');
    expect(sink.latest(3)?.value).toBe(1.7);
    server.set('Pressure', 0, StatusCodes.BadSensorFailure);
    await eventually(() => sink.latest(3)?.quality === 'bad', 'bad pressure');
    expect(sink.latest(3)?.value).toBe(1.7);
    server.set('Pressure', 1.8);
    await eventually(() => sink.latest(3)?.value === 1.8 && sink.latest(3)?.quality === 'good', 'good pressure again');

    await driver.poll(sink);
    expect(driver.health()).toMatchObject({ connected: true, polls: 2, pollFailures: 0, consecutiveFailures: 0 });
  });

  it('connects with a username over SignAndEncrypt/Basic256Sha256 and refuses a wrong password with a coded error', async () => {
    server.set('Temperature', 30);
    const sink = new RecordingSink();
    const secure = { securityMode: 'SignAndEncrypt', securityPolicy: 'Basic256Sha256' } as const;
    const config = device([tag('temperature', 'Temperature', 'number')], { ...secure, auth: { type: 'username', ...testUser } });
    await start(config, sink);
    await eventually(() => sink.latest(0)?.value === 30, 'the value over the encrypted channel');
    server.set('Temperature', 31);
    await eventually(() => sink.latest(0)?.value === 31, 'a change over the encrypted channel');
    expect(readdirSync(join(tempDir, 'client-pki', 'own', 'certs'))).toContain('client_certificate.pem');

    const wrong = new OpcUaDriver({ ...config, auth: { type: 'username', username: testUser.username, password: 'wrong' } }, systemClock, logger, { trustUnknownServerCertificate: true });
    opened.push(wrong);
    await expect(wrong.open()).rejects.toMatchObject({ code: 'EDGE_OPCUA_SECURITY_REJECTED' });
    expect(wrong.health()).toMatchObject({ connected: false, lastErrorCode: 'EDGE_OPCUA_SECURITY_REJECTED' });
  });

  it('refuses an unknown server certificate until an operator moves it from rejected/ to trusted/', async () => {
    // Same gateway identity (own/), but a trust list that does not know the server yet.
    const pkiDir = join(tempDir, 'strict-pki');
    cpSync(join(tempDir, 'client-pki', 'own'), join(pkiDir, 'own'), { recursive: true });
    const config = device([tag('temperature', 'Temperature', 'number')], { securityMode: 'SignAndEncrypt', securityPolicy: 'Basic256Sha256', pkiDir });
    const driver = new OpcUaDriver(config, systemClock, logger);
    opened.push(driver);
    await expect(driver.open()).rejects.toMatchObject({ code: 'EDGE_OPCUA_SECURITY_REJECTED' });
    const rejected = readdirSync(join(pkiDir, 'rejected'));
    expect(rejected).toHaveLength(1);
    renameSync(join(pkiDir, 'rejected', rejected[0]!), join(pkiDir, 'trusted', 'certs', rejected[0]!));
    await driver.open();
    expect(driver.health().connected).toBe(true);
  });

  it('lets the server suppress changes smaller than an absolute or percent deadband', async () => {
    server.set('Temperature', 20);
    const sink = new RecordingSink();
    const tags = [
      tag('absolute', 'Temperature', 'number', { deadband: { type: 'absolute', value: 5 } }),
      // 10 % of the node's EURange 0..100: 10 units.
      tag('percent', 'Temperature', 'number', { deadband: { type: 'percent', value: 10 } }),
      tag('every', 'Temperature', 'number'),
    ];
    await start(device(tags), sink);
    await eventually(() => [0, 1, 2].every((index) => sink.latest(index)?.value === 20), 'initial values');
    server.set('Temperature', 22);
    await eventually(() => sink.latest(2)?.value === 22, 'the undamped tag to see 22');
    await pause(250); // several sampling intervals: the damped items have sampled 22 too
    server.set('Temperature', 26);
    await eventually(() => sink.latest(0)?.value === 26, 'the absolute tag to see 26');
    await pause(250);
    server.set('Temperature', 32);
    await eventually(() => sink.latest(1)?.value === 32, 'the percent tag to see 32');
    await eventually(() => sink.latest(0)?.value === 32, 'the absolute tag to see 32');
    expect(sink.values(0)).toEqual([20, 26, 32]);
    expect(sink.values(1)).toEqual([20, 32]);
    expect(sink.values(2)).toEqual([20, 22, 26, 32]);
  });

  it('writes writable tags with the node data type and refuses the others with coded errors', async () => {
    server.set('Setpoint', 50);
    const sink = new RecordingSink();
    const tags = [
      tag('setpoint', 'Setpoint', 'number', { writable: true }),
      tag('speed', 'Speed', 'number', { writable: true }),
      tag('running', 'Running', 'boolean', { writable: true }),
      tag('temperature', 'Temperature', 'number'),
      // Writable in our config, read-only on the server: the server's refusal must come back coded.
      tag('locked', 'Locked', 'number', { writable: true }),
    ];
    const driver = await start(device(tags), sink);
    await driver.write('setpoint', 73.25);
    expect(server.value('Setpoint')).toBe(73.25);
    await eventually(() => sink.latest(0)?.value === 73.25, 'the written setpoint to come back through the subscription');
    await driver.write('speed', 1234);
    expect(server.value('Speed')).toBe(1234);
    await driver.write('running', false);
    expect(server.value('Running')).toBe(false);
    await driver.write('running', 1);
    expect(server.value('Running')).toBe(true);

    await expect(driver.write('speed', 40_000)).rejects.toMatchObject({ code: 'EDGE_WRITE_OUT_OF_RANGE' });
    await expect(driver.write('speed', 12.5)).rejects.toMatchObject({ code: 'EDGE_WRITE_OUT_OF_RANGE' });
    expect(server.value('Speed')).toBe(1234);
    const temperature = server.value('Temperature');
    await expect(driver.write('temperature', 99)).rejects.toMatchObject({ code: 'EDGE_WRITE_NOT_PERMITTED' });
    expect(server.value('Temperature')).toBe(temperature);
    await expect(driver.write('locked', 1)).rejects.toMatchObject({ code: 'EDGE_WRITE_NOT_PERMITTED', details: { status: 'BadNotWritable' } });
    expect(server.value('Locked')).toBe(7);
    await expect(driver.write('nope', 1)).rejects.toMatchObject({ code: 'EDGE_UNKNOWN_TAG' });
  });

  it('keeps the other tags running when the server refuses some monitored items', async () => {
    server.set('Running', true);
    const sink = new RecordingSink();
    const tags = [
      tag('running', 'Running', 'boolean'),
      tag('missing', 'Running', 'number', { nodeId: 'ns=1;s=NoSuchNode' }),
      // A percent deadband needs an EURange, which Setpoint does not have.
      tag('setpoint', 'Setpoint', 'number', { deadband: { type: 'percent', value: 5 } }),
    ];
    const driver = await start(device(tags), sink);
    await eventually(() => sink.latest(0)?.value === 1, 'the valid tag');
    expect(sink.latest(1)?.quality).toBe('bad');
    expect(sink.latest(2)?.quality).toBe('bad');
    expect(driver.health()).toMatchObject({ connected: true, pollFailures: 0, lastErrorCode: 'EDGE_OPCUA_BAD_STATUS' });
    expect(driver.health().lastError).toMatch(/missing \(ns=1;s=NoSuchNode\): BadNodeIdUnknown.*setpoint/);
  });

  it('fails a poll when neither data nor keep-alives arrive in time, and re-reads unchanged values once they do', async () => {
    server.set('Setpoint', 12);
    const clock = new SimulatedClock(Date.now());
    const sink = new RecordingSink();
    const driver = new OpcUaDriver(device([tag('setpoint', 'Setpoint', 'number')]), clock, logger, { trustUnknownServerCertificate: true });
    opened.push(driver);
    await driver.open();
    await driver.poll(sink);
    await eventually(() => sink.latest(0)?.value === 12 && sink.latest(0)?.quality === 'good', 'the initial value');
    // The gateway clock says a minute passed without a publish response: the values are suspect.
    clock.advanceMs(60_000);
    await expect(driver.poll(sink)).rejects.toMatchObject({ code: 'EDGE_DEVICE_TIMEOUT' });
    expect(sink.latest(0)?.quality).toBe('bad');
    expect(driver.health()).toMatchObject({ consecutiveFailures: 1, lastErrorCode: 'EDGE_DEVICE_TIMEOUT' });
    // The next keep-alive (about a second) proves the subscription alive; the poll re-reads the value.
    const deadline = Date.now() + 10_000;
    for (;;) {
      await pause(100);
      try {
        await driver.poll(sink);
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
      }
    }
    expect(sink.latest(0)).toMatchObject({ value: 12, quality: 'good' });
    expect(driver.health().consecutiveFailures).toBe(0);
  });

  it('fails fast with a coded error and bad tags when nothing listens at the endpoint', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const address = probe.address();
        probe.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
      });
    });
    const sink = new RecordingSink();
    const driver = new OpcUaDriver(device([tag('temperature', 'Temperature', 'number')], { endpointUrl: `opc.tcp://127.0.0.1:${port}` }), systemClock, logger);
    opened.push(driver);
    const startedMs = Date.now();
    await expect(driver.open()).rejects.toMatchObject({ code: 'EDGE_DEVICE_UNREACHABLE' });
    expect(Date.now() - startedMs).toBeLessThan(3000);
    await expect(driver.poll(sink)).rejects.toMatchObject({ code: 'EDGE_DEVICE_UNREACHABLE' });
    expect(sink.latest(0)?.quality).toBe('bad');
    expect(driver.health()).toMatchObject({ connected: false, polls: 1, pollFailures: 1 });
  });

  // Last: it replaces the file's server with a restarted one.
  it('marks tags bad while the server is down and gets values flowing again after it restarts on the same port', async () => {
    server.set('Temperature', 21);
    const sink = new RecordingSink();
    const driver = new OpcUaDriver(device([tag('temperature', 'Temperature', 'number'), tag('running', 'Running', 'boolean')]), systemClock, logger, { trustUnknownServerCertificate: true });
    const opens = vi.spyOn(driver, 'open');
    const poller = new DevicePoller({ driver, sink, clock: systemClock, random: seededRandom(7), logger, backoffMinMs: 100, backoffMaxMs: 1000 });
    poller.start();
    try {
      await eventually(() => sink.latest(0)?.value === 21 && sink.latest(0)?.quality === 'good', 'values before the restart');
      const quitter = await start(device([tag('temperature', 'Temperature', 'number')]), new RecordingSink());
      const port = server.port;
      await server.stop();
      await eventually(() => sink.latest(0)?.quality === 'bad' && sink.latest(1)?.quality === 'bad', 'tags bad after the shutdown');
      expect(driver.health().connected).toBe(false);
      await pause(1500);
      expect(driver.health().pollFailures).toBeGreaterThan(0);
      // Closing in the middle of node-opcua's repair returns promptly and leaves nothing running.
      const closeStartedMs = Date.now();
      await quitter.close();
      expect(Date.now() - closeStartedMs).toBeLessThan(1000);

      server = await startTestServer(join(tempDir, 'server-pki'), port);
      server.set('Temperature', 55);
      await eventually(() => sink.latest(0)?.value === 55 && sink.latest(0)?.quality === 'good', 'values from the restarted server', 20_000);
      await eventually(() => sink.latest(1)?.quality === 'good', 'the unchanged boolean to be good again');
      expect(driver.health().connected).toBe(true);
      server.set('Temperature', 56);
      await eventually(() => sink.latest(0)?.value === 56, 'changes after the restart');
      await eventually(() => driver.health().consecutiveFailures === 0, 'a healthy poll');
      // node-opcua repaired the connection itself: the engine never had to reopen the driver.
      expect(opens).toHaveBeenCalledTimes(1);
      expect(poller.reconnects).toBe(0);
    } finally {
      await poller.stop();
    }
  });
});
