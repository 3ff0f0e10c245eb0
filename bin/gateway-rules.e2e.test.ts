// Rules on a real gateway, end to end: AssemblyScript rules built by the rules toolchain run in the
// gateway's scan against a simulated machine on Modbus TCP. A rule from the config stops the
// machine on over-temperature with no network at all; a signed bundle posted to the gateway's
// local API swaps in at a tick boundary and publishes its derived point; a bundle whose rule
// keeps faulting is rolled back to the last good one by itself; and a recording across all of it
// replays byte for byte. (In bin/ because it joins three components: rules, edge and hil.)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { packBundle, type PackModule } from '../common/bundle.ts';
import { dayMs, testRoleKeys, testRootEnvelope, type RoleKeys } from '../common/bundle-testing.ts';
import { parseConfigText } from '../common/config.ts';
import { systemClock } from '../common/clock.ts';
import { createLogger } from '../common/log.ts';
import { freePort } from '../common/mqtt/test-peers.ts';
import { startGateway, type RunningGateway } from '../edge/gateway.ts';
import { startHub } from '../hub/hub.ts';
import { gatewayConfigSchema, type GatewayConfig } from '../edge/gateway-config.ts';
import { replayTrace } from '../edge/scan/replay.ts';
import { demoProfilePath } from '../hil/demo-site.ts';
import { plantConfigFrom } from '../hil/plant-config.ts';
import { startPlant, type RunningPlant } from '../hil/plant.ts';
import { buildRule, writeBuiltRule, type BuiltRule } from '../rules/build.ts';
import { compileCached } from '../rules/compile-cache.ts';

const folder = mkdtempSync(join(tmpdir(), 'mw-gateway-rules-'));
const examples = fileURLToPath(new URL('../rules/examples/', import.meta.url));
let plant: RunningPlant;
let keys: RoleKeys;
let overTemperature: BuiltRule;
let vibrationRms: BuiltRule;
let faulty: BuiltRule;

async function until(what: string, condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function moduleOf(rule: BuiltRule): PackModule {
  return { name: rule.name, wasm: rule.wasm, ruleManifest: rule.manifest, limits: { fuelPerTick: rule.manifest.limits.fuelPerTick, memoryPagesMax: rule.manifest.limits.memoryPagesMax } };
}

function bundle(version: number, rules: readonly BuiltRule[]): Uint8Array {
  const now = Date.now();
  return packBundle({ name: 'line1-rules', version, targets: { gateways: ['line1-gw'], groups: [] }, createdMs: now - 60_000, expiresMs: now + dayMs, modules: rules.map(moduleOf), signingKeys: keys.rules.map((key) => key.privateKey) });
}

async function post(gateway: RunningGateway, path: string, body: Uint8Array = new Uint8Array()): Promise<{ status: number; body: { code?: string; message?: string } }> {
  const response = await fetch(new URL(path, gateway.apiUrl), { method: 'POST', body });
  return { status: response.status, body: (await response.json()) as { code?: string; message?: string } };
}

type RulesStats = { rules: { name: string; faults: number; quarantined: boolean }[]; faults: number; bundle: { running: { version: number } | null; phase: string; highestVersion: number } | null };
const rulesOf = (gateway: RunningGateway): RulesStats => (gateway.stats() as { rules: RulesStats }).rules;

describe('rules on a gateway', () => {
  beforeAll(async () => {
    keys = testRoleKeys();
    const build = (path: string, sources?: Record<string, string>): Promise<BuiltRule> => buildRule(path, { compile: compileCached, ...(sources !== undefined && { sources }) });
    const faultyPath = join(folder, 'src', 'stuck-loop.ts');
    const faultySource = 'import { input } from "millwright";\nconst t = input("filler/temperature");\nlet n: i32 = 0;\nexport function tick(): void { if (t.value > -1000) { while (true) { n++; } } }\n';
    [overTemperature, vibrationRms, faulty] = await Promise.all([build(join(examples, 'over-temperature.ts')), build(join(examples, 'vibration-rms.ts')), build(faultyPath, { [faultyPath]: faultySource })]);
    writeBuiltRule(join(folder, 'rules'), overTemperature);
    plant = await startPlant(
      plantConfigFrom({ seed: 7, stepMs: 50, profile: demoProfilePath, lines: [{ id: 'line1', machines: [{ id: 'filler', port: 0, unitId: 1, speedSetpoint: 60 }] }] }, 'plant.yaml'),
    );
  }, 120_000);

  afterAll(async () => {
    await plant?.close();
    rmSync(folder, { recursive: true, force: true });
  });

  async function config(uplinkPort?: number): Promise<GatewayConfig> {
    const filler = plant.machines[0]!;
    const root = join(folder, 'root.json');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(root, JSON.stringify(testRootEnvelope(keys, { expiresMs: Date.now() + 365 * dayMs })));
    const document = {
      gateway: { id: 'line1-gw', site: 'test-site', area: 'line1' },
      dataDir: join(folder, 'state'),
      scan: { tickMs: 10 },
      uplink: { host: '127.0.0.1', port: uplinkPort ?? (await freePort()), reconnectMinMs: 100, reconnectMaxMs: 500 },
      api: { port: 0 },
      devices: [{ id: 'filler', driver: 'modbus-tcp', host: filler.host, port: filler.port, profile: demoProfilePath, pollIntervalMs: 20 }],
      // limit 0: the running filler is always "too hot", so the rule acts within its 2 s on-delay.
      rules: { modules: [{ module: 'rules/over-temperature.wasm', params: { limit: 0 } }], bundles: { trustRoot: root, probationTicks: 300, probationFaultsMax: 3 } },
    };
    return parseConfigText<GatewayConfig>(stringify(document), join(folder, 'gateway.yaml'), gatewayConfigSchema);
  }

  it('runs a configured rule that stops the machine, swaps in a signed bundle and rolls back a faulting one, and replays it all', async () => {
    const runCommand = (): boolean => plant.model.units[0]!.store.coils[0] === 1;
    await until('the filler runs', runCommand);
    const tracePath = join(folder, 'run.trace');
    const gateway = await startGateway(await config(), folder, { recordPath: tracePath });
    try {
      // 1. The configured rule raises its alarm after the on-delay and stops the filler; no broker anywhere.
      await until('the rule stops the filler', () => !runCommand());
      expect(rulesOf(gateway).rules.map((rule) => rule.name)).toEqual(['over-temperature']);

      // 2. A signed bundle adds vibration-rms; it is staged, swapped in at a tick boundary, then on probation.
      const staged = await post(gateway, '/api/bundles', bundle(2, [vibrationRms]));
      expect(staged.status).toBe(202);
      await until('the bundle runs', () => rulesOf(gateway).rules.some((rule) => rule.name === 'vibration-rms'));
      expect(rulesOf(gateway).bundle?.running?.version).toBe(2);
      await until('the bundle is committed', () => rulesOf(gateway).bundle?.phase === 'idle');

      // 3. A tampered bundle is refused and what runs keeps running.
      const tampered = bundle(3, [vibrationRms]);
      tampered[tampered.length - 1] = tampered[tampered.length - 1]! ^ 0xff;
      const refused = await post(gateway, '/api/bundles', tampered);
      expect(refused.status).toBe(422);
      expect(refused.body.code).toMatch(/^(BUNDLE|TRUST)_/);
      expect(rulesOf(gateway).bundle?.running?.version).toBe(2);

      // 4. A bundle whose rule loops forever: every tick it runs out of fuel, its safe value is
      //    written, and after 3 faults in probation the gateway rolls back to version 2.
      expect((await post(gateway, '/api/bundles', bundle(4, [faulty]))).status).toBe(202);
      await until('the faulting bundle is rolled back', () => rulesOf(gateway).bundle?.running?.version === 2 && rulesOf(gateway).faults >= 3);
      await until('the last good rules run again', () => rulesOf(gateway).rules.some((rule) => rule.name === 'vibration-rms'));
      expect(rulesOf(gateway).rules.some((rule) => rule.name === 'stuck-loop')).toBe(false);

      // 5. Operator commands reach the scan; unknown names are refused.
      expect((await post(gateway, '/api/rules/over-temperature/alarms/over-temperature/acknowledge')).status).toBe(202);
      expect((await post(gateway, '/api/rules/nope/release')).status).toBe(404);
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      await gateway.close();
    }

    const result = replayTrace(readFileSync(tracePath));
    expect(result.recorded.some((line) => /alarm over-temperature\/over-temperature raise/.test(line))).toBe(true);
    expect(result.recorded.some((line) => line.includes('write line1/filler/run_command 0'))).toBe(true);
    expect(result.recorded.some((line) => line.includes('point line1/filler/vibration_rms'))).toBe(true);
    expect(result.replayed.length).toBe(result.recorded.length);
    expect(result.replayed.join('\n')).toBe(result.recorded.join('\n'));
  }, 90_000);

  it('refuses, before anything starts, a rule that names a tag no device has or writes a read-only tag', async () => {
    const base = await config();
    const renamed = { ...base, devices: base.devices.map((device) => ({ ...device, id: 'press' })) };
    await expect(startGateway(renamed, folder)).rejects.toMatchObject({ code: 'RULE_BINDING_REFUSED', message: expect.stringMatching(/input 'filler\/temperature' is not a tag of any device/) });
    const tooHot = { ...base, rules: { ...base.rules, modules: [{ module: 'rules/over-temperature.wasm', params: { limit: 500 } }] } };
    await expect(startGateway(tooHot, folder)).rejects.toMatchObject({ code: 'RULE_PARAM_INVALID' });
    const stingy = { ...base, rules: { ...base.rules, fuelPerTickMax: 10 } };
    await expect(startGateway(stingy, folder)).rejects.toMatchObject({ code: 'RULE_LIMIT_REFUSED' });
  });

  it('takes a bundle the hub relays over MQTT, and refuses one signed by a key it does not trust', async () => {
    const hub = await startHub(
      { site: 'test-site', dataDir: join(folder, 'hub'), broker: { mode: 'embedded', host: '127.0.0.1', port: 0 }, http: { host: '127.0.0.1', port: 0 }, ingest: { batchPointsMax: 5000, flushIntervalMs: 20, queuePointsMax: 100_000, historicalQueuePointsMax: 50_000 } },
      { logger: createLogger({ component: 'hub', clock: systemClock, write: () => undefined }) },
    );
    const base = await config(hub.brokerPort);
    const gateway = await startGateway({ ...base, dataDir: join(folder, 'state-relay') }, folder);
    try {
      const relay = (bytes: Uint8Array): Promise<Response> => fetch(new URL('api/gateways/line1-gw/bundle', hub.url), { method: 'POST', body: bytes, headers: { 'content-type': 'application/octet-stream' } });
      const known = Date.now() + 15_000;
      let response = await relay(bundle(2, [vibrationRms]));
      while (response.status === 404 && Date.now() < known) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        response = await relay(bundle(2, [vibrationRms]));
      }
      expect(response.status).toBe(202);
      await until('the relayed bundle runs', () => rulesOf(gateway).bundle?.running?.version === 2 && rulesOf(gateway).rules.some((rule) => rule.name === 'vibration-rms'));

      const stranger = testRoleKeys();
      const now = Date.now();
      const forged = packBundle({ name: 'line1-rules', version: 9, targets: { gateways: ['line1-gw'], groups: [] }, createdMs: now - 60_000, expiresMs: now + dayMs, modules: [moduleOf(faulty)], signingKeys: stranger.rules.map((key) => key.privateKey) });
      await until('the bundle is committed', () => rulesOf(gateway).bundle?.phase === 'idle');
      expect((await relay(forged)).status).toBe(202); // the hub only relays; the gateway decides
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(rulesOf(gateway).bundle?.running?.version).toBe(2);
      expect(rulesOf(gateway).bundle?.highestVersion).toBe(2);
    } finally {
      await gateway.close();
      await hub.close();
    }
  }, 60_000);
});
