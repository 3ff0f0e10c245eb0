// What a machine is doing, read from its tags: the `state` enumeration (0 idle, 1 running,
// 2 fault) when present, else the `faulted` and `running` booleans.
import type { MachineView } from './live-state.ts';
import type { Quality } from './wire.ts';

export type MachineStatus = 'running' | 'idle' | 'fault' | 'unknown';

export interface StatusReading {
  status: MachineStatus;
  /** Quality of the tag the status came from; 'bad' when no tag says anything. */
  quality: Quality;
}

const stateCodes: Record<number, MachineStatus> = { 0: 'idle', 1: 'running', 2: 'fault' };

export function machineStatus(view: MachineView): StatusReading {
  const state = view.readings.state;
  if (state !== undefined && typeof state.value === 'number') {
    return { status: stateCodes[state.value] ?? 'unknown', quality: state.quality };
  }
  const faulted = view.readings.faulted;
  if (faulted?.value === true) return { status: 'fault', quality: faulted.quality };
  const running = view.readings.running;
  if (running !== undefined && typeof running.value === 'boolean') {
    return { status: running.value ? 'running' : 'idle', quality: running.quality };
  }
  return { status: 'unknown', quality: 'bad' };
}
