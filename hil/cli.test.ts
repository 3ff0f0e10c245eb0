import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import ModbusSerial from 'modbus-serial';
import type { ModbusRTU } from 'modbus-serial/ModbusRTU.js';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { run } from './cli.ts';

const ModbusClient = ModbusSerial as unknown as new () => ModbusRTU;
const entry = new URL('../bin/millwright.mjs', import.meta.url).pathname;
const folder = mkdtempSync(join(tmpdir(), 'mw-hil-cli-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

function captureStdout(): { text: () => string; restore: () => void } {
  let text = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    text += String(chunk);
    return true;
  });
  return { text: () => text, restore: () => spy.mockRestore() };
}

describe('millwright hil', () => {
  it('prints help at every level and exits 0', async () => {
    for (const argv of [['--help'], ['plant', '--help']]) {
      const stdout = captureStdout();
      try {
        expect(await run(argv)).toBe(0);
      } finally {
        stdout.restore();
      }
      expect(stdout.text()).toContain(argv.length === 1 ? 'subcommands:' : 'usage: millwright hil plant');
    }
  });

  it('answers bad usage with a usage error (exit 2) that lists the subcommands', async () => {
    await expect(run(['simulate'])).rejects.toMatchObject({ code: 'COMMON_USAGE', exit: 2, message: expect.stringMatching(/unknown subcommand 'simulate'[\s\S]*plant/) });
    await expect(run([])).rejects.toMatchObject({ exit: 2, message: expect.stringContaining('plant') });
    await expect(run(['plant'])).rejects.toMatchObject({ exit: 2, message: expect.stringContaining('--config FILE is required') });
    await expect(run(['plant', '--config', 'x.yaml', '--speed', '3'])).rejects.toMatchObject({ exit: 2 });
    await expect(run(['plant', '--config', join(folder, 'missing.yaml')])).rejects.toMatchObject({ code: 'CONFIG_UNREADABLE', exit: 2 });
  });

  it('runs a plant as a process: one ready line with the bound ports, served values, clean exit 0 on SIGTERM', async () => {
    const configPath = join(folder, 'plant.yaml');
    writeFileSync(configPath, 'seed: 5\nstepMs: 50\nlines:\n  - id: line1\n    machines: [{ id: filler }, { id: capper, unitId: 2 }]\n  - id: line2\n    machines: [{ id: packer }]\n');
    const child = spawn(process.execPath, [entry, 'hil', 'plant', '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const stdoutLines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
      const first = await stdoutLines.next();
      const ready = JSON.parse(String(first.value)) as { event: string; seed: number; machines: { line: string; machine: string; host: string; port: number; unitId: number; profilePath: string }[] };
      expect(ready.event).toBe('plant-ready');
      expect(ready.seed).toBe(5);
      expect(ready.machines.map((machine) => `${machine.line}/${machine.machine}@${machine.unitId}`)).toEqual(['line1/filler@1', 'line1/capper@2', 'line2/packer@1']);
      expect(ready.machines[0]!.profilePath).toMatch(/demo-machine\.yaml$/);
      const capper = ready.machines[1]!;
      const modbus = new ModbusClient();
      modbus.setID(capper.unitId);
      modbus.setTimeout(1000);
      await modbus.connectTCP(capper.host, { port: capper.port });
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect((await modbus.readHoldingRegisters(0, 1)).data).toEqual([600]); // speed_setpoint 60.0 parts/min
      await new Promise<void>((resolve) => modbus.close(() => resolve()));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('exits 2 naming the file and line of a bad config', async () => {
    const configPath = join(folder, 'bad.yaml');
    writeFileSync(configPath, 'seed: 5\nstepMs: -3\n');
    const child = spawn(process.execPath, [entry, 'hil', 'plant', '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
    expect(code).toBe(2);
    expect(stderr).toContain(`${configPath}:2:`);
  });
});
