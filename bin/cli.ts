// Subcommand dispatch. The entry only maps each subcommand to the component that owns it and
// turns errors into exit codes (0 ok, 1 runtime failure, 2 bad usage or bad config); each
// component parses its own options and prints its own --help.
import { reportError } from '../common/cli.ts';
import { exitCode } from '../common/errors.ts';

type Runner = (argv: readonly string[]) => Promise<number>;

interface Subcommand {
  readonly summary: string;
  readonly load: () => Promise<Runner>;
}

function notBuiltYet(name: string, issue: string): () => Promise<Runner> {
  return async () => async (argv) => {
    if (argv.includes('--help') || argv.includes('-h')) {
      process.stdout.write(`usage: millwright ${name}\n\nNot built yet: ${issue}.\n`);
      return exitCode.ok;
    }
    process.stderr.write(`millwright ${name}: not built yet (${issue}); nothing was started.\n`);
    return exitCode.runtimeFailure;
  };
}

export const subcommands: Readonly<Record<string, Subcommand>> = {
  demo: { summary: 'run a whole demo site on this machine (plant, gateways, hub, dashboard)', load: async () => (await import('../hil/demo.ts')).run },
  gateway: { summary: 'run a gateway: poll machines, scan, publish (gateway --config FILE)', load: async () => (await import('../edge/cli.ts')).run },
  hub: { summary: 'run a site hub: broker, DuckDB ingest, API and dashboard (hub --config FILE)', load: async () => (await import('../hub/cli.ts')).run },
  hil: { summary: 'hardware-in-the-loop rig: simulated plant (hil plant --config FILE)', load: async () => (await import('../hil/cli.ts')).run },
  central: { summary: 'run the central fleet platform', load: notBuiltYet('central', 'the central tier is planned in a later issue') },
  rules: { summary: 'build and test AssemblyScript rules (rules build DIR, rules test DIR)', load: async () => (await import('../rules/cli.ts')).run },
  keys: { summary: 'generate signing keys, create and rotate the trusted root', load: async () => (await import('../rules/keys-cli.ts')).run },
  bundle: { summary: 'pack, verify and inspect signed rule bundles', load: async () => (await import('../rules/bundle-cli.ts')).run },
  analytics: { summary: 'site and cross-site analytics', load: notBuiltYet('analytics', 'a later hub/central issue') },
  pod: { summary: 'turn a site description into deployment files', load: notBuiltYet('pod', 'a later issue') },
};

export function usage(): string {
  const width = Math.max(...Object.keys(subcommands).map((name) => name.length));
  const lines = Object.entries(subcommands).map(([name, sub]) => `  ${name.padEnd(width)}  ${sub.summary}`);
  return [
    'usage: millwright <command> [options]',
    '',
    'Edge-first industrial IoT: gateways, site hubs and a central platform.',
    '',
    'commands:',
    ...lines,
    '',
    "Run 'millwright <command> --help' for a command's options.",
    'Exit codes: 0 success, 1 runtime failure, 2 bad usage or bad config.',
    '',
  ].join('\n');
}

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? exitCode.badUsageOrConfig : exitCode.ok;
  }
  const subcommand = subcommands[name];
  if (subcommand === undefined) {
    process.stderr.write(`millwright: unknown command '${name}'\n\n${usage()}`);
    return exitCode.badUsageOrConfig;
  }
  try {
    const run = await subcommand.load();
    return await run(rest);
  } catch (error) {
    return reportError(error);
  }
}
