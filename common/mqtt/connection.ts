// One transport's lifetime, over any Duplex (a TCP socket in production, an in-memory pair in
// tests): inbound bytes framed into packets, outbound bytes counted, the CONNACK deadline and the
// keepalive. It knows nothing of sessions or reconnects: whatever ends it (peer, error, timeout,
// protocol violation, close()) is reported exactly once through onClosed, with the first cause.
import type { Duplex } from 'node:stream';
import type { Packet } from 'mqtt-packet';
import { FrameDecoder, type ProtocolVersion } from './codec.ts';

export type CloseKind =
  | 'transport-error'
  | 'transport-closed'
  | 'connect-timeout'
  | 'keepalive-timeout'
  | 'protocol-error'
  | 'connack-refused'
  | 'server-disconnect'
  | 'local-close';

export interface CloseReason {
  readonly kind: CloseKind;
  readonly detail: string;
}

export interface ByteCounters {
  bytesIn: number;
  bytesOut: number;
}

export interface ConnectionOptions {
  readonly protocolVersion: ProtocolVersion;
  readonly packetBytesMax: number;
  readonly connectTimeoutMs: number;
  readonly counters: ByteCounters;
  readonly onPacket: (packet: Packet) => void;
  readonly onClosed: (reason: CloseReason) => void;
}

export class Connection {
  readonly #stream: Duplex;
  readonly #options: ConnectionOptions;
  readonly #decoder: FrameDecoder;
  readonly #closed: Promise<void>;
  #reason: CloseReason | undefined;
  #isClosed = false;
  #connectTimer: NodeJS.Timeout | undefined;
  #keepaliveTimer: NodeJS.Timeout | undefined;
  #graceTimer: NodeJS.Timeout | undefined;
  #pingOutstanding = false;
  #resolveClosed: () => void = () => {};

  constructor(stream: Duplex, options: ConnectionOptions) {
    this.#stream = stream;
    this.#options = options;
    this.#decoder = new FrameDecoder(options.protocolVersion, options.packetBytesMax);
    this.#connectTimer = setTimeout(
      () => this.destroy({ kind: 'connect-timeout', detail: `no CONNACK within ${options.connectTimeoutMs} ms` }),
      options.connectTimeoutMs,
    );
    this.#closed = new Promise<void>((resolve) => {
      this.#resolveClosed = resolve;
    });
    stream.once('close', () => this.#finish());
    stream.on('data', (chunk: Buffer) => this.#onData(chunk));
    stream.on('error', (error: Error) => this.destroy({ kind: 'transport-error', detail: error.message }));
    stream.on('end', () => this.destroy({ kind: 'transport-closed', detail: 'the broker ended the connection' }));
  }

  get isClosed(): boolean {
    return this.#isClosed || this.#stream.destroyed;
  }

  /** Bytes handed to the transport and not yet flushed: the write side's backpressure. */
  get pendingWriteBytes(): number {
    return this.#stream.writableLength;
  }

  /** Resolves once the transport has closed, whatever closed it. */
  get closed(): Promise<void> {
    return this.#closed;
  }

  write(bytes: Buffer): void {
    if (this.isClosed || this.#stream.writableEnded) return;
    this.#options.counters.bytesOut += bytes.length;
    this.#stream.write(bytes);
  }

  /** CONNACK arrived: the connect deadline is over and the keepalive starts. */
  established(keepaliveMs: number, pingRequest: Buffer): void {
    clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
    // A PINGREQ every keepalive period; if the previous one is still unanswered when the next is
    // due, the link is dead even though TCP may not notice for minutes.
    this.#keepaliveTimer = setInterval(() => {
      if (this.#pingOutstanding) {
        this.destroy({ kind: 'keepalive-timeout', detail: `no PINGRESP within ${keepaliveMs} ms` });
        return;
      }
      this.#pingOutstanding = true;
      this.write(pingRequest);
    }, keepaliveMs);
  }

  pingResponded(): void {
    this.#pingOutstanding = false;
  }

  /** Writes a last packet (DISCONNECT), half-closes, and destroys after graceMs at the latest. */
  end(lastPacket: Buffer, graceMs: number): Promise<void> {
    if (this.isClosed) return this.#closed;
    this.#reason ??= { kind: 'local-close', detail: 'close() was called' };
    this.write(lastPacket);
    this.#stream.end();
    this.#graceTimer = setTimeout(() => this.#stream.destroy(), graceMs);
    return this.#closed;
  }

  destroy(reason: CloseReason): void {
    this.#reason ??= reason;
    this.#stopTimers();
    if (!this.#stream.destroyed) this.#stream.destroy();
    // A Duplex created with emitClose: false would never report 'close'; the stream is gone anyway.
    else this.#finish();
  }

  #onData(chunk: Buffer): void {
    if (this.isClosed) return;
    this.#options.counters.bytesIn += chunk.length;
    const outcome = this.#decoder.push(chunk);
    for (const packet of outcome.packets) {
      if (this.isClosed) return;
      this.#options.onPacket(packet);
    }
    if (!outcome.ok) this.destroy({ kind: 'protocol-error', detail: outcome.error });
  }

  #stopTimers(): void {
    clearTimeout(this.#connectTimer);
    clearInterval(this.#keepaliveTimer);
    clearTimeout(this.#graceTimer);
  }

  #finish(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#stopTimers();
    this.#options.onClosed(this.#reason ?? { kind: 'transport-closed', detail: 'the connection closed' });
    this.#resolveClosed();
  }
}
