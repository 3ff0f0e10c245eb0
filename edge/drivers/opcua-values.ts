// Pure conversions between OPC UA data values and the gateway's tag values: status code →
// quality, variant → tag value with a type check, the timestamp a change carries, and the variant
// a write sends for a node's data type. No I/O and no session, so each rule is unit-tested alone.
import { DataType, VariantArrayType, type DataValue } from 'node-opcua';
import type { Quality } from '../../common/point.ts';

/** The severity bits (top two) of an OPC UA status code: 00 good, 01 uncertain, 1x bad. */
export function qualityOfStatus(statusCode: number): Quality {
  const severity = statusCode >>> 30;
  return severity === 0 ? 'good' : severity === 1 ? 'uncertain' : 'bad';
}

export type Reading =
  | { readonly kind: 'value'; readonly value: number; readonly quality: Quality; readonly tsMs: number }
  | { readonly kind: 'bad-status'; readonly status: string; readonly tsMs: number }
  | { readonly kind: 'wrong-type'; readonly problem: string; readonly tsMs: number };

const numericTypes: ReadonlySet<DataType> = new Set([
  DataType.SByte, DataType.Byte, DataType.Int16, DataType.UInt16, DataType.Int32, DataType.UInt32,
  DataType.Int64, DataType.UInt64, DataType.Float, DataType.Double,
]);

/** The source timestamp if the server sent one, else the server timestamp, else the gateway's. */
export function timestampOf(dataValue: DataValue, fallbackMs: number): number {
  const source = dataValue.sourceTimestamp?.getTime();
  if (source !== undefined && Number.isFinite(source) && source > 0) return source;
  const server = dataValue.serverTimestamp?.getTime();
  if (server !== undefined && Number.isFinite(server) && server > 0) return server;
  return fallbackMs;
}

/** node-opcua carries 64-bit integers as [high, low] 32-bit words. */
function int64Value(words: unknown, signed: boolean): number | undefined {
  if (!Array.isArray(words) || words.length !== 2) return undefined;
  const [high, low] = words as unknown[];
  if (typeof high !== 'number' || typeof low !== 'number') return undefined;
  const top = signed ? high | 0 : high >>> 0;
  return top * 2 ** 32 + (low >>> 0);
}

function numberOf(dataType: DataType, raw: unknown): number | undefined {
  if (dataType === DataType.Int64 || dataType === DataType.UInt64) return int64Value(raw, dataType === DataType.Int64);
  return typeof raw === 'number' ? raw : undefined;
}

/** Turns one monitored or read value into what the tag table takes, never throwing. */
export function readingOf(kind: 'number' | 'boolean', dataValue: DataValue, fallbackMs: number): Reading {
  const tsMs = timestampOf(dataValue, fallbackMs);
  const status = dataValue.statusCode;
  const quality = qualityOfStatus(status.value);
  if (quality === 'bad') return { kind: 'bad-status', status: status.name, tsMs };
  const variant = dataValue.value;
  const typeName = DataType[variant.dataType] ?? `DataType ${variant.dataType}`;
  if (variant.arrayType !== VariantArrayType.Scalar) {
    return { kind: 'wrong-type', problem: `expected a scalar ${kind}, got an array of ${typeName}`, tsMs };
  }
  if (kind === 'boolean') {
    if (variant.dataType === DataType.Boolean && typeof variant.value === 'boolean') return { kind: 'value', value: variant.value ? 1 : 0, quality, tsMs };
    return { kind: 'wrong-type', problem: `expected a Boolean, got ${typeName}`, tsMs };
  }
  if (!numericTypes.has(variant.dataType)) return { kind: 'wrong-type', problem: `expected a number, got ${typeName}`, tsMs };
  const value = numberOf(variant.dataType, variant.value);
  if (value === undefined) return { kind: 'wrong-type', problem: `malformed ${typeName} value`, tsMs };
  // NaN and infinities are not values a rule may act on.
  if (!Number.isFinite(value)) return { kind: 'wrong-type', problem: `${typeName} value ${value} is not finite`, tsMs };
  return { kind: 'value', value, quality, tsMs };
}

const integerRanges: ReadonlyMap<DataType, readonly [number, number]> = new Map([
  [DataType.SByte, [-128, 127]],
  [DataType.Byte, [0, 255]],
  [DataType.Int16, [-32_768, 32_767]],
  [DataType.UInt16, [0, 65_535]],
  [DataType.Int32, [-2_147_483_648, 2_147_483_647]],
  [DataType.UInt32, [0, 4_294_967_295]],
  [DataType.Int64, [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER]],
  [DataType.UInt64, [0, Number.MAX_SAFE_INTEGER]],
]);

const floatMax = 3.4028234663852886e38;

export type WriteVariant =
  | { readonly ok: true; readonly dataType: DataType; readonly value: number | boolean | readonly [number, number] }
  | { readonly ok: false; readonly problem: string };

/** The variant a write sends to a node of `dataType`, or why `value` does not fit it. */
export function writeVariantOf(dataType: DataType, value: number | boolean): WriteVariant {
  const typeName = DataType[dataType] ?? `DataType ${dataType}`;
  if (dataType === DataType.Boolean) {
    if (typeof value === 'boolean') return { ok: true, dataType, value };
    if (value === 0 || value === 1) return { ok: true, dataType, value: value === 1 };
    return { ok: false, problem: `${value} is not a Boolean (use true/false or 1/0)` };
  }
  const numeric = typeof value === 'boolean' ? (value ? 1 : 0) : value;
  if (!Number.isFinite(numeric)) return { ok: false, problem: `${numeric} is not a finite number` };
  const range = integerRanges.get(dataType);
  if (range !== undefined) {
    if (!Number.isInteger(numeric) || numeric < range[0] || numeric > range[1]) {
      return { ok: false, problem: `${numeric} is not an integer in ${typeName} range [${range[0]}, ${range[1]}]` };
    }
    if (dataType === DataType.Int64 || dataType === DataType.UInt64) {
      const high = Math.floor(numeric / 2 ** 32);
      return { ok: true, dataType, value: [high >>> 0, (numeric - high * 2 ** 32) >>> 0] };
    }
    return { ok: true, dataType, value: numeric };
  }
  if (dataType === DataType.Float) {
    if (Math.abs(numeric) > floatMax) return { ok: false, problem: `${numeric} is outside the Float range` };
    return { ok: true, dataType, value: numeric };
  }
  if (dataType === DataType.Double) return { ok: true, dataType, value: numeric };
  return { ok: false, problem: `the node holds ${typeName}, which a number or boolean tag cannot write` };
}
