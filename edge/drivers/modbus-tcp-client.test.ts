// The lean Modbus TCP client against a raw socket server written for the test: answers matched by
// transaction id even out of order, exceptions with their code, one timer for everything in
// flight, and a stream that is not Modbus failing every request at once.
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ModbusTcpClient } from './modbus-tcp-client.ts';

let server: Server | undefined;
const sockets = new Set<Socket>();

/** A server that hands every complete request to `onRequest`, which answers (or not) as it likes. */
async function serve(onRequest: (socket: Socket, request: Buffer) => void): Promise<number> {
  server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 8 && pending.length >= 6 + pending.readUInt16BE(4)) {
        const length = 6 + pending.readUInt16BE(4);
        onRequest(socket, Buffer.from(pending.subarray(0, length)));
        pending = pending.subarray(length);
      }
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

function frame(transaction: number, unit: number, pdu: readonly number[]): Buffer {
  const header = Buffer.alloc(7);
  header.writeUInt16BE(transaction, 0);
  header.writeUInt16BE(pdu.length + 1, 4);
  header.writeUInt8(unit, 6);
  return Buffer.concat([header, Buffer.from(pdu)]);
}

afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  sockets.clear();
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  server = undefined;
});

async function connected(port: number, timeoutMs = 200): Promise<ModbusTcpClient> {
  const client = new ModbusTcpClient('127.0.0.1', port);
  client.setTimeout(timeoutMs);
  client.setID(7);
  await client.connect();
  return client;
}

describe('lean Modbus TCP client', () => {
  it('matches answers to requests by transaction id, in any order, and decodes registers and bits', async () => {
    const held: { socket: Socket; request: Buffer }[] = [];
    const port = await serve((socket, request) => {
      held.push({ socket, request });
      if (held.length < 2) return;
      // Answer the second request first.
      for (const { socket: to, request: asked } of held.reverse()) {
        const transaction = asked.readUInt16BE(0);
        const fc = asked.readUInt8(7);
        to.write(fc === 3 ? frame(transaction, 7, [3, 4, 0x12, 0x34, 0xff, 0xff]) : frame(transaction, 7, [1, 2, 0b1000_0101, 0b1]));
      }
    });
    const client = await connected(port);
    const [registers, bits] = await Promise.all([client.readHoldingRegisters(10, 2), client.readCoils(0, 9)]);
    expect(registers.data).toEqual([0x1234, 0xffff]);
    expect(bits.data).toEqual([true, false, true, false, false, false, false, true, true]);
    await new Promise<void>((resolve) => client.close(resolve));
  });

  it('reports an exception with its code, a wrong unit or byte count as errors, and silence as a timeout', async () => {
    const port = await serve((socket, request) => {
      const transaction = request.readUInt16BE(0);
      const address = request.readUInt16BE(8);
      if (address === 1) socket.write(frame(transaction, 7, [0x83, 2]));
      else if (address === 2) socket.write(frame(transaction, 8, [3, 2, 0, 1]));
      else if (address === 3) socket.write(frame(transaction, 7, [3, 4, 0, 1, 0, 2]));
      else if (address === 4) socket.write(frame((transaction + 1) & 0xffff, 7, [3, 2, 0, 1]));
    });
    const client = await connected(port, 100);
    await expect(client.readHoldingRegisters(1, 1)).rejects.toMatchObject({ modbusCode: 2 });
    await expect(client.readHoldingRegisters(2, 1)).rejects.toThrow(/unit 8, expected 7/);
    await expect(client.readHoldingRegisters(3, 1)).rejects.toThrow(/4 data bytes, expected 2/);
    const startedMs = performance.now();
    await expect(client.readHoldingRegisters(4, 1)).rejects.toThrow('Timed out');
    expect(performance.now() - startedMs).toBeGreaterThanOrEqual(95);
    expect(client.isOpen).toBe(true);
    await new Promise<void>((resolve) => client.close(resolve));
  });

  it('drops the connection and fails everything in flight when the stream is not Modbus', async () => {
    const port = await serve((socket) => socket.write('HTTP/1.1 400 Bad Request\r\n\r\n'));
    const client = await connected(port);
    let closed = false;
    client.on('close', () => (closed = true));
    const results = await Promise.allSettled([client.readInputRegisters(0, 1), client.readInputRegisters(1, 1)]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    expect(String((results[0] as PromiseRejectedResult).reason)).toMatch(/not a Modbus TCP frame/);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(closed).toBe(true);
    expect(client.isOpen).toBe(false);
    await expect(client.readInputRegisters(0, 1)).rejects.toThrow('Port Not Open');
  });

  it('writes a coil and registers with the Modbus function codes and values', async () => {
    const requests: Buffer[] = [];
    const port = await serve((socket, request) => {
      requests.push(request);
      socket.write(frame(request.readUInt16BE(0), 7, [...request.subarray(7, 12)]));
    });
    const client = await connected(port);
    await client.writeCoil(5, true);
    await client.writeRegisters(100, [1, 0xabcd]);
    expect(requests.map((request) => request.subarray(6).toString('hex'))).toEqual(['070500 05ff00'.replace(' ', ''), '07100064000204' + '0001abcd']);
    await new Promise<void>((resolve) => client.close(resolve));
  });
});
