// The main-thread load of a real gateway, for bench/scan-lateness.bench.ts: an in-process hub
// (embedded aedes broker, DuckDB ingest, API on port 0, a temporary dataDir) fed by the gateway's
// own MqttClient and Publisher, wired as edge/gateway.ts wires them. Whatever the scan delivers
// goes through MQTT encode, aedes, JSON decode and DuckDB appends, all on this process's main
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
import { Publisher, type PublisherStats } from '../../edge/publisher.ts';
import { SequenceStore } from '../../edge/sequence-store.ts';
import { MqttClient } from '../../common/mqtt/mqtt-client.ts';
import { startHub } from '../../hub/hub.ts';
import type { IngestCounters } from '../../hub/ingest.ts';

const site = 'bench';
const gateway = 'gw1';
/** The gateway config's uplink defaults (edge/gateway-config.ts). */
const publishIntervalMs = 100;
const uplinkLimits = { queuePointsMax: 200_000, batchPointsMax: 1000, inflightMax: 32 } as const;

export interface UplinkLoad {
  enqueue(points: Point[]): void;
  stats(): { publisher: PublisherStats; ingest: IngestCounters };
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
  const publisher = new Publisher({ site, gateway, sequence: new SequenceStore(join(dataDir, 'gateway')), transport: client, ...uplinkLimits, logger: quiet });
  client.onMessage((topic, payload) => {
    if (topic !== topics.ack(site, gateway)) return;
    const ack = JSON.parse(payload.toString('utf8')) as { ackedSeq?: string };
    if (ack.ackedSeq !== undefined) publisher.onAck(BigInt(ack.ackedSeq));
  });
  const connected = new Promise<void>((resolve) => client.onEvent((event) => event.type === 'connected' && resolve()));
  client.start();
  await connected;
  await client.subscribe(topics.ack(site, gateway), 1);
  const flushTimer = setInterval(() => publisher.flush(), publishIntervalMs);
  return {
    enqueue: (points) => publisher.enqueue(points),
    stats: () => ({ publisher: publisher.stats(), ingest: hub.ingest.counters() }),
    async close() {
      clearInterval(flushTimer);
      await client.close();
      await hub.close();
      await rm(dataDir, { recursive: true, force: true });
      process.off('exit', removeOnExit);
    },
  };
}
