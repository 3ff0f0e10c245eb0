#!/usr/bin/env node
// `npm test`: makes sure the Debian packages the tests use are present (installing them when run
// as root, otherwise printing the one apt-get line to run), then runs the type check, the lint
// (which includes the component import boundaries) and every vitest test.
import { spawnSync } from 'node:child_process';

export const debianPackages = ['socat', 'mosquitto', 'nats-server', 'mbpoll', 'python3-pymodbus', 'chromium'];

function installed(name) {
  const result = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
  return result.status === 0 && result.stdout.includes('install ok installed');
}

function run(command, args, env = process.env) {
  process.stdout.write(`\n> ${command} ${args.join(' ')}\n`);
  const result = spawnSync(command, args, { stdio: 'inherit', env });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

function ensureDebianPackages() {
  if (spawnSync('dpkg-query', ['--version']).status !== 0) {
    process.stdout.write('npm test: not a Debian system; install the equivalents of: ' + debianPackages.join(' ') + '\n');
    return true;
  }
  const missing = debianPackages.filter((name) => !installed(name));
  if (missing.length === 0) return true;
  const line = `apt-get update && apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  if (typeof process.getuid === 'function' && process.getuid() === 0) {
    process.stdout.write(`npm test: installing the Debian packages the tests use: ${missing.join(' ')}\n`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    if (run('apt-get', ['update'], env) !== 0) return false;
    return run('apt-get', ['install', '-y', '--no-install-recommends', ...missing], env) === 0;
  }
  process.stderr.write(`npm test: these Debian packages are missing: ${missing.join(' ')}\nrun as root:\n  ${line}\n`);
  return false;
}

if (!ensureDebianPackages()) process.exit(1);
const steps = [
  ['npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']],
  ['npx', ['eslint', '.']],
  ['npx', ['vitest', 'run', ...process.argv.slice(2)]],
];
for (const [command, args] of steps) {
  const status = run(command, args);
  if (status !== 0) process.exit(status);
}
