// The driver floor of bench/gateway-cpu.bench.ts, run as its own process so /proc tells its CPU
// apart: a bare modbus-serial client per machine making the same four reads of the demo profile
// at the same poll interval as the gateway, and nothing else (no decode, rules, log or uplink).
// It prints `READY port=0` once connected and writes the points read so far (the profile's 11 tags
// per full poll) into COUNT_FILE every 200 ms. The peer that needs no install.
// usage: node --import tsx bench/lib/modbus-floor.ts POLL_MS COUNT_FILE HOST:PORT ...
import { renameSync, writeFileSync } from 'node:fs';
import ModbusSerial from 'modbus-serial';
import type { ModbusRTU } from 'modbus-serial/ModbusRTU.js';

// modbus-serial is CommonJS; its typings describe the default export as the client class.
const ModbusClient = ModbusSerial as unknown as new () => ModbusRTU;

const pollIntervalMs = Number(process.argv[2]);
const countPath = process.argv[3]!;
const endpoints = process.argv.slice(4).map((endpoint) => {
  const [host, port] = endpoint.split(':');
  return { host: host!, port: Number(port) };
});
let points = 0;
let stopped = false;
const clients = await Promise.all(
  endpoints.map(async ({ host, port }) => {
    const client = new ModbusClient();
    await client.connectTCP(host, { port });
    client.setID(1);
    client.setTimeout(1000);
    return client;
  }),
);

async function poll(client: ModbusRTU): Promise<void> {
  while (!stopped) {
    const started = performance.now();
    try {
      await client.readInputRegisters(0, 10);
      await client.readDiscreteInputs(0, 2);
      await client.readCoils(0, 2);
      await client.readHoldingRegisters(0, 1);
      points += 11;
    } catch (error) {
      process.stderr.write(`modbus floor: ${(error as Error).message}\n`);
    }
    const waitMs = pollIntervalMs - (performance.now() - started);
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
  }
}

process.on('SIGTERM', () => {
  stopped = true;
  for (const client of clients) client.close(() => undefined);
  setTimeout(() => process.exit(0), 100);
});
process.stdout.write('READY port=0\n');
// Through a rename, so the bench never reads a half-written count.
setInterval(() => {
  writeFileSync(`${countPath}.tmp`, String(points));
  renameSync(`${countPath}.tmp`, countPath);
}, 200);
for (const client of clients) void poll(client);
