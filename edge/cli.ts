// `millwright gateway --config FILE [--record TRACE]` runs one gateway until SIGINT or SIGTERM;
// `millwright gateway replay TRACE` re-runs a recorded scan and prints its outputs.
import { readFileSync } from 'node:fs';
import { parseCommand, stopSignal, usageError } from '../common/cli.ts';
import { loadConfigFile } from '../common/config.ts';
import { exitCode } from '../common/errors.ts';
import { configDirOf, startGateway } from './gateway.ts';
import { gatewayConfigSchema, type GatewayConfig } from './gateway-config.ts';
import { replayTrace } from './scan/replay.ts';

const runSpec = {
  name: 'millwright gateway',
  summary: 'Run a gateway: poll the configured devices, run the scan cycle and publish points to the hub.',
  help: `
options:
  --config FILE   gateway configuration (YAML); see docs/gateway.md
  --record TRACE  record every tick's inputs and outputs to TRACE for replay
  -h, --help      show this help

subcommands:
  replay TRACE    re-run a recorded scan and print its alarms, writes and points

Prints one JSON line {"event":"gateway-ready",...} on stdout when running; logs go to stderr.
Stops cleanly on SIGINT or SIGTERM. Exit codes: 0 stopped cleanly, 1 runtime failure,
2 bad usage or bad config (nothing is started).`,
  options: { config: { type: 'string' }, record: { type: 'string' } },
} as const;

const replaySpec = {
  name: 'millwright gateway replay',
  summary: 'Re-run a scan trace recorded with --record through the scan core and print its outputs, one line each.',
  help: `
arguments:
  TRACE           the file written by 'millwright gateway --record TRACE'
options:
  --recorded      print the outputs the live run recorded instead of re-running it
  --check         re-run and compare with the recorded outputs; exit 1 at the first difference
  -h, --help      show this help

The scan is a pure function of its inputs, so the replayed outputs equal the recorded ones byte
for byte: 'diff <(millwright gateway replay T) <(millwright gateway replay --recorded T)' is empty.`,
  options: { recorded: { type: 'boolean' }, check: { type: 'boolean' } },
  positionalsMax: 1,
} as const;

async function replay(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand(replaySpec, argv);
  if (parsed === undefined) return exitCode.ok;
  const path = parsed.positionals[0];
  if (path === undefined) throw usageError(`${replaySpec.name}: TRACE is required\nrun '${replaySpec.name} --help' for usage`);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw usageError(`${replaySpec.name}: cannot read ${path}: ${(error as Error).message}`);
  }
  const result = replayTrace(bytes);
  if (parsed.values.check === true) {
    const length = Math.max(result.replayed.length, result.recorded.length);
    for (let line = 0; line < length; line++) {
      if (result.replayed[line] !== result.recorded[line]) {
        process.stderr.write(`replay differs at output ${line + 1}:\n  recorded: ${result.recorded[line] ?? '(nothing)'}\n  replayed: ${result.replayed[line] ?? '(nothing)'}\n`);
        return exitCode.runtimeFailure;
      }
    }
    process.stdout.write(`replay identical: ${result.ticks} ticks, ${length} outputs\n`);
    return exitCode.ok;
  }
  const lines = parsed.values.recorded === true ? result.recorded : result.replayed;
  process.stdout.write(lines.length === 0 ? '' : `${lines.join('\n')}\n`);
  return exitCode.ok;
}

export async function run(argv: readonly string[]): Promise<number> {
  if (argv[0] === 'replay') return replay(argv.slice(1));
  const parsed = parseCommand(runSpec, argv);
  if (parsed === undefined) return exitCode.ok;
  const configPath = parsed.values.config;
  if (configPath === undefined) throw usageError(`${runSpec.name}: --config FILE is required\nrun '${runSpec.name} --help' for usage`);
  const config = loadConfigFile<GatewayConfig>(configPath, gatewayConfigSchema);
  const stopped = stopSignal();
  const gateway = await startGateway(config, configDirOf(configPath), { ...(parsed.values.record !== undefined && { recordPath: parsed.values.record }) });
  process.stdout.write(`${JSON.stringify({ event: 'gateway-ready', gateway: gateway.id, api: gateway.apiUrl ?? null })}\n`);
  await stopped;
  await gateway.close();
  return exitCode.ok;
}
