// What a control engineer reads when a config value is wrong. Turns ajv's errors into
// "expected ..., got ..." sentences, keeps only the closest branch of a oneOf/anyOf instead of
// every branch's complaints, and suggests the key or value that was probably meant.
import type { ErrorObject } from 'ajv';

/** Longest quoted text shown for a found value, in characters. */
export const shownTextMax = 40;
/** Allowed keys or values listed at most when nothing close was found. */
export const listedChoicesMax = 20;

/** The found value, short: `"middle"`, `12`, `true`, `a list of 3 items`. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    return JSON.stringify(value.length > shownTextMax ? `${value.slice(0, shownTextMax - 1)}…` : value);
  }
  if (value === null || value === undefined) return 'an empty value';
  if (Array.isArray(value)) return `a list of ${value.length} ${plural(value.length, 'item')}`;
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

/** The found value with its type, for type errors: `string "abc"`, `number 1.5`. */
export function describeFound(value: unknown): string {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    return `${typeof value} ${describeValue(value)}`;
  }
  return describeValue(value);
}

/** Optimal string alignment distance: Levenshtein plus swaps of neighbouring characters. */
export function editDistance(a: string, b: string): number {
  const width = b.length + 1;
  const table = new Array<number>((a.length + 1) * width).fill(0);
  const at = (i: number, j: number): number => table[i * width + j] ?? 0;
  for (let i = 0; i <= a.length; i++) table[i * width] = i;
  for (let j = 0; j <= b.length; j++) table[j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      table[i * width + j] = best;
    }
  }
  return at(a.length, b.length);
}

/** The candidate `word` was most likely meant to be: same letters in another case first, then
 * the nearest by edit distance, allowing 1 edit for words of 3-4 characters and 2 from 5 on. */
export function suggestClosest(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  const sameLetters = candidates.find((candidate) => candidate.toLowerCase() === lower);
  if (sameLetters !== undefined) return sameLetters;
  const editsMax = word.length >= 5 ? 2 : word.length >= 3 ? 1 : 0;
  let best: string | undefined;
  let bestDistance = editsMax + 1;
  for (const candidate of candidates) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

/**
 * Replaces each failed oneOf/anyOf, and the complaints of all its branches, with the complaints of
 * the branch the author most likely meant: the one not contradicted by a discriminating value
 * (const/enum of a direct field, or the type itself), then the one that got deepest into the data,
 * then the one with the fewest complaints. When every branch rejects the same field by const
 * (a typo in `driver:`), the result is one enum complaint listing every allowed value; when every
 * branch rejects the value's type, one type complaint listing every allowed type.
 */
export function collapseAlternatives(errors: readonly ErrorObject[]): ErrorObject[] {
  // `if` and `propertyNames` only restate the complaints of their subschemas.
  let remaining = errors.filter((error) => error.keyword !== 'if' && error.keyword !== 'propertyNames');
  const alternatives = remaining
    .filter((error) => error.keyword === 'oneOf' || error.keyword === 'anyOf')
    .sort((a, b) => a.schemaPath.length - b.schemaPath.length);
  for (const alternative of alternatives) {
    if (!remaining.includes(alternative)) continue; // inside a branch already dropped
    const prefix = `${alternative.schemaPath}/`;
    const branches = new Map<string, ErrorObject[]>();
    for (const error of remaining) {
      if (!error.schemaPath.startsWith(prefix)) continue;
      const branch = error.schemaPath.slice(prefix.length).split('/')[0] ?? '';
      branches.set(branch, [...(branches.get(branch) ?? []), error]);
    }
    const branchErrors = [...branches.values()].flat();
    if (alternative.params['passingSchemas'] != null) {
      // Several branches matched: the ambiguity is the complaint, not what the others missed.
      remaining = remaining.filter((error) => !branchErrors.includes(error));
      continue;
    }
    if (branches.size === 0) continue;
    const chosen = chooseBranch([...branches.values()], alternative.instancePath);
    const dropped = new Set([alternative, ...branchErrors]);
    remaining = remaining.filter((error) => !dropped.has(error)).concat(chosen);
  }
  return remaining;
}

function chooseBranch(branches: readonly ErrorObject[][], instancePath: string): ErrorObject[] {
  const baseDepth = depthOf(instancePath);
  const merged = mergedDiscriminator(branches, baseDepth);
  if (merged !== undefined) return [merged];
  const contradictions = (branch: readonly ErrorObject[]) =>
    branch.filter((error) => {
      const depth = depthOf(error.instancePath);
      if (error.keyword === 'type') return depth === baseDepth;
      return (error.keyword === 'const' || error.keyword === 'enum') && depth === baseDepth + 1;
    }).length;
  const score = (branch: readonly ErrorObject[]): number[] => [
    contradictions(branch),
    -Math.max(...branch.map((error) => depthOf(error.instancePath))),
    branch.length,
  ];
  let best: ErrorObject[] = [];
  let bestScore: number[] = [Number.POSITIVE_INFINITY];
  for (const branch of branches) {
    const branchScore = score(branch);
    const firstDifference = branchScore.findIndex((value, index) => value !== bestScore[index]);
    if (firstDifference !== -1 && (branchScore[firstDifference] ?? 0) < (bestScore[firstDifference] ?? 0)) {
      [best, bestScore] = [branch, branchScore];
    }
  }
  return best;
}

/** One complaint for a value every branch rejects by type, or by const, at the same place. */
function mergedDiscriminator(branches: readonly ErrorObject[][], baseDepth: number): ErrorObject | undefined {
  for (const keyword of ['type', 'const'] as const) {
    const rejects = (error: ErrorObject) =>
      error.keyword === keyword && (keyword === 'const' || depthOf(error.instancePath) === baseDepth);
    const rejections = branches.flatMap((branch) => branch.filter(rejects).slice(0, 1));
    const first = rejections[0];
    if (first === undefined || rejections.length !== branches.length) continue;
    if (rejections.some((error) => error.instancePath !== first.instancePath)) continue;
    if (keyword === 'type') return { ...first, params: { type: [...new Set(rejections.flatMap(typesOf))].join(',') } };
    return { ...first, keyword: 'enum', params: { allowedValues: rejections.map((error) => error.params['allowedValue']) } };
  }
  return undefined;
}

function depthOf(instancePath: string): number {
  return instancePath === '' ? 0 : instancePath.split('/').length - 1;
}

const typeWords: Record<string, string> = { object: 'a mapping', array: 'a list', null: 'an empty value' };

/** "Expected ..., got ..." for one ajv error; `required` and `additionalProperties` name the key. */
export function describeError(error: ErrorObject): string {
  const text = keywordMessage(error);
  return error.propertyName === undefined ? text : `invalid key name: ${text}`;
}

function keywordMessage(error: ErrorObject): string {
  const { params, data } = error;
  const limit = Number(params['limit']);
  switch (error.keyword) {
    case 'type': {
      const types = typesOf(error);
      return `expected ${types.map((type) => typeWords[type] ?? type).join(' or ')}, got ${describeFound(data)}${typeHint(types, data)}`;
    }
    case 'required':
      return `missing required field '${String(params['missingProperty'])}'`;
    case 'dependentRequired':
    case 'dependencies':
      return `missing field '${String(params['missingProperty'])}', required when '${String(params['property'])}' is set`;
    case 'additionalProperties':
      return unknownKeyMessage(String(params['additionalProperty']), error);
    case 'enum':
    case 'const': {
      const allowed = (error.keyword === 'enum' ? params['allowedValues'] : [params['allowedValue']]) as unknown[];
      const shown = allowed.slice(0, listedChoicesMax).map(quoteChoice).join(', ');
      const more = allowed.length > listedChoicesMax ? ` and ${allowed.length - listedChoicesMax} more` : '';
      const strings = allowed.filter((value): value is string => typeof value === 'string');
      const guess = typeof data === 'string' ? suggestClosest(data, strings) : undefined;
      const expected = allowed.length === 1 ? shown : `one of ${shown}${more}`;
      return `expected ${expected}, got ${describeValue(data)}${guess === undefined ? '' : `; did you mean '${guess}'?`}`;
    }
    case 'minimum':
      return `expected at least ${limit}, got ${describeValue(data)}`;
    case 'maximum':
      return `expected at most ${limit}, got ${describeValue(data)}`;
    case 'exclusiveMinimum':
      return `expected more than ${limit}, got ${describeValue(data)}`;
    case 'exclusiveMaximum':
      return `expected less than ${limit}, got ${describeValue(data)}`;
    case 'multipleOf':
      return `expected a multiple of ${String(params['multipleOf'])}, got ${describeValue(data)}`;
    case 'minLength':
      return `expected at least ${limit} ${plural(limit, 'character')}, got ${describeValue(data)}`;
    case 'maxLength':
      return `expected at most ${limit} ${plural(limit, 'character')}, got ${String(data).length}`;
    case 'pattern':
      return `expected text matching the pattern ${String(params['pattern'])}, got ${describeValue(data)}`;
    case 'format':
      return `expected a ${String(params['format'])}, got ${describeValue(data)}`;
    case 'minItems':
      return `expected at least ${limit} ${plural(limit, 'item')}, got ${lengthOf(data)}`;
    case 'maxItems':
      return `expected at most ${limit} ${plural(limit, 'item')}, got ${lengthOf(data)}`;
    case 'uniqueItems':
      return `expected no repeated items, but items [${String(params['j'])}] and [${String(params['i'])}] are the same`;
    case 'minProperties':
      return `expected at least ${limit} ${plural(limit, 'key')}, got ${keyCount(data)}`;
    case 'maxProperties':
      return `expected at most ${limit} ${plural(limit, 'key')}, got ${keyCount(data)}`;
    case 'oneOf':
      return params['passingSchemas'] === null || params['passingSchemas'] === undefined
        ? `matches none of the allowed forms`
        : 'is ambiguous: it matches more than one allowed form';
    case 'anyOf':
      return 'matches none of the allowed forms';
    case 'discriminator':
      return discriminatorMessage(error);
    case 'not':
    case 'false schema':
      return 'is not allowed here';
    default:
      return error.message ?? `fails the '${error.keyword}' rule`;
  }
}

/** A oneOf with a discriminator (devices by `driver`): name the field and the values it may take. */
function discriminatorMessage(error: ErrorObject): string {
  const tag = String(error.params['tag']);
  const branches = (error.parentSchema as { oneOf?: { properties?: Record<string, { const?: unknown; enum?: unknown[] }> }[] } | undefined)?.oneOf ?? [];
  const allowed = branches.flatMap((branch) => {
    const property = branch.properties?.[tag];
    return property?.const !== undefined ? [property.const] : (property?.enum ?? []);
  });
  const strings = allowed.filter((value): value is string => typeof value === 'string');
  const found: unknown = (error.data as Record<string, unknown> | undefined)?.[tag];
  if (found === undefined) return `missing required field '${tag}'`;
  const guess = typeof found === 'string' ? suggestClosest(found, strings) : undefined;
  return `'${tag}' must be one of ${allowed.map(quoteChoice).join(', ')}, got ${describeValue(found)}${guess === undefined ? '' : `; did you mean '${guess}'?`}`;
}

function unknownKeyMessage(key: string, error: ErrorObject): string {
  const properties: unknown = (error.parentSchema as { properties?: unknown } | undefined)?.properties;
  const allowed = typeof properties === 'object' && properties !== null ? Object.keys(properties) : [];
  // Keys already in the data are still candidates: defaults have filled in the very key misspelt.
  const guess = suggestClosest(key, allowed);
  if (guess !== undefined) return `unknown key '${key}'; did you mean '${guess}'?`;
  if (allowed.length === 0) return `unknown key '${key}'; no keys are allowed here`;
  const more = allowed.length > listedChoicesMax ? ` and ${allowed.length - listedChoicesMax} more` : '';
  return `unknown key '${key}'; allowed keys are ${allowed.slice(0, listedChoicesMax).map(quoteChoice).join(', ')}${more}`;
}

/** A nudge for the classic YAML surprises: `yes`, unquoted numbers meant as text, quoted numbers. */
function typeHint(types: readonly string[], data: unknown): string {
  if (types.includes('boolean') && typeof data === 'string' && /^(yes|no|on|off|y|n)$/i.test(data)) {
    return '; write true or false';
  }
  if (types.includes('string') && (typeof data === 'number' || typeof data === 'boolean')) {
    return '; put it in quotes to keep it as text';
  }
  const numeric = types.includes('integer') || types.includes('number');
  if (numeric && typeof data === 'string' && data.trim() !== '' && Number.isFinite(Number(data))) {
    return '; remove the quotes to make it a number';
  }
  return '';
}

function typesOf(error: ErrorObject): string[] {
  const type: unknown = error.params['type'];
  return Array.isArray(type) ? type.map(String) : String(type).split(',');
}

function quoteChoice(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : JSON.stringify(value);
}

function lengthOf(data: unknown): string {
  return Array.isArray(data) ? String(data.length) : describeValue(data);
}

function keyCount(data: unknown): string {
  return typeof data === 'object' && data !== null ? String(Object.keys(data).length) : describeValue(data);
}

function plural(count: number, word: string): string {
  return count === 1 ? word : `${word}s`;
}
