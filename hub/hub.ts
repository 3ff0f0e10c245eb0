// The hub process: wires store, ingest, the embedded broker and the API, and owns the start and
// stop order. Start opens nothing before the inputs check out and closes what it opened if a later
// step fails; close stops intake, commits what is queued, then closes servers and the database.
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { systemClock, type Clock } from '../common/clock.ts';
import { MillwrightError, commonErrors } from '../common/errors.ts';
import { createLogger, type Logger } from '../common/log.ts';
import { buildHubApi } from './api.ts';
import { startBroker, type RunningBroker } from './broker.ts';
import { openDuckDbStore } from './duckdb-store.ts';
import { hubError, hubErrors } from './errors.ts';
import { databaseFileName, type HubConfig } from './hub-config.ts';
import { Ingest } from './ingest.ts';
import { LiveFeed, type LiveFeedLimits } from './live.ts';

export interface HubOptions {
  readonly clock?: Clock;
  /** Human log lines; stderr by default. */
  readonly logger?: Logger;
  readonly live?: Partial<LiveFeedLimits>;
}

export interface RunningHub {
  readonly site: string;
  readonly brokerPort: number;
  readonly httpPort: number;
  /** The dashboard and API base URL, always ending in '/'. */
  readonly url: string;
  readonly ingest: Ingest;
  /** Idempotent; resolves when everything is closed. */
  close(): Promise<void>;
}

export async function startHub(config: HubConfig, options: HubOptions = {}): Promise<RunningHub> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger({ component: 'hub', clock });
  if (config.uiDir !== undefined) await requireDirectory(config.uiDir);
  const closers: (() => Promise<void>)[] = [];
  const closeStarted = async (): Promise<void> => {
    for (const close of closers.reverse()) await close().catch((error: unknown) => logger.error('error while closing after a failed start', { error: (error as Error).message }));
  };
  try {
    await mkdir(config.dataDir, { recursive: true }).catch((error: unknown) => {
      throw hubError(hubErrors.storeFailed, `cannot create dataDir ${config.dataDir}: ${(error as Error).message}`, {}, error);
    });
    const store = await openDuckDbStore(path.join(config.dataDir, databaseFileName));
    closers.push(() => store.close());
    const live = new LiveFeed(options.live);
    // Ingest exists before the broker (the broker delivers into it), so acks go through this slot.
    const ackVia: { broker?: RunningBroker } = {};
    const ingest = new Ingest({
      site: config.site,
      limits: config.ingest,
      store,
      clock,
      initialGateways: await store.loadGateways(),
      publishAck: (site, gateway, ack) => ackVia.broker?.publishAck(site, gateway, ack),
      onFlush: (points) => live.broadcast(points),
      logger: logger.child('ingest'),
    });
    closers.push(() => ingest.close());
    const runningBroker = await startBroker({
      host: config.broker.host,
      port: config.broker.port,
      onData: (topic, payload) => void ingest.offerData(topic, payload),
      onState: (topic, payload) => void ingest.offerState(topic, payload),
      logger: logger.child('broker'),
    });
    ackVia.broker = runningBroker;
    closers.push(() => runningBroker.close());
    const api = buildHubApi({ site: config.site, clock, ingest, store, live, uiDir: config.uiDir, logger: logger.child('api') });
    closers.push(() => api.close());
    await api.listen({ host: config.http.host, port: config.http.port }).catch((error: unknown) => {
      throw hubError(hubErrors.listenFailed, `http cannot listen on ${config.http.host}:${config.http.port}: ${(error as Error).message}`, {}, error);
    });
    const httpPort = (api.server.address() as AddressInfo).port;
    ingest.start();
    logger.info('ready', { site: config.site, mqtt: `${config.broker.host}:${runningBroker.port}`, http: baseUrl(config.http.host, httpPort) });

    let closing: Promise<void> | undefined;
    return {
      site: config.site,
      brokerPort: runningBroker.port,
      httpPort,
      url: baseUrl(config.http.host, httpPort),
      ingest,
      close() {
        closing ??= (async () => {
          runningBroker.stopAccepting();
          await ingest.close(); // commits and acks what is queued while gateways are still connected
          await runningBroker.close();
          await api.close(); // ends live streams first (preClose hook)
          await store.close();
          logger.info('stopped', { site: config.site });
        })();
        return closing;
      },
    };
  } catch (error) {
    await closeStarted();
    throw error;
  }
}

/** The URL a browser on this machine uses: wildcard listen addresses map to loopback. */
export function baseUrl(host: string, port: number): string {
  const reachable = host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}/`;
}

async function requireDirectory(directory: string): Promise<void> {
  const info = await stat(directory).catch(() => undefined);
  if (info === undefined || !info.isDirectory()) {
    throw new MillwrightError(commonErrors.configInvalid, `uiDir ${directory} is not a directory`, { field: 'uiDir', value: directory });
  }
}
