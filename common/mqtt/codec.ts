// The uplink's wire format, synchronous and I/O-free: splitting the inbound byte stream into MQTT
// frames under a size limit, decoding each frame with mqtt-packet, encoding outbound packets, and
// checking topic names and filters before they reach the broker.
//
// Why frame here instead of feeding mqtt-packet's parser directly: its parser buffers whatever
// length a header announces (up to 256 MiB), so a broken or hostile broker could make the gateway
// hold an unbounded amount of memory. Reading the fixed header first lets us refuse an oversized
// frame after at most five bytes of it.
import { generate, parser, type Packet, type Parser } from 'mqtt-packet';
import { assert } from '../assert.ts';

export type ProtocolVersion = 4 | 5;

export type DecodeOutcome = { readonly ok: true; readonly packets: Packet[] } | { readonly ok: false; readonly packets: Packet[]; readonly error: string };

type FrameHeader = { kind: 'incomplete' } | { kind: 'frame'; frameBytes: number } | { kind: 'error'; error: string };

const publishType = 3;
const dupFlag = 0x08;

// Flag bits each packet type must carry (MQTT 3.1.1 and 5, table 2.2); PUBLISH's vary. Checking
// them on the first byte refuses a stream that is not MQTT at all (an HTTP server on the wrong
// port, say) at once instead of after waiting for a frame length made of text.
const requiredFlags: readonly (number | undefined)[] = [undefined, 0, 0, undefined, 0, 0, 2, 0, 2, 0, 2, 0, 0, 0, 0, 0];

/** Reads the fixed header (type byte + 1..4 byte remaining length) at the start of `bytes`. */
export function readFrameHeader(bytes: Buffer, packetBytesMax: number): FrameHeader {
  const first = bytes[0];
  if (first === undefined) return { kind: 'incomplete' };
  const type = first >> 4;
  const flags = first & 0x0f;
  if (type === 0) return { kind: 'error', error: 'packet type 0 is reserved' };
  if (type === publishType ? (flags & 0x06) === 0x06 : flags !== requiredFlags[type]) {
    return { kind: 'error', error: `invalid flags 0x${flags.toString(16)} for packet type ${type}` };
  }
  let remaining = 0;
  let multiplier = 1;
  for (let index = 1; index <= 4; index++) {
    const byte = bytes[index];
    if (byte === undefined) return { kind: 'incomplete' };
    remaining += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) {
      const frameBytes = 1 + index + remaining;
      if (frameBytes > packetBytesMax) return { kind: 'error', error: `frame of ${frameBytes} bytes exceeds packetBytesMax ${packetBytesMax}` };
      return { kind: 'frame', frameBytes };
    }
    multiplier *= 128;
  }
  return { kind: 'error', error: 'remaining length is longer than four bytes' };
}

/**
 * One per connection. Holds at most one partial frame (≤ packetBytesMax) plus the rest of the
 * last chunk. After the first error it stays failed: the connection must be dropped, because
 * the stream position is no longer trustworthy.
 */
export class FrameDecoder {
  readonly #packetBytesMax: number;
  readonly #parser: Parser;
  #chunks: Buffer[] = [];
  #bufferedBytes = 0;
  #frameBytes: number | undefined;
  #failure: string | undefined;
  #frameOutput: Packet[] = [];
  #parserError: string | undefined;

  constructor(protocolVersion: ProtocolVersion, packetBytesMax: number) {
    this.#packetBytesMax = packetBytesMax;
    this.#parser = parser({ protocolVersion });
    this.#parser.on('packet', (packet: Packet) => this.#frameOutput.push(packet));
    this.#parser.on('error', (error: unknown) => {
      this.#parserError ??= error instanceof Error ? error.message : String(error);
    });
  }

  get bufferedBytes(): number {
    return this.#bufferedBytes;
  }

  push(chunk: Buffer): DecodeOutcome {
    const packets: Packet[] = [];
    if (this.#failure !== undefined) return { ok: false, packets, error: this.#failure };
    this.#chunks.push(chunk);
    this.#bufferedBytes += chunk.length;
    for (;;) {
      if (this.#frameBytes === undefined) {
        if (this.#bufferedBytes === 0) break;
        const header = readFrameHeader(this.#peek(5), this.#packetBytesMax);
        if (header.kind === 'incomplete') break;
        if (header.kind === 'error') return this.#fail(packets, header.error);
        this.#frameBytes = header.frameBytes;
      }
      if (this.#bufferedBytes < this.#frameBytes) break;
      const frame = this.#take(this.#frameBytes);
      this.#frameBytes = undefined;
      this.#frameOutput = [];
      this.#parser.parse(frame);
      if (this.#parserError !== undefined) return this.#fail(packets, this.#parserError);
      const packet = this.#frameOutput[0];
      if (this.#frameOutput.length !== 1 || packet === undefined) {
        return this.#fail(packets, `a ${frame.length}-byte frame decoded to ${this.#frameOutput.length} packets`);
      }
      packets.push(packet);
    }
    return { ok: true, packets };
  }

  #fail(packets: Packet[], error: string): DecodeOutcome {
    this.#failure = error;
    this.#chunks = [];
    this.#bufferedBytes = 0;
    return { ok: false, packets, error };
  }

  #peek(count: number): Buffer {
    const first = this.#chunks[0];
    if (first !== undefined && first.length >= count) return first.subarray(0, count);
    return Buffer.concat(this.#chunks).subarray(0, count);
  }

  #take(count: number): Buffer {
    assert(count <= this.#bufferedBytes, 'frame decoder took more bytes than it holds');
    const joined = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
    const frame = joined.subarray(0, count);
    const rest = joined.subarray(count);
    this.#chunks = rest.length === 0 ? [] : [rest];
    this.#bufferedBytes = rest.length;
    return frame;
  }
}

export type EncodeOutcome = { readonly ok: true; readonly bytes: Buffer } | { readonly ok: false; readonly error: string };

/** mqtt-packet throws on packets it cannot encode; here that becomes a value. */
export function encodePacket(packet: Packet, protocolVersion: ProtocolVersion): EncodeOutcome {
  try {
    return { ok: true, bytes: generate(packet, { protocolVersion }) };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

/** For packets the client builds itself (PINGREQ, PUBACK, ...): failing to encode them is a bug. */
export function encodeOwnPacket(packet: Packet, protocolVersion: ProtocolVersion): Buffer {
  const outcome = encodePacket(packet, protocolVersion);
  assert(outcome.ok, `could not encode a ${packet.cmd} packet: ${outcome.ok ? '' : outcome.error}`);
  return outcome.bytes;
}

/** A copy of an encoded PUBLISH with the DUP flag set, for re-sending it after a reconnect. */
export function withDupFlag(publishBytes: Buffer): Buffer {
  const first = publishBytes[0];
  assert(first !== undefined && first >> 4 === publishType, 'only a PUBLISH packet carries a DUP flag');
  const copy = Buffer.from(publishBytes);
  copy[0] = first | dupFlag;
  return copy;
}

function topicProblem(topic: string, what: string): string | undefined {
  if (topic.length === 0) return `${what} is empty`;
  if (topic.includes('\u0000')) return `${what} contains U+0000`;
  if (Buffer.byteLength(topic, 'utf8') > 65_535) return `${what} is longer than 65535 bytes`;
  return undefined;
}

/** Why `topic` cannot be published to, or undefined when it can. */
export function topicNameProblem(topic: string): string | undefined {
  const problem = topicProblem(topic, 'topic');
  if (problem !== undefined) return problem;
  if (topic.includes('+') || topic.includes('#')) return `topic '${topic}' contains a wildcard`;
  return undefined;
}

/** Why `filter` cannot be subscribed to, or undefined when it can. */
export function topicFilterProblem(filter: string): string | undefined {
  const problem = topicProblem(filter, 'filter');
  if (problem !== undefined) return problem;
  const levels = filter.split('/');
  for (let index = 0; index < levels.length; index++) {
    const level = levels[index]!;
    if (level.includes('#') && (level !== '#' || index !== levels.length - 1)) return `filter '${filter}': '#' must be the whole last level`;
    if (level.includes('+') && level !== '+') return `filter '${filter}': '+' must be a whole level`;
  }
  return undefined;
}

const connackMeanings: Readonly<Record<number, string>> = {
  1: 'unacceptable protocol version',
  2: 'client identifier rejected',
  3: 'server unavailable',
  4: 'bad user name or password',
  5: 'not authorized',
  0x80: 'unspecified error',
  0x84: 'unsupported protocol version',
  0x85: 'client identifier not valid',
  0x86: 'bad user name or password',
  0x87: 'not authorized',
  0x88: 'server unavailable',
  0x89: 'server busy',
  0x8a: 'banned',
  0x95: 'packet too large',
  0x97: 'quota exceeded',
};

export function describeConnackCode(code: number): string {
  return `${code} (${connackMeanings[code] ?? 'unknown'})`;
}
