import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from '../common/clock.ts';
import { createLogger } from '../common/log.ts';
import { gatewayClientId, publishRefusal, startBroker, type RunningBroker } from './broker.ts';

const quiet = createLogger({ component: 'broker', clock: new SimulatedClock(), write: () => undefined });
let broker: RunningBroker | undefined;
afterEach(async () => {
  await broker?.close();
  broker = undefined;
});

describe('embedded broker topic authorization', () => {
  it('lets a gateway publish only on its own data and state topics, and no client publish acks', () => {
    const own = { id: gatewayClientId('site-a', 'gw-1') };
    expect(publishRefusal(own, 'millwright/v1/site-a/gw-1/data')).toBeUndefined();
    expect(publishRefusal(own, 'millwright/v1/site-a/gw-1/state')).toBeUndefined();
    expect(publishRefusal(own, 'millwright/v1/site-a/gw-2/data')).toMatch(/only client id 'millwright-site-a-gw-2'/);
    expect(publishRefusal(own, 'millwright/v1/site-b/gw-1/state')).toMatch(/only client id/);
    expect(publishRefusal(own, 'millwright/v1/site-a/gw-1/ack')).toBe('only the hub publishes acks');
    expect(publishRefusal(own, '$SYS/broker/load')).toMatch(/reserved/);
    expect(publishRefusal(own, 'plant/other/topic')).toBeUndefined();
    expect(publishRefusal(null, 'millwright/v1/site-a/gw-1/ack')).toBeUndefined(); // the hub itself
  });

  it('counts malformed MQTT bytes as client errors, drops the connection and keeps serving', async () => {
    broker = await startBroker({ host: '127.0.0.1', port: 0, onData: () => undefined, onState: () => undefined, logger: quiet });
    const port = broker.port;
    for (const garbage of [Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x7f]), Buffer.from('GET / HTTP/1.1\r\n\r\n')]) {
      await new Promise<void>((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => socket.write(garbage));
        socket.on('close', () => resolve());
        socket.on('error', () => undefined);
      });
    }
    await expect.poll(() => broker?.counters().clientErrors).toBe(2);
    expect(broker.counters()).toMatchObject({ mode: 'embedded', connected: true, refusedPublishes: 0 });
  });
});
