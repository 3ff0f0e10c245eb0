// `millwright hil <subcommand>`: the hardware-in-the-loop rig's command line. `plant` runs the
// simulated plant until SIGINT/SIGTERM and announces itself with one JSON line on stdout
// ({"event":"plant-ready",...}), which the demo supervisor and scripts parse; logs go to stderr.
import { parseCommand, stopSignal, usageError } from '../common/cli.ts';
import { exitCode } from '../common/errors.ts';
import { loadPlantConfig } from './plant-config.ts';
import { startPlant } from './plant.ts';

type Runner = (argv: readonly string[]) => Promise<number>;

const plantSpec = {
  name: 'millwright hil plant',
  summary: 'Run a simulated plant: every machine a Modbus TCP server, stepped in real time from a seed.',
  help: `
options:
  --config FILE   plant config (YAML); every key has a default (schema in hil/plant-config.ts)
  -h, --help      show this help

config example:
  seed: 1                      # same seed, same trajectories
  stepMs: 100                  # simulated time per step and timer period
  profile: machine.yaml        # device profile (default: the bundled demo-machine)
  lines:
    - id: line1
      machines:
        - { id: filler, port: 0, unitId: 1, speedSetpoint: 60, faultRatePerHour: 2 }

Prints one JSON line when every machine listens:
  {"event":"plant-ready","seed":1,"stepMs":100,"machines":[{"line":"line1","machine":"machine1",
   "host":"127.0.0.1","port":40123,"unitId":1,"profilePath":"/.../demo-machine.yaml"}]}
then runs until SIGINT or SIGTERM and exits 0 after closing every server.`,
  options: { config: { type: 'string' } },
} as const;

async function runPlant(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand(plantSpec, argv);
  if (parsed === undefined) return exitCode.ok;
  const configPath = parsed.values.config;
  if (configPath === undefined) throw usageError(`${plantSpec.name}: --config FILE is required\nrun '${plantSpec.name} --help' for usage`);
  const config = loadPlantConfig(configPath);
  const plant = await startPlant(config);
  // Only now: stopSignal() may hold stdin open, which would keep a plant that failed to start alive.
  const stopped = stopSignal();
  process.stdout.write(`${JSON.stringify({ event: 'plant-ready', seed: config.seed, stepMs: config.stepMs, machines: plant.machines })}\n`);
  const reason = await stopped;
  process.stderr.write(`${plantSpec.name}: stopping (${reason})\n`);
  await plant.close();
  process.stderr.write(`${plantSpec.name}: stopped after ${plant.model.steps} steps (${plant.skippedSteps} skipped)\n`);
  return exitCode.ok;
}

const subcommands: Readonly<Record<string, { readonly summary: string; readonly run: Runner }>> = {
  plant: { summary: 'run a simulated plant of Modbus TCP machines (plant --config FILE)', run: runPlant },
};

function usage(): string {
  const lines = Object.entries(subcommands).map(([name, sub]) => `  ${name}  ${sub.summary}`);
  return ['usage: millwright hil <subcommand> [options]', '', 'Hardware-in-the-loop rig: simulated plant devices on real protocols.', '', 'subcommands:', ...lines, '', "Run 'millwright hil <subcommand> --help' for its options.", ''].join('\n');
}

export async function run(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return exitCode.ok;
  }
  if (name === undefined) throw usageError(`millwright hil: a subcommand is required\n\n${usage()}`);
  const subcommand = subcommands[name];
  if (subcommand === undefined) throw usageError(`millwright hil: unknown subcommand '${name}'\n\n${usage()}`);
  return subcommand.run(rest);
}
