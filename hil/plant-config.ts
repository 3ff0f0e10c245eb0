// The plant simulator's configuration (`millwright hil plant --config FILE`): one JSON Schema with
// a default for every key, the TypeScript shape the code reads, and the checks a schema cannot
// express (unique ids and ports). Profile paths resolve against the config file's folder; without
// one, machines serve the bundled demo-machine profile.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfigFile, parseConfigText } from '../common/config.ts';
import { deviceProfileSchema, type DeviceProfile } from '../common/device-profile.ts';
import { MillwrightError, commonErrors } from '../common/errors.ts';
import { idPatternSource } from '../common/ids.ts';

export const defaultProfilePath = fileURLToPath(new URL('./profiles/demo-machine.yaml', import.meta.url));

export interface PlantMachineConfig {
  readonly id: string;
  /** TCP port of this machine's Modbus server; 0 takes any free port. */
  readonly port: number;
  /** The one unit id the machine answers. */
  readonly unitId: number;
  /** Device profile file; absent uses the plant's. Absolute after loading. */
  readonly profile?: string;
  /** Initial speed_setpoint in parts/min. */
  readonly speedSetpoint: number;
  /** Initial run_command. */
  readonly runCommand: boolean;
  readonly faultRatePerHour: number;
  readonly scrapFraction: number;
  /** A simulated operator resets a fault after this long; null leaves it to Modbus clients. */
  readonly operatorResetAfterMs: number | null;
}

export interface PlantLineConfig {
  readonly id: string;
  readonly machines: readonly PlantMachineConfig[];
}

export interface PlantConfig {
  readonly seed: number;
  /** Simulated time per step, and the period of the stepping timer. */
  readonly stepMs: number;
  /** Address every machine's server binds. */
  readonly host: string;
  /** Device profile file of every machine without its own. Absolute after loading. */
  readonly profile: string;
  readonly unknownUnitId: 'exception' | 'ignore';
  /** Concurrent Modbus connections per machine. */
  readonly connectionsMax: number;
  readonly lines: readonly PlantLineConfig[];
}

const id = { type: 'string', pattern: idPatternSource } as const;

const machineSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: {
    id,
    port: { type: 'integer', minimum: 0, maximum: 65_535, default: 0 },
    unitId: { type: 'integer', minimum: 0, maximum: 255, default: 1 },
    profile: { type: 'string', minLength: 1 },
    speedSetpoint: { type: 'number', minimum: 0, maximum: 6_000, default: 60 },
    runCommand: { type: 'boolean', default: true },
    faultRatePerHour: { type: 'number', minimum: 0, maximum: 3_600, default: 2 },
    scrapFraction: { type: 'number', minimum: 0, maximum: 1, default: 0.02 },
    operatorResetAfterMs: { type: ['integer', 'null'], minimum: 1, maximum: 86_400_000, default: 30_000 },
  },
} as const;

export const plantConfigSchema = {
  $id: 'millwright/plant-config',
  type: 'object',
  additionalProperties: false,
  properties: {
    seed: { type: 'integer', minimum: 0, maximum: 4_294_967_295, default: 1 },
    stepMs: { type: 'integer', minimum: 1, maximum: 10_000, default: 100 },
    host: { type: 'string', minLength: 1, default: '127.0.0.1' },
    profile: { type: 'string', minLength: 1 },
    unknownUnitId: { type: 'string', enum: ['exception', 'ignore'], default: 'exception' },
    connectionsMax: { type: 'integer', minimum: 1, maximum: 10_000, default: 64 },
    lines: {
      type: 'array',
      minItems: 1,
      maxItems: 100,
      default: [{ id: 'line1', machines: [{ id: 'machine1' }] }],
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'machines'],
        properties: { id, machines: { type: 'array', minItems: 1, maxItems: 100, items: machineSchema } },
      },
    },
  },
} as const;

type PlantConfigFile = Omit<PlantConfig, 'profile'> & { readonly profile?: string };

/** Reads and checks a plant config file; throws CONFIG_INVALID / CONFIG_UNREADABLE (exit 2). */
export function loadPlantConfig(filePath: string): PlantConfig {
  return finish(loadConfigFile<PlantConfigFile>(filePath, plantConfigSchema), filePath, dirname(resolve(filePath)));
}

/** The same checks and defaults for a config given as data (tests, embedding); paths resolve against baseDir. */
export function plantConfigFrom(document: object, baseDir = process.cwd()): PlantConfig {
  const name = '<plant config>';
  return finish(parseConfigText<PlantConfigFile>(JSON.stringify(document), name, plantConfigSchema), name, baseDir);
}

export function loadDeviceProfile(path: string): DeviceProfile {
  return loadConfigFile<DeviceProfile>(path, deviceProfileSchema);
}

function finish(file: PlantConfigFile, fileName: string, baseDir: string): PlantConfig {
  const problems: string[] = [];
  const lineIds = new Set<string>();
  const ports = new Map<number, string>();
  file.lines.forEach((line, lineIndex) => {
    if (lineIds.has(line.id)) problems.push(`field 'lines[${lineIndex}].id': line id '${line.id}' appears twice`);
    lineIds.add(line.id);
    const machineIds = new Set<string>();
    line.machines.forEach((machine, machineIndex) => {
      const field = `lines[${lineIndex}].machines[${machineIndex}]`;
      if (machineIds.has(machine.id)) problems.push(`field '${field}.id': machine id '${machine.id}' appears twice in line '${line.id}'`);
      machineIds.add(machine.id);
      const holder = ports.get(machine.port);
      if (machine.port !== 0 && holder !== undefined) problems.push(`field '${field}.port': port ${machine.port} is already taken by ${holder}`);
      if (machine.port !== 0) ports.set(machine.port, `${line.id}/${machine.id}`);
    });
  });
  if (problems.length > 0) {
    throw new MillwrightError(commonErrors.configInvalid, problems.map((problem) => `${fileName}: ${problem}`).join('\n'), { file: fileName, problems });
  }
  return {
    ...file,
    profile: file.profile === undefined ? defaultProfilePath : resolve(baseDir, file.profile),
    lines: file.lines.map((line) => ({
      ...line,
      machines: line.machines.map((machine) => (machine.profile === undefined ? machine : { ...machine, profile: resolve(baseDir, machine.profile) })),
    })),
  };
}
