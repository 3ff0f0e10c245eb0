// The point model shared by every tier: {tag, ts, value, quality}. Tags are slash-separated
// paths (line1/press/temperature); ts is epoch milliseconds from the gateway clock; quality uses
// the three OPC UA classes.

export const qualities = ['good', 'uncertain', 'bad'] as const;
export type Quality = (typeof qualities)[number];

export type PointValue = number | boolean | string;

export interface Point {
  readonly tag: string;
  readonly ts: number;
  readonly value: PointValue;
  readonly quality: Quality;
}

const tagSegment = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;
export const tagSegmentsMax = 8;
export const tagLengthMax = 256;

/** A tag path is 1..8 segments of [A-Za-z0-9_.-], each starting with a letter, digit or _. */
export function isTagPath(tag: string): boolean {
  if (tag.length === 0 || tag.length > tagLengthMax) return false;
  const segments = tag.split('/');
  if (segments.length > tagSegmentsMax) return false;
  return segments.every((segment) => tagSegment.test(segment));
}

export function isQuality(value: unknown): value is Quality {
  return value === 'good' || value === 'uncertain' || value === 'bad';
}

/** Quality ordering: the worse of two qualities (bad < uncertain < good). */
export function worseQuality(a: Quality, b: Quality): Quality {
  if (a === 'bad' || b === 'bad') return 'bad';
  if (a === 'uncertain' || b === 'uncertain') return 'uncertain';
  return 'good';
}

/** Quality codes for compact encodings: 0 good, 1 uncertain, 2 bad. */
export function qualityCode(quality: Quality): 0 | 1 | 2 {
  return quality === 'good' ? 0 : quality === 'uncertain' ? 1 : 2;
}

export function qualityFromCode(code: number): Quality | undefined {
  return code === 0 ? 'good' : code === 1 ? 'uncertain' : code === 2 ? 'bad' : undefined;
}
