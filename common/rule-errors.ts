// Error and fault codes of the rule engine. Load-time refusals are MillwrightErrors with these
// codes (a bad module or manifest is bad input: exit 2); run-time faults are values, reported
// with the rule's name and one of the ruleFaultCodes, and never stop the scan.
import { exitCode, type ErrorSpec } from './errors.ts';

export const ruleErrors = {
  moduleInvalid: { code: 'RULE_MODULE_INVALID', exit: exitCode.badUsageOrConfig },
  moduleTooLarge: { code: 'RULE_MODULE_TOO_LARGE', exit: exitCode.badUsageOrConfig },
  importRefused: { code: 'RULE_IMPORT_REFUSED', exit: exitCode.badUsageOrConfig },
  memoryRefused: { code: 'RULE_MEMORY_REFUSED', exit: exitCode.badUsageOrConfig },
  exportMissing: { code: 'RULE_EXPORT_MISSING', exit: exitCode.badUsageOrConfig },
  startFailed: { code: 'RULE_START_FAILED', exit: exitCode.badUsageOrConfig },
  declarationInvalid: { code: 'RULE_DECLARATION_INVALID', exit: exitCode.badUsageOrConfig },
  manifestInvalid: { code: 'RULE_MANIFEST_INVALID', exit: exitCode.badUsageOrConfig },
  manifestMismatch: { code: 'RULE_MANIFEST_MISMATCH', exit: exitCode.badUsageOrConfig },
  bindingRefused: { code: 'RULE_BINDING_REFUSED', exit: exitCode.badUsageOrConfig },
  limitRefused: { code: 'RULE_LIMIT_REFUSED', exit: exitCode.badUsageOrConfig },
  paramInvalid: { code: 'RULE_PARAM_INVALID', exit: exitCode.badUsageOrConfig },
  compileFailed: { code: 'RULE_COMPILE_FAILED', exit: exitCode.badUsageOrConfig },
  testScriptInvalid: { code: 'RULE_TEST_SCRIPT_INVALID', exit: exitCode.badUsageOrConfig },
} as const satisfies Record<string, ErrorSpec>;

/** What a rule did wrong inside a tick. Its outputs go to their safe values in the same tick. */
export const ruleFaultCodes = {
  /** A WebAssembly trap: unreachable, out-of-bounds access, division by zero, stack exhausted. */
  trap: 'RULE_TRAP',
  /** The rule called abort(): a failed assert, an index out of range, an explicit abort. */
  abort: 'RULE_ABORT',
  /** The tick used more than the rule's fuel (an endless or too long loop). */
  fuelExhausted: 'RULE_FUEL_EXHAUSTED',
  /** The module asked for more memory than its maximum and trapped. */
  memory: 'RULE_MEMORY',
  /** A restart after a fault failed in the start function. */
  restartFailed: 'RULE_RESTART_FAILED',
} as const;
export type RuleFaultCode = (typeof ruleFaultCodes)[keyof typeof ruleFaultCodes];
