import type { Packet } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { MillwrightError } from '../errors.ts';
import { FrameDecoder } from './codec.ts';
import { mqttErrors } from './errors.ts';
import { Session } from './session.ts';

function decode(bytes: readonly Buffer[], protocolVersion: 4 | 5 = 4): Packet[] {
  const outcome = new FrameDecoder(protocolVersion, 1 << 20).push(Buffer.concat(bytes));
  if (!outcome.ok) throw new Error(outcome.error);
  return outcome.packets;
}

function session(overrides: Partial<ConstructorParameters<typeof Session>[0]> = {}): Session {
  return new Session({ protocolVersion: 4, inflightMax: 3, subscriptionsMax: 2, packetBytesMax: 1024, ...overrides });
}

function publishOk(target: Session, payload: string, qos: 0 | 1 = 1) {
  const result = target.publish('millwright/v1/s/g/data', payload, qos, false);
  if (!result.ok) throw result.error;
  return result.value;
}

describe('Session', () => {
  it('holds QoS 1 publishes in a bounded window and refuses the next with MQTT_WINDOW_FULL', () => {
    const target = session();
    for (const payload of ['a', 'b', 'c']) publishOk(target, payload);
    expect(publishOk(target, 'qos0', 0).done).toBeUndefined(); // QoS 0 never enters the window
    const refused = target.publish('millwright/v1/s/g/data', 'd', 1, false);
    expect(refused.ok === false && refused.error.code).toBe(mqttErrors.windowFull.code);
    expect(target.inflight).toBe(3);
  });

  it('after CONNACK re-sends un-acknowledged publishes in order with DUP and their ids, then re-subscribes', async () => {
    const target = session();
    const first = [publishOk(target, 'a'), publishOk(target, 'b'), publishOk(target, 'c')];
    const subscribed = target.subscribe('millwright/v1/s/g/ack', 1);
    expect(subscribed.ok).toBe(true);
    expect(target.onPuback(2, 0)).toBe('acked');
    await first[1]!.done;
    target.connectionLost();

    const { packets, resent } = target.resume(undefined);
    expect(resent).toBe(2);
    const decoded = decode(packets);
    expect(decoded.map((packet) => (packet.cmd === 'publish' ? [packet.messageId, packet.dup, packet.payload.toString()] : packet.cmd))).toEqual([
      [1, true, 'a'],
      [3, true, 'c'],
      'subscribe',
    ]);
    // The SUBSCRIBE got a fresh id that skips the two still in flight.
    expect(decoded[2]?.messageId).toBe(4);
  });

  it('never re-sends a birth: its id dies with the connection', () => {
    const target = session();
    const birth = target.birthPacket({ topic: 'millwright/v1/s/g/state', payload: 'online' });
    expect(birth.ok && decode([birth.value])[0]).toMatchObject({ cmd: 'publish', qos: 1, retain: true, messageId: 1 });
    target.connectionLost();
    expect(target.resume(undefined).packets).toEqual([]);
    expect(target.onPuback(1, 0)).toBe('unknown');
  });

  it("adopts an MQTT 5 broker's Receive Maximum and Maximum Packet Size", async () => {
    const target = session({ protocolVersion: 5, inflightMax: 8 });
    const big = publishOk(target, 'x'.repeat(200));
    const small = publishOk(target, 'y');
    const { resent } = target.resume({ receiveMaximum: 2, maximumPacketSize: 100 });
    expect(resent).toBe(1);
    await expect(big.done).rejects.toMatchObject({ code: mqttErrors.packetTooLarge.code });
    expect(target.inflightLimit).toBe(2);
    expect(target.packetBytesLimit).toBe(100);
    const tooLarge = target.publish('t', 'z'.repeat(200), 1, false);
    expect(tooLarge.ok === false && tooLarge.error.code).toBe(mqttErrors.packetTooLarge.code);
    expect(target.onPuback(2, 0x10)).toBe('acked'); // "no matching subscribers" is a success
    await small.done;
  });

  it('rejects a publish the broker refuses with an MQTT 5 reason code', async () => {
    const target = session({ protocolVersion: 5 });
    const { done } = publishOk(target, 'a');
    expect(target.onPuback(1, 0x87)).toBe('refused');
    await expect(done).rejects.toMatchObject({ code: mqttErrors.publishRefused.code, details: { reasonCode: 0x87 } });
    expect(target.inflight).toBe(0);
  });

  it('settles subscriptions at SUBACK and forgets a refused one', async () => {
    const target = session();
    const granted = target.subscribe('a/#', 1);
    const refused = target.subscribe('b/#', 1);
    if (!granted.ok || !refused.ok) throw new Error('subscribe refused');
    const ids = decode([target.subscribePacket(granted.value.subscription), target.subscribePacket(refused.value.subscription)]).map((packet) => packet.messageId!);
    expect(target.onSuback(ids[0]!, [0])).toEqual({ kind: 'granted', filter: 'a/#', qos: 0 });
    expect(target.onSuback(ids[1]!, [0x80])).toMatchObject({ kind: 'refused' });
    await expect(granted.value.done).resolves.toBe(0);
    await expect(refused.value.done).rejects.toMatchObject({ code: mqttErrors.subscribeRefused.code });
    expect(target.subscriptionCount).toBe(1);
    expect(target.onSuback(999, [0])).toEqual({ kind: 'unknown-id' });
    const full = [target.subscribe('c/#', 1), target.subscribe('d/#', 1)];
    expect(full[1]?.ok === false && full[1].error.code).toBe(mqttErrors.subscriptionsFull.code);
  });

  it('abandon() rejects every pending publish and subscription and frees the window', async () => {
    const target = session();
    const pending = [publishOk(target, 'a').done, publishOk(target, 'b').done];
    const subscribed = target.subscribe('a/#', 1);
    const closed = () => new MillwrightError(mqttErrors.closed, 'closed');
    expect(target.abandon(closed)).toBe(2);
    for (const done of pending) await expect(done).rejects.toMatchObject({ code: mqttErrors.closed.code });
    await expect(subscribed.ok && subscribed.value.done).rejects.toMatchObject({ code: mqttErrors.closed.code });
    expect(target.inflight).toBe(0);
  });
});
