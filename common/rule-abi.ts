// The rule host ABI: the one schema both sides of the WebAssembly boundary are generated from.
// The host side (common/rule-instance.ts) reads these constants; rules/abi-gen.ts writes them as
// rules/sdk/abi.ts for the AssemblyScript SDK, and a test proves the two never drift apart.
//
// A rule module imports only `millwright.declare` and AssemblyScript's `env.abort`. While its
// start function runs, every declaration calls `declare(kind, slot, ...)` with the address of a
// slot the module allocated; per tick the host writes the header and changed inputs into those
// slots, calls the tick, and reads outputs, points and alarms back. No host call per read.

export const abiVersion = 1;
export const importModule = 'millwright';
export const declareImport = 'declare';
/** The gateway's shared rule memory, which replaces each rule's own memory at load (ADR 0010). */
export const memoryImport = 'memory';

/** declare(kind, slot, name, nameBytes, text, textBytes, a, b, c, flags): the kinds. */
export const declarationKind = {
  header: 0,
  input: 1,
  output: 2,
  param: 3,
  point: 4,
  alarm: 5,
  limits: 6,
} as const;
export type DeclarationKindName = keyof typeof declarationKind;

/** Byte offsets inside each slot (little-endian) and each slot's size. */
export const slotLayout = {
  header: { bytes: 24, tick: 0, tickMs: 8, events: 16 },
  input: { bytes: 24, value: 0, changedTick: 8, quality: 16 },
  output: { bytes: 16, value: 0, dirty: 8 },
  param: { bytes: 8, value: 0 },
  point: { bytes: 16, value: 0, quality: 8, publish: 9 },
  alarm: { bytes: 16, value: 0, active: 8, ackRequest: 9, acknowledged: 10 },
} as const;

/** Quality codes, as in the scan: 0 good, 1 uncertain, 2 bad. */
export const qualityCodes = { good: 0, uncertain: 1, bad: 2 } as const;

/** Alarm severities, as the gateway's built-in alarms number them. */
export const severityCodes = { low: 1, medium: 2, high: 3, critical: 4 } as const;
export type SeverityName = keyof typeof severityCodes;

/** The alarm declaration's flags word: severity in the low byte, latching in bit 8. */
export const alarmFlags = { severityMask: 0xff, latching: 0x100 } as const;

/** Exports the host adds while instrumenting, and the status codes its guards leave behind. */
export const hostExports = { tick: 'mw_tick', start: 'mw_start', status: 'mw_status', step: 'mw_step', run: 'mw_run', frame: 'mw_frame' } as const;
/** A rule's frame (common/rule-sandbox.ts), host memory out of the rule's reach: byte offsets of its page count, its header slot's address, its region's base, and its mutable globals. */
export const frameLayout = { pages: 0, header: 4, base: 8, globals: 16 } as const;
export const trapStatus = { none: 0, fuel: 1, memoryGrowFailed: 2 } as const;

/** Defaults for what a rule may ask for; a gateway may lower or raise its own ceilings. */
export const ruleLimitDefaults = {
  /** Fuel a rule gets per tick when it does not declare its own (about 0.1 ms of work). */
  fuelPerTick: 100_000,
  /** Fuel for the start function (declarations, static initialisation). */
  startFuel: 5_000_000,
  /** Linear memory a rule may have: 16 pages of 64 KiB = 1 MiB. */
  memoryPagesMax: 16,
  moduleBytesMax: 1 << 20,
  declarationsMax: 1024,
  nameLengthMax: 128,
  messageLengthMax: 512,
} as const;
