// A lean Modbus TCP client for the gateway's hot path. The gateway's CPU per point was half
// modbus-serial's client (bench/gateway-cpu.bench.ts): a promise chain, a queue, buffers and a
// timer per request. This client frames requests itself on one socket (Nagle off), matches answers
// by transaction id, keeps one timer for every request in flight, and decodes straight from the
// receive buffer. It offers the subset of modbus-serial's client API the driver uses, with the
// same error shapes (`modbusCode` on exceptions, "Timed out"), so RTU keeps modbus-serial.
// A frame that cannot be Modbus (bad protocol id or length) poisons the stream: the socket is
// dropped and every request in flight fails, and the driver reconnects. An answer with an unknown
// transaction id is ignored (its request times out); one from the wrong unit or with the wrong
// function or byte count fails its request. Requests sent in the same turn of the event loop (a
// pipelined poll) leave in one write: the socket is corked until the turn ends.
import { EventEmitter } from 'node:events';
import { Socket } from 'node:net';

interface Pending {
  readonly functionCode: number;
  /** Registers or bits expected back (0 for writes). */
  readonly count: number;
  readonly deadlineMs: number;
  readonly resolve: (value: { data: number[] | boolean[] }) => void;
  readonly reject: (error: Error) => void;
}

/** Requests in flight per connection: a driver sends one poll's reads in turn plus a write or two. */
const inflightMax = 64;
/** A Modbus TCP ADU is at most 260 bytes: MBAP length 1 + 253 + ... */
const lengthMax = 254;

export class ModbusTcpClient extends EventEmitter {
  readonly #host: string;
  readonly #port: number;
  #socket: Socket | undefined;
  #timeoutMs = 1000;
  #unitId = 1;
  #transaction = 0;
  readonly #pending = new Map<number, Pending>();
  #received: Buffer = Buffer.alloc(0);
  #timer: NodeJS.Timeout | undefined;
  #open = false;
  #corked = false;
  readonly #uncork = (): void => {
    this.#corked = false;
    this.#socket?.uncork();
  };

  constructor(host: string, port: number) {
    super();
    this.#host = host;
    this.#port = port;
  }

  get isOpen(): boolean {
    return this.#open;
  }

  setTimeout(ms: number): void {
    this.#timeoutMs = ms;
  }

  setID(unitId: number): void {
    this.#unitId = unitId;
  }

  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = new Socket();
      this.#socket = socket;
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no connection within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        this.#open = true;
        socket.setNoDelay(true);
        resolve();
      });
      socket.on('data', (chunk: Buffer) => this.#onData(chunk));
      socket.on('error', (error) => {
        clearTimeout(timer);
        if (!this.#open) reject(error);
        this.emit('error', error);
      });
      socket.on('close', () => {
        clearTimeout(timer);
        const wasOpen = this.#open;
        this.#open = false;
        this.#failAll(new Error('Port Not Open'));
        if (wasOpen) this.emit('close');
      });
      socket.connect(this.#port, this.#host);
    });
  }

  readCoils(start: number, count: number): Promise<{ data: boolean[] }> {
    return this.#request(1, start, count) as Promise<{ data: boolean[] }>;
  }

  readDiscreteInputs(start: number, count: number): Promise<{ data: boolean[] }> {
    return this.#request(2, start, count) as Promise<{ data: boolean[] }>;
  }

  readHoldingRegisters(start: number, count: number): Promise<{ data: number[] }> {
    return this.#request(3, start, count) as Promise<{ data: number[] }>;
  }

  readInputRegisters(start: number, count: number): Promise<{ data: number[] }> {
    return this.#request(4, start, count) as Promise<{ data: number[] }>;
  }

  writeCoil(address: number, value: boolean): Promise<unknown> {
    return this.#request(5, address, value ? 0xff00 : 0x0000);
  }

  writeRegisters(address: number, values: readonly number[]): Promise<unknown> {
    return this.#request(16, address, values.length, values);
  }

  close(callback: () => void): void {
    const socket = this.#socket;
    if (socket === undefined || socket.destroyed) return callback();
    socket.once('close', () => callback());
    socket.end();
  }

  destroy(callback: () => void): void {
    const socket = this.#socket;
    if (socket === undefined || socket.destroyed) return callback();
    socket.once('close', () => callback());
    socket.destroy();
  }

  #request(functionCode: number, address: number, quantity: number, values?: readonly number[]): Promise<{ data: number[] | boolean[] }> {
    const socket = this.#socket;
    if (socket === undefined || !this.#open) return Promise.reject(new Error('Port Not Open'));
    if (this.#pending.size >= inflightMax) return Promise.reject(new Error(`more than ${inflightMax} requests in flight`));
    const transaction = (this.#transaction = (this.#transaction + 1) & 0xffff);
    const pduBytes = values === undefined ? 5 : 6 + values.length * 2;
    const frame = Buffer.allocUnsafe(7 + pduBytes);
    frame.writeUInt16BE(transaction, 0);
    frame.writeUInt16BE(0, 2);
    frame.writeUInt16BE(1 + pduBytes, 4);
    frame.writeUInt8(this.#unitId, 6);
    frame.writeUInt8(functionCode, 7);
    frame.writeUInt16BE(address, 8);
    frame.writeUInt16BE(quantity, 10);
    if (values !== undefined) {
      frame.writeUInt8(values.length * 2, 12);
      for (let index = 0; index < values.length; index++) frame.writeUInt16BE(values[index]! & 0xffff, 13 + index * 2);
    }
    return new Promise((resolve, reject) => {
      const count = functionCode <= 4 ? quantity : 0;
      this.#pending.set(transaction, { functionCode, count, deadlineMs: performance.now() + this.#timeoutMs, resolve, reject });
      this.#armTimer();
      if (!this.#corked) {
        this.#corked = true;
        socket.cork();
        process.nextTick(this.#uncork);
      }
      socket.write(frame);
    });
  }

  /** One timer for every request in flight, due at the earliest deadline. */
  #armTimer(): void {
    if (this.#timer !== undefined || this.#pending.size === 0) return;
    let earliest = Infinity;
    for (const pending of this.#pending.values()) earliest = Math.min(earliest, pending.deadlineMs);
    this.#timer = setTimeout(() => this.#expire(), Math.max(0, earliest - performance.now()));
  }

  #expire(): void {
    this.#timer = undefined;
    const now = performance.now();
    for (const [transaction, pending] of this.#pending) {
      if (pending.deadlineMs > now) continue;
      this.#pending.delete(transaction);
      pending.reject(new Error('Timed out'));
    }
    this.#armTimer();
  }

  #onData(chunk: Buffer): void {
    let buffer = this.#received.length === 0 ? chunk : Buffer.concat([this.#received, chunk]);
    let at = 0;
    while (buffer.length - at >= 8) {
      const protocol = buffer.readUInt16BE(at + 2);
      const length = buffer.readUInt16BE(at + 4);
      if (protocol !== 0 || length < 2 || length > lengthMax) {
        this.#poison(`the device sent bytes that are not a Modbus TCP frame (protocol ${protocol}, length ${length})`);
        return;
      }
      if (buffer.length - at < 6 + length) break;
      this.#answer(buffer, at, length);
      at += 6 + length;
    }
    buffer = buffer.subarray(at);
    // Keep a partial frame (copied, so the socket's chunk is not pinned) until the rest arrives.
    this.#received = buffer.length === 0 ? Buffer.alloc(0) : Buffer.from(buffer);
  }

  #answer(buffer: Buffer, at: number, length: number): void {
    const transaction = buffer.readUInt16BE(at);
    const pending = this.#pending.get(transaction);
    if (pending === undefined) return; // late or foreign: its request times out
    this.#pending.delete(transaction);
    const unit = buffer.readUInt8(at + 6);
    const functionCode = buffer.readUInt8(at + 7);
    if (unit !== this.#unitId) return pending.reject(new Error(`answer from unit ${unit}, expected ${this.#unitId}`));
    if (functionCode === (pending.functionCode | 0x80)) {
      const error = new Error(`Modbus exception ${buffer.readUInt8(at + 8)}`) as Error & { modbusCode: number };
      error.modbusCode = buffer.readUInt8(at + 8);
      return pending.reject(error);
    }
    if (functionCode !== pending.functionCode) return pending.reject(new Error(`answer with function ${functionCode} to a request with function ${pending.functionCode}`));
    if (pending.count === 0) return pending.resolve({ data: [] });
    const byteCount = buffer.readUInt8(at + 8);
    const bits = functionCode <= 2;
    const expected = bits ? Math.ceil(pending.count / 8) : pending.count * 2;
    if (byteCount !== expected || length !== 3 + byteCount) return pending.reject(new Error(`answer with ${byteCount} data bytes, expected ${expected}`));
    const start = at + 9;
    if (bits) {
      const data = new Array<boolean>(pending.count);
      for (let index = 0; index < pending.count; index++) data[index] = ((buffer[start + (index >> 3)]! >> (index & 7)) & 1) === 1;
      return pending.resolve({ data });
    }
    const data = new Array<number>(pending.count);
    for (let index = 0; index < pending.count; index++) data[index] = buffer.readUInt16BE(start + index * 2);
    pending.resolve({ data });
  }

  #poison(reason: string): void {
    this.#received = Buffer.alloc(0);
    this.#failAll(new Error(reason));
    this.#socket?.destroy();
  }

  #failAll(error: Error): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const request of pending) request.reject(error);
  }
}
