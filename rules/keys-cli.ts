// `millwright keys gen|root init|rotate`: Ed25519 signing keys and the signed root document that
// pins each role's keys and threshold (docs/rules.md, "Signing and installing"). Keys are made
// and roots signed offline; only public keys and root files travel to hubs and gateways.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseCommand, usageError } from '../common/cli.ts';
import { exitCode, isMillwrightError } from '../common/errors.ts';
import { expiryFrom, readFileOrFail, readPrivateKeyFile, readRootFile, writePrivateKeyFile, writeTextFile } from '../common/trust-files.ts';
import { generateKeyPair } from '../common/trust-keys.ts';
import { buildRootDocument, roleNames, rotateRoot, signEnvelope, trustRoot, type RoleKeysInput, type RoleName, type RootDocument } from '../common/trust.ts';
import { list, required, wholeSecondsNowMs } from './cli-args.ts';

const rolesHelp = `roles: ${roleNames.join(', ')}`;

const genSpec = {
  name: 'millwright keys gen',
  summary: 'Generate an Ed25519 key pair: NAME.pem (private, mode 0600) and NAME.pub (public) in DIR.',
  help: `
options:
  --role ROLE     what the key will sign (${rolesHelp}); names the files
  --out DIR       folder for the files (created if missing)
  --name NAME     file name without extension (default ROLE-KEYID8)
  -h, --help      show this help

Prints one JSON line {"role","keyId","private","public"}. An existing file is never overwritten.`,
  options: { role: { type: 'string' }, out: { type: 'string' }, name: { type: 'string' } },
} as const;

const rootOptions = {
  keys: { type: 'string', multiple: true },
  threshold: { type: 'string', multiple: true },
  'sign-with': { type: 'string' },
  expires: { type: 'string' },
  out: { type: 'string' },
} as const;

const initSpec = {
  name: 'millwright keys root init',
  summary: 'Create root version 1 from public keys and thresholds, signed by root private keys.',
  help: `
options:
  --keys ROLE=PUB[,PUB...]   public key files of a role; give it once per role (${rolesHelp})
  --threshold ROLE=N         signatures the role needs (default 1 for each role)
  --sign-with PEM[,PEM...]   root private keys; at least the root threshold of them
  --expires WHEN             a duration (365d, 12h) or an RFC 3339 UTC time (default 365d)
  --out FILE                 where to write the root (JSON)
  -h, --help                 show this help

example:
  millwright keys root init --keys root=k/r1.pub,k/r2.pub,k/r3.pub --threshold root=2 \\
    --keys rules=k/rules.pub --keys firmware=k/fw.pub --sign-with k/r1.pem,k/r2.pem --out root.json`,
  options: rootOptions,
} as const;

const rotateSpec = {
  name: 'millwright keys rotate',
  summary: 'Write root version N+1: replace the keys or thresholds of some roles, signed by the old and the new root keys.',
  help: `
options:
  --root FILE                the current root (version N)
  --keys ROLE=PUB[,PUB...]   the new key set of a role (roles not given keep theirs)
  --threshold ROLE=N         a role's new threshold (roles not given keep theirs)
  --sign-with PEM[,PEM...]   private keys: the old root's threshold of old root keys AND the
                             new root's threshold of new root keys (one key may count for both)
  --expires WHEN             a duration or an RFC 3339 UTC time (default 365d)
  --out FILE                 where to write root N+1; nothing is written unless it verifies
  -h, --help                 show this help

Gateways accept root N+1 only from root N: distribute every version in order.`,
  options: { ...rootOptions, root: { type: 'string' } },
} as const;

const keysHelp = `usage: millwright keys <gen|root init|rotate> [options]

Ed25519 signing keys and the signed root document of trust.

subcommands:
  gen          generate a key pair for a role
  root init    create and sign root version 1
  rotate       create and sign root version N+1

Run 'millwright keys <subcommand> --help' for its options.
Exit codes: 0 success, 1 refused (the reason is printed), 2 bad usage or unreadable input.
`;

export async function run(argv: readonly string[]): Promise<number> {
  const [first, second] = argv;
  if (first === 'gen') return gen(argv.slice(1));
  if (first === 'root' && second === 'init') return writeRoot(initSpec, argv.slice(2));
  if (first === 'rotate') return writeRoot(rotateSpec, argv.slice(1));
  if (first === undefined || first === '--help' || first === '-h') {
    process.stdout.write(keysHelp);
    return first === undefined ? exitCode.badUsageOrConfig : exitCode.ok;
  }
  throw usageError(`millwright keys: unknown subcommand '${[first, second].filter(Boolean).join(' ')}'\n\n${keysHelp}`);
}

async function gen(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand(genSpec, argv);
  if (parsed === undefined) return exitCode.ok;
  const role = requireRole(parsed.values.role, genSpec.name);
  const out = required(parsed.values.out, '--out DIR', genSpec.name);
  const pair = generateKeyPair();
  const name = parsed.values.name ?? `${role}-${pair.keyId.slice(0, 8)}`;
  mkdirSync(out, { recursive: true });
  const privatePath = join(out, `${name}.pem`);
  const publicPath = join(out, `${name}.pub`);
  writePrivateKeyFile(privatePath, pair.privatePem);
  writeTextFile(publicPath, pair.publicPem);
  process.stdout.write(`${JSON.stringify({ role, keyId: pair.keyId, private: privatePath, public: publicPath })}\n`);
  return exitCode.ok;
}

async function writeRoot(spec: typeof initSpec | typeof rotateSpec, argv: readonly string[]): Promise<number> {
  const parsed = parseCommand<typeof rotateSpec.options>(spec as typeof rotateSpec, argv);
  if (parsed === undefined) return exitCode.ok;
  const { values } = parsed;
  const out = required(values.out, '--out FILE', spec.name);
  const signers = list(required(values['sign-with'], '--sign-with PEM[,PEM...]', spec.name)).map((path) => readPrivateKeyFile(path).key);
  const nowMs = wholeSecondsNowMs();
  const expiresMs = expiryFrom(values.expires ?? '365d', nowMs);
  if (expiresMs === undefined) throw usageError(`${spec.name}: --expires '${values.expires}' is neither a duration (30d) nor an RFC 3339 UTC time`);
  const keys = roleAssignments(values.keys ?? [], '--keys', spec.name, list);
  const thresholds = roleAssignments(values.threshold ?? [], '--threshold', spec.name, (text) => {
    if (!/^[1-9]\d{0,2}$/.test(text)) throw usageError(`${spec.name}: --threshold wants ROLE=N with N a positive integer, got '${text}'`);
    return Number(text);
  });
  const readKeys = (paths: readonly string[]): string[] => paths.map((path) => readFileOrFail(path, 'public key').toString('utf8'));
  const previous = spec === rotateSpec ? readRootFile(required(values.root, '--root FILE', spec.name)) : undefined;
  const roles = {} as Record<RoleName, RoleKeysInput>;
  for (const role of roleNames) {
    const old = previous?.root.document;
    const given = keys.get(role);
    if (given === undefined && old === undefined) throw usageError(`${spec.name}: --keys ${role}=FILE is required (every role needs keys in root v1)`);
    roles[role] = {
      keys: given !== undefined ? readKeys(given) : publicKeysOf(old!, role),
      threshold: thresholds.get(role) ?? old?.roles[role].threshold ?? 1,
    };
  }
  const version = (previous?.root.document.version ?? 0) + 1;
  const envelope = signEnvelope(buildRootDocument(version, expiresMs, roles), signers);
  try {
    if (previous === undefined) trustRoot(envelope, `root v${version}`);
    else rotateRoot(previous.root, envelope, `root v${version}`);
  } catch (error) {
    if (!isMillwrightError(error)) throw error;
    process.stderr.write(`refused ${error.code}: ${error.message}\nnothing was written\n`);
    return exitCode.runtimeFailure;
  }
  writeTextFile(out, `${JSON.stringify(envelope, null, 2)}\n`);
  const summary = roleNames.map((role) => `${role} ${roles[role].threshold} of ${envelope.signed.roles[role].keyIds.length}`).join(', ');
  process.stdout.write(`root v${version} written to ${out} (${summary}; ${envelope.signatures.length} signatures; expires ${envelope.signed.expires})\n`);
  return exitCode.ok;
}

function publicKeysOf(document: RootDocument, role: RoleName): string[] {
  return document.roles[role].keyIds.map((keyId) => document.keys[keyId]?.public ?? '');
}

function roleAssignments<T>(items: readonly string[], option: string, command: string, value: (text: string) => T): Map<RoleName, T> {
  const result = new Map<RoleName, T>();
  for (const item of items) {
    const equals = item.indexOf('=');
    const role = requireRole(equals < 0 ? undefined : item.slice(0, equals), command, `${option} ${item}`);
    if (result.has(role)) throw usageError(`${command}: ${option} gives role ${role} twice`);
    result.set(role, value(item.slice(equals + 1)));
  }
  return result;
}

function requireRole(text: string | undefined, command: string, context = '--role'): RoleName {
  const role = roleNames.find((name) => name === text);
  if (role === undefined) throw usageError(`${command}: ${context}: expected a role (${roleNames.join(', ')})\nrun '${command} --help' for usage`);
  return role;
}

