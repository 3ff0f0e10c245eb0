import { describe, expect, it } from 'vitest';
import type { ProfileTag } from '../../common/device-profile.ts';
import { MillwrightError } from '../../common/errors.ts';
import { checkProfileRegisters, planReads } from './modbus-plan.ts';

const tag = (name: string, area: ProfileTag['area'], address: number, type: ProfileTag['type']): ProfileTag => ({ name, area, address, type });

describe('planReads', () => {
  it('merges adjacent registers of one area into one request', () => {
    const plan = planReads([tag('a', 'input', 0, 'uint16'), tag('b', 'input', 1, 'float32'), tag('c', 'input', 3, 'uint16')], 0);
    expect(plan).toEqual([{ area: 'input', start: 0, count: 4, slots: [{ tagIndex: 0, offset: 0 }, { tagIndex: 1, offset: 1 }, { tagIndex: 2, offset: 3 }] }]);
  });

  it('bridges holes up to the gap limit and splits beyond it', () => {
    const tags = [tag('a', 'holding', 0, 'uint16'), tag('b', 'holding', 5, 'uint16'), tag('c', 'holding', 20, 'uint16')];
    const plan = planReads(tags, 4);
    expect(plan.map((request) => [request.start, request.count])).toEqual([[0, 6], [20, 1]]);
  });

  it('never asks for more than 125 registers in one request', () => {
    const tags = Array.from({ length: 100 }, (_, index) => tag(`t${index}`, 'holding', index * 2, 'float32'));
    const plan = planReads(tags, 0);
    expect(plan.every((request) => request.count <= 125)).toBe(true);
    expect(plan.map((request) => request.count)).toEqual([124, 76]);
    expect(plan.flatMap((request) => request.slots).length).toBe(100);
  });

  it('counts bits for coils and discrete inputs up to 2000 a request', () => {
    const tags = Array.from({ length: 2001 }, (_, index) => tag(`c${index}`, 'coil', index, 'bool'));
    const plan = planReads(tags, 0);
    expect(plan.map((request) => request.count)).toEqual([2000, 1]);
  });

  it('keeps areas apart and overlapping tags in one request', () => {
    const plan = planReads([tag('x', 'input', 0, 'uint32'), tag('lo', 'input', 1, 'uint16'), tag('d', 'discrete', 0, 'bool')], 0);
    expect(plan.map((request) => `${request.area}:${request.start}+${request.count}`)).toEqual(['discrete:0+1', 'input:0+2']);
  });
});

describe('checkProfileRegisters', () => {
  const profile = (tags: ProfileTag[]) => ({ profile: 'p', protocol: 'modbus' as const, tags });

  it('accepts disjoint tags and exact aliases', () => {
    expect(() => checkProfileRegisters(profile([tag('a', 'holding', 0, 'float32'), tag('b', 'holding', 2, 'uint16'), tag('c', 'holding', 0, 'float32')]), 'p.yaml')).not.toThrow();
  });

  it('refuses two tags on one register with conflicting types, naming both and the file', () => {
    expect(() => checkProfileRegisters(profile([tag('x', 'input', 0, 'uint32'), tag('lo', 'input', 1, 'uint16')]), 'p.yaml')).toThrow(/p\.yaml: tags 'x' \(uint32 at input 0\) and 'lo' \(uint16 at input 1\) overlap/);
    expect(() => checkProfileRegisters(profile([tag('x', 'holding', 0, 'int16'), tag('y', 'holding', 0, 'uint16')]), 'p.yaml')).toThrow(MillwrightError);
  });

  it('refuses a tag name used twice', () => {
    expect(() => checkProfileRegisters(profile([tag('a', 'coil', 0, 'bool'), tag('a', 'coil', 1, 'bool')]), 'p.yaml')).toThrow(/defined twice/);
  });

  it('keeps areas apart', () => {
    expect(() => checkProfileRegisters(profile([tag('a', 'coil', 0, 'bool'), tag('b', 'discrete', 0, 'bool'), tag('c', 'input', 0, 'int16'), tag('d', 'holding', 0, 'float32')]), 'p.yaml')).not.toThrow();
  });
});
