// `millwright bundle pack|verify|inspect|install`: pack compiled rule modules and their rule
// manifests into one signed bundle file, check a bundle exactly as a gateway would, show what a
// bundle holds, and hand one to a running gateway over its local API (which verifies it itself).
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { bundleLimitsDefault, openBundle, packBundle, readBundleParts, type OpenOptions, type PackModule } from '../common/bundle.ts';
import { parseCommand, usageError } from '../common/cli.ts';
import { exitCode, isMillwrightError } from '../common/errors.ts';
import { canonicalJson, sha256Hex } from '../common/trust-canonical-json.ts';
import { expiryFrom, parseTimestampOrUndefined, readFileOrFail, readJsonFile, readPrivateKeyFile, readRootFile } from '../common/trust-files.ts';
import { applyRootChain } from '../common/trust.ts';
import { list, required, wholeSecondsNowMs } from './cli-args.ts';

const packSpec = {
  name: 'millwright bundle pack',
  summary: 'Pack compiled rule modules and their rule manifests into one bundle file signed with rules keys.',
  help: `
options:
  --name NAME          bundle name (lower-case letters, digits, dashes)
  --version N          bundle version; gateways refuse anything not above what they ran
  --target GW[,GW]     gateway ids the bundle is for (repeatable)
  --group G[,G]        gateway groups the bundle is for (repeatable)
  --module SPEC        NAME=FILE.wasm,manifest=FILE.json[,fuel=N][,pages=N] (repeatable)
  --fuel-per-tick N    default fuel per tick of each module (default 1000000)
  --memory-pages N     default memory cap of each module, 64 KiB pages (default 16)
  --key PEM[,PEM]      rules private keys (repeatable): each adds a signature
  --expires WHEN       a duration (30d) or an RFC 3339 UTC time (default 30d)
  --created TIME       RFC 3339 UTC creation time (default now; fix it for reproducible files)
  --out FILE           the bundle file to write
  -h, --help           show this help

example:
  millwright bundle pack --name line1-rules --version 7 --target line1-gw --expires 30d \\
    --module press-overtemp=build/press.wasm,manifest=build/press.json --key keys/rules.pem --out line1-v7.mwb`,
  options: {
    name: { type: 'string' },
    version: { type: 'string' },
    target: { type: 'string', multiple: true },
    group: { type: 'string', multiple: true },
    module: { type: 'string', multiple: true },
    'fuel-per-tick': { type: 'string' },
    'memory-pages': { type: 'string' },
    key: { type: 'string', multiple: true },
    expires: { type: 'string' },
    created: { type: 'string' },
    out: { type: 'string' },
  },
} as const;

const verifySpec = {
  name: 'millwright bundle verify',
  summary: 'Check a bundle file as a gateway would: format, signatures and threshold, expiry, version, target, hashes and limits.',
  help: `
arguments:
  FILE                     the bundle file
options:
  --root FILE              the trusted root (JSON)
  --root-chain F[,F]       newer roots to apply in order first (rotations)
  --gateway ID             check the bundle targets this gateway (else targets are not checked)
  --group G[,G]            the gateway's groups (repeatable)
  --installed-version N    the version the gateway runs: the bundle must be above it
  --now TIME               check expiry at this RFC 3339 UTC time instead of now
  -h, --help               show this help

Exit codes: 0 valid, 1 refused (the code and the reason are printed), 2 bad usage or unreadable root.`,
  options: {
    root: { type: 'string' },
    'root-chain': { type: 'string' },
    gateway: { type: 'string' },
    group: { type: 'string', multiple: true },
    'installed-version': { type: 'string' },
    now: { type: 'string' },
  },
  positionalsMax: 1,
} as const;

const inspectSpec = {
  name: 'millwright bundle inspect',
  summary: 'Show the manifest, module hashes and signers of a bundle file, without trusting it.',
  help: `
arguments:
  FILE        the bundle file
options:
  --json      print one JSON document instead of text
  -h, --help  show this help

Nothing is verified against a root: use 'millwright bundle verify' for that.`,
  options: { json: { type: 'boolean' } },
  positionalsMax: 1,
} as const;

const installSpec = {
  name: 'millwright bundle install',
  summary: "Send a bundle file to a running gateway, directly or through its site hub; the gateway verifies it and swaps it in at a tick boundary.",
  help: `
arguments:
  FILE             the bundle file
options:
  --gateway URL    the gateway's local API, e.g. http://127.0.0.1:8081/ (its 'api' setting;
                   'millwright demo' prints one per line)
  --hub URL        or: the site hub's API; it relays the file to gateway --to over MQTT (up to
                   1,000,000 bytes), held by the broker while the gateway is offline
  --to ID          the gateway id, with --hub
  -h, --help       show this help

The gateway checks signatures against the root it trusts, the version against what it ran, the
targets, hashes and limits; a refused bundle changes nothing. An accepted one is staged, swapped
in at the next tick boundary and kept on probation: if its rules keep faulting the gateway rolls
back to its last good bundle by itself. Watch 'rules' in GET /api/stats.
Exit codes: 0 staged, 1 refused by the gateway (the reason is printed), 2 bad usage or unreachable.`,
  options: { gateway: { type: 'string' }, hub: { type: 'string' }, to: { type: 'string' } },
  positionalsMax: 1,
} as const;

const bundleHelp = `usage: millwright bundle <pack|verify|inspect|install> [options]

Signed rule bundles: the compiled modules and a manifest, signed with rules keys.

subcommands:
  pack       pack and sign a bundle file
  verify     check a bundle as a gateway would
  inspect    show what a bundle file holds
  install    send a bundle to a running gateway

Run 'millwright bundle <subcommand> --help' for its options.
Exit codes: 0 success, 1 refused (the reason is printed), 2 bad usage or unreadable input.
`;

export async function run(argv: readonly string[]): Promise<number> {
  const [first] = argv;
  if (first === 'pack') return pack(argv.slice(1));
  if (first === 'verify') return verify(argv.slice(1));
  if (first === 'inspect') return inspect(argv.slice(1));
  if (first === 'install') return install(argv.slice(1));
  if (first === undefined || first === '--help' || first === '-h') {
    process.stdout.write(bundleHelp);
    return first === undefined ? exitCode.badUsageOrConfig : exitCode.ok;
  }
  throw usageError(`millwright bundle: unknown subcommand '${first}'\n\n${bundleHelp}`);
}

async function pack(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand(packSpec, argv);
  if (parsed === undefined) return exitCode.ok;
  const { values } = parsed;
  const command = packSpec.name;
  const out = required(values.out, '--out FILE', command);
  const createdMs = values.created === undefined ? wholeSecondsNowMs() : timestamp(values.created, '--created', command);
  const expiresMs = expiryFrom(values.expires ?? '30d', createdMs);
  if (expiresMs === undefined) throw usageError(`${command}: --expires '${values.expires}' is neither a duration (30d) nor an RFC 3339 UTC time`);
  const defaults = { fuelPerTick: integer(values['fuel-per-tick'] ?? '1000000', '--fuel-per-tick', command), memoryPagesMax: integer(values['memory-pages'] ?? '16', '--memory-pages', command) };
  const modules = (values.module ?? []).map((spec) => moduleFrom(spec, defaults, command));
  const keys = (values.key ?? []).flatMap(list).map((path) => readPrivateKeyFile(path).key);
  if (keys.length === 0) throw usageError(`${command}: --key PEM is required\nrun '${command} --help' for usage`);
  const bytes = packBundle({
    name: required(values.name, '--name NAME', command),
    version: integer(required(values.version, '--version N', command), '--version', command),
    targets: { gateways: (values.target ?? []).flatMap(list), groups: (values.group ?? []).flatMap(list) },
    createdMs,
    expiresMs,
    modules,
    signingKeys: keys,
  });
  try {
    writeFileSync(out, bytes);
  } catch (error) {
    throw usageError(`${command}: cannot write ${out}: ${(error as Error).message}`);
  }
  process.stdout.write(`${out}: ${bytes.length} bytes, ${modules.length} module(s), ${keys.length} signature(s), sha256 ${sha256Hex(bytes)}\n`);
  return exitCode.ok;
}

async function verify(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand(verifySpec, argv);
  if (parsed === undefined) return exitCode.ok;
  const { values } = parsed;
  const command = verifySpec.name;
  const file = required(parsed.positionals[0], 'FILE', command);
  const bytes = readFileOrFail(file, 'bundle');
  const now = values.now === undefined ? wholeSecondsNowMs() : timestamp(values.now, '--now', command);
  const options: OpenOptions = {
    now,
    ...(values.gateway !== undefined && { gatewayId: values.gateway, groups: (values.group ?? []).flatMap(list) }),
    ...(values['installed-version'] !== undefined && { installedVersion: integer(values['installed-version'], '--installed-version', command, 0) }),
  };
  const { root: pinned } = readRootFile(required(values.root, '--root FILE', command));
  const chain = list(values['root-chain'] ?? '').map((path) => readJsonFile(path, 'root file'));
  try {
    const root = chain.length === 0 ? pinned : applyRootChain(pinned, chain, now);
    const opened = openBundle(bytes, root, options);
    const { manifest } = opened;
    const threshold = root.document.roles.rules.threshold;
    process.stdout.write(
      [
        `valid: bundle ${manifest.name} v${manifest.version}, ${manifest.modules.length} module(s), expires ${manifest.expires}`,
        `signed by ${opened.signers.length} rules key(s) (threshold ${threshold} in root v${root.document.version}): ${opened.signers.map((keyId) => keyId.slice(0, 16)).join(', ')}`,
        `targets: gateways [${manifest.targets.gateways.join(', ')}] groups [${manifest.targets.groups.join(', ')}]${options.gatewayId === undefined ? ' (not checked: no --gateway)' : ''}`,
        '',
      ].join('\n'),
    );
    return exitCode.ok;
  } catch (error) {
    if (!isMillwrightError(error)) throw error;
    process.stderr.write(`refused ${error.code}: ${error.message}\n`);
    return exitCode.runtimeFailure;
  }
}

async function install(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand(installSpec, argv);
  if (parsed === undefined) return exitCode.ok;
  const file = required(parsed.positionals[0], 'FILE', installSpec.name);
  const { gateway, hub, to } = parsed.values;
  if ((gateway === undefined) === (hub === undefined)) throw usageError(`${installSpec.name}: give either --gateway URL or --hub URL --to ID\nrun '${installSpec.name} --help' for usage`);
  const base = (gateway ?? hub)!;
  const route = hub === undefined ? 'api/bundles' : `api/gateways/${encodeURIComponent(required(to, '--to', installSpec.name))}/bundle`;
  let url: URL;
  try {
    url = new URL(route, base.endsWith('/') ? base : `${base}/`);
  } catch {
    throw usageError(`${installSpec.name}: --${hub === undefined ? 'gateway' : 'hub'} must be a URL such as http://127.0.0.1:8081/, got '${base}'`);
  }
  const bytes = readFileOrFail(file, 'bundle');
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', body: bytes, headers: { 'content-type': 'application/octet-stream' } });
  } catch (error) {
    throw usageError(`${installSpec.name}: cannot reach ${url.href}: ${((error as Error).cause as Error | undefined)?.message ?? (error as Error).message}`);
  }
  const reply = (await response.json().catch(() => ({}))) as { staged?: { name: string; version: number; sha256: string }; relayed?: { gateway: string; bytes: number }; code?: string; message?: string };
  if (response.status === 202 && reply.relayed !== undefined) {
    process.stdout.write(`relayed ${reply.relayed.bytes} bytes to ${reply.relayed.gateway} through ${url.origin}: the gateway verifies it itself; watch its bundle events on the hub\n`);
    return exitCode.ok;
  }
  if (response.status === 202 && reply.staged !== undefined) {
    process.stdout.write(`staged ${reply.staged.name} v${reply.staged.version} (${reply.staged.sha256.slice(0, 12)}) on ${url.origin}: it runs from the next tick boundary, on probation\n`);
    return exitCode.ok;
  }
  process.stderr.write(`refused ${reply.code ?? `HTTP ${response.status}`}: ${reply.message ?? 'the gateway gave no reason'}\n`);
  return exitCode.runtimeFailure;
}

async function inspect(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand(inspectSpec, argv);
  if (parsed === undefined) return exitCode.ok;
  const file = required(parsed.positionals[0], 'FILE', inspectSpec.name);
  const bytes = readFileOrFail(file, 'bundle');
  let parts;
  try {
    parts = readBundleParts(bytes, { ...bundleLimitsDefault, bundleBytesMax: Math.max(bytes.length, 1) });
  } catch (error) {
    if (!isMillwrightError(error)) throw error;
    process.stderr.write(`refused ${error.code}: ${error.message}\n`);
    return exitCode.runtimeFailure;
  }
  const { manifest } = parts;
  const modules = manifest.modules.map((entry, index) => {
    const part = parts.modules[index];
    const ruleManifestText = part === undefined ? '' : new TextDecoder().decode(part.ruleManifestBytes);
    return {
      name: entry.name,
      bytes: entry.bytes,
      sha256: entry.sha256,
      sha256Matches: part !== undefined && sha256Hex(part.wasm) === entry.sha256,
      ruleManifestSha256: entry.ruleManifestSha256,
      ruleManifestSha256Matches: part !== undefined && sha256Hex(part.ruleManifestBytes) === entry.ruleManifestSha256,
      limits: entry.limits,
      ruleManifest: ruleManifestText,
    };
  });
  const signatures = parts.signatures.map((signature) => ({ keyId: signature.keyId, signedSha256: signature.signedSha256, coversThisManifest: signature.signedSha256 === parts.manifestSha256 }));
  if (parsed.values.json === true) {
    process.stdout.write(`${JSON.stringify({ file: basename(file), bytes: bytes.length, sha256: sha256Hex(bytes), manifestSha256: parts.manifestSha256, manifest, modules, signatures }, null, 2)}\n`);
    return exitCode.ok;
  }
  const mark = (ok: boolean): string => (ok ? 'ok' : 'MISMATCH');
  const lines = [
    `bundle ${manifest.name} v${manifest.version}: ${bytes.length} bytes, sha256 ${sha256Hex(bytes)} (not verified; use 'millwright bundle verify')`,
    `created ${manifest.created}, expires ${manifest.expires}`,
    `targets: gateways [${manifest.targets.gateways.join(', ')}] groups [${manifest.targets.groups.join(', ')}]`,
    `manifest sha256 ${parts.manifestSha256}`,
    `modules:`,
    ...modules.map(
      (module) =>
        `  ${module.name}: ${module.bytes} bytes, sha256 ${module.sha256} ${mark(module.sha256Matches)}, rule manifest ${module.ruleManifestSha256.slice(0, 16)} ${mark(module.ruleManifestSha256Matches)}, fuel ${module.limits.fuelPerTick}/tick, ${module.limits.memoryPagesMax} pages`,
    ),
    `signatures:`,
    ...signatures.map((signature) => `  key ${signature.keyId} ${signature.coversThisManifest ? 'covers this manifest' : `covers ANOTHER manifest (${signature.signedSha256.slice(0, 16)})`}`),
    `manifest:`,
    canonicalJson(manifest),
    '',
  ];
  process.stdout.write(lines.join('\n'));
  return exitCode.ok;
}

function moduleFrom(spec: string, defaults: { fuelPerTick: number; memoryPagesMax: number }, command: string): PackModule {
  const fields = new Map<string, string>();
  const [head, ...rest] = spec.split(',');
  const equals = head?.indexOf('=') ?? -1;
  if (head === undefined || equals <= 0) throw usageError(`${command}: --module '${spec}': expected NAME=FILE.wasm,manifest=FILE.json`);
  for (const item of rest) {
    const [key, value] = [item.slice(0, item.indexOf('=')), item.slice(item.indexOf('=') + 1)];
    if (!['manifest', 'fuel', 'pages'].includes(key) || value === '' || fields.has(key)) throw usageError(`${command}: --module '${spec}': unexpected '${item}' (manifest=, fuel=, pages= once each)`);
    fields.set(key, value);
  }
  const name = head.slice(0, equals);
  const manifestPath = fields.get('manifest');
  if (manifestPath === undefined) throw usageError(`${command}: --module '${spec}': manifest=FILE.json is required (the rule manifest written by 'millwright rules build')`);
  return {
    name,
    wasm: readFileOrFail(head.slice(equals + 1), `module ${name}`),
    ruleManifest: readJsonFile(manifestPath, `rule manifest of ${name}`),
    limits: {
      fuelPerTick: fields.has('fuel') ? integer(fields.get('fuel') ?? '', `--module ${name} fuel`, command) : defaults.fuelPerTick,
      memoryPagesMax: fields.has('pages') ? integer(fields.get('pages') ?? '', `--module ${name} pages`, command) : defaults.memoryPagesMax,
    },
  };
}

function timestamp(text: string, option: string, command: string): number {
  const epochMs = parseTimestampOrUndefined(text);
  if (epochMs === undefined) throw usageError(`${command}: ${option} '${text}' is not an RFC 3339 UTC time like 2026-01-01T00:00:00Z`);
  return epochMs;
}

function integer(text: string, option: string, command: string, min = 1): number {
  const value = /^\d{1,15}$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= min)) throw usageError(`${command}: ${option} wants an integer >= ${min}, got '${text}'`);
  return value;
}

