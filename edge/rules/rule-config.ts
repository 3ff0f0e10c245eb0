// The gateway config's `rules:` section: which compiled rules to run (NAME.wasm with
// NAME.manifest.json beside it), their parameter values, the gateway's ceilings for what a rule
// may ask for, and whether the gateway accepts signed rule bundles (and whom it trusts for them).
// gatewayConfigSchema plugs the schema in as `rules`.
import { ruleLimitDefaults } from '../../common/rule-abi.ts';
import { quarantineDefaults } from '../../common/rule-faults.ts';

export interface RuleModuleConfig {
  /** The compiled rule (.wasm); relative paths resolve against the config file's folder. */
  readonly module: string;
  /** Its manifest; default: the module path with .wasm replaced by .manifest.json. */
  readonly manifest?: string;
  /** Parameter values by name; absent ones keep the rule's defaults. */
  readonly params: Readonly<Record<string, number>>;
}

export interface RulesConfig {
  /** Ceiling for a rule's fuel per tick (a rule asking for more is refused). */
  readonly fuelPerTickMax: number;
  /** Ceiling for a rule's linear memory, in 64 KiB pages. */
  readonly memoryPagesMax: number;
  /** Fuel for a rule's start (top-level code), at load and at each restart after a fault. */
  readonly startFuel: number;
  /** Quarantine after this many faults within this many ticks. */
  readonly quarantine: { readonly faultsMax: number; readonly windowTicks: number };
  readonly modules: readonly RuleModuleConfig[];
  /** Parameter values by rule name for rules that arrive in bundles. */
  readonly params: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** Room in the scan's tag table for rule tags (derived points, alarm states) of later bundles. */
  readonly tagsMax: number;
  /** Signed rule bundles; absent = this gateway runs only the modules above. */
  readonly bundles?: BundlesConfig;
}

export interface BundlesConfig {
  /** The bundle store (root.json, state.json, bundles/); relative to the config file. Default: dataDir/bundles. */
  readonly dir?: string;
  /** A root envelope to pin when the store has none yet (first start); later roots arrive as signed rotations. */
  readonly trustRoot?: string;
  /** Groups this gateway belongs to, for bundle targets. */
  readonly groups: readonly string[];
  readonly probationTicks: number;
  readonly probationFaultsMax: number;
}

export const rulesConfigDefaults: RulesConfig = {
  fuelPerTickMax: 1_000_000,
  memoryPagesMax: ruleLimitDefaults.memoryPagesMax,
  startFuel: ruleLimitDefaults.startFuel,
  quarantine: quarantineDefaults,
  modules: [],
  params: {},
  tagsMax: 1024,
};

export const rulesConfigSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    fuelPerTickMax: { type: 'integer', minimum: 1, maximum: 2 ** 31 - 1, default: rulesConfigDefaults.fuelPerTickMax },
    memoryPagesMax: { type: 'integer', minimum: 1, maximum: 1024, default: rulesConfigDefaults.memoryPagesMax },
    startFuel: { type: 'integer', minimum: 1, maximum: 2 ** 31 - 1, default: rulesConfigDefaults.startFuel },
    quarantine: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        faultsMax: { type: 'integer', minimum: 1, maximum: 1000, default: quarantineDefaults.faultsMax },
        windowTicks: { type: 'integer', minimum: 1, maximum: 1_000_000_000, default: quarantineDefaults.windowTicks },
      },
    },
    modules: {
      type: 'array',
      default: [],
      maxItems: 5000,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['module'],
        properties: {
          module: { type: 'string', minLength: 1 },
          manifest: { type: 'string', minLength: 1 },
          params: { type: 'object', default: {}, additionalProperties: { type: 'number' } },
        },
      },
    },
    params: { type: 'object', default: {}, additionalProperties: { type: 'object', additionalProperties: { type: 'number' } } },
    tagsMax: { type: 'integer', minimum: 0, maximum: 1_000_000, default: rulesConfigDefaults.tagsMax },
    bundles: {
      type: 'object',
      additionalProperties: false,
      properties: {
        dir: { type: 'string', minLength: 1 },
        trustRoot: { type: 'string', minLength: 1 },
        groups: { type: 'array', default: [], maxItems: 100, items: { type: 'string', minLength: 1 } },
        probationTicks: { type: 'integer', minimum: 1, maximum: 1_000_000_000, default: 1000 },
        probationFaultsMax: { type: 'integer', minimum: 1, maximum: 1000, default: 3 },
      },
    },
  },
} as const;
