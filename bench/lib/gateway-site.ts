// The millwright side of bench/gateway-cpu.bench.ts, as a plant team would run it: the simulated
// plant (`millwright hil plant`), the hub with its embedded broker (`millwright hub`) and one
// gateway (`millwright gateway`), each its own process, so the gateway's CPU can be read from
// /proc alone. Every machine serves the demo profile and runs its own copies of the example rules
// over-temperature and vibration-rms: the examples name the tags `filler/...`, so each machine
// gets a copy with its own device id, built by the real toolchain (`millwright rules build`).
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { demoProfilePath, plantModbusDevice, type PlantMachine } from '../../hil/demo-site.ts';
import { millwrightEntry, startChild, type SupervisedChild } from '../../hil/supervisor.ts';

export type { PlantMachine };

const exampleRules = ['over-temperature', 'vibration-rms'] as const;
/** The demo profile's tags: every poll of a machine reads all of them (4 Modbus requests). */
export const tagsPerMachine = 11;
export const site = 'bench';
export const gatewayId = 'bench-gw';
export const area = 'line1';

export interface GatewayStats {
  readonly scan: { readonly ticks: number; readonly overruns: number; readonly latenessP99Ms: number; readonly stepMaxMs?: number; readonly [key: string]: unknown };
  readonly forwarder: { readonly ackedSeq: string; readonly durableSeq: string; readonly liveQueued?: number; readonly backlogRecords: string; readonly refused: number; readonly [key: string]: unknown };
  readonly log: { readonly usedBytes: number; readonly budgetBytes?: number; readonly refusedPoints: number; readonly segments: number; readonly [key: string]: unknown };
  readonly devices: readonly { readonly id: string; readonly connected: boolean; readonly polls: number; readonly failures: number }[];
  readonly rules: unknown;
  readonly [key: string]: unknown;
}

export const machineIds = (count: number): string[] => Array.from({ length: count }, (_, index) => `m${String(index + 1).padStart(2, '0')}`);

const writeYaml = (path: string, document: object): void => writeFileSync(path, stringify(document));

/** Writes one copy of each example rule per machine into `dir` and builds them into `dir/build`. */
export async function buildMachineRules(dir: string, machines: readonly string[]): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const names: string[] = [];
  for (const rule of exampleRules) {
    const source = readFileSync(fileURLToPath(new URL(`../../rules/examples/${rule}.ts`, import.meta.url)), 'utf8');
    for (const machine of machines) {
      const name = `${rule}-${machine}`;
      writeFileSync(join(dir, `${name}.ts`), source.replaceAll('"filler/', `"${machine}/`).replaceAll('Filler', `Machine ${machine}`));
      names.push(name);
    }
  }
  const outDir = join(dir, 'build');
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [millwrightEntry, 'rules', 'build', dir, '--out', outDir], { stdio: ['ignore', 'ignore', 'pipe'] });
    let errors = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (errors += chunk));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`millwright rules build failed (exit ${code}): ${errors.trim()}`))));
  });
  return names.map((name) => join(outDir, `${name}.wasm`));
}

const quietLog = (): void => undefined;

export async function startPlant(dir: string, machines: readonly string[]): Promise<{ child: SupervisedChild; machines: PlantMachine[] }> {
  const path = join(dir, 'plant.yaml');
  writeYaml(path, {
    seed: 1,
    stepMs: 100,
    profile: demoProfilePath,
    lines: [{ id: area, machines: machines.map((id, index) => ({ id, port: 0, unitId: 1, speedSetpoint: 60 + 5 * index, faultRatePerHour: 0 })) }],
  });
  const child = await startChild({ name: 'plant', args: ['hil', 'plant', '--config', path], readyEvent: 'plant-ready', log: quietLog });
  return { child, machines: child.ready['machines'] as PlantMachine[] };
}

export async function startHubProcess(dir: string): Promise<{ child: SupervisedChild; brokerPort: number; url: string }> {
  const path = join(dir, 'hub.yaml');
  writeYaml(path, { site, dataDir: 'hub', broker: { host: '127.0.0.1', port: 0 }, http: { host: '127.0.0.1', port: 0 } });
  const child = await startChild({ name: 'hub', args: ['hub', '--config', path], readyEvent: 'hub-ready', log: quietLog });
  return { child, brokerPort: child.ready['brokerPort'] as number, url: child.ready['url'] as string };
}

export interface GatewayOptions {
  readonly machines: readonly PlantMachine[];
  readonly brokerPort: number;
  readonly pollIntervalMs: number;
  readonly tickMs: number;
  readonly ruleModules: readonly string[];
  /** Extra node options for the gateway process, e.g. --cpu-prof. */
  readonly nodeOptions?: string;
  /** Modbus TCP reads of one poll in flight (the device setting pipelineMax; default 1). */
  readonly pipelineMax?: number;
}

export async function startGatewayProcess(dir: string, options: GatewayOptions): Promise<{ child: SupervisedChild; api: string; configPath: string }> {
  const path = join(dir, 'gateway.yaml');
  writeYaml(path, {
    gateway: { id: gatewayId, site, area },
    dataDir: 'gateway',
    scan: { tickMs: options.tickMs, seed: 1 },
    uplink: { host: '127.0.0.1', port: options.brokerPort },
    api: { host: '127.0.0.1', port: 0 },
    rules: { modules: options.ruleModules.map((module) => ({ module })) },
    devices: options.machines.map((machine) => ({ ...plantModbusDevice(machine, options.pollIntervalMs), ...(options.pipelineMax !== undefined && { pipelineMax: options.pipelineMax }) })),
  });
  const env = options.nodeOptions === undefined ? undefined : { NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} ${options.nodeOptions}`.trim() };
  const child = await startChild({ name: 'gateway', args: ['gateway', '--config', path], readyEvent: 'gateway-ready', log: quietLog, ...(env !== undefined && { env }) });
  const api = child.ready['api'];
  if (typeof api !== 'string') throw new Error('the gateway reported no API URL in its ready line');
  return { child, api, configPath: path };
}

export async function fetchGatewayStats(api: string): Promise<GatewayStats> {
  const response = await fetch(new URL('api/stats', api.endsWith('/') ? api : `${api}/`));
  if (!response.ok) throw new Error(`gateway /api/stats answered ${response.status}`);
  return (await response.json()) as GatewayStats;
}
