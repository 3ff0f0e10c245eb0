// The OPC UA device entry of a gateway config: its TypeScript shape and the JSON Schema that
// validates it (with the defaults the schema fills in). For OPC UA the tags list plays the role a
// device profile plays for Modbus: each tag names a node, its kind and how changes are reported.
// This module is plain data on purpose: it loads no node-opcua code.
import { idPatternSource } from '../../common/ids.ts';

export type OpcUaSecurityMode = 'None' | 'SignAndEncrypt';
export type OpcUaSecurityPolicy = 'None' | 'Basic256Sha256';

export type OpcUaAuth =
  | { readonly type: 'anonymous' }
  | { readonly type: 'username'; readonly username: string; readonly password: string };

export interface OpcUaDeadband {
  /** absolute: in the value's units; percent: of the node's EURange (the server must expose one). */
  readonly type: 'absolute' | 'percent';
  readonly value: number;
}

export interface OpcUaTagConfig {
  /** Tag name inside the device; the full tag path is `{area}/{device}/{name}`. */
  readonly name: string;
  /** OPC UA node id in its string form, e.g. `ns=2;s=Line1.Press.Temperature` or `ns=3;i=1001`. */
  readonly nodeId: string;
  readonly type: 'number' | 'boolean';
  readonly deadband?: OpcUaDeadband;
  readonly writable?: boolean;
  /** Overrides the device's samplingIntervalMs for this tag. */
  readonly samplingIntervalMs?: number;
}

export interface OpcUaDeviceConfig {
  readonly id: string;
  readonly driver: 'opcua';
  readonly endpointUrl: string;
  readonly securityMode: OpcUaSecurityMode;
  readonly securityPolicy: OpcUaSecurityPolicy;
  readonly auth: OpcUaAuth;
  /**
   * Folder of the client's certificate store (own/, trusted/, rejected/, issuers/). The caller
   * resolves a relative path against the config file's folder before building the driver.
   */
  readonly pkiDir: string;
  readonly samplingIntervalMs: number;
  readonly publishingIntervalMs: number;
  /** Bound on each request (connect, read, write, create subscription). */
  readonly timeoutMs: number;
  readonly tags: readonly OpcUaTagConfig[];
}

const intervalMs = { type: 'integer', minimum: 1, maximum: 3_600_000 } as const;

const tagSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'nodeId', 'type'],
  properties: {
    name: { type: 'string', pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$' },
    nodeId: { type: 'string', minLength: 1, maxLength: 4096 },
    type: { type: 'string', enum: ['number', 'boolean'] },
    deadband: {
      type: 'object',
      additionalProperties: false,
      required: ['type', 'value'],
      properties: {
        type: { type: 'string', enum: ['absolute', 'percent'] },
        value: { type: 'number', minimum: 0 },
      },
      if: { properties: { type: { const: 'percent' } } },
      then: { properties: { value: { maximum: 100 } } },
    },
    writable: { type: 'boolean' },
    samplingIntervalMs: intervalMs,
  },
  // A deadband is a numeric idea: the server refuses it on a Boolean node.
  if: { properties: { type: { const: 'boolean' } } },
  then: { not: { required: ['deadband'] } },
} as const;

// No $id: this schema is meant to sit inside the gateway config's devices list, and a nested $id
// would be registered twice by an ajv that also compiles it alone.
export const opcuaDeviceSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'driver', 'endpointUrl', 'pkiDir', 'tags'],
  properties: {
    id: { type: 'string', pattern: idPatternSource },
    driver: { type: 'string', const: 'opcua' },
    endpointUrl: { type: 'string', pattern: '^opc\\.tcp://[^\\s/:]+(:[0-9]{1,5})?(/\\S*)?$' },
    securityMode: { type: 'string', enum: ['None', 'SignAndEncrypt'], default: 'None' },
    securityPolicy: { type: 'string', enum: ['None', 'Basic256Sha256'], default: 'None' },
    auth: {
      type: 'object',
      default: { type: 'anonymous' },
      oneOf: [
        { type: 'object', additionalProperties: false, required: ['type'], properties: { type: { const: 'anonymous' } } },
        {
          type: 'object',
          additionalProperties: false,
          required: ['type', 'username', 'password'],
          properties: { type: { const: 'username' }, username: { type: 'string', minLength: 1 }, password: { type: 'string' } },
        },
      ],
    },
    pkiDir: { type: 'string', minLength: 1 },
    samplingIntervalMs: { ...intervalMs, default: 100 },
    publishingIntervalMs: { ...intervalMs, default: 100 },
    timeoutMs: { type: 'integer', minimum: 100, maximum: 60_000, default: 5000 },
    tags: { type: 'array', minItems: 1, maxItems: 10_000, items: tagSchema },
  },
  // Signing and encryption need a real policy, and a real policy without them means nothing.
  if: { properties: { securityMode: { const: 'SignAndEncrypt' } }, required: ['securityMode'] },
  then: { required: ['securityPolicy'], properties: { securityPolicy: { const: 'Basic256Sha256' } } },
  else: { properties: { securityPolicy: { const: 'None' } } },
} as const;
