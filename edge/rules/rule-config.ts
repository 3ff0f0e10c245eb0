// The gateway config's `rules:` section: which compiled rules to run (NAME.wasm with
// NAME.manifest.json beside it), their parameter values, and the gateway's ceilings for what a
// rule may ask for. The schema is meant to be plugged into gatewayConfigSchema as `rules`.
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
}

export const rulesConfigDefaults: RulesConfig = {
  fuelPerTickMax: 1_000_000,
  memoryPagesMax: ruleLimitDefaults.memoryPagesMax,
  startFuel: ruleLimitDefaults.startFuel,
  quarantine: quarantineDefaults,
  modules: [],
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
  },
} as const;
