import { connect, type Socket } from 'node:net';
import ModbusSerial from 'modbus-serial';
import type { ModbusRTU } from 'modbus-serial/ModbusRTU.js';
import { afterEach, describe, expect, it } from 'vitest';
import { createDataStore, type WritableArea } from './modbus-data-store.ts';
import { ModbusTcpServer, type ModbusServerOptions } from './modbus-tcp-server.ts';

// modbus-serial is CommonJS; its typings describe the default export as the client class.
const ModbusClient = ModbusSerial as unknown as new () => ModbusRTU;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startServer(options: Partial<ModbusServerOptions> = {}): Promise<ModbusTcpServer> {
  const server = new ModbusTcpServer({ store: createDataStore({ coils: 100, discreteInputs: 100, holdingRegisters: 100, inputRegisters: 100 }), ...options });
  await server.listen(0, '127.0.0.1');
  cleanups.push(() => server.close());
  return server;
}

async function client(port: number, unitId = 1, timeoutMs = 1000): Promise<ModbusRTU> {
  const modbus = new ModbusClient();
  modbus.setID(unitId);
  modbus.setTimeout(timeoutMs);
  await modbus.connectTCP('127.0.0.1', { port });
  cleanups.push(() => new Promise<void>((resolve) => modbus.close(() => resolve())));
  return modbus;
}

/** A raw TCP peer that splits what it receives into MBAP frames. */
interface RawPeer {
  readonly socket: Socket;
  nextFrame(): Promise<Buffer>;
  readonly closed: Promise<void>;
}

async function rawPeer(port: number): Promise<RawPeer> {
  const socket = connect({ port, host: '127.0.0.1', noDelay: true });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  cleanups.push(() => void socket.destroy());
  let received = Buffer.alloc(0);
  const frames: Buffer[] = [];
  const waiting: ((frame: Buffer) => void)[] = [];
  socket.on('data', (chunk: Buffer) => {
    received = Buffer.concat([received, chunk]);
    while (received.length >= 6 && received.length >= 6 + received.readUInt16BE(4)) {
      const length = 6 + received.readUInt16BE(4);
      const frame = received.subarray(0, length);
      received = received.subarray(length);
      const waiter = waiting.shift();
      if (waiter === undefined) frames.push(frame);
      else waiter(frame);
    }
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return {
    socket,
    closed,
    nextFrame: () => {
      const frame = frames.shift();
      return frame !== undefined ? Promise.resolve(frame) : new Promise((resolve) => waiting.push(resolve));
    },
  };
}

function frame(transactionId: number, unitId: number, pdu: readonly number[]): Buffer {
  const buffer = Buffer.alloc(7 + pdu.length);
  buffer.writeUInt16BE(transactionId, 0);
  buffer.writeUInt16BE(0, 2);
  buffer.writeUInt16BE(pdu.length + 1, 4);
  buffer[6] = unitId;
  Buffer.from(pdu).copy(buffer, 7);
  return buffer;
}

const readHolding = (address: number, quantity: number) => [3, address >> 8, address & 0xff, quantity >> 8, quantity & 0xff];
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Modbus TCP server', () => {
  it('serves function codes 1, 2, 3 and 4 to the modbus-serial client', async () => {
    const server = await startServer();
    server.store.coils.set([1, 0, 1], 4);
    server.store.discreteInputs.set([0, 1], 0);
    server.store.holdingRegisters.set([100, 65_535], 10);
    server.store.inputRegisters.set([7, 8, 9], 97);
    const modbus = await client(server.port);
    expect((await modbus.readCoils(4, 3)).data.slice(0, 3)).toEqual([true, false, true]);
    expect((await modbus.readDiscreteInputs(0, 2)).data.slice(0, 2)).toEqual([false, true]);
    expect((await modbus.readHoldingRegisters(10, 2)).data).toEqual([100, 65_535]);
    expect((await modbus.readInputRegisters(97, 3)).data).toEqual([7, 8, 9]);
  });

  it('applies function codes 5, 6, 15 and 16 and tells the write hook what changed', async () => {
    const server = await startServer();
    const writes: [WritableArea, number, number][] = [];
    server.store.onClientWrite = (area, address, count) => writes.push([area, address, count]);
    const modbus = await client(server.port);
    await modbus.writeCoil(3, true);
    await modbus.writeRegister(4, 4242);
    await modbus.writeCoils(20, [true, false, true, true, false, false, false, false, true]);
    await modbus.writeRegisters(50, [1, 2, 3]);
    expect(server.store.coils[3]).toBe(1);
    expect(server.store.holdingRegisters[4]).toBe(4242);
    expect([...server.store.coils.subarray(20, 29)]).toEqual([1, 0, 1, 1, 0, 0, 0, 0, 1]);
    expect([...server.store.holdingRegisters.subarray(50, 53)]).toEqual([1, 2, 3]);
    expect(writes).toEqual([
      ['coil', 3, 1],
      ['holding', 4, 1],
      ['coil', 20, 9],
      ['holding', 50, 3],
    ]);
  });

  it('answers read/write multiple registers (23)', async () => {
    const server = await startServer();
    const peer = await rawPeer(server.port);
    peer.socket.write(frame(9, 1, [23, 0, 30, 0, 1, 0, 30, 0, 1, 2, 0xca, 0xfe]));
    expect([...(await peer.nextFrame())]).toEqual([0, 9, 0, 0, 0, 5, 1, 23, 2, 0xca, 0xfe]);
  });

  it('answers exceptions 01, 02 and 03 and counts them', async () => {
    const server = await startServer();
    const modbus = await client(server.port);
    await expect(modbus.readHoldingRegisters(99, 2)).rejects.toMatchObject({ modbusCode: 2 });
    await expect(modbus.readHoldingRegisters(0, 126)).rejects.toMatchObject({ modbusCode: 3 });
    const peer = await rawPeer(server.port);
    peer.socket.write(frame(1, 1, [0x41, 0, 0]));
    expect([...(await peer.nextFrame())]).toEqual([0, 1, 0, 0, 0, 3, 1, 0xc1, 1]);
    expect(server.counters()).toMatchObject({ requests: 3, responses: 3, exceptions: 3 });
  });

  it('reassembles a request split across chunks, even inside its header', async () => {
    const server = await startServer();
    server.store.holdingRegisters[2] = 0x0102;
    const peer = await rawPeer(server.port);
    const request = frame(77, 1, readHolding(2, 1));
    for (const [from, to] of [[0, 3], [3, 7], [7, 9], [9, request.length]] as const) {
      peer.socket.write(request.subarray(from, to));
      await pause(15);
    }
    expect([...(await peer.nextFrame())]).toEqual([0, 77, 0, 0, 0, 5, 1, 3, 2, 1, 2]);
  });

  it('answers every frame of a chunk holding two and a half frames, then the rest', async () => {
    const server = await startServer();
    server.store.holdingRegisters.set([11, 22, 33]);
    const peer = await rawPeer(server.port);
    const third = frame(3, 1, readHolding(2, 1));
    peer.socket.write(Buffer.concat([frame(1, 1, readHolding(0, 1)), frame(2, 1, readHolding(1, 1)), third.subarray(0, 5)]));
    const first = await peer.nextFrame();
    const second = await peer.nextFrame();
    peer.socket.write(third.subarray(5));
    const last = await peer.nextFrame();
    expect([first, second, last].map((response) => [response.readUInt16BE(0), response.readUInt16BE(9)])).toEqual([
      [1, 11],
      [2, 22],
      [3, 33],
    ]);
  });

  it('closes a connection that sends a bad MBAP header and counts the bad frame', async () => {
    const server = await startServer();
    for (const bad of [
      Buffer.from([0, 1, 0, 7, 0, 6, 1, 3, 0, 0, 0, 1]), // protocol id 7
      Buffer.from([0, 1, 0, 0, 0x01, 0x00, 1, 3]), // length 256 > 254
      Buffer.from([0, 1, 0, 0, 0, 1, 1]), // length 1: no function code
      Buffer.from('GET / HTTP/1.1\r\n\r\n'),
    ]) {
      const peer = await rawPeer(server.port);
      peer.socket.write(bad);
      await peer.closed;
    }
    expect(server.counters()).toMatchObject({ badFrames: 4, requests: 0 });
    const modbus = await client(server.port);
    expect((await modbus.readHoldingRegisters(0, 1)).data).toEqual([0]);
  });

  it('answers a foreign unit id with exception 0B, or not at all when told to ignore it', async () => {
    const strict = await startServer({ unitIds: [3] });
    await expect((await client(strict.port, 4)).readHoldingRegisters(0, 1)).rejects.toMatchObject({ modbusCode: 0x0b });
    expect((await (await client(strict.port, 3)).readHoldingRegisters(0, 1)).data).toEqual([0]);
    const quiet = await startServer({ unitIds: [3], unknownUnitId: 'ignore' });
    await expect((await client(quiet.port, 4, 150)).readHoldingRegisters(0, 1)).rejects.toMatchObject({ name: 'TransactionTimedOutError' });
    expect(quiet.counters()).toMatchObject({ unknownUnitIds: 1, responses: 0 });
  });

  it('injects response delays, dropped responses, exceptions and wrong transaction ids', async () => {
    const server = await startServer();
    const modbus = await client(server.port, 1, 300);
    server.setFaults({ responseDelayMs: 80 });
    const startedMs = performance.now();
    await modbus.readHoldingRegisters(0, 1);
    expect(performance.now() - startedMs).toBeGreaterThanOrEqual(75);

    server.setFaults({ responseDelayMs: 0, dropResponses: true });
    await expect(modbus.writeRegister(5, 55)).rejects.toMatchObject({ name: 'TransactionTimedOutError' });
    expect(server.store.holdingRegisters[5]).toBe(55); // executed, only the answer was lost
    expect(server.counters().droppedResponses).toBe(1);

    server.setFaults({ dropResponses: false, exceptionCode: 4 });
    await expect(modbus.writeRegister(6, 66)).rejects.toMatchObject({ modbusCode: 4 });
    expect(server.store.holdingRegisters[6]).toBe(0);

    server.setFaults({ exceptionCode: undefined, wrongTransactionId: true });
    const peer = await rawPeer(server.port);
    peer.socket.write(frame(0xffff, 1, readHolding(0, 1)));
    expect((await peer.nextFrame()).readUInt16BE(0)).toBe(0);

    server.clearFaults();
    peer.socket.write(frame(41, 1, readHolding(0, 1)));
    expect((await peer.nextFrame()).readUInt16BE(0)).toBe(41);
  });

  it('cuts every connection on demand and keeps listening', async () => {
    const server = await startServer();
    const peer = await rawPeer(server.port);
    server.disconnectAll();
    await peer.closed;
    expect((await (await client(server.port)).readHoldingRegisters(0, 1)).data).toEqual([0]);
  });

  it('serves many concurrent connections and refuses those past its limit', async () => {
    const server = await startServer({ connectionsMax: 20 });
    server.store.inputRegisters[0] = 5;
    const clients = await Promise.all(Array.from({ length: 20 }, () => client(server.port)));
    const results = await Promise.all(clients.flatMap((modbus) => Array.from({ length: 5 }, () => modbus.readInputRegisters(0, 1))));
    expect(results.every((result) => result.data[0] === 5)).toBe(true);
    expect(server.counters()).toMatchObject({ connectionsOpen: 20, requests: 100 });
    const extra = await rawPeer(server.port);
    await extra.closed;
    expect(server.counters().connectionsRefused).toBe(1);
  });

  it('closes its connections and cancels delayed responses on close', async () => {
    const server = new ModbusTcpServer({ store: createDataStore() });
    await server.listen(0, '127.0.0.1');
    server.setFaults({ responseDelayMs: 10_000 });
    const peer = await rawPeer(server.port);
    peer.socket.write(frame(1, 1, readHolding(0, 1)));
    await pause(20);
    await server.close();
    await peer.closed;
    expect(server.counters()).toMatchObject({ connectionsOpen: 0, responses: 0 });
  });
});
