// The command line as scripts see it: help on every level, exit codes (0 ok, 1 runtime failure,
// 2 bad usage or bad config), and a bad config that names file, line and field and starts nothing.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { subcommands } from './cli.ts';

const entry = new URL('./millwright.mjs', import.meta.url).pathname;
const folder = mkdtempSync(join(tmpdir(), 'mw-cli-'));
const profile = new URL('../hil/profiles/demo-machine.yaml', import.meta.url).pathname;

function millwright(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [entry, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const goodGateway = `gateway:
  id: line1-gw
  site: demo-site
  area: line1
dataDir: state
scan:
  tickMs: 10
uplink:
  host: 127.0.0.1
  port: 1883
devices:
  - id: filler
    driver: modbus-tcp
    host: 127.0.0.1
    port: 5020
    profile: ${profile}
`;

function writeConfig(name: string, text: string): string {
  const path = join(folder, name);
  writeFileSync(path, text);
  return path;
}

describe('millwright command line', () => {
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it('lists every subcommand in its help and exits 0', () => {
    const result = millwright('--help');
    expect(result.status).toBe(0);
    for (const name of Object.keys(subcommands)) expect(result.stdout).toContain(`  ${name}`);
  });

  it('has --help for every subcommand', () => {
    for (const name of Object.keys(subcommands)) {
      const result = millwright(name, '--help');
      expect(result.status, name).toBe(0);
      expect(result.stdout, name).toMatch(/usage: millwright/);
    }
  });

  it('exits 2 for an unknown command or option', () => {
    expect(millwright('frobnicate').status).toBe(2);
    const result = millwright('gateway', '--confgi', 'x.yaml');
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("Unknown option '--confgi'");
  });

  it('exits 2 when a required option is missing', () => {
    const result = millwright('gateway');
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--config FILE is required');
  });

  it('says plainly that a subcommand is not built yet and exits 1', () => {
    const result = millwright('central', '--config', 'x.yaml');
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('not built yet');
  });

  const badConfigs: [string, string, RegExp][] = [
    ['a typo in a key', goodGateway.replace('tickMs', 'tickMS'), /gateway\.yaml:7:3: field 'scan\.tickMS': unknown key 'tickMS'; did you mean 'tickMs'\?/],
    ['a wrong type', goodGateway.replace('port: 1883', 'port: "abc"'), /gateway\.yaml:10:9: field 'uplink\.port': expected integer, got string "abc"/],
    ['a missing required field', goodGateway.replace('  area: line1\n', ''), /gateway\.yaml:1:1: field 'gateway\.area': missing required field 'area'/],
    ['a misspelt driver', goodGateway.replace('driver: modbus-tcp', 'driver: modbus-tpc'), /gateway\.yaml:13:13: field 'devices\[0\]\.driver': 'driver' must be one of 'modbus-tcp', 'modbus-rtu', 'opcua', 'serial-line', got "modbus-tpc"; did you mean 'modbus-tcp'\?/],
    ['an unknown key', goodGateway.replace('dataDir: state', 'dataDir: state\nflux: 3'), /gateway\.yaml:6:1: field 'flux': unknown key 'flux'/],
  ];
  for (const [what, text, expected] of badConfigs) {
    it(`refuses a gateway config with ${what}: one message naming file, line and field, exit 2`, () => {
      const path = writeConfig('gateway.yaml', text);
      const result = millwright('gateway', '--config', path);
      expect(result.status).toBe(2);
      expect(result.stderr).toMatch(expected);
      expect(result.stderr.trim().split('\n').filter((line) => line.includes('gateway.yaml:'))).toHaveLength(1);
      expect(result.stdout).not.toContain('gateway-ready');
    });
  }

  it('refuses a device profile with a bad field before starting anything', () => {
    const badProfile = writeConfig('profile.yaml', 'profile: p\nprotocol: modbus\ntags:\n  - { name: t, area: holdin, address: 0, type: uint16 }\n');
    const path = writeConfig('gateway.yaml', goodGateway.replace(profile, badProfile));
    const result = millwright('gateway', '--config', path);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/profile\.yaml:4:.*field 'tags\[0\]\.area'.*expected one of/);
  });

  it('refuses a config file that does not exist with exit 2', () => {
    const result = millwright('hub', '--config', join(folder, 'missing.yaml'));
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('missing.yaml');
  });
});
