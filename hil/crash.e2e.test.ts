// The zero-loss promise under crashes: a gateway polling a simulated plant is killed with SIGKILL
// at random moments, and so is the hub (which takes its embedded broker down with it), many times
// under load. Afterwards the hub's DuckDB must hold every sequence the gateway ever made durable
// exactly once (less ranges the gateway declared lost to its overflow policy). Seeded: the seed
// is printed with every failure; MILLWRIGHT_CRASH_SEED replays one.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { seededRandom } from '../common/random.ts';
import { demoProfilePath } from './demo-site.ts';
import { plantConfigFrom } from './plant-config.ts';
import { startPlant, type RunningPlant } from './plant.ts';
import { startChild, type SupervisedChild } from './supervisor.ts';

const seed = Number(process.env['MILLWRIGHT_CRASH_SEED'] ?? 20261125);
const folder = mkdtempSync(join(tmpdir(), 'mw-crash-'));
const children = new Set<SupervisedChild>();
let plant: RunningPlant | undefined;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const quiet = (): void => undefined;

async function start(name: string, args: string[], readyEvent: string): Promise<SupervisedChild> {
  const child = await startChild({ name, args, readyEvent, log: quiet });
  children.add(child);
  void child.exited.then(() => children.delete(child));
  return child;
}

async function kill(child: SupervisedChild): Promise<void> {
  child.process.kill('SIGKILL');
  await child.exited;
}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  return (await response.json()) as T;
}

type GatewayStats = { forwarder: { ackedSeq: string; durableSeq: string; backlogRecords: string; liveQueued: number }; log: { durableSeq: string } };

describe('crash safety of store and forward', () => {
  afterAll(async () => {
    for (const child of children) child.process.kill('SIGKILL');
    await plant?.close();
    rmSync(folder, { recursive: true, force: true });
  });

  it(`stores every durable sequence exactly once across SIGKILLs of gateway and hub (seed ${seed})`, async () => {
    const random = seededRandom(seed);
    plant = await startPlant(plantConfigFrom({ seed, stepMs: 20, profile: demoProfilePath, lines: [{ id: 'line1', machines: [{ id: 'filler' }, { id: 'capper' }, { id: 'packer' }] }] }));
    const brokerPort = await freePort();
    const httpPort = await freePort();
    const apiPort = await freePort();
    const hubPath = join(folder, 'hub.yaml');
    writeFileSync(hubPath, stringify({ site: 'crash-site', dataDir: 'hub', broker: { host: '127.0.0.1', port: brokerPort }, http: { host: '127.0.0.1', port: httpPort }, ingest: { flushIntervalMs: 50 } }));
    const gatewayPath = join(folder, 'gateway.yaml');
    writeFileSync(
      gatewayPath,
      stringify({
        gateway: { id: 'line1-gw', site: 'crash-site', area: 'line1' },
        dataDir: 'gateway',
        scan: { tickMs: 5 },
        uplink: { host: '127.0.0.1', port: brokerPort, publishIntervalMs: 20, reconnectMinMs: 50, reconnectMaxMs: 300, ackTimeoutMs: 2000, healthIntervalMs: 3_600_000 },
        api: { port: apiPort },
        devices: plant.machines.map((machine) => ({ id: machine.machine, driver: 'modbus-tcp', host: machine.host, port: machine.port, unitId: machine.unitId, profile: demoProfilePath, pollIntervalMs: 10 })),
      }),
    );
    let hub = await start('hub', ['hub', '--config', hubPath], 'hub-ready');
    let gateway = await start('gateway', ['gateway', '--config', gatewayPath], 'gateway-ready');

    const rounds = 8;
    for (let round = 0; round < rounds; round++) {
      await sleep(random.int(300, 1500));
      if (random.next() < 0.6) {
        await kill(gateway);
        await sleep(random.int(0, 400));
        gateway = await start('gateway', ['gateway', '--config', gatewayPath], 'gateway-ready');
      } else {
        await kill(hub);
        await sleep(random.int(100, 1200)); // the gateway keeps logging while the broker is gone
        hub = await start('hub', ['hub', '--config', hubPath], 'hub-ready');
      }
    }

    // Quiesce: stop the plant so no new samples arrive, then wait until the hub has acked all
    // that the gateway made durable and nothing more is coming.
    await plant.close();
    plant = undefined;
    let stats: GatewayStats | undefined;
    let stableSince = Date.now();
    let lastDurable = '';
    const deadline = Date.now() + 60_000;
    for (;;) {
      stats = await getJson<GatewayStats>(`http://127.0.0.1:${apiPort}/api/stats`).catch(() => undefined);
      if (stats !== undefined && stats.log.durableSeq !== lastDurable) {
        lastDurable = stats.log.durableSeq;
        stableSince = Date.now();
      }
      if (stats !== undefined && stats.forwarder.ackedSeq === stats.log.durableSeq && Date.now() - stableSince > 12_000) break;
      if (Date.now() > deadline) throw new Error(`seed ${seed}: the hub never caught up: ${JSON.stringify(stats)}`);
      await sleep(250);
    }
    await gateway.stop();
    await hub.stop();

    const durable = BigInt(stats!.log.durableSeq);
    const instance = await DuckDBInstance.create(join(folder, 'hub', 'hub.duckdb'));
    const connection = await instance.connect();
    try {
      const rows = (await connection.runAndReadAll("SELECT count(*)::BIGINT AS n, count(DISTINCT seq)::BIGINT AS d, min(seq)::BIGINT AS lo, max(seq)::BIGINT AS hi FROM points WHERE gateway = 'line1-gw'")).getRowObjects()[0]!;
      const lost = (await connection.runAndReadAll("SELECT coalesce(sum(last_seq - first_seq + 1), 0)::BIGINT AS n FROM lost_ranges WHERE gateway = 'line1-gw'").catch(() => undefined))?.getRowObjects()[0]?.['n'] ?? 0n;
      const message = `seed ${seed}: durable ${durable}, stored ${rows['n']} (${rows['d']} distinct, ${rows['lo']}..${rows['hi']}), lost ${lost}`;
      console.info(message);
      expect(rows['n'], message).toBe(rows['d']); // nothing twice
      expect(rows['lo'], message).toBe(1n);
      expect(rows['hi'], message).toBe(durable);
      expect((rows['d'] as bigint) + (lost as bigint), message).toBe(durable); // nothing missing
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  }, 180_000);
});
