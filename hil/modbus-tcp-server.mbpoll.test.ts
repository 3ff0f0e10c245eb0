// Our simulator's Modbus TCP server against mbpoll (Debian's libmodbus-based client, written by
// nobody here): reads of every area, 32-bit floats, and writes that land in the data store.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDataStore, type ModbusDataStore } from './modbus-data-store.ts';
import { ModbusTcpServer } from './modbus-tcp-server.ts';

const run = promisify(execFile);
const mbpoll = '/usr/bin/mbpoll';
let store: ModbusDataStore;
let server: ModbusTcpServer;
let port = 0;

/** mbpoll's form: options, then the host, then any values to write. */
async function poll(args: string[], writeValues: string[] = []): Promise<string> {
  const { stdout } = await run(mbpoll, ['-m', 'tcp', '-a', '1', '-0', '-1', '-o', '1', '-p', String(port), ...args, '127.0.0.1', ...writeValues], { timeout: 10_000 });
  return stdout;
}

describe.skipIf(!existsSync(mbpoll))('ModbusTcpServer against mbpoll', () => {
  beforeAll(async () => {
    store = createDataStore();
    server = new ModbusTcpServer({ store, unitIds: [1] });
    port = await server.listen(0);
  });
  afterAll(() => server.close());

  it('serves holding and input registers', async () => {
    store.holdingRegisters.set([11, 22, 33], 4);
    store.inputRegisters.set([65535, 7], 0);
    expect(await poll(['-t', '4', '-r', '4', '-c', '3'])).toMatch(/\[4\]:\s+11\s+\[5\]:\s+22\s+\[6\]:\s+33/);
    expect(await poll(['-t', '3', '-r', '0', '-c', '2'])).toMatch(/\[0\]:\s+65535 \(-1\)\s+\[1\]:\s+7/);
  });

  it('serves coils and discrete inputs', async () => {
    store.coils.set([1, 0, 1], 0);
    store.discreteInputs.set([0, 1], 0);
    expect(await poll(['-t', '0', '-r', '0', '-c', '3'])).toMatch(/\[0\]:\s+1\s+\[1\]:\s+0\s+\[2\]:\s+1/);
    expect(await poll(['-t', '1', '-r', '0', '-c', '2'])).toMatch(/\[0\]:\s+0\s+\[1\]:\s+1/);
  });

  it('serves a big-endian float32 across two registers', async () => {
    const view = new DataView(new ArrayBuffer(4));
    view.setFloat32(0, 21.5);
    store.inputRegisters.set([view.getUint16(0), view.getUint16(2)], 10);
    expect(await poll(['-t', '3:float', '-B', '-r', '10', '-c', '1'])).toMatch(/\[10\]:\s+21\.5/);
  });

  it('takes writes of registers and coils from mbpoll', async () => {
    await poll(['-t', '4', '-r', '20'], ['1234', '5678']);
    expect([...store.holdingRegisters.subarray(20, 22)]).toEqual([1234, 5678]);
    await poll(['-t', '0', '-r', '9'], ['1']);
    expect(store.coils[9]).toBe(1);
  });

  it('answers an address beyond its store with an exception mbpoll reports', async () => {
    await expect(poll(['-t', '4', '-r', '65530', '-c', '10'])).rejects.toThrow(/Illegal data address|exception/i);
  });
});
