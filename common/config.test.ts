// Tests for config loading: every kind of bad file yields an issue at the right file, line, column
// and field with a message a control engineer can act on; good files come back typed, with defaults.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { formatConfigIssue, loadConfigFile, parseConfigText, type ConfigIssue } from './config.ts';
import { deviceProfileSchema, type DeviceProfile } from './device-profile.ts';
import { commonErrors, exitCode, MillwrightError } from './errors.ts';

interface TestConfig {
  readonly name: string;
  readonly scan: { readonly tickMs: number; readonly seed: number };
  readonly devices: readonly { readonly id: string; readonly port: number; readonly byteOrder?: 'big' | 'little' }[];
}

const testSchema = {
  $id: 'millwright/config-test',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'devices'],
  properties: {
    name: { type: 'string', minLength: 1 },
    scan: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        tickMs: { type: 'integer', minimum: 1, maximum: 10_000, default: 10 },
        seed: { type: 'integer', minimum: 0, default: 1 },
      },
    },
    devices: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'port'],
        properties: {
          id: { type: 'string', pattern: '^[a-z0-9-]+$' },
          port: { type: 'integer', minimum: 1, maximum: 65_535 },
          byteOrder: { type: 'string', enum: ['big', 'little'] },
        },
      },
    },
  },
} as const;

/** Parses `text` as `file.yaml`, expecting it to fail; returns the error and its issues. */
function issuesOf(text: string, schema: object = testSchema): { error: MillwrightError; issues: ConfigIssue[] } {
  try {
    parseConfigText(text, 'file.yaml', schema);
  } catch (error) {
    expect(error).toBeInstanceOf(MillwrightError);
    const failure = error as MillwrightError;
    expect(failure.code).toBe(commonErrors.configInvalid.code);
    expect(failure.exit).toBe(exitCode.badUsageOrConfig);
    return { error: failure, issues: failure.details['issues'] as ConfigIssue[] };
  }
  throw new Error('expected the config to be rejected');
}

/** The single issue `text` produces. */
function issueOf(text: string, schema: object = testSchema): ConfigIssue {
  const { issues } = issuesOf(text, schema);
  expect(issues).toHaveLength(1);
  return issues[0]!;
}

describe('parseConfigText', () => {
  it('returns the validated object with schema defaults filled in', () => {
    const config = parseConfigText<TestConfig>('name: line1\ndevices:\n  - { id: press, port: 502 }\n', 'f.yaml', testSchema);
    expect(config).toEqual({ name: 'line1', scan: { tickMs: 10, seed: 1 }, devices: [{ id: 'press', port: 502 }] });
    expect(config.devices[0]?.port).toBe(502);
  });

  it('leaves absent fields absent when defaults are switched off', () => {
    const config = parseConfigText<TestConfig>('name: n\ndevices: [{ id: a, port: 1 }]\n', 'f.yaml', testSchema, { defaults: false });
    expect(config).toEqual({ name: 'n', devices: [{ id: 'a', port: 1 }] });
  });

  it('points at a misspelt key and suggests the allowed key it was meant to be', () => {
    const issue = issueOf('name: n\nscan:\n  tickMS: 5\ndevices: [{ id: a, port: 1 }]\n');
    expect(issue).toMatchObject({ file: 'file.yaml', line: 3, column: 3, field: 'scan.tickMS' });
    expect(issue.message).toBe("unknown key 'tickMS'; did you mean 'tickMs'?");
  });

  it('suggests a key with swapped letters', () => {
    const issue = issueOf('name: n\ndevices:\n  - id: a\n    port: 1\n    bytOerder: big\n');
    expect(issue).toMatchObject({ line: 5, column: 5, field: 'devices[0].bytOerder' });
    expect(issue.message).toContain("did you mean 'byteOrder'?");
  });

  it('lists the allowed keys when no key is close', () => {
    const issue = issueOf('name: n\ndevices: [{ id: a, port: 1 }]\ncolour: red\n');
    expect(issue).toMatchObject({ line: 3, column: 1, field: 'colour' });
    expect(issue.message).toBe("unknown key 'colour'; allowed keys are 'name', 'scan', 'devices'");
  });

  it('points at a value of the wrong type and shows what was found', () => {
    const issue = issueOf('name: n\ndevices:\n  - id: a\n    port: abc\n');
    expect(issue).toMatchObject({ line: 4, column: 11, field: 'devices[0].port' });
    expect(issue.message).toBe('expected integer, got string "abc"');
  });

  it('truncates a long found value', () => {
    const issue = issueOf(`name: n\ndevices: [{ id: a, port: ${'x'.repeat(200)} }]\n`);
    expect(issue.message).toMatch(/^expected integer, got string "x{39}…"$/);
  });

  it('points a missing required field at the key of its parent and names the full field', () => {
    const issue = issueOf('name: n\ndevices:\n  - id: a\n    port: 1\n  - id: b\n');
    expect(issue).toMatchObject({ line: 5, column: 5, field: 'devices[1].port' });
    expect(issue.message).toBe("missing required field 'port'");
    const atRoot = issueOf('devices: [{ id: a, port: 1 }]\n');
    expect(atRoot).toMatchObject({ line: 1, column: 1, field: 'name', message: "missing required field 'name'" });
  });

  it('reports errors inside nested list items by index', () => {
    const { issues } = issuesOf('name: n\ndevices:\n  - { id: a, port: 1 }\n  - { id: B_2, port: 70000 }\n');
    expect(issues.map(({ line, column, field }) => ({ line, column, field }))).toEqual([
      { line: 4, column: 11, field: 'devices[1].id' },
      { line: 4, column: 22, field: 'devices[1].port' },
    ]);
    expect(issues[0]?.message).toBe('expected text matching the pattern ^[a-z0-9-]+$, got "B_2"');
    expect(issues[1]?.message).toBe('expected at most 65535, got 70000');
  });

  it('lists the allowed values of an enum and the value found', () => {
    const issue = issueOf('name: n\ndevices:\n  - { id: a, port: 1, byteOrder: middle }\n');
    expect(issue).toMatchObject({ line: 3, column: 34, field: 'devices[0].byteOrder' });
    expect(issue.message).toBe(`expected one of 'big', 'little', got "middle"`);
  });

  it('states a length bound plainly', () => {
    expect(issueOf('name: n\ndevices: []\n')).toMatchObject({
      line: 2,
      column: 10,
      field: 'devices',
      message: 'expected at least 1 item, got 0',
    });
  });

  it('reports a YAML syntax error at its line and column with the parser message', () => {
    const issue = issueOf('name: n\ndevices:\n  - { id: a, port: 1\n');
    expect(issue).toMatchObject({ file: 'file.yaml', line: 4, column: 1, field: '' });
    expect(issue.message).toContain('end with a }');
  });

  it('rejects a duplicate key', () => {
    const issue = issueOf('name: n\ndevices: [{ id: a, port: 1 }]\nname: m\n');
    expect(issue).toMatchObject({ line: 3, column: 1, field: '' });
    expect(issue.message).toContain('Map keys must be unique');
  });

  it('rejects an empty file and a document that is not a mapping', () => {
    expect(issueOf('# nothing but a comment\n').message).toContain('the file is empty');
    expect(issueOf('- a\n- b\n').message).toBe('expected a mapping of settings (key: value lines) at the top of the file, got a list');
  });

  it('reports several issues together, sorted by line, one per line of the message', () => {
    const text = 'devices:\n  - id: a\n    port: x\ncolour: red\nscan: { tickMs: 0 }\n';
    const { error, issues } = issuesOf(text);
    expect(issues.map((issue) => [issue.line, issue.field])).toEqual([
      [1, 'name'],
      [3, 'devices[0].port'],
      [4, 'colour'],
      [5, 'scan.tickMs'],
    ]);
    expect(error.message.split('\n')).toEqual(issues.map(formatConfigIssue));
    expect(error.message.split('\n')[1]).toBe(`file.yaml:3:11: field 'devices[0].port': expected integer, got string "x"`);
  });

  it('reports the closest branch of a oneOf, or all allowed values of a mistyped discriminator', () => {
    const schema = {
      type: 'object',
      properties: {
        link: {
          oneOf: [
            { type: 'object', additionalProperties: false, required: ['driver'], properties: { driver: { const: 'tcp' }, port: { type: 'integer' } } },
            { type: 'object', additionalProperties: false, required: ['driver'], properties: { driver: { const: 'rtu' }, baud: { type: 'integer' } } },
          ],
        },
      },
    };
    expect(issueOf('link:\n  driver: tcp\n  port: x\n', schema)).toMatchObject({ line: 3, field: 'link.port', message: 'expected integer, got string "x"' });
    expect(issueOf('link: { driver: tpc }\n', schema)).toMatchObject({
      field: 'link.driver',
      message: `expected one of 'tcp', 'rtu', got "tpc"; did you mean 'tcp'?`,
    });
  });

  it('compiles a schema object once and accepts another object with the same $id', () => {
    const variant = { ...testSchema, required: ['name'] };
    expect(parseConfigText('name: n\n', 'f.yaml', variant)).toMatchObject({ name: 'n' });
    expect(issueOf('name: n\n').field).toBe('devices');
  });
});

describe('loadConfigFile', () => {
  let folder: string | undefined;
  afterEach(() => {
    if (folder !== undefined) rmSync(folder, { recursive: true, force: true });
    folder = undefined;
  });

  it('loads a real file and names it in issues', () => {
    folder = mkdtempSync(path.join(tmpdir(), 'millwright-config-'));
    const good = path.join(folder, 'good.yaml');
    const bad = path.join(folder, 'bad.yaml');
    writeFileSync(good, 'name: line1\ndevices:\n  - { id: press, port: 502 }\n');
    writeFileSync(bad, 'name: line1\ndevices:\n  - { id: press }\n');
    expect(loadConfigFile<TestConfig>(good, testSchema).devices[0]?.id).toBe('press');
    expect(() => loadConfigFile(bad, testSchema)).toThrow(`${bad}:3:5: field 'devices[0].port': missing required field 'port'`);
  });

  it('fails with CONFIG_UNREADABLE naming the path and the reason for a missing file', () => {
    folder = mkdtempSync(path.join(tmpdir(), 'millwright-config-'));
    const missing = path.join(folder, 'missing.yaml');
    try {
      loadConfigFile(missing, testSchema);
      expect.unreachable('a missing file must fail');
    } catch (error) {
      expect(error).toBeInstanceOf(MillwrightError);
      const failure = error as MillwrightError;
      expect(failure.code).toBe(commonErrors.configUnreadable.code);
      expect(failure.message).toBe(`cannot read config file ${missing}: no such file (ENOENT)`);
    }
  });

  it('loads the demo machine profile', () => {
    const profilePath = path.join(import.meta.dirname, '..', 'hil', 'profiles', 'demo-machine.yaml');
    const profile = loadConfigFile<DeviceProfile>(profilePath, deviceProfileSchema);
    expect(profile.profile).toBe('demo-machine');
    expect(profile.tags.find((tag) => tag.name === 'run_command')).toMatchObject({ area: 'coil', writable: true });
  });
});
