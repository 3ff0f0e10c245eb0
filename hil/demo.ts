// `millwright demo`: a whole site on one machine from embedded defaults — the simulated plant,
// one gateway process per line and the hub with its embedded broker, DuckDB file and dashboard.
// Every tier is a real process speaking its real protocol; Ctrl-C stops them in order. line1's
// filler is guarded by a compiled AssemblyScript rule, and both gateways accept bundles signed
// with the demo keys in the data folder (docs/rules.md walks through it).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { stringify } from 'yaml';
import { parseCommand, stopSignal, usageError } from '../common/cli.ts';
import { exitCode } from '../common/errors.ts';
import { buildDemoRule, ensureDemoTrust } from './demo-rules.ts';
import { demoLines, gatewayConfig, hubConfig, plantConfig, type PlantMachine } from './demo-site.ts';
import { startChild, type SupervisedChild } from './supervisor.ts';

const spec = {
  name: 'millwright demo',
  summary: 'Run a whole demo site on this machine: simulated plant, two line gateways, the hub and its dashboard.',
  help: `
options:
  --data DIR        data folder (configs, DuckDB file, gateway state); reused on the next run
                    (default: .data/demo in the current folder)
  --http-port PORT  dashboard and API port on 127.0.0.1 (default 8080; 0 picks a free port)
  --seed N          seed of the simulated plant (default 1)
  -h, --help        show this help

Prints the dashboard URL when the site is up. Ctrl-C stops every process cleanly.`,
  options: { data: { type: 'string' }, 'http-port': { type: 'string' }, seed: { type: 'string' } },
} as const;

function integerOption(value: string | undefined, name: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > max) throw usageError(`${spec.name}: --${name} must be an integer from 0 to ${max}, got '${value}'`);
  return parsed;
}

function writeYaml(path: string, document: object, comment: string): void {
  writeFileSync(path, `# ${comment}\n# Written by 'millwright demo' on every start from its embedded defaults.\n${stringify(document)}`);
}

export async function run(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (parsed === undefined) return exitCode.ok;
  const dataDir = resolve(parsed.values.data ?? join('.data', 'demo'));
  const httpPort = integerOption(parsed.values['http-port'], 'http-port', 8080, 65_535);
  const seed = integerOption(parsed.values.seed, 'seed', 1, 4_294_967_295);
  mkdirSync(dataDir, { recursive: true });

  const children: SupervisedChild[] = [];
  const stopAll = async (): Promise<void> => {
    for (const child of children.splice(0).reverse()) await child.stop();
  };
  const stopped = stopSignal();
  try {
    // The rule builds while the plant and hub start (the compiler takes a few seconds the first time).
    const trust = ensureDemoTrust(dataDir);
    const building = buildDemoRule(join(dataDir, 'rules'));
    building.catch(() => undefined);
    const plantPath = join(dataDir, 'plant.yaml');
    writeYaml(plantPath, plantConfig(seed), 'Simulated plant of the demo site.');
    const plant = await startChild({ name: 'plant', args: ['hil', 'plant', '--config', plantPath], readyEvent: 'plant-ready' });
    children.push(plant);
    const machines = plant.ready['machines'] as PlantMachine[];

    const hubPath = join(dataDir, 'hub.yaml');
    writeYaml(hubPath, hubConfig(httpPort), 'Site hub of the demo site.');
    const hub = await startChild({ name: 'hub', args: ['hub', '--config', hubPath], readyEvent: 'hub-ready' });
    children.push(hub);
    const brokerPort = hub.ready['brokerPort'] as number;
    const url = hub.ready['url'] as string;

    const rules = { filler: relative(dataDir, await building), trustRoot: relative(dataDir, trust.rootPath) };
    const gatewayApis: string[] = [];
    for (const [index, line] of demoLines.entries()) {
      const path = join(dataDir, `gateway-${line.id}.yaml`);
      writeYaml(path, gatewayConfig(line.id, machines, brokerPort, seed + index + 1, rules), `Gateway of ${line.id} on the demo site.`);
      const gateway = await startChild({ name: `gateway ${line.id}`, args: ['gateway', '--config', path], readyEvent: 'gateway-ready' });
      children.push(gateway);
      gatewayApis.push(`  gateway ${line.id}: ${String(gateway.ready['api'])}`);
    }

    process.stdout.write(`\nmillwright demo site is running: ${url}\n${gatewayApis.join('\n')}\n  data folder: ${dataDir}\n  press Ctrl-C to stop\n\n`);
    const failed = Promise.race(children.map((child) => child.exited.then((code) => ({ child, code }))));
    const outcome = await Promise.race([stopped.then(() => undefined), failed]);
    if (outcome !== undefined) {
      process.stderr.write(`millwright demo: ${outcome.child.name} exited unexpectedly (${outcome.code}); stopping the site\n`);
      await stopAll();
      return exitCode.runtimeFailure;
    }
    process.stderr.write('millwright demo: stopping\n');
    await stopAll();
    process.stdout.write('millwright demo: stopped\n');
    return exitCode.ok;
  } catch (error) {
    await stopAll();
    throw error;
  }
}
