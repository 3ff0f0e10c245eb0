// The simulated plant: lines of machines, each machine its own Modbus TCP server on its own port
// (unit id per machine config, default 1), all stepped by one timer. One server per machine, not
// one per line with a unit id per machine, because that is what real Ethernet machines look like
// to a gateway, and faults (a dropped link, a slow device) then hit one machine, not a whole line.
// PlantModel is the pure part (stores and machines, stepped by hand); startPlant adds sockets and
// the timer. Steps are always stepMs of simulated time: the timer runs as many as the clock says
// are due, up to stepsPerTickMax, and counts the rest as skipped, so a trajectory depends only on
// the seed and the step count, never on timer jitter.
import { assert } from '../common/assert.ts';
import { systemClock, type Clock } from '../common/clock.ts';
import type { DeviceProfile } from '../common/device-profile.ts';
import { seededRandom } from '../common/random.ts';
import { hilError, hilErrors } from './errors.ts';
import { SimulatedMachine } from './machine.ts';
import { createDataStore, type ModbusDataStore } from './modbus-data-store.ts';
import { ModbusTcpServer } from './modbus-tcp-server.ts';
import { loadDeviceProfile, type PlantConfig, type PlantMachineConfig } from './plant-config.ts';
import { TagMap, storeSizesFor } from './register-codec.ts';

/** What a gateway needs to reach one machine; printed in the plant-ready event. */
export interface PlantMachineInfo {
  readonly line: string;
  readonly machine: string;
  readonly host: string;
  readonly port: number;
  readonly unitId: number;
  readonly profilePath: string;
}

export interface PlantUnit {
  readonly line: string;
  readonly config: PlantMachineConfig;
  readonly profilePath: string;
  readonly store: ModbusDataStore;
  readonly tags: TagMap;
  readonly machine: SimulatedMachine;
}

/** Seed of one machine from the plant seed and its path, so adding a machine changes no other. */
export function machineSeed(plantSeed: number, line: string, machine: string): number {
  let hash = 0x811c9dc5 ^ plantSeed;
  for (const char of `${line}/${machine}`) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193);
  return hash >>> 0;
}

export class PlantModel {
  readonly units: readonly PlantUnit[];
  #steps = 0;

  /** Throws HIL_PROFILE_MISMATCH when a profile cannot drive the machine model. */
  constructor(config: PlantConfig, profiles: ReadonlyMap<string, DeviceProfile>) {
    this.units = config.lines.flatMap((line) =>
      line.machines.map((machineConfig) => {
        const profilePath = machineConfig.profile ?? config.profile;
        const profile = profiles.get(profilePath);
        assert(profile !== undefined, `profile ${profilePath} was loaded`);
        const store = createDataStore(storeSizesFor(profile));
        const tags = new TagMap(profile, store);
        const machine = new SimulatedMachine(tags, seededRandom(machineSeed(config.seed, line.id, machineConfig.id)), {
          speedSetpoint: machineConfig.speedSetpoint,
          runCommand: machineConfig.runCommand,
          faultRatePerHour: machineConfig.faultRatePerHour,
          scrapFraction: machineConfig.scrapFraction,
          operatorResetAfterMs: machineConfig.operatorResetAfterMs,
        });
        return { line: line.id, config: machineConfig, profilePath, store, tags, machine };
      }),
    );
  }

  get steps(): number {
    return this.#steps;
  }

  step(dtMs: number): void {
    for (const unit of this.units) unit.machine.step(dtMs);
    this.#steps++;
  }

  unit(line: string, machine: string): PlantUnit | undefined {
    return this.units.find((unit) => unit.line === line && unit.config.id === machine);
  }
}

export interface PlantOptions {
  readonly clock?: Clock;
  /** Steps run by one timer callback when the timer fell behind; the rest are skipped and counted. */
  readonly stepsPerTickMax?: number;
}

export interface RunningPlant {
  readonly machines: readonly PlantMachineInfo[];
  readonly model: PlantModel;
  /** The Modbus server of each unit, in the order of model.units. */
  readonly servers: readonly ModbusTcpServer[];
  /** Steps the timer could not run in time (the process was stalled). */
  readonly skippedSteps: number;
  close(): Promise<void>;
}

/** Loads the profiles, binds every machine's server and starts stepping. Nothing is left open on failure. */
export async function startPlant(config: PlantConfig, options: PlantOptions = {}): Promise<RunningPlant> {
  const profiles = new Map<string, DeviceProfile>();
  for (const path of [config.profile, ...config.lines.flatMap((line) => line.machines.map((machine) => machine.profile ?? config.profile))]) {
    if (!profiles.has(path)) profiles.set(path, loadDeviceProfile(path));
  }
  const model = new PlantModel(config, profiles);
  const servers = model.units.map(
    (unit) => new ModbusTcpServer({ store: unit.store, unitIds: [unit.config.unitId], unknownUnitId: config.unknownUnitId, connectionsMax: config.connectionsMax }),
  );
  const bound = await Promise.allSettled(servers.map((server, index) => server.listen(model.units[index]!.config.port, config.host)));
  const failedIndex = bound.findIndex((result) => result.status === 'rejected');
  if (failedIndex >= 0) {
    await Promise.all(servers.map((server) => server.close()));
    const unit = model.units[failedIndex]!;
    const reason = (bound[failedIndex] as PromiseRejectedResult).reason as Error;
    throw hilError(hilErrors.listenFailed, `machine ${unit.line}/${unit.config.id} cannot listen on ${config.host}:${unit.config.port}: ${reason.message}`, {}, reason);
  }

  const clock = options.clock ?? systemClock;
  const stepsPerTickMax = options.stepsPerTickMax ?? 10;
  const stepNs = BigInt(config.stepMs) * 1_000_000n;
  const startedNs = clock.monotonicNs();
  let stepsAccounted = 0;
  let skippedSteps = 0;
  const timer = setInterval(() => {
    const due = Number((clock.monotonicNs() - startedNs) / stepNs) - stepsAccounted;
    const run = Math.min(due, stepsPerTickMax);
    for (let step = 0; step < run; step++) model.step(config.stepMs);
    skippedSteps += due - run;
    stepsAccounted += due;
  }, config.stepMs);

  let closing: Promise<void> | undefined;
  return {
    machines: model.units.map((unit, index) => ({
      line: unit.line,
      machine: unit.config.id,
      host: config.host,
      port: servers[index]!.port,
      unitId: unit.config.unitId,
      profilePath: unit.profilePath,
    })),
    model,
    servers,
    get skippedSteps() {
      return skippedSteps;
    },
    close() {
      clearInterval(timer);
      closing ??= Promise.all(servers.map((server) => server.close())).then(() => undefined);
      return closing;
    },
  };
}
