import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isMillwrightError } from '../common/errors.ts';
import { loadHubConfig } from './cli.ts';

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'hub-config-'));
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

async function load(yaml: string): Promise<ReturnType<typeof loadHubConfig>> {
  const file = path.join(directory, 'hub.yaml');
  await writeFile(file, yaml);
  return loadHubConfig(file);
}

async function loadError(yaml: string): Promise<unknown> {
  return load(yaml).then(() => undefined, (error: unknown) => error);
}

describe('hub config', () => {
  it('applies every default and resolves paths against the config folder', async () => {
    expect(await load('site: plant-a\ndataDir: data\nuiDir: ../ui/dist\n')).toEqual({
      site: 'plant-a',
      dataDir: path.join(directory, 'data'),
      broker: { mode: 'embedded', host: '127.0.0.1', port: 1883 },
      http: { host: '127.0.0.1', port: 8080 },
      ingest: { batchPointsMax: 10_000, flushIntervalMs: 200, queuePointsMax: 200_000 },
      uiDir: path.resolve(directory, '../ui/dist'),
    });
  });

  it('keeps absolute paths and explicit values', async () => {
    const config = await load('site: plant-a\ndataDir: /var/lib/hub\nbroker: { host: 0.0.0.0, port: 0 }\ningest: { flushIntervalMs: 50 }\n');
    expect(config.dataDir).toBe('/var/lib/hub');
    expect(config.broker).toEqual({ mode: 'embedded', host: '0.0.0.0', port: 0 });
    expect(config.ingest).toEqual({ batchPointsMax: 10_000, flushIntervalMs: 50, queuePointsMax: 200_000 });
    expect(config.uiDir).toBeUndefined();
  });

  it('connects to an external broker with a fixed client id and MQTT 3.1.1 unless told otherwise', async () => {
    expect((await load('site: plant-a\ndataDir: data\nbroker: { mode: external, host: mqtt.plant-a.local, port: 8883 }\n')).broker).toEqual({
      mode: 'external',
      host: 'mqtt.plant-a.local',
      port: 8883,
      protocolVersion: 4,
      clientId: 'millwright-hub-plant-a',
    });
    const yaml = 'site: plant-a\ndataDir: data\nbroker: { mode: external, port: 1883, protocolVersion: 5, clientId: hub-1, username: hub, passwordEnv: HUB_MQTT_PASSWORD }\n';
    expect((await load(yaml)).broker).toEqual({ mode: 'external', host: '127.0.0.1', port: 1883, protocolVersion: 5, clientId: 'hub-1', username: 'hub', passwordEnv: 'HUB_MQTT_PASSWORD' });
  });

  it.each([
    ['a missing site', 'dataDir: data\n'],
    ['an unknown broker mode', 'site: plant-a\ndataDir: data\nbroker: { mode: cluster }\n'],
    ['a client id for the embedded broker', 'site: plant-a\ndataDir: data\nbroker: { clientId: hub }\n'],
    ['MQTT version 3', 'site: plant-a\ndataDir: data\nbroker: { mode: external, protocolVersion: 3 }\n'],
    ['an external broker on port 0', 'site: plant-a\ndataDir: data\nbroker: { mode: external, port: 0 }\n'],
    ['a password without a username', 'site: plant-a\ndataDir: data\nbroker: { mode: external, passwordEnv: PW }\n'],
    ['a historical share larger than the queue', 'site: plant-a\ndataDir: data\ningest: { queuePointsMax: 10, batchPointsMax: 10, historicalQueuePointsMax: 20 }\n'],
    ['a site that is not an id', 'site: Plant A\ndataDir: data\n'],
    ['an unknown top-level field', 'site: plant-a\ndataDir: data\nextra: 1\n'],
    ['an unknown nested field', 'site: plant-a\ndataDir: data\ningest: { batchSize: 5 }\n'],
    ['a port out of range', 'site: plant-a\ndataDir: data\nhttp: { port: 70000 }\n'],
    ['a zero flush interval', 'site: plant-a\ndataDir: data\ningest: { flushIntervalMs: 0 }\n'],
    ['a queue smaller than a flush', 'site: plant-a\ndataDir: data\ningest: { batchPointsMax: 100, queuePointsMax: 10 }\n'],
  ])('refuses %s with a config error (exit 2) naming the file', async (_name, yaml) => {
    const error = await loadError(yaml);
    expect(isMillwrightError(error) && error.exit).toBe(2);
    expect((error as Error).message).toContain('hub.yaml');
  });
});
