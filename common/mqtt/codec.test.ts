import { generate, type Packet } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { FrameDecoder, encodePacket, readFrameHeader, topicFilterProblem, topicNameProblem, withDupFlag } from './codec.ts';

const packets: Packet[] = [
  { cmd: 'connack', sessionPresent: true, returnCode: 0 },
  { cmd: 'publish', topic: 'millwright/v1/s1/g1/ack', payload: Buffer.from('{"v":1,"ackedSeq":"42"}'), qos: 1, dup: false, retain: false, messageId: 7 },
  { cmd: 'puback', messageId: 65_535 },
  { cmd: 'suback', messageId: 3, granted: [1] },
  { cmd: 'pingresp' },
];

function stream(): Buffer {
  return Buffer.concat(packets.map((packet) => generate(packet, { protocolVersion: 4 })));
}

describe('FrameDecoder', () => {
  it('decodes the same packets whether bytes arrive at once or one at a time', () => {
    const whole = new FrameDecoder(4, 1024).push(stream());
    expect(whole.ok).toBe(true);
    const bytes = stream();
    const decoder = new FrameDecoder(4, 1024);
    const single: Packet[] = [];
    for (let index = 0; index < bytes.length; index++) {
      const outcome = decoder.push(bytes.subarray(index, index + 1));
      expect(outcome.ok).toBe(true);
      single.push(...outcome.packets);
    }
    expect(single.map((packet) => packet.cmd)).toEqual(['connack', 'publish', 'puback', 'suback', 'pingresp']);
    expect(single).toEqual(whole.packets);
    expect(decoder.bufferedBytes).toBe(0);
    const publish = single[1];
    expect(publish?.cmd === 'publish' && publish.payload.toString()).toBe('{"v":1,"ackedSeq":"42"}');
  });

  it('refuses a frame larger than packetBytesMax from its header, before buffering the body', () => {
    const decoder = new FrameDecoder(4, 1024);
    // PUBLISH announcing 200 MB: 0x30, remaining length 200_000_000 as a variable byte integer.
    const outcome = decoder.push(Buffer.from([0x30, 0x80, 0x84, 0xaf, 0x5f]));
    expect(outcome.ok).toBe(false);
    expect(!outcome.ok && outcome.error).toMatch(/exceeds packetBytesMax 1024/);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('refuses a remaining length longer than four bytes', () => {
    expect(readFrameHeader(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]), 1 << 30)).toEqual({ kind: 'error', error: 'remaining length is longer than four bytes' });
    expect(readFrameHeader(Buffer.from([0x30, 0xff]), 1 << 30)).toEqual({ kind: 'incomplete' });
  });

  it('keeps the packets decoded before garbage and stays failed after it', () => {
    const decoder = new FrameDecoder(4, 1024);
    const good = generate({ cmd: 'pingresp' }, { protocolVersion: 4 });
    const outcome = decoder.push(Buffer.concat([good, Buffer.from([0xff, 0x00])]));
    expect(outcome.ok).toBe(false);
    expect(outcome.packets.map((packet) => packet.cmd)).toEqual(['pingresp']);
    expect(decoder.push(good).ok).toBe(false);
  });

  it('decodes MQTT 5 packets with properties', () => {
    const connack: Packet = { cmd: 'connack', sessionPresent: false, reasonCode: 0, properties: { receiveMaximum: 20, maximumPacketSize: 4096 } };
    const outcome = new FrameDecoder(5, 1024).push(generate(connack, { protocolVersion: 5 }));
    expect(outcome.ok && outcome.packets[0]).toMatchObject({ cmd: 'connack', properties: { receiveMaximum: 20, maximumPacketSize: 4096 } });
  });
});

describe('encoding', () => {
  it('sets DUP on a copy of a PUBLISH and leaves the original alone', () => {
    const encoded = encodePacket({ cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 1, dup: false, retain: true, messageId: 9 }, 4);
    expect(encoded.ok).toBe(true);
    if (!encoded.ok) return;
    const dup = withDupFlag(encoded.bytes);
    expect(encoded.bytes[0]).toBe(0x33);
    expect(dup[0]).toBe(0x3b);
    const decoded = new FrameDecoder(4, 1024).push(dup);
    expect(decoded.ok && decoded.packets[0]).toMatchObject({ cmd: 'publish', dup: true, retain: true, qos: 1, messageId: 9 });
  });

  it('returns a value instead of throwing when mqtt-packet cannot encode', () => {
    const outcome = encodePacket({ cmd: 'publish', topic: 't', payload: Buffer.alloc(0), qos: 1, dup: false, retain: false }, 4);
    expect(outcome).toEqual({ ok: false, error: 'Invalid messageId' });
  });
});

describe('topic checks', () => {
  it('refuses wildcards, empty and NUL topic names', () => {
    expect(topicNameProblem('millwright/v1/s/g/data')).toBeUndefined();
    expect(topicNameProblem('a/+/b')).toMatch(/wildcard/);
    expect(topicNameProblem('a/#')).toMatch(/wildcard/);
    expect(topicNameProblem('')).toMatch(/empty/);
    expect(topicNameProblem('a\u0000b')).toMatch(/U\+0000/);
  });

  it('accepts whole-level wildcards in filters and refuses the rest', () => {
    for (const filter of ['a/b', 'a/+/c', '+', '#', 'a/#', '+/+/#']) expect(topicFilterProblem(filter)).toBeUndefined();
    for (const filter of ['a/#/c', 'a#', 'a/b+', '', '#/a']) expect(topicFilterProblem(filter)).toBeDefined();
  });
});

describe('readFrameHeader', () => {
  it('refuses a stream that is not MQTT from its first byte', () => {
    expect(readFrameHeader(Buffer.from('HTTP/1.1 400 Bad Request\r\n'), 1024)).toEqual({ kind: 'error', error: 'invalid flags 0x8 for packet type 4' });
    expect(readFrameHeader(Buffer.from([0x00]), 1024)).toEqual({ kind: 'error', error: 'packet type 0 is reserved' });
    expect(readFrameHeader(Buffer.from([0x36, 0x00]), 1024)).toMatchObject({ kind: 'error' }); // PUBLISH with QoS 3
    expect(readFrameHeader(Buffer.from([0x62, 0x02]), 1024)).toEqual({ kind: 'frame', frameBytes: 4 }); // PUBREL carries flags 2
  });
});
