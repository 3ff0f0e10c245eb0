// A Modbus TCP device that misbehaves on purpose (a raw socket server written for this test):
// wrong transaction ids, wrong unit ids, garbage, truncated frames, NaN and infinity in float
// registers. Each ends in bad quality and a coded error, never a crash or a stuck poll, and the
// next good answer is read normally.
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../common/clock.ts';
import type { DeviceProfile } from '../../common/device-profile.ts';
import { MillwrightError } from '../../common/errors.ts';
import { recordingSink } from './fixtures/recording-sink.ts';
import { ModbusTcpDriver } from './modbus-tcp.ts';

type Behaviour = 'good' | 'wrong-transaction' | 'wrong-unit' | 'garbage' | 'truncated' | 'nan' | 'infinity' | 'silent';

const profile: DeviceProfile = {
  profile: 'bad-device',
  protocol: 'modbus',
  tags: [
    { name: 'temperature', area: 'holding', address: 0, type: 'float32' },
    { name: 'count', area: 'holding', address: 2, type: 'uint16' },
  ],
};

let behaviour: Behaviour = 'good';
let server: Server;
let port = 0;
const sockets = new Set<Socket>();

function registersFor(mode: Behaviour): number[] {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, mode === 'nan' ? Number.NaN : mode === 'infinity' ? Number.POSITIVE_INFINITY : 21.5);
  return [view.getUint16(0), view.getUint16(2), 7];
}

function answer(socket: Socket, request: Buffer): void {
  const transaction = request.readUInt16BE(0);
  const unit = request.readUInt8(6);
  const registers = registersFor(behaviour);
  const body = Buffer.alloc(2 + registers.length * 2);
  body.writeUInt8(3, 0);
  body.writeUInt8(registers.length * 2, 1);
  registers.forEach((register, index) => body.writeUInt16BE(register, 2 + index * 2));
  const header = Buffer.alloc(7);
  header.writeUInt16BE(behaviour === 'wrong-transaction' ? (transaction + 1) & 0xffff : transaction, 0);
  header.writeUInt16BE(0, 2);
  header.writeUInt16BE(body.length + 1, 4);
  header.writeUInt8(behaviour === 'wrong-unit' ? (unit + 1) & 0xff : unit, 6);
  const frame = Buffer.concat([header, body]);
  if (behaviour === 'silent') return;
  if (behaviour === 'garbage') socket.write(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'));
  else if (behaviour === 'truncated') socket.write(frame.subarray(0, frame.length - 3));
  else socket.write(frame);
}

describe('Modbus TCP driver against a misbehaving device', () => {
  beforeAll(async () => {
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
      let pending = Buffer.alloc(0);
      socket.on('data', (chunk) => {
        pending = Buffer.concat([pending, chunk]);
        while (pending.length >= 12) {
          const length = 6 + pending.readUInt16BE(4);
          if (pending.length < length) break;
          answer(socket, pending.subarray(0, length));
          pending = pending.subarray(length);
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  async function pollWith(mode: Behaviour): Promise<{ error: unknown; sink: ReturnType<typeof recordingSink> }> {
    behaviour = mode;
    const driver = new ModbusTcpDriver({ id: 'dev', driver: 'modbus-tcp', host: '127.0.0.1', port, unitId: 1, profile: 'p', pollIntervalMs: 10, timeoutMs: 150, batchGapMax: 0 }, profile, systemClock);
    const sink = recordingSink();
    await driver.open();
    let error: unknown;
    try {
      await driver.poll(sink);
    } catch (caught) {
      error = caught;
    }
    behaviour = 'good';
    // The device behaves again: a fresh connection reads good values.
    await driver.close();
    await driver.open();
    const after = recordingSink();
    await driver.poll(after);
    expect(after.values).toEqual([21.5, 7]);
    expect(after.qualities).toEqual(['good', 'good']);
    await driver.close();
    return { error, sink };
  }

  it('reads a well-behaved device', async () => {
    const { error, sink } = await pollWith('good');
    expect(error).toBeUndefined();
    expect(sink.values).toEqual([21.5, 7]);
  });

  for (const mode of ['wrong-transaction', 'wrong-unit', 'garbage', 'truncated', 'silent'] as const) {
    it(`marks every tag bad and reports a coded error when the device answers with ${mode}`, async () => {
      const { error, sink } = await pollWith(mode);
      expect(error).toBeInstanceOf(MillwrightError);
      expect((error as MillwrightError).code).toMatch(/^EDGE_DEVICE_(TIMEOUT|UNREACHABLE)$/);
      expect(sink.qualities).toEqual(['bad', 'bad']);
      expect(sink.values.filter((value) => value !== undefined)).toEqual([]);
    });
  }

  for (const mode of ['nan', 'infinity'] as const) {
    it(`gives a ${mode} float register bad quality, never a number, and keeps the other tags good`, async () => {
      const { error, sink } = await pollWith(mode);
      expect(error).toBeUndefined();
      expect(sink.qualities).toEqual(['bad', 'good']);
      expect(sink.values[0]).toBeUndefined();
      expect(sink.values[1]).toBe(7);
    });
  }
});
