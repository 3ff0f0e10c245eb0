import { describe, expect, it } from 'vitest';
import { applySnapshot, createSiteView, type MachineView } from './live-state.ts';
import { machineStatus } from './machine-status.ts';
import type { LivePoint } from './wire.ts';

function machineWith(points: Omit<LivePoint, 'ts'>[]): MachineView {
  const site = createSiteView();
  applySnapshot(site, [{ line: 'l', machine: 'm', tags: points.map((point) => ({ ...point, tag: `l/m/${point.tag}`, name: point.tag, ts: 1 })) }]);
  return site.machines['l/m']!;
}

describe('machineStatus', () => {
  it('reads the state enumeration: 0 idle, 1 running, 2 fault, anything else unknown', () => {
    expect(machineStatus(machineWith([{ tag: 'state', value: 0, quality: 'good' }]))).toEqual({ status: 'idle', quality: 'good' });
    expect(machineStatus(machineWith([{ tag: 'state', value: 1, quality: 'good' }])).status).toBe('running');
    expect(machineStatus(machineWith([{ tag: 'state', value: 2, quality: 'bad' }]))).toEqual({ status: 'fault', quality: 'bad' });
    expect(machineStatus(machineWith([{ tag: 'state', value: 7, quality: 'good' }])).status).toBe('unknown');
  });

  it('falls back to the faulted and running booleans without a state tag', () => {
    expect(machineStatus(machineWith([{ tag: 'running', value: true, quality: 'good' }, { tag: 'faulted', value: true, quality: 'good' }])).status).toBe('fault');
    expect(machineStatus(machineWith([{ tag: 'running', value: false, quality: 'uncertain' }]))).toEqual({ status: 'idle', quality: 'uncertain' });
    expect(machineStatus(machineWith([]))).toEqual({ status: 'unknown', quality: 'bad' });
  });
});
