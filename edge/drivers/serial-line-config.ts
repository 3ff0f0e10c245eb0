// Configuration of a line-oriented serial instrument (a scale, a barcode reader): port settings,
// line framing and limits, and the patterns that turn a line into tag values. The schema checks
// the shape; compileSerialLineConfig checks what a schema cannot (that every regex compiles, that
// every group a tag names exists in its regex, that options fit the tag type) and is called at
// config load and again by the driver, so no driver runs with a pattern that was never checked.
// Each regex runs, without flags, on every line inside the gateway process: lineBytesMax bounds
// its input, but a pattern with nested quantifiers (`(a+)+`) can still backtrack for seconds on a
// bad line, so keep patterns anchored and flat.
import { MillwrightError, commonErrors } from '../../common/errors.ts';
import { idPatternSource } from '../../common/ids.ts';
import type { DriverTag } from './driver.ts';
import { baudRateSchema, serialSchemaFields, type SerialParity } from './serial-line-settings.ts';

export interface SerialLineTagConfig {
  readonly name: string;
  /** Named capture group of the pattern's regex holding this tag's text. */
  readonly group: string;
  /**
   * number: decimal text (sign, spaces after the sign, fraction, exponent), then scale and offset.
   * boolean: with `equals`, true when the text equals it; otherwise 1/0, true/false, on/off.
   * Strings (a barcode's text) need a string tag type the tag table does not have yet.
   */
  readonly type: 'number' | 'boolean';
  readonly scale?: number;
  readonly offset?: number;
  readonly equals?: string;
}

export interface SerialLinePatternConfig {
  /** JavaScript regular expression source with named groups, tried against each whole line. */
  readonly regex: string;
  readonly tags: readonly SerialLineTagConfig[];
}

export type SerialLineDelimiter = '\r\n' | '\n' | '\r';

export interface SerialLineDeviceConfig {
  readonly id: string;
  readonly driver: 'serial-line';
  readonly path: string;
  readonly baudRate: number;
  readonly parity: SerialParity;
  readonly dataBits: 7 | 8;
  readonly stopBits: 1 | 2;
  readonly delimiter: SerialLineDelimiter;
  /** Longest line kept, delimiter excluded; a longer one is discarded whole and counted. */
  readonly lineBytesMax: number;
  /** ascii refuses bytes above 0x7f as garbage; latin1 accepts them as characters. */
  readonly encoding: 'ascii' | 'latin1';
  /** A good tag not refreshed for this long is reported uncertain. */
  readonly staleAfterMs: number;
  /** How often the engine calls poll(): the port check, reopen and staleness rate. */
  readonly pollIntervalMs: number;
  /** Tried in order; the first whose regex matches a line sets that line's tags. */
  readonly patterns: readonly SerialLinePatternConfig[];
}

export const serialLinePatternsMax = 32;
export const serialLinePatternTagsMax = 64;

export const serialLineDeviceSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'driver', 'path', 'patterns'],
  properties: {
    id: { type: 'string', pattern: idPatternSource },
    driver: { type: 'string', const: 'serial-line' },
    path: serialSchemaFields.path,
    baudRate: baudRateSchema(9600),
    parity: { ...serialSchemaFields.parity, default: 'none' },
    dataBits: { type: 'integer', enum: [7, 8], default: 8 },
    stopBits: serialSchemaFields.stopBits,
    delimiter: { type: 'string', enum: ['\r\n', '\n', '\r'], default: '\r\n' },
    lineBytesMax: { type: 'integer', minimum: 8, maximum: 4096, default: 256 },
    encoding: { type: 'string', enum: ['ascii', 'latin1'], default: 'ascii' },
    staleAfterMs: { type: 'integer', minimum: 10, maximum: 86_400_000, default: 5000 },
    pollIntervalMs: { type: 'integer', minimum: 10, maximum: 3_600_000, default: 500 },
    patterns: {
      type: 'array',
      minItems: 1,
      maxItems: serialLinePatternsMax,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['regex', 'tags'],
        properties: {
          regex: { type: 'string', minLength: 1, maxLength: 1024 },
          tags: {
            type: 'array',
            minItems: 1,
            maxItems: serialLinePatternTagsMax,
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['name', 'group', 'type'],
              properties: {
                name: { type: 'string', pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$' },
                group: { type: 'string', pattern: '^[A-Za-z_$][A-Za-z0-9_$]{0,63}$' },
                type: { type: 'string', enum: ['number', 'boolean'] },
                scale: { type: 'number' },
                offset: { type: 'number' },
                equals: { type: 'string' },
              },
            },
          },
        },
      },
    },
  },
} as const;

export interface TagBinding {
  readonly tagIndex: number;
  readonly group: string;
  readonly type: 'number' | 'boolean';
  readonly scale: number;
  readonly offset: number;
  readonly equals: string | undefined;
}

export interface CompiledPattern {
  readonly regex: RegExp;
  readonly bindings: readonly TagBinding[];
}

export interface CompiledSerialLine {
  /** One entry per distinct tag name, in order of first appearance; never writable. */
  readonly tags: readonly DriverTag[];
  readonly patterns: readonly CompiledPattern[];
}

/** Named groups a regex source declares (matching `|` against '' makes every group appear, unset). */
function groupNames(regex: RegExp): Set<string> {
  return new Set(Object.keys(new RegExp(`${regex.source}|`).exec('')?.groups ?? {}));
}

/** Throws CONFIG_INVALID listing every problem, each naming the device and field. */
export function compileSerialLineConfig(config: SerialLineDeviceConfig): CompiledSerialLine {
  const issues: string[] = [];
  const issue = (field: string, message: string): void => void issues.push(`device '${config.id}' field '${field}': ${message}`);
  const tags: DriverTag[] = [];
  const indexByName = new Map<string, number>();
  const patterns: CompiledPattern[] = [];
  config.patterns.forEach((pattern, patternIndex) => {
    const field = `patterns[${patternIndex}]`;
    let regex: RegExp;
    try {
      regex = new RegExp(pattern.regex);
    } catch (error) {
      issue(`${field}.regex`, `not a valid regular expression: ${(error as Error).message}`);
      return;
    }
    const groups = groupNames(regex);
    const seen = new Set<string>();
    const bindings: TagBinding[] = [];
    pattern.tags.forEach((tag, tagPosition) => {
      const tagField = `${field}.tags[${tagPosition}]`;
      if (!groups.has(tag.group)) {
        const declared = groups.size === 0 ? 'it has no named groups' : `its named groups are ${[...groups].join(', ')}`;
        issue(`${tagField}.group`, `'${tag.group}' is not a named group of patterns[${patternIndex}].regex (${declared})`);
      }
      if (seen.has(tag.name)) issue(`${tagField}.name`, `tag '${tag.name}' appears twice in one pattern`);
      seen.add(tag.name);
      if (tag.type === 'number' && tag.equals !== undefined) issue(`${tagField}.equals`, `applies to boolean tags only; '${tag.name}' is a number`);
      if (tag.type === 'boolean' && (tag.scale !== undefined || tag.offset !== undefined)) issue(tagField, `scale and offset apply to number tags only; '${tag.name}' is a boolean`);
      let tagIndex = indexByName.get(tag.name);
      if (tagIndex === undefined) {
        tagIndex = tags.length;
        indexByName.set(tag.name, tagIndex);
        tags.push({ name: tag.name, kind: tag.type, writable: false });
      } else if (tags[tagIndex]!.kind !== tag.type) {
        issue(`${tagField}.type`, `tag '${tag.name}' is a ${tags[tagIndex]!.kind} in an earlier pattern; one tag has one type`);
      }
      bindings.push({ tagIndex, group: tag.group, type: tag.type, scale: tag.scale ?? 1, offset: tag.offset ?? 0, equals: tag.equals });
    });
    patterns.push({ regex, bindings });
  });
  if (issues.length > 0) throw new MillwrightError(commonErrors.configInvalid, issues.join('\n'), { device: config.id, issues });
  return { tags, patterns };
}
