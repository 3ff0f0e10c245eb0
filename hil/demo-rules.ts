// The demo site's rules: the over-temperature example rule, built from rules/examples/ into the
// data folder by the real toolchain (`millwright rules build`, in a child process), and a demo
// signing root so a user can follow docs/rules.md's tutorial to a signed bundle on the demo
// gateways. The keys are made once per data folder and kept; a real site makes them offline.
import { spawn } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MillwrightError } from '../common/errors.ts';
import { generateKeyPair } from '../common/trust-keys.ts';
import { buildRootDocument, signEnvelope } from '../common/trust.ts';
import { hilErrors } from './errors.ts';
import { millwrightEntry } from './supervisor.ts';

export const demoRuleSource = fileURLToPath(new URL('../rules/examples/over-temperature.ts', import.meta.url));
export const demoRuleName = 'over-temperature';
const yearMs = 365 * 86_400_000;

export interface DemoTrust {
  readonly rootPath: string;
  readonly rulesKeyPath: string;
}

/** Makes keys/root.pem, keys/rules.pem (+ .pub) and keys/root.json once; returns their paths. */
export function ensureDemoTrust(dataDir: string): DemoTrust {
  const keysDir = join(dataDir, 'keys');
  const rootPath = join(keysDir, 'root.json');
  const rulesKeyPath = join(keysDir, 'rules.pem');
  if (existsSync(rootPath) && existsSync(rulesKeyPath)) return { rootPath, rulesKeyPath };
  mkdirSync(keysDir, { recursive: true });
  const pairs = { root: generateKeyPair(), rules: generateKeyPair(), firmware: generateKeyPair() };
  for (const [role, pair] of Object.entries(pairs)) {
    writeFileSync(join(keysDir, `${role}.pem`), pair.privatePem, { mode: 0o600 });
    writeFileSync(join(keysDir, `${role}.pub`), pair.publicPem);
  }
  const role = (pair: { publicBase64: string }) => ({ keys: [pair.publicBase64], threshold: 1 });
  const document = buildRootDocument(1, Date.now() + yearMs, { root: role(pairs.root), rules: role(pairs.rules), firmware: role(pairs.firmware) });
  writeFileSync(rootPath, `${JSON.stringify(signEnvelope(document, [createPrivateKey(pairs.root.privatePem)]), null, 2)}\n`);
  return { rootPath, rulesKeyPath };
}

/** Builds the demo rule into `outDir` with `millwright rules build` (cached after the first run). */
export function buildDemoRule(outDir: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [millwrightEntry, 'rules', 'build', demoRuleSource, '--out', outDir], { stdio: ['ignore', 'ignore', 'pipe'] });
    let errors = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (errors += chunk));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve(join(outDir, `${demoRuleName}.wasm`));
      else reject(new MillwrightError(hilErrors.childFailed, `building the demo rule failed (exit ${code}): ${errors.trim()}`));
    });
  });
}
