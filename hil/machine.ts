// One simulated production machine: a deterministic model stepped from outside (`step(dtMs)`; no
// timers here) with all randomness from a seeded RandomSource, so the same seed and the same
// inputs give the same trajectory. It reads its commands from, and writes its variables to, a
// ModbusDataStore through a device profile (by tag name), so Modbus clients see and drive it.
//
// Model: idle → running while run_command is set; running → fault at random (Poisson,
// faultRatePerHour); a fault holds until a fault_reset rising edge, then the machine is idle and
// restarts if run_command is still set (or after operatorResetAfterMs, a simulated operator, so a
// demo keeps running with nobody watching). fault_reset acts as a momentary push button: the machine
// clears it after acting, so a client that only ever writes `true` still resets once per write.
// Parts come at speed_setpoint while running, each scrap with probability scrapFraction.
// Temperature and vibration follow first-order lags toward idle or running targets, plus noise.
import { assert } from '../common/assert.ts';
import type { RegisterArea } from '../common/device-profile.ts';
import type { RandomSource } from '../common/random.ts';
import { hilError, hilErrors } from './errors.ts';
import type { TagMap } from './register-codec.ts';

export type MachineState = 'idle' | 'running' | 'fault';

/** Register value of the `state` tag. */
export const machineStateCode: Readonly<Record<MachineState, number>> = { idle: 0, running: 1, fault: 2 };

export interface MachineParams {
  /** Written to speed_setpoint at start, in parts/min; clients may change it. */
  readonly speedSetpoint: number;
  /** Written to run_command at start: true lets the demo run by itself. */
  readonly runCommand: boolean;
  /** Mean random faults per hour of running; 0 turns them off. */
  readonly faultRatePerHour: number;
  /** Probability that a part is scrap, 0..1. */
  readonly scrapFraction: number;
  /** A simulated operator resets a fault after this long; null leaves the reset to clients. */
  readonly operatorResetAfterMs: number | null;
  readonly idleTemperatureC: number;
  readonly runningTemperatureC: number;
  readonly temperatureTimeConstantMs: number;
  /** Standard deviation of the temperature sensor's noise. */
  readonly temperatureNoiseC: number;
  readonly idleVibrationMmS: number;
  readonly runningVibrationMmS: number;
  readonly vibrationTimeConstantMs: number;
  readonly vibrationNoiseMmS: number;
}

export const defaultMachineParams: MachineParams = {
  speedSetpoint: 60,
  runCommand: true,
  faultRatePerHour: 2,
  scrapFraction: 0.02,
  operatorResetAfterMs: null,
  idleTemperatureC: 22,
  runningTemperatureC: 65,
  temperatureTimeConstantMs: 120_000,
  temperatureNoiseC: 0.2,
  idleVibrationMmS: 0.3,
  runningVibrationMmS: 3.5,
  vibrationTimeConstantMs: 3_000,
  vibrationNoiseMmS: 0.15,
};

/** The tags the model needs from its profile, and the areas a client can write for the inputs. */
const requiredTags: Readonly<Record<string, readonly RegisterArea[]>> = {
  state: ['input', 'holding'],
  good_count: ['input', 'holding'],
  scrap_count: ['input', 'holding'],
  temperature: ['input', 'holding'],
  vibration: ['input', 'holding'],
  speed: ['input', 'holding'],
  running: ['discrete', 'coil', 'input', 'holding'],
  faulted: ['discrete', 'coil', 'input', 'holding'],
  run_command: ['coil', 'holding'],
  fault_reset: ['coil', 'holding'],
  speed_setpoint: ['holding'],
};

export interface MachineSnapshot {
  readonly state: MachineState;
  readonly goodCount: number;
  readonly scrapCount: number;
  readonly speed: number;
  readonly temperatureC: number;
  readonly vibrationMmS: number;
  readonly faults: number;
  readonly elapsedMs: number;
}

const counterModulus = 2 ** 32; // uint32 counters wrap like a PLC's

export class SimulatedMachine {
  readonly #tags: TagMap;
  readonly #random: RandomSource;
  readonly #params: MachineParams;
  #state: MachineState = 'idle';
  #goodCount = 0;
  #scrapCount = 0;
  #speed = 0;
  #partsPending = 0;
  #temperatureC: number;
  #vibrationMmS: number;
  #faults = 0;
  #elapsedMs = 0;
  #faultElapsedMs = 0;
  #resetLevel = false;
  #resetRequested = false;

  /** Throws HIL_PROFILE_MISMATCH when the profile lacks a tag the model needs. */
  constructor(tags: TagMap, random: RandomSource, params: Partial<MachineParams> = {}) {
    checkProfile(tags);
    this.#tags = tags;
    this.#random = random;
    this.#params = { ...defaultMachineParams, ...params };
    assert(this.#params.scrapFraction >= 0 && this.#params.scrapFraction <= 1, 'scrapFraction must be 0..1');
    assert(this.#params.faultRatePerHour >= 0, 'faultRatePerHour must be >= 0');
    this.#temperatureC = this.#params.idleTemperatureC;
    this.#vibrationMmS = this.#params.idleVibrationMmS;
    tags.write('run_command', this.#params.runCommand);
    tags.write('fault_reset', false);
    tags.write('speed_setpoint', this.#params.speedSetpoint);
    // Writes land between steps; latch a reset edge the moment it arrives so a true-then-false
    // pair written within one step is not missed.
    tags.store.onClientWrite = () => this.#observeReset();
    this.#publish(this.#temperatureC, this.#vibrationMmS);
  }

  get state(): MachineState {
    return this.#state;
  }

  /** Fault point for scenarios: the machine faults now, as if its own fault had fired. */
  injectFault(): void {
    this.#enterFault();
    this.#publish(this.#temperatureC, this.#vibrationMmS);
  }

  step(dtMs: number): void {
    assert(Number.isFinite(dtMs) && dtMs >= 0, `step needs a duration >= 0 ms, got ${dtMs}`);
    this.#elapsedMs += dtMs;
    this.#observeReset();
    this.#transition(dtMs);
    this.#produce(dtMs);
    const params = this.#params;
    const running = this.#state === 'running';
    this.#temperatureC = lag(this.#temperatureC, running ? params.runningTemperatureC : params.idleTemperatureC, dtMs, params.temperatureTimeConstantMs);
    this.#vibrationMmS = lag(this.#vibrationMmS, running ? params.runningVibrationMmS : params.idleVibrationMmS, dtMs, params.vibrationTimeConstantMs);
    const measuredTemperatureC = this.#temperatureC + params.temperatureNoiseC * this.#random.gaussian();
    const measuredVibrationMmS = Math.max(0, this.#vibrationMmS + params.vibrationNoiseMmS * this.#random.gaussian());
    this.#publish(measuredTemperatureC, measuredVibrationMmS);
  }

  snapshot(): MachineSnapshot {
    return {
      state: this.#state,
      goodCount: this.#goodCount,
      scrapCount: this.#scrapCount,
      speed: this.#speed,
      temperatureC: this.#temperatureC,
      vibrationMmS: this.#vibrationMmS,
      faults: this.#faults,
      elapsedMs: this.#elapsedMs,
    };
  }

  #observeReset(): void {
    const level = this.#tags.readBoolean('fault_reset');
    if (level && !this.#resetLevel) this.#resetRequested = true;
    this.#resetLevel = level;
  }

  #transition(dtMs: number): void {
    if (this.#state === 'fault') {
      this.#faultElapsedMs += dtMs;
      const operatorMs = this.#params.operatorResetAfterMs;
      if (operatorMs !== null && this.#faultElapsedMs >= operatorMs) this.#resetRequested = true;
    }
    if (this.#resetRequested) {
      this.#resetRequested = false;
      this.#resetLevel = false;
      this.#tags.write('fault_reset', false);
      if (this.#state === 'fault') this.#state = 'idle';
    }
    const runCommand = this.#tags.readBoolean('run_command');
    if (this.#state === 'idle' && runCommand) this.#state = 'running';
    else if (this.#state === 'running' && !runCommand) this.#state = 'idle';
    else if (this.#state === 'running' && this.#params.faultRatePerHour > 0) {
      const faultProbability = 1 - Math.exp((-this.#params.faultRatePerHour * dtMs) / 3_600_000);
      if (this.#random.next() < faultProbability) this.#enterFault();
    }
  }

  #enterFault(): void {
    if (this.#state === 'fault') return;
    this.#faults++;
    this.#faultElapsedMs = 0;
    this.#state = 'fault';
  }

  #produce(dtMs: number): void {
    if (this.#state !== 'running') {
      this.#speed = 0;
      return;
    }
    this.#speed = Math.max(0, this.#tags.readNumber('speed_setpoint'));
    this.#partsPending += (this.#speed * dtMs) / 60_000;
    const parts = Math.floor(this.#partsPending);
    this.#partsPending -= parts;
    for (let part = 0; part < parts; part++) {
      if (this.#random.next() < this.#params.scrapFraction) this.#scrapCount = (this.#scrapCount + 1) % counterModulus;
      else this.#goodCount = (this.#goodCount + 1) % counterModulus;
    }
  }

  #publish(temperatureC: number, vibrationMmS: number): void {
    const tags = this.#tags;
    tags.write('state', machineStateCode[this.#state]);
    tags.write('running', this.#state === 'running');
    tags.write('faulted', this.#state === 'fault');
    tags.write('good_count', this.#goodCount);
    tags.write('scrap_count', this.#scrapCount);
    tags.write('speed', this.#speed);
    tags.write('temperature', temperatureC);
    tags.write('vibration', vibrationMmS);
  }
}

/** First-order lag: moves value toward target by the fraction a time constant allows in dtMs. */
function lag(value: number, target: number, dtMs: number, timeConstantMs: number): number {
  return value + (target - value) * (1 - Math.exp(-dtMs / timeConstantMs));
}

function checkProfile(tags: TagMap): void {
  for (const [name, areas] of Object.entries(requiredTags)) {
    if (!tags.has(name)) throw hilError(hilErrors.profileMismatch, `device profile ${tags.profile.profile} has no tag '${name}', which the simulated machine needs`);
    const area = tags.tag(name).area;
    if (!areas.includes(area)) {
      throw hilError(hilErrors.profileMismatch, `device profile ${tags.profile.profile}: tag '${name}' is in the ${area} area; the simulated machine needs one of ${areas.join(', ')}`);
    }
  }
}
