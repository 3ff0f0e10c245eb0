// `millwright hub`: loads the hub config, starts the hub, prints one JSON ready line on stdout for
// orchestrators, and runs until SIGINT/SIGTERM. Human-readable lines go to stderr.
import path from 'node:path';
import { parseCommand, stopSignal, usageError } from '../common/cli.ts';
import { systemClock } from '../common/clock.ts';
import { loadConfigFile } from '../common/config.ts';
import { createLogger } from '../common/log.ts';
import { startHub } from './hub.ts';
import { hubConfigSchema, resolveHubConfig, type HubConfig, type RawHubConfig } from './hub-config.ts';

const spec = {
  name: 'millwright hub',
  summary: 'Runs a site hub: MQTT broker (embedded, or an external one), ingest into DuckDB, site API and dashboard.',
  help: `
options:
  -c, --config FILE   hub config (YAML); relative paths in it resolve against its folder
  -h, --help          show this help

On start the hub prints one JSON line to stdout:
  {"event":"hub-ready","site":"plant-a","brokerPort":1883,"httpPort":8080,"url":"http://127.0.0.1:8080/"}
`,
  options: { config: { type: 'string', short: 'c' } },
} as const;

export interface HubReadyLine {
  readonly event: 'hub-ready';
  readonly site: string;
  readonly brokerPort: number;
  readonly httpPort: number;
  readonly url: string;
}

/** Loads and validates a hub config file; paths come back absolute. Throws CONFIG_* errors (exit 2). */
export function loadHubConfig(filePath: string): HubConfig {
  const raw = loadConfigFile<RawHubConfig>(filePath, hubConfigSchema);
  return resolveHubConfig(raw, path.dirname(path.resolve(filePath)), filePath);
}

/** Returns the exit code; bad usage or config throws a MillwrightError (exit 2) before anything starts. */
export async function run(argv: readonly string[], stop: () => Promise<unknown> = stopSignal): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (parsed === undefined) return 0;
  const configPath = parsed.values.config;
  if (configPath === undefined) throw usageError(`${spec.name}: --config FILE is required\nrun '${spec.name} --help' for usage`);
  const config = loadHubConfig(configPath);
  const logger = createLogger({ component: 'hub', clock: systemClock });
  const hub = await startHub(config, { logger });
  const ready: HubReadyLine = { event: 'hub-ready', site: hub.site, brokerPort: hub.brokerPort, httpPort: hub.httpPort, url: hub.url };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  const signal = await stop();
  logger.info('stopping', { reason: String(signal) });
  await hub.close();
  return 0;
}
