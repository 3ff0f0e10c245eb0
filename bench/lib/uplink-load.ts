// The main-thread load of a real gateway, for bench/scan-lateness.bench.ts: an in-process hub
// (embedded aedes broker, DuckDB ingest, API on port 0, a temporary dataDir) fed by the gateway's
// own durable log, forwarder and MqttClient, wired as edge/gateway.ts wires them. Whatever the
// scan delivers goes through the log (group commit), MQTT encode, aedes, batch decode and DuckDB
// appends, all on this process's main
// thread (DuckDB adds threads of its own). close() stops everything and removes the dataDir (so
// does process exit, should the bench die first).
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../common/clock.ts';
import { createLogger } from '../../common/log.ts';
import type { Point } from '../../common/point.ts';
import { seededRandom } from '../../common/random.ts';
import { topics } from '../../common/wire.ts';
import { Forwarder, type ForwarderStats } from '../../edge/forwarder.ts';
import { DurableLog } from '../../edge/log/durable-log.ts';
import { FsStorage } from '../../edge/log/fs-storage.ts';
import { MqttClient } from '../../common/mqtt/mqtt-client.ts';
import { startHub } from '../../hub/hub.ts';
import type { IngestCounters } from '../../hub/ingest.ts';

const site = 'bench';
const gateway = 'gw1';
/** The gateway config's uplink defaults (edge/gateway-config.ts). */
const publishIntervalMs = 100;
const uplinkLimits = { batchRecordsMax: 1000, inflightMax: 32 } as const;

export interface UplinkLoad {
  enqueue(points: Point[]): void;
  stats(): { forwarder: ForwarderStats; ingest: IngestCounters };
  close(): Promise<void>;
}

export async function startUplinkLoad(): Promise<UplinkLoad> {
  const quiet = createLogger({ component: 'bench', clock: systemClock, write: () => undefined });
  const dataDir = await mkdtemp(join(tmpdir(), 'millwright-bench-'));
  // Also when the bench dies of an uncaught error, where finally blocks never run.
  const removeOnExit = (): void => rmSync(dataDir, { recursive: true, force: true });
  process.once('exit', removeOnExit);
  const hub = await startHub(
    { site, dataDir, broker: { host: '127.0.0.1', port: 0 }, http: { host: '127.0.0.1', port: 0 }, ingest: { batchPointsMax: 10_000, flushIntervalMs: 200, queuePointsMax: 200_000 } },
    { logger: quiet },
  );
  const client = new MqttClient({ host: '127.0.0.1', port: hub.brokerPort, clientId: `millwright-${site}-${gateway}`, inflightMax: uplinkLimits.inflightMax, clock: systemClock, random: seededRandom(1), logger: quiet });
  const log = await DurableLog.open({ storage: await FsStorage.open(join(dataDir, 'gateway-log')), gatewayId: gateway, clock: systemClock, logger: quiet });
  const forwarder = new Forwarder({ site, gateway, log, transport: { publish: (topic, payload, options) => client.publish(topic, payload, options), canPublish: () => client.canPublish(), isConnected: () => client.state === 'connected' }, clock: systemClock, logger: quiet, limits: { batchRecordsMax: uplinkLimits.batchRecordsMax } });
  client.onMessage((topic, payload) => {
    if (topic !== topics.ack(site, gateway)) return;
    const ack = JSON.parse(payload.toString('utf8')) as { ackedSeq?: string };
    if (ack.ackedSeq !== undefined) void forwarder.onAck(BigInt(ack.ackedSeq));
  });
  const connected = new Promise<void>((resolve) => client.onEvent((event) => event.type === 'connected' && resolve()));
  client.start();
  await connected;
  await client.subscribe(topics.ack(site, gateway), 1);
  let flushError: unknown;
  const flushing = forwarder.startFlushing(publishIntervalMs, (error: unknown) => void (flushError ??= error));
  return {
    enqueue: (points) => void forwarder.accept(points),
    stats: () => ({ forwarder: forwarder.stats(), ingest: hub.ingest.counters() }),
    async close() {
      await flushing.stop();
      await log.close();
      if (flushError !== undefined) throw flushError;
      await client.close();
      await hub.close();
      await rm(dataDir, { recursive: true, force: true });
      process.off('exit', removeOnExit);
    },
  };
}
