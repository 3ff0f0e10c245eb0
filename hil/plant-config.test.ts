import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { plantConfig as demoPlantConfig } from './demo-site.ts';
import { defaultProfilePath, loadPlantConfig, plantConfigFrom } from './plant-config.ts';

const folder = mkdtempSync(join(tmpdir(), 'mw-plant-config-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(folder, name);
  writeFileSync(path, text);
  return path;
}

describe('plant config', () => {
  it('fills a default for every key, down to one line with one machine on the bundled profile', () => {
    expect(plantConfigFrom({})).toEqual({
      seed: 1,
      stepMs: 100,
      host: '127.0.0.1',
      profile: defaultProfilePath,
      unknownUnitId: 'exception',
      connectionsMax: 64,
      lines: [
        {
          id: 'line1',
          machines: [{ id: 'machine1', port: 0, unitId: 1, speedSetpoint: 60, runCommand: true, faultRatePerHour: 2, scrapFraction: 0.02, operatorResetAfterMs: 30_000 }],
        },
      ],
    });
  });

  it('resolves profile paths against the config file folder', () => {
    const config = loadPlantConfig(file('relative.yaml', 'profile: profiles/a.yaml\nlines:\n  - id: l1\n    machines:\n      - { id: m1, profile: b.yaml, operatorResetAfterMs: null }\n'));
    expect(config.profile).toBe(join(folder, 'profiles', 'a.yaml'));
    expect(config.lines[0]?.machines[0]).toMatchObject({ profile: join(folder, 'b.yaml'), operatorResetAfterMs: null });
  });

  it('accepts the plant config the demo writes', () => {
    const config = plantConfigFrom(demoPlantConfig(7));
    expect(config.seed).toBe(7);
    expect(config.lines.flatMap((line) => line.machines)).toHaveLength(6);
  });

  it('names the file, line and field of a bad value (exit 2)', () => {
    const path = file('bad.yaml', 'seed: 1\nlines:\n  - id: line1\n    machines:\n      - { id: m1, port: 70000 }\n');
    expect(() => loadPlantConfig(path)).toThrowError(expect.objectContaining({ code: 'CONFIG_INVALID', exit: 2, message: expect.stringContaining(`${path}:5:`) }));
  });

  it('refuses duplicate line ids, machine ids and ports', () => {
    const document = {
      lines: [
        { id: 'a', machines: [{ id: 'm', port: 1502 }, { id: 'm' }] },
        { id: 'a', machines: [{ id: 'n', port: 1502 }] },
      ],
    };
    expect(() => plantConfigFrom(document)).toThrowError(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        message: expect.stringMatching(/machine id 'm' appears twice[\s\S]*line id 'a' appears twice[\s\S]*port 1502 is already taken by a\/m/),
      }),
    );
  });
});
