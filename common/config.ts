// Config files: YAML validated by JSON Schema. A bad file fails with every issue at once, each
// naming the file, line, column and field and saying what was expected and what was found, so a
// control engineer can fix the file without reading the schema. Components pass their schema and
// get back the validated plain object; they never see yaml or ajv.
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { LineCounter, isMap, isSeq, parseDocument, visit, type Document } from 'yaml';
import { MillwrightError, commonErrors } from './errors.ts';
import { collapseAlternatives, describeError } from './config-messages.ts';
import { fieldPath, pointerSegments, sourcePosition, type SourcePosition } from './config-positions.ts';

export interface ConfigIssue {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** JSON-path-like field name, e.g. `devices[0].port`; '' for the document itself. */
  readonly field: string;
  readonly message: string;
}

export interface ConfigLoadOptions {
  /** Fill in the schema's `default` values for absent fields. Default true. */
  readonly defaults?: boolean;
}

/** Issues written into the error message at most; `details.issues` always holds all of them. */
export const messageIssuesMax = 50;
/** Alias expansions allowed while converting YAML to data (guards against "billion laughs"). */
export const aliasCountMax = 100;

/**
 * Reads, parses and validates a YAML config file. Throws CONFIG_UNREADABLE when the file cannot be
 * read and CONFIG_INVALID (details: `file`, `issues: ConfigIssue[]`) for anything wrong inside it.
 */
export function loadConfigFile<T>(filePath: string, schema: object, options: ConfigLoadOptions = {}): T {
  let text: string;
  try {
    text = readFileSync(filePath, 'utf8');
  } catch (error) {
    const reason = osReason(error);
    throw new MillwrightError(
      commonErrors.configUnreadable,
      `cannot read config file ${filePath}: ${reason}`,
      { file: filePath, reason },
      error,
    );
  }
  return parseConfigText<T>(text, filePath, schema, options);
}

/** As loadConfigFile, from text; `fileName` is only used to name the source in issues. */
export function parseConfigText<T>(text: string, fileName: string, schema: object, options: ConfigLoadOptions = {}): T {
  // Compiled first, so a broken schema (a bug, not a config issue) fails even for a good file.
  const validate = validatorFor(schema, options.defaults ?? true);
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const issueAt = (position: SourcePosition, field: string, message: string): ConfigIssue => ({
    file: fileName,
    ...position,
    field,
    message,
  });
  const offsetPosition = (offset: number): SourcePosition => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };

  // Warnings too (an unknown `!!tag`): a config file that only half parses is not trusted.
  const syntax = [...document.errors, ...document.warnings];
  if (syntax.length > 0) fail(fileName, syntax.map((error) => issueAt(offsetPosition(error.pos[0]), '', error.message)));
  const root = document.contents;
  if (root === null) {
    fail(fileName, [issueAt({ line: 1, column: 1 }, '', 'the file is empty; expected a mapping of settings (key: value lines)')]);
  }
  if (!isMap(root)) {
    const found = isSeq(root) ? 'a list' : 'a single value';
    const position = offsetPosition(root.range?.[0] ?? 0);
    fail(fileName, [issueAt(position, '', `expected a mapping of settings (key: value lines) at the top of the file, got ${found}`)]);
  }

  let data: unknown;
  try {
    data = document.toJS({ maxAliasCount: aliasCountMax });
  } catch (error) {
    // Unresolvable or excessive aliases: point at the first alias that cannot be resolved.
    const message = error instanceof Error ? error.message : String(error);
    fail(fileName, [issueAt(offsetPosition(unresolvedAliasOffset(document)), '', message)]);
  }
  if (validate(data)) return data as T;
  const issues = collapseAlternatives(validate.errors ?? []).map((error) => {
    const { fieldSegments, positionSegments, target } = subjectOf(error);
    const position = sourcePosition(document, lineCounter, positionSegments, target);
    return issueAt(position, fieldPath(fieldSegments, data), describeError(error));
  });
  fail(fileName, issues);
}

/** `FILE:LINE:COLUMN: field 'devices[0].port': message` (no field part for the document itself). */
export function formatConfigIssue(issue: ConfigIssue): string {
  const field = issue.field === '' ? '' : `field '${issue.field}': `;
  return `${issue.file}:${issue.line}:${issue.column}: ${field}${issue.message}`;
}

/**
 * Which field an error is about and where to point. A missing field has no position of its own:
 * point at its parent's key. An unknown key points at the key, every other error at the value.
 */
function subjectOf(error: ErrorObject): {
  fieldSegments: string[];
  positionSegments: string[];
  target: 'value' | 'key';
} {
  const segments = pointerSegments(error.instancePath);
  const { params } = error;
  if (error.keyword === 'required' || error.keyword === 'dependentRequired' || error.keyword === 'dependencies') {
    return { fieldSegments: [...segments, String(params['missingProperty'])], positionSegments: segments, target: 'key' };
  }
  if (error.keyword === 'discriminator' && params['error'] === 'mapping') {
    // The value of the discriminating field (devices[0].driver) is what is wrong: point at it.
    const tagSegments = [...segments, String(params['tag'])];
    return { fieldSegments: tagSegments, positionSegments: tagSegments, target: 'value' };
  }
  const key = error.keyword === 'additionalProperties' ? params['additionalProperty'] : error.propertyName;
  if (key !== undefined) {
    const keySegments = [...segments, String(key)];
    return { fieldSegments: keySegments, positionSegments: keySegments, target: 'key' };
  }
  return { fieldSegments: segments, positionSegments: segments, target: 'value' };
}

function fail(fileName: string, issues: readonly ConfigIssue[]): never {
  const seen = new Set<string>();
  const unique = issues.filter((issue) => {
    const key = formatConfigIssue(issue);
    return seen.has(key) ? false : (seen.add(key), true);
  });
  unique.sort((a, b) => a.line - b.line || a.column - b.column || a.field.localeCompare(b.field));
  const lines = unique.slice(0, messageIssuesMax).map(formatConfigIssue);
  if (unique.length > messageIssuesMax) lines.push(`... and ${unique.length - messageIssuesMax} more issues`);
  throw new MillwrightError(commonErrors.configInvalid, lines.join('\n'), { file: fileName, issues: unique });
}

function unresolvedAliasOffset(document: Document): number {
  let offset = document.contents?.range?.[0] ?? 0;
  visit(document, {
    Alias(_, alias) {
      if (alias.resolve(document) !== undefined) return undefined;
      offset = alias.range?.[0] ?? offset;
      return visit.BREAK;
    },
  });
  return offset;
}

function osReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const reasons: Record<string, string> = {
    ENOENT: 'no such file',
    EACCES: 'permission denied',
    EISDIR: 'it is a directory, not a file',
    ENOTDIR: 'a part of the path is not a directory',
  };
  if (code !== undefined && reasons[code] !== undefined) return `${reasons[code]} (${code})`;
  return error instanceof Error ? error.message : String(error);
}

// One ajv per defaults mode. strictSchema stays on: a misspelt schema keyword (`minimun`) or a
// default that can never apply would otherwise be silently ignored and the file never checked.
const ajvByDefaults = new Map<boolean, Ajv>();
const validators = new WeakMap<object, Map<boolean, ValidateFunction>>();

function validatorFor(schema: object, defaults: boolean): ValidateFunction {
  let byDefaults = validators.get(schema);
  if (byDefaults === undefined) {
    byDefaults = new Map();
    validators.set(schema, byDefaults);
  }
  const cached = byDefaults.get(defaults);
  if (cached !== undefined) return cached;
  let ajv = ajvByDefaults.get(defaults);
  if (ajv === undefined) {
    ajv = new Ajv({
      allErrors: true,
      verbose: true, // errors carry the found value and the schema, for "got ..." and key suggestions
      useDefaults: defaults,
      // oneOf with a discriminator property (devices by `driver`) picks one branch by value, so
      // defaults inside the branches apply and errors come from that branch alone.
      discriminator: true,
      strictSchema: true,
      strictNumbers: true,
      strictTypes: false,
      strictTuples: false,
      strictRequired: false,
    });
    ajvByDefaults.set(defaults, ajv);
  }
  const validate = ajv.compile(schema);
  // Forget the schema's $id so another object with the same $id (a test's variant) compiles too;
  // the compiled function keeps working. The WeakMap above is the cache.
  ajv.removeSchema(schema);
  byDefaults.set(defaults, validate);
  return validate;
}
