import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../common/config.ts';
import { MillwrightError } from '../../common/errors.ts';
import { compileSerialLineConfig, serialLineDeviceSchema, type SerialLineDeviceConfig } from './serial-line-config.ts';

const scaleYaml = `
id: scale-1
driver: serial-line
path: /dev/ttyUSB1
patterns:
  - regex: '^(?<status>ST|US),GS,(?<weight>[+-]\\d+\\.\\d+) kg$'
    tags:
      - { name: weight, group: weight, type: number }
      - { name: stable, group: status, type: boolean, equals: ST }
`;

const load = (text: string): SerialLineDeviceConfig => parseConfigText<SerialLineDeviceConfig>(text, 'scale.yaml', serialLineDeviceSchema);

function compileError(config: SerialLineDeviceConfig): MillwrightError {
  try {
    compileSerialLineConfig(config);
  } catch (error) {
    expect(error).toBeInstanceOf(MillwrightError);
    return error as MillwrightError;
  }
  throw new Error('expected the config to be refused');
}

describe('serial-line config', () => {
  it('loads a scale entry with the defaults filled in and compiles its pattern', () => {
    const config = load(scaleYaml);
    expect(config).toMatchObject({ baudRate: 9600, parity: 'none', dataBits: 8, stopBits: 1, delimiter: '\r\n', lineBytesMax: 256, encoding: 'ascii', staleAfterMs: 5000, pollIntervalMs: 500 });
    const compiled = compileSerialLineConfig(config);
    expect(compiled.tags).toEqual([
      { name: 'weight', kind: 'number', writable: false },
      { name: 'stable', kind: 'boolean', writable: false },
    ]);
    expect(compiled.patterns[0]!.regex.exec('ST,GS,+0012.34 kg')?.groups).toEqual({ status: 'ST', weight: '+0012.34' });
  });

  it('refuses an unknown delimiter, an unknown field and a tag type it cannot store', () => {
    const bad = `${scaleYaml}delimiter: ";"\nflowControl: true\n`.replace('type: number }', 'type: string }');
    expect(() => load(bad)).toThrow(/delimiter[\s\S]*flowControl|flowControl[\s\S]*delimiter/);
    expect(() => load(bad)).toThrow(/type/);
  });

  it('names the pattern index of a regex that does not compile', () => {
    const config = load(scaleYaml);
    const error = compileError({ ...config, patterns: [config.patterns[0]!, { regex: '^(?<a>\\d+', tags: [{ name: 'a', group: 'a', type: 'number' }] }] });
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toMatch(/^device 'scale-1' field 'patterns\[1\]\.regex': not a valid regular expression/);
  });

  it('refuses a group the regex does not declare, listing the groups it has', () => {
    const config = load(scaleYaml);
    const error = compileError({ ...config, patterns: [{ ...config.patterns[0]!, tags: [{ name: 'weight', group: 'wieght', type: 'number' }] }] });
    expect(error.message).toBe("device 'scale-1' field 'patterns[0].tags[0].group': 'wieght' is not a named group of patterns[0].regex (its named groups are status, weight)");
  });

  it('refuses options that do not fit the tag type and one tag name with two types, all at once', () => {
    const config = load(scaleYaml);
    const error = compileError({
      ...config,
      patterns: [
        { regex: '^(?<w>\\d+)$', tags: [{ name: 'weight', group: 'w', type: 'number', equals: 'x' }] },
        { regex: '^(?<s>ST)$', tags: [{ name: 'weight', group: 's', type: 'boolean', scale: 2 }] },
      ],
    });
    expect(error.details['issues']).toEqual([
      "device 'scale-1' field 'patterns[0].tags[0].equals': applies to boolean tags only; 'weight' is a number",
      "device 'scale-1' field 'patterns[1].tags[0]': scale and offset apply to number tags only; 'weight' is a boolean",
      "device 'scale-1' field 'patterns[1].tags[0].type': tag 'weight' is a number in an earlier pattern; one tag has one type",
    ]);
  });
});
