// A rule's manifest: written beside its .wasm by `millwright rules build`, carried (and signed
// together with the module hash) in bundles, and read by the gateway. It names the module by
// SHA-256 and lists what the rule declares; the gateway binds those names to its tags before it
// runs anything, then checks that the module really declares exactly this (RULE_MANIFEST_MISMATCH).
import { createHash } from 'node:crypto';
import { Ajv } from 'ajv';
import { MillwrightError } from './errors.ts';
import { abiVersion, severityCodes } from './rule-abi.ts';
import { deviceTagPattern, ruleItemPattern, type RuleDeclarations } from './rule-declarations.ts';
import { ruleErrors } from './rule-errors.ts';

export interface RuleManifest extends RuleDeclarations {
  readonly type: 'millwright-rule';
  readonly abi: number;
  /** The rule's name: the source file's name without .ts. */
  readonly name: string;
  readonly module: { readonly sha256: string; readonly bytes: number };
  /** Fuel per tick the rule runs with, and the module's memory maximum in 64 KiB pages. */
  readonly limits: { readonly fuelPerTick: number; readonly memoryPagesMax: number };
  readonly compiler: string;
}

export const ruleNamePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const finite = { type: 'number' } as const;
const named = (pattern: RegExp, extra: Record<string, object> = {}) => ({
  type: 'object',
  additionalProperties: false,
  required: ['name', ...Object.keys(extra)],
  properties: { name: { type: 'string', pattern: pattern.source }, ...extra },
});
const list = (items: object) => ({ type: 'array', maxItems: 1024, items });

export const ruleManifestSchema = {
  $id: 'millwright/rule-manifest',
  type: 'object',
  additionalProperties: false,
  required: ['type', 'abi', 'name', 'module', 'limits', 'compiler', 'inputs', 'outputs', 'params', 'points', 'alarms'],
  properties: {
    type: { const: 'millwright-rule' },
    abi: { const: abiVersion },
    name: { type: 'string', pattern: ruleNamePattern.source },
    module: {
      type: 'object',
      additionalProperties: false,
      required: ['sha256', 'bytes'],
      properties: { sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' }, bytes: { type: 'integer', minimum: 8 } },
    },
    limits: {
      type: 'object',
      additionalProperties: false,
      required: ['fuelPerTick', 'memoryPagesMax'],
      properties: { fuelPerTick: { type: 'integer', minimum: 1, maximum: 2 ** 31 - 1 }, memoryPagesMax: { type: 'integer', minimum: 1, maximum: 65_536 } },
    },
    compiler: { type: 'string', maxLength: 200 },
    fuelPerTick: { type: 'integer', minimum: 1 },
    inputs: list(named(deviceTagPattern)),
    outputs: list(named(deviceTagPattern, { safe: finite })),
    params: list(named(ruleItemPattern, { default: finite, min: finite, max: finite })),
    points: list(named(/^[A-Za-z0-9_][A-Za-z0-9_./-]{0,255}$/)),
    alarms: list(
      named(ruleItemPattern, {
        severity: { enum: Object.keys(severityCodes) },
        message: { type: 'string', maxLength: 512 },
        hysteresis: finite,
        onDelayMs: finite,
        latching: { type: 'boolean' },
      }),
    ),
  },
} as const;

let validate: ReturnType<Ajv['compile']> | undefined;

/** Validates a parsed manifest document. Throws RULE_MANIFEST_INVALID naming every bad field. */
export function parseRuleManifest(value: unknown, what = 'rule manifest'): RuleManifest {
  validate ??= new Ajv({ allErrors: true }).compile(ruleManifestSchema);
  if (!validate(value)) {
    const issues = (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message ?? 'is invalid'}`);
    throw new MillwrightError(ruleErrors.manifestInvalid, `${what} is invalid: ${issues.join('; ')}`, { issues });
  }
  return value as RuleManifest;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The module must be the one the manifest names, byte for byte. */
export function checkModuleHash(manifest: RuleManifest, wasm: Uint8Array): void {
  const actual = sha256Hex(wasm);
  if (actual !== manifest.module.sha256 || wasm.length !== manifest.module.bytes) {
    throw new MillwrightError(ruleErrors.manifestMismatch, `rule ${manifest.name}: the module's SHA-256 ${actual} (${wasm.length} bytes) is not the manifest's ${manifest.module.sha256} (${manifest.module.bytes} bytes)`);
  }
}

export interface ManifestInput {
  readonly name: string;
  readonly wasm: Uint8Array;
  readonly declarations: RuleDeclarations;
  readonly memoryPagesMax: number;
  readonly defaultFuelPerTick: number;
  readonly compiler: string;
}

export function createRuleManifest(input: ManifestInput): RuleManifest {
  const { fuelPerTick, ...lists } = input.declarations;
  return {
    type: 'millwright-rule',
    abi: abiVersion,
    name: input.name,
    module: { sha256: sha256Hex(input.wasm), bytes: input.wasm.length },
    limits: { fuelPerTick: fuelPerTick ?? input.defaultFuelPerTick, memoryPagesMax: input.memoryPagesMax },
    compiler: input.compiler,
    ...(fuelPerTick !== undefined && { fuelPerTick }),
    inputs: lists.inputs,
    outputs: lists.outputs,
    params: lists.params,
    points: lists.points,
    alarms: lists.alarms,
  };
}

/** The declarations part of a manifest, in the recorder's shape, for comparison. */
export function manifestDeclarations(manifest: RuleManifest): RuleDeclarations {
  const lists = { inputs: manifest.inputs, outputs: manifest.outputs, params: manifest.params, points: manifest.points, alarms: manifest.alarms };
  return manifest.fuelPerTick === undefined ? lists : { fuelPerTick: manifest.fuelPerTick, ...lists };
}
