// The gateway as a whole against a Modbus device nobody here wrote (pymodbus): an alarm's local
// action reaches the device with no broker reachable at all, and a recorded run replays to the
// same outputs byte for byte.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfigText } from '../common/config.ts';
import { MillwrightError } from '../common/errors.ts';
import { pymodbusTestProfile, startPymodbusTcp, type PymodbusPeer } from './drivers/fixtures/pymodbus-peer.ts';
import { startGateway } from './gateway.ts';
import { gatewayConfigSchema, type GatewayConfig } from './gateway-config.ts';
import { replayTrace } from './scan/replay.ts';

const folder = mkdtempSync(join(tmpdir(), 'mw-gateway-'));
let peer: PymodbusPeer;
let closedPort: number;

async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function config(extra: Record<string, unknown> = {}): GatewayConfig {
  const document = {
    gateway: { id: 'press-gw', site: 'test-site', area: 'line9' },
    dataDir: join(folder, 'state'),
    scan: { tickMs: 5 },
    uplink: { host: '127.0.0.1', port: closedPort, reconnectMinMs: 50, reconnectMaxMs: 200 },
    devices: [{ id: 'press', driver: 'modbus-tcp', host: '127.0.0.1', port: peer.port, profile: join(folder, 'profile.yaml'), pollIntervalMs: 20 }],
    alarms: [{ id: 'press-hot', tag: 'press/h_float_big', above: 20, hysteresis: 1, onDelayMs: 10, severity: 'critical', actions: [{ write: 'press/c_run', value: false }] }],
    ...extra,
  };
  return parseConfigText<GatewayConfig>(stringify(document), 'gateway.yaml', gatewayConfigSchema);
}

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('gateway', () => {
  beforeAll(async () => {
    writeFileSync(join(folder, 'profile.yaml'), stringify(pymodbusTestProfile));
    peer = await startPymodbusTcp();
    closedPort = await unusedPort();
  });
  afterAll(async () => {
    await peer.server.stop();
    rmSync(folder, { recursive: true, force: true });
  });

  it('stops the machine locally when an alarm raises, with no broker reachable', async () => {
    const gateway = await startGateway(config(), folder);
    try {
      // h_float_big is 21.5 on the device: above 20, so the alarm raises and writes c_run = false.
      await until(() => peer.setLines().includes('SET coil 0 [0]'));
      const stats = gateway.stats() as { uplink: { state: string }; scan: { ticks: number } };
      expect(stats.uplink.state).not.toBe('connected');
      expect(stats.scan.ticks).toBeGreaterThan(0);
    } finally {
      await gateway.close();
    }
  });

  it('records a run that replays byte for byte', async () => {
    const tracePath = join(folder, 'run.trace');
    const gateway = await startGateway(config(), folder, { recordPath: tracePath });
    try {
      await until(() => (gateway.stats() as { scan: { ticks: number } }).scan.ticks > 100);
    } finally {
      await gateway.close();
    }
    const result = replayTrace(readFileSync(tracePath));
    expect(result.recorded.some((line) => line.includes('alarm press-hot raise 21.5'))).toBe(true);
    expect(result.recorded.some((line) => line.includes('write line9/press/c_run 0'))).toBe(true);
    expect(result.replayed.join('\n')).toBe(result.recorded.join('\n'));
  });

  it('refuses an alarm on an unknown tag or an action on a read-only tag before starting', async () => {
    const unknown = config({ alarms: [{ id: 'a', tag: 'press/nope', above: 1 }] });
    await expect(startGateway(unknown, folder)).rejects.toThrow(/tag 'press\/nope' is not a tag of any device/);
    const readOnly = config({ alarms: [{ id: 'a', tag: 'press/h_float_big', above: 1, actions: [{ write: 'press/c_fault', value: true }] }] });
    await expect(startGateway(readOnly, folder)).rejects.toThrow(MillwrightError);
    await expect(startGateway(readOnly, folder)).rejects.toThrow(/'press\/c_fault' is not writable/);
  });
});
