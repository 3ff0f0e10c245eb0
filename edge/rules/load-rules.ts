// Reads the rules a gateway config names: each module's bytes and its manifest, checked against
// each other (the manifest names the module by SHA-256). Signed bundles hand over the same pair
// after verifying them; either way planRules() binds the result to the gateway's tags.
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { MillwrightError } from '../../common/errors.ts';
import { ruleErrors } from '../../common/rule-errors.ts';
import { checkModuleHash, parseRuleManifest, type RuleManifest } from '../../common/rule-manifest.ts';
import type { RulesConfig } from './rule-config.ts';

export interface LoadedRule {
  /** Where the rule came from, for messages (a file path, or a bundle and module name). */
  readonly source: string;
  readonly wasm: Uint8Array;
  readonly manifest: RuleManifest;
  readonly params: Readonly<Record<string, number>>;
}

function readFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new MillwrightError(ruleErrors.manifestInvalid, `cannot read ${what} ${path}: ${(error as Error).message}`);
  }
}

export function manifestPathOf(modulePath: string): string {
  return modulePath.replace(/\.wasm$/, '') + '.manifest.json';
}

export function loadRuleFiles(config: RulesConfig, configDir: string): LoadedRule[] {
  return config.modules.map((entry, position) => {
    const where = `rules.modules[${position}]`;
    const modulePath = isAbsolute(entry.module) ? entry.module : resolve(configDir, entry.module);
    const manifestPath = entry.manifest === undefined ? manifestPathOf(modulePath) : isAbsolute(entry.manifest) ? entry.manifest : resolve(configDir, entry.manifest);
    const wasm = new Uint8Array(readFile(modulePath, `${where}: the rule module`));
    let document: unknown;
    try {
      document = JSON.parse(readFile(manifestPath, `${where}: the rule manifest`).toString('utf8'));
    } catch (error) {
      if (error instanceof MillwrightError) throw error;
      throw new MillwrightError(ruleErrors.manifestInvalid, `${where}: ${manifestPath} is not JSON: ${(error as Error).message}`);
    }
    const manifest = parseRuleManifest(document, `${where}: ${manifestPath}`);
    checkModuleHash(manifest, wasm);
    return { source: modulePath, wasm, manifest, params: entry.params };
  });
}
