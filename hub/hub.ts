// The hub process: wires store, ingest, the broker link (embedded aedes, or a client of an
// external broker) and the API, and owns the start and stop order. Start opens nothing before the
// inputs check out and closes what it opened if a later step fails; close stops intake, commits
// and acks what is queued, then closes the broker link, servers and the database.
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { systemClock, type Clock } from '../common/clock.ts';
import { MillwrightError, commonErrors } from '../common/errors.ts';
import { createLogger, type Logger } from '../common/log.ts';
import { seededRandom, type RandomSource } from '../common/random.ts';
import { buildHubApi } from './api.ts';
import { startBroker } from './broker.ts';
import type { BrokerCounters, BrokerInbox, BrokerLink } from './broker-link.ts';
import { connectExternalBroker } from './external-broker.ts';
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
  /** Jitter of the external broker client's reconnects; seeded from the clock when absent. */
  readonly random?: RandomSource;
}

export interface RunningHub {
  readonly site: string;
  readonly brokerPort: number;
  readonly httpPort: number;
  /** The dashboard and API base URL, always ending in '/'. */
  readonly url: string;
  readonly ingest: Ingest;
  readonly broker: { counters(): BrokerCounters };
  /** Idempotent; resolves when everything is closed. */
  close(): Promise<void>;
}

export async function startHub(config: HubConfig, options: HubOptions = {}): Promise<RunningHub> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger({ component: 'hub', clock });
  if (config.uiDir !== undefined) await requireDirectory(config.uiDir);
  const brokerPassword = readBrokerPassword(config);
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
    const ackVia: { broker?: BrokerLink } = {};
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
    const inbox: BrokerInbox = {
      onData: (topic, payload) => void ingest.offerData(topic, payload),
      onState: (topic, payload) => void ingest.offerState(topic, payload),
    };
    const random = options.random ?? seededRandom(clock.nowMs() % 2 ** 31);
    const runningBroker = await openBrokerLink(config, brokerPassword, inbox, clock, random, logger.child('broker'));
    ackVia.broker = runningBroker;
    closers.push(() => runningBroker.close());
    const api = buildHubApi({ site: config.site, clock, ingest, store, live, broker: runningBroker, uiDir: config.uiDir, logger: logger.child('api') });
    closers.push(() => api.close());
    await api.listen({ host: config.http.host, port: config.http.port }).catch((error: unknown) => {
      throw hubError(hubErrors.listenFailed, `http cannot listen on ${config.http.host}:${config.http.port}: ${(error as Error).message}`, {}, error);
    });
    const httpPort = (api.server.address() as AddressInfo).port;
    ingest.start();
    const mqtt = `${config.broker.mode ?? 'embedded'} ${config.broker.host}:${runningBroker.port}`;
    logger.info('ready', { site: config.site, mqtt, http: baseUrl(config.http.host, httpPort) });

    let closing: Promise<void> | undefined;
    return {
      site: config.site,
      brokerPort: runningBroker.port,
      httpPort,
      url: baseUrl(config.http.host, httpPort),
      ingest,
      broker: runningBroker,
      close() {
        closing ??= (async () => {
          runningBroker.stopAccepting();
          // Commits and acks what is queued while gateways are still connected; what the hub no longer
          // takes is never acked, so the gateway sends it again to the next hub.
          await ingest.close();
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

/** The external broker password from the environment variable the config names, checked before anything opens. */
function readBrokerPassword(config: HubConfig): string | undefined {
  const broker = config.broker;
  if (broker.mode !== 'external' || broker.passwordEnv === undefined) return undefined;
  const password = process.env[broker.passwordEnv];
  if (password === undefined) throw new MillwrightError(commonErrors.configInvalid, `broker.passwordEnv: environment variable ${broker.passwordEnv} is not set`, { field: 'broker.passwordEnv' });
  return password;
}

function openBrokerLink(config: HubConfig, password: string | undefined, inbox: BrokerInbox, clock: Clock, random: RandomSource, logger: Logger): Promise<BrokerLink> {
  const broker = config.broker;
  if (broker.mode !== 'external') return startBroker({ host: broker.host, port: broker.port, ...inbox, logger });
  return connectExternalBroker({ config: broker, site: config.site, password, ...inbox, clock, random, logger });
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
