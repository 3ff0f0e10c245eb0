// The mosquitto ACL docs/protocol.md gives for external-broker mode, proven against mosquitto:
// gateways authenticate as themselves and may publish only their own data and state, only the
// hub's user may publish acks, and the hub connects with a username and a password from the
// environment. MQTT 5 lets mosquitto refuse with a PUBACK reason code instead of a silent drop.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../common/clock.ts';
import { createLogger } from '../common/log.ts';
import { mosquittoPath } from '../common/mqtt/test-peers.ts';
import { topics } from '../common/wire.ts';
import { encodeBatchV2, type BatchRecord } from '../common/wire-batch.ts';
import { startHub } from './hub.ts';
import { SimGateway } from './test-gateway.ts';
import { launchMosquitto } from './test-brokers.ts';

const site = 'site-a';
const passwdPath = '/usr/bin/mosquitto_passwd';
const unavailable = [mosquittoPath, passwdPath].find((file) => !existsSync(file));
if (unavailable !== undefined) process.stderr.write(`external-acl: skipping: ${unavailable} is not installed (apt-get install mosquitto)\n`);
const quiet = createLogger({ component: 'acl', clock: systemClock, write: () => undefined });
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const aclLines = (siteId: string): string[] => [
  'user hub',
  `topic read millwright/v1/${siteId}/+/data`,
  `topic read millwright/v1/${siteId}/+/state`,
  `topic write millwright/v1/${siteId}/+/ack`,
  '',
  `pattern write millwright/v1/${siteId}/%u/data`,
  `pattern write millwright/v1/${siteId}/%u/state`,
  `pattern read millwright/v1/${siteId}/%u/ack`,
  '',
];

const records: BatchRecord[] = Array.from({ length: 5 }, (_, index) => ({ kind: 'point', tag: 'line1/press1/temperature', ts: 1_767_225_600_000 + index, value: index, quality: 'good' }));

async function gateway(port: number, id: string, options: { clientId?: string; username?: string } = {}): Promise<SimGateway> {
  const clientId = options.clientId === undefined ? {} : { clientId: options.clientId };
  const sim = new SimGateway({ site, gateway: id, host: '127.0.0.1', port, protocolVersion: 5, username: options.username ?? id, password: `pw-${options.username ?? id}`, logger: quiet, ...clientId });
  cleanups.push(() => sim.close());
  await sim.start();
  return sim;
}

describe('mosquitto ACLs for external-broker mode (docs/protocol.md)', () => {
  it.skipIf(unavailable !== undefined)('lets each gateway publish only as itself and only the hub publish acks', async () => {
    const broker = await launchMosquitto((dir) => {
      const passwords = path.join(dir, 'passwords');
      writeFileSync(passwords, '');
      for (const user of ['hub', 'gw-1', 'gw-2']) execFileSync(passwdPath, ['-b', passwords, user, `pw-${user}`]);
      writeFileSync(path.join(dir, 'acl'), aclLines(site).join('\n'));
      // mosquitto started as root reads these after dropping to its own user.
      for (const file of [dir, passwords, path.join(dir, 'acl')]) chmodSync(file, file === dir ? 0o755 : 0o644);
      return ['allow_anonymous false', `password_file ${passwords}`, `acl_file ${path.join(dir, 'acl')}`];
    });
    cleanups.push(() => broker.dispose());
    const dataDir = await mkdtemp(path.join(tmpdir(), 'hub-acl-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    process.env['MILLWRIGHT_TEST_HUB_PASSWORD'] = 'pw-hub';
    cleanups.push(async () => void delete process.env['MILLWRIGHT_TEST_HUB_PASSWORD']);
    const hub = await startHub(
      {
        site,
        dataDir,
        broker: { mode: 'external', host: '127.0.0.1', port: broker.port, protocolVersion: 5, clientId: 'millwright-hub-site-a', username: 'hub', passwordEnv: 'MILLWRIGHT_TEST_HUB_PASSWORD' },
        http: { host: '127.0.0.1', port: 0 },
        ingest: { batchPointsMax: 1000, flushIntervalMs: 20, queuePointsMax: 10_000 },
      },
      { logger: quiet },
    );
    cleanups.push(() => hub.close());

    const honest = await gateway(broker.port, 'gw-1');
    honest.append(records);
    honest.pump();
    await honest.waitForAck(5n, 10_000);

    const impostor = await gateway(broker.port, 'gw-1', { clientId: 'millwright-site-a-gw-1x', username: 'gw-2' });
    const payload = encodeBatchV2({ site, gateway: 'gw-1', historical: false, firstSeq: 6n, records });
    await expect(impostor.publishRaw(payload)).rejects.toMatchObject({ code: 'MQTT_PUBLISH_REFUSED', details: { reasonCode: 0x87 } });
    await expect(impostor.publishRaw(Buffer.from('{"v":1,"ackedSeq":"999"}'), topics.ack(site, 'gw-1'))).rejects.toMatchObject({ code: 'MQTT_PUBLISH_REFUSED' });
    await hub.ingest.flush();
    expect(hub.ingest.counters()).toMatchObject({ stored: 5, received: 5 });
    expect(honest.ackedSeq).toBe(5n);
  }, 30_000);
});
