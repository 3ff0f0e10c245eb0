// The zero-loss promise under crashes: a gateway polling a simulated plant is killed with SIGKILL
// at random moments, and so is the hub, many times under load; with an external broker (a process
// of its own) the broker is restarted too, independently of both. Afterwards the hub's DuckDB
// must hold every sequence the gateway ever made durable exactly once (less ranges the gateway
// declared lost to its overflow policy). Seeded: the seed is printed with every failure;
// MILLWRIGHT_CRASH_SEED replays one.
//
// What each broker loses when it goes, and what must survive it:
// - aedes is embedded in the hub: killing the hub kills the broker and everything queued in it.
// - mosquitto runs with `persistence true`. Stopped cleanly (SIGTERM) it saves the hub's persistent
//   session and its queued QoS 1 messages and restores them; SIGKILLed it loses everything since
//   its last autosave (sessions, subscriptions, queued messages). Both happen here, in turn.
// - nats-server keeps MQTT sessions and QoS 1 messages in its JetStream file store, which it writes
//   before it acknowledges, so even a SIGKILLed nats-server restores them: it is killed with SIGKILL.
// Nothing here relies on what a broker keeps: the gateway frees its log only on the hub's ack
// after the DuckDB commit and resends from that ack after every reconnect, so whatever a broker
// loses is sent again, and what it restores twice is dropped as a duplicate by (gateway, seq).
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { freePort, mosquittoPath, waitForPort } from '../common/mqtt/test-peers.ts';
import { seededRandom } from '../common/random.ts';
import { demoProfilePath, plantModbusDevice } from './demo-site.ts';
import { plantConfigFrom } from './plant-config.ts';
import { startPlant, type RunningPlant } from './plant.ts';
import { startChild, type SupervisedChild } from './supervisor.ts';

/** Debian installs it in /usr/sbin, other builds in /usr/bin. */
const natsServerPath = ['/usr/sbin/nats-server', '/usr/bin/nats-server'].find((candidate) => existsSync(candidate)) ?? '/usr/sbin/nats-server';
const seed = Number(process.env['MILLWRIGHT_CRASH_SEED'] ?? 20261125);
const folder = mkdtempSync(join(tmpdir(), 'mw-crash-'));
const children = new Set<SupervisedChild>();
const brokers = new Set<CrashBroker>();
const plants = new Set<RunningPlant>();

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

/** An external broker as a process of its own, killed and restarted on the same port and store. */
interface CrashBroker {
  readonly port: number;
  readonly protocolVersion: 4 | 5;
  start(): Promise<void>;
  kill(signal: 'SIGKILL' | 'SIGTERM'): Promise<void>;
}

function brokerProcess(name: string, command: string, args: string[], port: number, protocolVersion: 4 | 5): CrashBroker {
  let child: ChildProcess | undefined;
  let stderrTail = '';
  const broker: CrashBroker = {
    port,
    protocolVersion,
    async start() {
      const current = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      child = current;
      current.stderr?.on('data', (chunk: Buffer) => void (stderrTail = (stderrTail + chunk.toString('utf8')).slice(-4000)));
      await waitForPort(port, 15_000, () => `${name} exit code ${String(current.exitCode)}; stderr: ${stderrTail}`);
    },
    async kill(signal) {
      const current = child;
      child = undefined;
      if (current === undefined || current.exitCode !== null || current.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => current.once('exit', () => resolve()));
      current.kill(signal);
      await exited;
    },
  };
  brokers.add(broker);
  return broker;
}

/** mosquitto persisting to disk (its directory writable by the user it drops privileges to). */
async function mosquittoBroker(dir: string): Promise<CrashBroker> {
  const port = await freePort();
  const store = join(dir, 'store');
  mkdirSync(store, { recursive: true });
  chmodSync(store, 0o777);
  const config = join(dir, 'mosquitto.conf');
  const lines = [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence true', `persistence_location ${store}/`, 'autosave_interval 30', 'max_queued_messages 100000', 'max_inflight_messages 100'];
  writeFileSync(config, [...lines, 'log_dest stderr', 'log_type error', ''].join('\n'));
  return brokerProcess('mosquitto', mosquittoPath, ['-c', config], port, 5);
}

/** nats-server in MQTT mode (needs a server name and JetStream with a file store). */
async function natsBroker(dir: string): Promise<CrashBroker> {
  const port = await freePort();
  const config = join(dir, 'nats.conf');
  const lines = [`server_name: crash-${port}`, 'listen: "127.0.0.1:-1"', `jetstream { store_dir: "${join(dir, 'jetstream')}" }`, `mqtt { host: "127.0.0.1", port: ${port}, max_ack_pending: 1000 }`];
  writeFileSync(config, [...lines, ''].join('\n'));
  return brokerProcess('nats-server', natsServerPath, ['-c', config], port, 4); // nats 2.9: MQTT 3.1.1 only
}

type Crash = 'gateway' | 'hub' | 'broker';

interface Variant {
  readonly name: string;
  readonly unavailable: string | undefined;
  /** Absent: the hub's embedded broker. */
  readonly broker?: (dir: string) => Promise<CrashBroker>;
  /** How an external broker is stopped before its n-th restart (from 0). */
  readonly brokerKill?: (restart: number) => 'SIGKILL' | 'SIGTERM';
}

/** The crashes of one run, in a seeded order; every kind happens more than once. */
function crashSchedule(variant: Variant, random: ReturnType<typeof seededRandom>): Crash[] {
  const crashes: Crash[] = variant.broker === undefined ? ['gateway', 'gateway', 'gateway', 'gateway', 'gateway', 'hub', 'hub', 'hub'] : ['gateway', 'gateway', 'hub', 'hub', 'broker', 'broker', 'broker'];
  for (let index = crashes.length - 1; index > 0; index--) {
    const other = random.int(0, index);
    [crashes[index], crashes[other]] = [crashes[other]!, crashes[index]!];
  }
  return crashes;
}

const missing = (path: string): string | undefined => (existsSync(path) ? undefined : `${path} is not installed`);

const variants: readonly Variant[] = [
  { name: 'the embedded aedes broker (dies with the hub)', unavailable: undefined },
  { name: 'mosquitto with persistence, stopped by SIGKILL and SIGTERM in turn', unavailable: missing(mosquittoPath), broker: mosquittoBroker, brokerKill: (restart) => (restart % 2 === 0 ? 'SIGKILL' : 'SIGTERM') },
  { name: 'nats-server (JetStream-backed sessions), stopped by SIGKILL', unavailable: missing(natsServerPath), broker: natsBroker, brokerKill: () => 'SIGKILL' },
];

type GatewayStats = { forwarder: { ackedSeq: string; durableSeq: string; backlogRecords: string; liveQueued: number }; log: { durableSeq: string } };

async function crashRun(variant: Variant, index: number): Promise<void> {
  const random = seededRandom(seed + index);
  const dir = join(folder, `run-${index}`);
  mkdirSync(dir);
  const plant = await startPlant(plantConfigFrom({ seed, stepMs: 20, profile: demoProfilePath, lines: [{ id: 'line1', machines: [{ id: 'filler' }, { id: 'capper' }, { id: 'packer' }] }] }));
  plants.add(plant);
  const broker = await variant.broker?.(dir);
  await broker?.start();
  const brokerPort = broker?.port ?? (await freePort());
  const httpPort = await freePort();
  const apiPort = await freePort();
  const hubPath = join(dir, 'hub.yaml');
  const hubBroker =
    broker === undefined
      ? { host: '127.0.0.1', port: brokerPort }
      : { mode: 'external', host: '127.0.0.1', port: brokerPort, protocolVersion: broker.protocolVersion, clientId: 'millwright-hub-crash-site' };
  writeFileSync(hubPath, stringify({ site: 'crash-site', dataDir: 'hub', broker: hubBroker, http: { host: '127.0.0.1', port: httpPort }, ingest: { flushIntervalMs: 50 } }));
  const gatewayPath = join(dir, 'gateway.yaml');
  writeFileSync(
    gatewayPath,
    stringify({
      gateway: { id: 'line1-gw', site: 'crash-site', area: 'line1' },
      dataDir: 'gateway',
      // Inputs go stale soon after the plant stops, so the gateway's log is quiet again quickly.
      scan: { tickMs: 5, staleUncertainMs: 500, staleBadMs: 1500 },
      uplink: { host: '127.0.0.1', port: brokerPort, protocolVersion: broker?.protocolVersion ?? 4, publishIntervalMs: 20, reconnectMinMs: 50, reconnectMaxMs: 300, ackTimeoutMs: 2000, healthIntervalMs: 3_600_000 },
      api: { port: apiPort },
      devices: plant.machines.map((machine) => plantModbusDevice(machine, 10)),
    }),
  );
  const startedMs = Date.now();
  let hub = await start('hub', ['hub', '--config', hubPath], 'hub-ready');
  let gateway = await start('gateway', ['gateway', '--config', gatewayPath], 'gateway-ready');

  const events: string[] = [];
  for (const crash of crashSchedule(variant, random)) {
    await sleep(random.int(300, 1500));
    if (crash === 'gateway') {
      events.push('gateway');
      await kill(gateway);
      await sleep(random.int(0, 400));
      gateway = await start('gateway', ['gateway', '--config', gatewayPath], 'gateway-ready');
    } else if (crash === 'hub' || broker === undefined) {
      events.push('hub');
      await kill(hub);
      await sleep(random.int(100, 1200)); // the gateway keeps logging while the hub (and an embedded broker) is gone
      hub = await start('hub', ['hub', '--config', hubPath], 'hub-ready');
    } else {
      const signal = variant.brokerKill!(events.filter((event) => event.startsWith('broker')).length);
      events.push(`broker ${signal}`);
      await broker.kill(signal);
      await sleep(random.int(100, 1200)); // gateway and hub both lose their connections and retry
      await broker.start();
    }
  }

  // Quiesce: stop the plant so no new samples arrive, then wait until the hub has acked all
  // that the gateway made durable and nothing more is coming.
  const crashedMs = Date.now();
  await plant.close();
  plants.delete(plant);
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
    if (stats !== undefined && stats.forwarder.ackedSeq === stats.log.durableSeq && Date.now() - stableSince > 5_000) break;
    if (Date.now() > deadline) throw new Error(`seed ${seed}, ${variant.name} (${events.join(', ')}): the hub never caught up: ${JSON.stringify(stats)}`);
    await sleep(250);
  }
  const caughtUpMs = Date.now();
  await gateway.stop();
  await hub.stop();
  await broker?.kill('SIGTERM');

  const durable = BigInt(stats!.log.durableSeq);
  const instance = await DuckDBInstance.create(join(dir, 'hub', 'hub.duckdb'));
  const connection = await instance.connect();
  try {
    const rows = (await connection.runAndReadAll("SELECT count(*)::BIGINT AS n, count(DISTINCT seq)::BIGINT AS d, min(seq)::BIGINT AS lo, max(seq)::BIGINT AS hi FROM points WHERE gateway = 'line1-gw'")).getRowObjects()[0]!;
    const lost = (await connection.runAndReadAll("SELECT coalesce(sum(last_seq - first_seq + 1), 0)::BIGINT AS n FROM lost_ranges WHERE gateway = 'line1-gw'").catch(() => undefined))?.getRowObjects()[0]?.['n'] ?? 0n;
    const message = `seed ${seed}, ${variant.name} (${events.join(', ')}): durable ${durable}, stored ${rows['n']} (${rows['d']} distinct, ${rows['lo']}..${rows['hi']}), lost ${lost}; crashes took ${crashedMs - startedMs} ms, catching up ${caughtUpMs - crashedMs} ms`;
    console.info(message);
    expect(rows['n'], message).toBe(rows['d']); // nothing twice
    expect(rows['lo'], message).toBe(1n);
    expect(rows['hi'], message).toBe(durable);
    expect((rows['d'] as bigint) + (lost as bigint), message).toBe(durable); // nothing missing
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

describe('crash safety of store and forward', () => {
  afterAll(async () => {
    for (const child of children) child.process.kill('SIGKILL');
    for (const broker of brokers) await broker.kill('SIGKILL');
    for (const plant of plants) await plant.close();
    rmSync(folder, { recursive: true, force: true });
  });

  for (const [index, variant] of variants.entries()) {
    const title = `stores every durable sequence exactly once across SIGKILLs of gateway and hub, with ${variant.name} (seed ${seed})`;
    it.skipIf(variant.unavailable !== undefined)(variant.unavailable === undefined ? title : `${title}: skipped, ${variant.unavailable}`, () => crashRun(variant, index), 180_000);
  }
});
