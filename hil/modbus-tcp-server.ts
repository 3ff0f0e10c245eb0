// A fast Modbus TCP server for simulated devices, on plain node:net (modbus-serial's ServerTCP
// manages only ~700 requests/s). It owns MBAP framing, unit-id filtering, connection limits,
// fault injection and counters; the function codes themselves live in modbus-pdu.ts.
// Speed comes from parsing frames in place from each chunk (only a split frame's bytes are copied,
// into a fixed 260-byte buffer per connection), one scratch buffer per server for building
// responses, one allocation per response, and corking a chunk's responses into one write.
import { createServer, type Server, type Socket } from 'node:net';
import { assert } from '../common/assert.ts';
import type { ModbusDataStore } from './modbus-data-store.ts';
import { exceptionCode, executePdu, pduLimits, writeException } from './modbus-pdu.ts';

const headerBytes = 7; // MBAP: transaction id, protocol id, length, unit id
/** The MBAP length field counts the unit id and the PDU. */
const lengthFieldMax = 1 + pduLimits.pduBytesMax;
const frameBytesMax = 6 + lengthFieldMax;

export interface ModbusServerOptions {
  readonly store: ModbusDataStore;
  /** Unit ids this device answers; absent answers every unit id. */
  readonly unitIds?: readonly number[];
  /** A request for another unit id is ignored (the client times out) or answered with exception 0x0B, as a gateway would. */
  readonly unknownUnitId?: 'ignore' | 'exception';
  /** Concurrent client connections; more are refused and counted. */
  readonly connectionsMax?: number;
}

/** Fault points, switched on and off while the server runs. */
export interface ModbusFaults {
  /** Delay before each response is sent, in ms; 0 answers at once. */
  responseDelayMs: number;
  /** Requests are executed but never answered, like a reply lost on the wire. */
  dropResponses: boolean;
  /** Responses carry the request's transaction id plus one. */
  wrongTransactionId: boolean;
  /** Every request is answered with this exception code and not executed. */
  exceptionCode: number | undefined;
}

export interface ModbusServerCounters {
  readonly requests: number;
  readonly responses: number;
  readonly exceptions: number;
  /** Frames with a bad MBAP header; each one closed its connection. */
  readonly badFrames: number;
  readonly connections: number;
  readonly connectionsOpen: number;
  readonly connectionsRefused: number;
  readonly connectionErrors: number;
  readonly unknownUnitIds: number;
  readonly droppedResponses: number;
}

const noFaults: ModbusFaults = { responseDelayMs: 0, dropResponses: false, wrongTransactionId: false, exceptionCode: undefined };

interface Connection {
  readonly socket: Socket;
  /** The start of a frame split across chunks. */
  readonly partial: Buffer;
  partialBytes: number;
  readonly timers: Set<NodeJS.Timeout>;
}

export class ModbusTcpServer {
  readonly store: ModbusDataStore;
  readonly #server: Server;
  readonly #connections = new Set<Connection>();
  /** answersUnit[id] is 1 for unit ids this device answers. */
  readonly #answersUnit = new Uint8Array(256);
  readonly #unknownUnitId: 'ignore' | 'exception';
  readonly #scratch = Buffer.alloc(frameBytesMax);
  #faults: ModbusFaults = { ...noFaults };
  #counters = { requests: 0, responses: 0, exceptions: 0, badFrames: 0, connections: 0, connectionsRefused: 0, connectionErrors: 0, unknownUnitIds: 0, droppedResponses: 0 };
  #port = 0;

  constructor(options: ModbusServerOptions) {
    this.store = options.store;
    this.#unknownUnitId = options.unknownUnitId ?? 'exception';
    if (options.unitIds === undefined) this.#answersUnit.fill(1);
    for (const unitId of options.unitIds ?? []) {
      assert(Number.isInteger(unitId) && unitId >= 0 && unitId <= 255, `unit id must be 0..255, got ${unitId}`);
      this.#answersUnit[unitId] = 1;
    }
    const connectionsMax = options.connectionsMax ?? 64;
    assert(Number.isInteger(connectionsMax) && connectionsMax > 0, `connectionsMax must be a positive integer, got ${connectionsMax}`);
    this.#server = createServer({ noDelay: true }, (socket) => this.#accept(socket));
    this.#server.maxConnections = connectionsMax;
    this.#server.on('drop', () => this.#counters.connectionsRefused++);
  }

  /** Binds and resolves with the bound port (useful with port 0). */
  listen(port = 0, host = '127.0.0.1'): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        const address = this.#server.address();
        assert(address !== null && typeof address === 'object', 'a TCP server has an address object');
        this.#port = address.port;
        resolve(this.#port);
      });
    });
  }

  get port(): number {
    return this.#port;
  }

  /** Stops listening, closes every connection and cancels delayed responses. */
  close(): Promise<void> {
    this.disconnectAll();
    if (!this.#server.listening) return Promise.resolve();
    return new Promise((resolve, reject) => this.#server.close((error) => (error === undefined ? resolve() : reject(error))));
  }

  /** Fault: cuts every client connection while the server keeps listening. */
  disconnectAll(): void {
    for (const connection of this.#connections) {
      connection.socket.destroy();
      this.#forget(connection);
    }
  }

  setFaults(faults: Partial<ModbusFaults>): void {
    const next = { ...this.#faults, ...faults };
    assert(Number.isFinite(next.responseDelayMs) && next.responseDelayMs >= 0, `responseDelayMs must be >= 0, got ${next.responseDelayMs}`);
    assert(next.exceptionCode === undefined || (Number.isInteger(next.exceptionCode) && next.exceptionCode >= 1 && next.exceptionCode <= 255), `exceptionCode must be 1..255, got ${next.exceptionCode}`);
    this.#faults = next;
  }

  clearFaults(): void {
    this.#faults = { ...noFaults };
  }

  get faults(): Readonly<ModbusFaults> {
    return this.#faults;
  }

  counters(): ModbusServerCounters {
    return { ...this.#counters, connectionsOpen: this.#connections.size };
  }

  #accept(socket: Socket): void {
    const connection: Connection = { socket, partial: Buffer.alloc(frameBytesMax), partialBytes: 0, timers: new Set() };
    this.#connections.add(connection);
    this.#counters.connections++;
    socket.on('data', (chunk: Buffer) => {
      socket.cork();
      this.#receive(connection, chunk);
      socket.uncork();
    });
    // Bounded output: a client that sends without reading stops being read until it catches up.
    socket.on('drain', () => socket.resume());
    socket.on('error', () => this.#counters.connectionErrors++);
    socket.on('close', () => this.#forget(connection));
  }

  /** Idempotent: runs on a socket's close event and when we destroy it ourselves. */
  #forget(connection: Connection): void {
    for (const timer of connection.timers) clearTimeout(timer);
    connection.timers.clear();
    this.#connections.delete(connection);
  }

  #receive(connection: Connection, chunk: Buffer): void {
    let offset = 0;
    if (connection.partialBytes > 0) {
      offset = this.#completePartial(connection, chunk);
      if (offset < 0) return;
    }
    while (chunk.length - offset >= headerBytes) {
      const frameBytes = this.#frameBytes(connection, chunk, offset);
      if (frameBytes === 0) return;
      if (chunk.length - offset < frameBytes) break;
      this.#handleFrame(connection, chunk, offset, frameBytes);
      offset += frameBytes;
    }
    if (offset < chunk.length) connection.partialBytes = chunk.copy(connection.partial, 0, offset);
  }

  /** Completes a split frame from the chunk; returns the chunk offset after it, or -1 when more bytes are needed or the frame was bad. */
  #completePartial(connection: Connection, chunk: Buffer): number {
    const partial = connection.partial;
    let offset = 0;
    if (connection.partialBytes < headerBytes) {
      const taken = chunk.copy(partial, connection.partialBytes, 0, headerBytes - connection.partialBytes);
      connection.partialBytes += taken;
      offset += taken;
      if (connection.partialBytes < headerBytes) return -1;
    }
    const frameBytes = this.#frameBytes(connection, partial, 0);
    if (frameBytes === 0) return -1;
    const taken = chunk.copy(partial, connection.partialBytes, offset, offset + frameBytes - connection.partialBytes);
    connection.partialBytes += taken;
    offset += taken;
    if (connection.partialBytes < frameBytes) return -1;
    connection.partialBytes = 0;
    this.#handleFrame(connection, partial, 0, frameBytes);
    return offset;
  }

  /** Length of the frame whose header starts at offset, or 0 after closing the connection on a bad header. */
  #frameBytes(connection: Connection, buffer: Buffer, offset: number): number {
    const protocolId = buffer.readUInt16BE(offset + 2);
    const lengthField = buffer.readUInt16BE(offset + 4);
    if (protocolId !== 0 || lengthField < 2 || lengthField > lengthFieldMax) {
      this.#counters.badFrames++;
      connection.partialBytes = 0;
      connection.socket.destroy();
      return 0;
    }
    return 6 + lengthField;
  }

  #handleFrame(connection: Connection, frame: Buffer, offset: number, frameBytes: number): void {
    if (connection.socket.destroyed) return;
    this.#counters.requests++;
    const unitId = frame[offset + 6]!;
    const pduStart = offset + headerBytes;
    const faults = this.#faults;
    const out = this.#scratch;
    let pduBytes: number;
    if (this.#answersUnit[unitId] === 0) {
      this.#counters.unknownUnitIds++;
      if (this.#unknownUnitId === 'ignore') return;
      pduBytes = writeException(out, headerBytes, frame[pduStart]!, exceptionCode.gatewayTargetFailedToRespond);
    } else if (faults.exceptionCode !== undefined) {
      pduBytes = writeException(out, headerBytes, frame[pduStart]!, faults.exceptionCode);
    } else {
      pduBytes = executePdu(this.store, frame, pduStart, offset + frameBytes, out, headerBytes);
    }
    if ((out[headerBytes]! & 0x80) !== 0) this.#counters.exceptions++;
    if (faults.dropResponses) {
      this.#counters.droppedResponses++;
      return;
    }
    const transactionId = frame.readUInt16BE(offset);
    out.writeUInt16BE(faults.wrongTransactionId ? (transactionId + 1) & 0xffff : transactionId, 0);
    out.writeUInt16BE(0, 2);
    out.writeUInt16BE(pduBytes + 1, 4);
    out[6] = unitId;
    const response = Buffer.allocUnsafe(headerBytes + pduBytes);
    out.copy(response, 0, 0, response.length);
    if (faults.responseDelayMs > 0) {
      const timer = setTimeout(() => {
        connection.timers.delete(timer);
        this.#send(connection, response);
      }, faults.responseDelayMs);
      connection.timers.add(timer);
    } else {
      this.#send(connection, response);
    }
  }

  #send(connection: Connection, response: Buffer): void {
    if (connection.socket.destroyed) return;
    this.#counters.responses++;
    if (!connection.socket.write(response)) connection.socket.pause();
  }
}
