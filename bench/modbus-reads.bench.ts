// Modbus TCP read throughput of the gateway's driver (ModbusTcpDriver.poll of a profile planned
// into one 125-register read, back to back) against two servers in their own processes: our hil
// ModbusTcpServer and pymodbus's asyncio server. The floor, measured in the same run: a bare
// request/response of the same sizes (12 bytes out, 259 back) over node:net sockets on loopback,
// one request outstanding per connection as in Modbus. Each is run with 1 and with 4 devices
// (connections) in parallel, in interleaved slices (floor, hil, pymodbus, floor, ...) so that
// other load on the shared machine falls on all three alike. There is no goal yet: the figures
// say where the time goes, with the CPU each side spends per read.
// usage: node --import tsx bench/modbus-reads.bench.ts [--quick]
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { assert } from '../common/assert.ts';
import { systemClock } from '../common/clock.ts';
import type { DeviceProfile, ProfileTag } from '../common/device-profile.ts';
import type { TagSink } from '../edge/drivers/driver.ts';
import { ModbusTcpDriver } from '../edge/drivers/modbus-tcp.ts';
import { requestBytes, responseBytes } from './fixtures/raw-exchange.ts';
import { startPeer, type Peer } from './lib/child.ts';
import { fmt, ratio } from './lib/stats.ts';
import { heading, note, printResult, printTable, quick } from './lib/report.ts';
import { processCpuMs } from './lib/thread-cpu.ts';

const bench = 'modbus-reads';
const slices = quick ? 1 : 4;
const sliceSeconds = quick ? 0.6 : 0.75;
const warmupSeconds = quick ? 0.2 : 0.5;
const parallelDevices = [1, 4] as const;
const registersPerRead = 125;

// 25 float32 + 25 uint32 + 25 int16 input registers = 125 registers, planned into one request.
const tags: ProfileTag[] = [];
for (let i = 0; i < 25; i++) tags.push({ name: `f${i}`, area: 'input', address: 2 * i, type: 'float32' });
for (let i = 0; i < 25; i++) tags.push({ name: `u${i}`, area: 'input', address: 50 + 2 * i, type: 'uint32' });
for (let i = 0; i < 25; i++) tags.push({ name: `s${i}`, area: 'input', address: 100 + i, type: 'int16' });
const profile: DeviceProfile = { profile: 'bench-125', protocol: 'modbus', tags };

const nowS = (): number => performance.now() / 1000;

/** One way of doing back-to-back reads on `devices` connections; run() returns how many completed. */
interface Runner {
  readonly server: Peer;
  run(seconds: number): Promise<number>;
  close(): Promise<void>;
}

async function driverRunner(server: Peer, devices: number): Promise<Runner> {
  const drivers = Array.from({ length: devices }, (_, index) =>
    new ModbusTcpDriver({ id: `dev${index}`, driver: 'modbus-tcp', host: '127.0.0.1', port: server.port, unitId: 1, profile: 'bench', pollIntervalMs: 1, timeoutMs: 2000, batchGapMax: 8 }, profile, systemClock),
  );
  const last = new Float64Array(tags.length).fill(Number.NaN);
  const sink: TagSink = { write: (index, value) => void (last[index] = value), markQuality: () => undefined };
  await Promise.all(drivers.map((driver) => driver.open()));
  assert(drivers.every((driver) => driver.requestsPerPoll === 1), 'the bench profile must plan into one read request');
  return {
    server,
    async run(seconds) {
      let reads = 0;
      const until = nowS() + seconds;
      await Promise.all(drivers.map(async (driver) => {
        while (nowS() < until) {
          await driver.poll(sink);
          reads++;
        }
      }));
      // Both servers hold register n = n: the read must decode to the same values from either.
      assert(last[25] === 50 * 65_536 + 51 && last[50] === 100 && last[74] === 124, `unexpected values from port ${server.port}: ${last[25]} ${last[50]} ${last[74]}`);
      return reads;
    },
    close: async () => void (await Promise.all(drivers.map((driver) => driver.close()))),
  };
}

/** The floor: bare request/response exchanges, callbacks only, no Modbus on either side. */
async function rawRunner(server: Peer, connections: number): Promise<Runner> {
  const request = Buffer.alloc(requestBytes);
  const sockets: Socket[] = await Promise.all(Array.from({ length: connections }, () => new Promise<Socket>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: server.port, noDelay: true }, () => resolve(socket));
    socket.once('error', reject);
  })));
  const exchange = (socket: Socket, until: number, count: () => void): Promise<void> => new Promise((done) => {
    let received = 0;
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received < responseBytes) return;
      received -= responseBytes;
      count();
      if (nowS() < until) socket.write(request);
      else {
        socket.off('data', onData);
        done();
      }
    };
    socket.on('data', onData);
    socket.write(request);
  });
  return {
    server,
    async run(seconds) {
      let exchanges = 0;
      const until = nowS() + seconds;
      await Promise.all(sockets.map((socket) => exchange(socket, until, () => void exchanges++)));
      return exchanges;
    },
    close: async () => sockets.forEach((socket) => socket.destroy()),
  };
}

interface Totals {
  count: number;
  seconds: number;
  clientCpuMs: number;
  serverCpuMs: number;
}

/** Warms each runner up, then runs them in interleaved slices; totals per runner. */
async function interleave(runners: readonly Runner[]): Promise<Totals[]> {
  for (const runner of runners) await runner.run(warmupSeconds);
  const totals = runners.map(() => ({ count: 0, seconds: 0, clientCpuMs: 0, serverCpuMs: 0 }));
  for (let slice = 0; slice < slices; slice++) {
    for (const [index, runner] of runners.entries()) {
      const total = totals[index]!;
      const client = process.cpuUsage();
      const server = processCpuMs(runner.server.pid);
      const started = nowS();
      total.count += await runner.run(sliceSeconds);
      total.seconds += nowS() - started;
      const clientUsed = process.cpuUsage(client);
      total.clientCpuMs += (clientUsed.user + clientUsed.system) / 1000;
      total.serverCpuMs += processCpuMs(runner.server.pid) - server;
    }
  }
  return totals;
}

const tsx = ['--import', 'tsx', fileURLToPath(new URL('./fixtures/modbus-peer-server.ts', import.meta.url))];
const peers: Peer[] = [];
try {
  const [echo, hil, pymodbus] = await Promise.all([
    startPeer('echo server', process.execPath, [...tsx, 'echo']),
    startPeer('hil server', process.execPath, [...tsx, 'hil']),
    startPeer('pymodbus server', '/usr/bin/python3', ['-B', fileURLToPath(new URL('./fixtures/pymodbus_bench_server.py', import.meta.url))]),
  ]);
  peers.push(echo, hil, pymodbus);
  heading(`Modbus TCP reads of ${registersPerRead} registers, back to back, ${slices} × ${sliceSeconds} s per path (${quick ? 'quick' : 'full'})`);
  const rows: string[][] = [];
  for (const devices of parallelDevices) {
    const runners = [await rawRunner(echo, devices), await driverRunner(hil, devices), await driverRunner(pymodbus, devices)];
    let totals: Totals[];
    try {
      totals = await interleave(runners);
    } finally {
      for (const runner of runners) await runner.close();
    }
    const [floor, ours, theirs] = totals.map((total) => total.count / total.seconds) as [number, number, number];
    const cpu = (index: number): string[] => [fmt((totals[index]!.clientCpuMs * 1000) / totals[index]!.count), fmt((totals[index]!.serverCpuMs * 1000) / totals[index]!.count)];
    rows.push([String(devices), 'raw loopback exchange (floor)', fmt(floor), '-', '1', '-', ...cpu(0)]);
    rows.push([String(devices), 'driver → hil ModbusTcpServer', fmt(ours), fmt(ours * registersPerRead), fmt(ratio(ours, floor)), '1', ...cpu(1)]);
    rows.push([String(devices), 'driver → pymodbus async server', fmt(theirs), fmt(theirs * registersPerRead), fmt(ratio(theirs, floor)), fmt(ratio(theirs, ours)), ...cpu(2)]);
    printResult({ bench, measure: `driver reads/s → hil, ${devices} device(s)`, value: ours, unit: 'reads/s', reference: 'raw loopback exchanges/s', referenceValue: floor, ratio: ratio(ours, floor) });
    printResult({ bench, measure: `driver reads/s → pymodbus, ${devices} device(s)`, value: theirs, unit: 'reads/s', reference: 'driver → hil reads/s', referenceValue: ours, ratio: ratio(theirs, ours) });
  }
  printTable(['devices', 'path', 'reads/s', 'registers/s', 'vs floor', 'vs hil', 'client CPU µs/read', 'server CPU µs/read'], rows);
  note('CPU per read: this process (driver or bare client) and the server process, from getrusage and /proc (10 ms ticks).');
  note('Server and client run in separate processes on 2 shared cores: compare the ratios, not the absolute rates.');
} finally {
  await Promise.all(peers.map((peer) => peer.stop()));
}
