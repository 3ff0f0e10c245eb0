// The demo site's embedded defaults: a plant with two lines of three machines, one gateway per
// line and one hub. Pure functions from ports to config documents; hil/demo.ts writes them as YAML
// into the data folder (so a user can read and copy them) and starts the processes.
import { fileURLToPath } from 'node:url';

export const demoProfilePath = fileURLToPath(new URL('./profiles/demo-machine.yaml', import.meta.url));
export const demoUiDir = fileURLToPath(new URL('../ui/dist/site', import.meta.url));

export const demoSite = 'demo-site';
export const demoLines = [
  { id: 'line1', machines: ['filler', 'capper', 'packer'] },
  { id: 'line2', machines: ['filler', 'capper', 'packer'] },
] as const;

export interface PlantMachine {
  readonly line: string;
  readonly machine: string;
  readonly host: string;
  readonly port: number;
  readonly unitId: number;
}

/** A gateway's device entry for one of the plant's simulated Modbus TCP machines (demo, benches, e2e tests). */
export function plantModbusDevice(machine: PlantMachine, pollIntervalMs: number): Record<string, unknown> {
  return { id: machine.machine, driver: 'modbus-tcp', host: machine.host, port: machine.port, unitId: machine.unitId, profile: demoProfilePath, pollIntervalMs };
}

export function plantConfig(seed: number): object {
  return {
    seed,
    stepMs: 100,
    profile: demoProfilePath,
    lines: demoLines.map((line, lineIndex) => ({
      id: line.id,
      machines: line.machines.map((machine, machineIndex) => ({
        id: machine,
        port: 0,
        unitId: 1,
        speedSetpoint: 60 + 15 * machineIndex + 5 * lineIndex,
      })),
    })),
  };
}

export function hubConfig(httpPort: number): object {
  return {
    site: demoSite,
    dataDir: 'hub',
    broker: { host: '127.0.0.1', port: 0 },
    http: { host: '127.0.0.1', port: httpPort },
    uiDir: demoUiDir,
  };
}

/**
 * Per machine: a fault alarm, and an over-temperature alarm that stops the machine locally —
 * built in, or (withOvertemp false) left to a compiled rule that does the same.
 */
function machineAlarms(machine: string, withOvertemp = true): object[] {
  const fault = { id: `${machine}-fault`, tag: `${machine}/state`, above: 1.5, severity: 'high', message: `${machine} is in fault` };
  if (!withOvertemp) return [fault];
  return [
    fault,
    {
      id: `${machine}-overtemp`,
      tag: `${machine}/temperature`,
      above: 80,
      hysteresis: 5,
      onDelayMs: 2000,
      severity: 'critical',
      message: `${machine} over temperature: stopped by the gateway`,
      actions: [{ write: `${machine}/run_command`, value: false }],
    },
  ];
}

/** What the demo's gateways run besides built-in alarms (paths relative to the data folder). */
export interface DemoRules {
  /** line1's filler is guarded by this compiled over-temperature rule instead of a built-in alarm. */
  readonly filler: string;
  /** The root the gateways trust for signed bundles (docs/rules.md's tutorial signs one). */
  readonly trustRoot: string;
}

export const demoRuleLine = 'line1';

export function gatewayConfig(line: string, machines: readonly PlantMachine[], brokerPort: number, seed: number, rules?: DemoRules): object {
  const lineMachines = machines.filter((machine) => machine.line === line);
  const ruleGuarded = rules !== undefined && line === demoRuleLine ? 'filler' : undefined;
  return {
    gateway: { id: `${line}-gw`, site: demoSite, area: line },
    dataDir: `gateway-${line}`,
    scan: { tickMs: 10, seed },
    uplink: { host: '127.0.0.1', port: brokerPort, publishIntervalMs: 100 },
    api: { port: 0 },
    ...(rules !== undefined && {
      rules: {
        modules: ruleGuarded === undefined ? [] : [{ module: rules.filler }],
        bundles: { trustRoot: rules.trustRoot, groups: ['demo-lines'] },
      },
    }),
    alarms: lineMachines.flatMap((machine) => machineAlarms(machine.machine, machine.machine !== ruleGuarded)),
    devices: lineMachines.map((machine) => plantModbusDevice(machine, 200)),
  };
}
