// The pure OPC UA conversions: status severity → quality, variant → tag value (with every wrong
// type refused rather than coerced), timestamp choice, and the variant a write sends per data type.
import { DataType, DataValue, StatusCodes, Variant, VariantArrayType } from 'node-opcua';
import { describe, expect, it } from 'vitest';
import { qualityOfStatus, readingOf, timestampOf, writeVariantOf } from './opcua-values.ts';

const sourceMs = Date.UTC(2026, 0, 1, 12, 0, 0);
const fallbackMs = 1;

function dataValue(dataType: DataType, value: unknown, statusCode = StatusCodes.Good, arrayType = VariantArrayType.Scalar): DataValue {
  return new DataValue({ value: new Variant({ dataType, value, arrayType }), statusCode, sourceTimestamp: new Date(sourceMs), serverTimestamp: new Date(sourceMs + 5) });
}

describe('qualityOfStatus', () => {
  it('maps the severity bits of Good*, Uncertain* and Bad* codes', () => {
    expect(qualityOfStatus(StatusCodes.Good.value)).toBe('good');
    expect(qualityOfStatus(StatusCodes.GoodClamped.value)).toBe('good');
    expect(qualityOfStatus(StatusCodes.UncertainLastUsableValue.value)).toBe('uncertain');
    expect(qualityOfStatus(StatusCodes.UncertainSensorNotAccurate.value)).toBe('uncertain');
    expect(qualityOfStatus(StatusCodes.BadSensorFailure.value)).toBe('bad');
    expect(qualityOfStatus(StatusCodes.BadNodeIdUnknown.value)).toBe('bad');
  });
});

describe('readingOf', () => {
  it('takes numbers of every numeric type, with the quality of the status code', () => {
    expect(readingOf('number', dataValue(DataType.Double, 21.5), fallbackMs)).toEqual({ kind: 'value', value: 21.5, quality: 'good', tsMs: sourceMs });
    expect(readingOf('number', dataValue(DataType.Int16, -7, StatusCodes.UncertainLastUsableValue), fallbackMs)).toMatchObject({ value: -7, quality: 'uncertain' });
    expect(readingOf('number', dataValue(DataType.UInt32, 4_000_000_000), fallbackMs)).toMatchObject({ value: 4_000_000_000 });
    expect(readingOf('number', dataValue(DataType.Int64, [0xffffffff, 0xfffffffe]), fallbackMs)).toMatchObject({ value: -2 });
    expect(readingOf('number', dataValue(DataType.UInt64, [1, 5]), fallbackMs)).toMatchObject({ value: 2 ** 32 + 5 });
  });

  it('takes booleans as 1 and 0 for boolean tags', () => {
    expect(readingOf('boolean', dataValue(DataType.Boolean, true), fallbackMs)).toMatchObject({ kind: 'value', value: 1 });
    expect(readingOf('boolean', dataValue(DataType.Boolean, false), fallbackMs)).toMatchObject({ kind: 'value', value: 0 });
  });

  it('refuses a value of the wrong type instead of coercing it', () => {
    expect(readingOf('number', dataValue(DataType.String, '12'), fallbackMs)).toEqual({ kind: 'wrong-type', problem: 'expected a number, got String', tsMs: sourceMs });
    expect(readingOf('number', dataValue(DataType.Boolean, true), fallbackMs)).toMatchObject({ kind: 'wrong-type' });
    expect(readingOf('boolean', dataValue(DataType.Double, 1), fallbackMs)).toMatchObject({ kind: 'wrong-type', problem: 'expected a Boolean, got Double' });
    expect(readingOf('number', dataValue(DataType.Double, [1, 2], StatusCodes.Good, VariantArrayType.Array), fallbackMs)).toMatchObject({ kind: 'wrong-type' });
  });

  it('refuses NaN and infinities', () => {
    expect(readingOf('number', dataValue(DataType.Double, Number.NaN), fallbackMs)).toMatchObject({ kind: 'wrong-type' });
    expect(readingOf('number', dataValue(DataType.Float, Number.POSITIVE_INFINITY), fallbackMs)).toMatchObject({ kind: 'wrong-type' });
  });

  it('reports a Bad status without looking at the value', () => {
    expect(readingOf('number', dataValue(DataType.Null, null, StatusCodes.BadSensorFailure), fallbackMs)).toEqual({ kind: 'bad-status', status: 'BadSensorFailure', tsMs: sourceMs });
  });
});

describe('timestampOf', () => {
  it('prefers the source timestamp, then the server timestamp, then the gateway clock', () => {
    expect(timestampOf(new DataValue({ sourceTimestamp: new Date(10_000), serverTimestamp: new Date(20_000) }), fallbackMs)).toBe(10_000);
    expect(timestampOf(new DataValue({ serverTimestamp: new Date(20_000) }), fallbackMs)).toBe(20_000);
    expect(timestampOf(new DataValue({}), 30_000)).toBe(30_000);
  });
});

describe('writeVariantOf', () => {
  it('sends the node data type, converting booleans and 1/0 where the node wants them', () => {
    expect(writeVariantOf(DataType.Double, 1.25)).toEqual({ ok: true, dataType: DataType.Double, value: 1.25 });
    expect(writeVariantOf(DataType.Float, 3)).toEqual({ ok: true, dataType: DataType.Float, value: 3 });
    expect(writeVariantOf(DataType.Int16, -32_768)).toEqual({ ok: true, dataType: DataType.Int16, value: -32_768 });
    expect(writeVariantOf(DataType.Boolean, 1)).toEqual({ ok: true, dataType: DataType.Boolean, value: true });
    expect(writeVariantOf(DataType.Boolean, false)).toEqual({ ok: true, dataType: DataType.Boolean, value: false });
    expect(writeVariantOf(DataType.Byte, true)).toEqual({ ok: true, dataType: DataType.Byte, value: 1 });
  });

  it('splits 64-bit integers into the [high, low] words node-opcua carries', () => {
    expect(writeVariantOf(DataType.Int64, -2)).toEqual({ ok: true, dataType: DataType.Int64, value: [0xffffffff, 0xfffffffe] });
    expect(writeVariantOf(DataType.UInt64, 2 ** 32 + 5)).toEqual({ ok: true, dataType: DataType.UInt64, value: [1, 5] });
  });

  it('refuses values that do not fit the node', () => {
    expect(writeVariantOf(DataType.Int16, 40_000)).toMatchObject({ ok: false });
    expect(writeVariantOf(DataType.UInt16, -1)).toMatchObject({ ok: false });
    expect(writeVariantOf(DataType.Int32, 1.5)).toMatchObject({ ok: false });
    expect(writeVariantOf(DataType.Float, 1e39)).toMatchObject({ ok: false });
    expect(writeVariantOf(DataType.Double, Number.NaN)).toMatchObject({ ok: false });
    expect(writeVariantOf(DataType.Boolean, 2)).toMatchObject({ ok: false });
    expect(writeVariantOf(DataType.String, 1)).toMatchObject({ ok: false, problem: 'the node holds String, which a number or boolean tag cannot write' });
  });
});
