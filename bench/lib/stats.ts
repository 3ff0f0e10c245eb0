// Summary statistics for benchmark samples: nearest-rank percentiles over a sorted copy, and the
// number formatting every bench prints with. Samples are plain numbers in the unit the caller chose.

export interface Summary {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly mean: number;
}

/** Nearest-rank percentile of an ascending array (fraction in 0..1). */
export function percentile(sorted: ArrayLike<number>, fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(sorted.length * fraction)));
  return sorted[rank - 1]!;
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = Float64Array.from(samples).sort();
  let total = 0;
  for (const sample of sorted) total += sample;
  return {
    count: sorted.length,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    p999: percentile(sorted, 0.999),
    max: sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1]!,
    mean: sorted.length === 0 ? Number.NaN : total / sorted.length,
  };
}

/** A number with a sensible count of significant digits for a table cell. */
export function fmt(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return String(value);
  if (value !== 0 && Math.abs(value) < 0.001) return value > 0 ? '<0.001' : '>-0.001';
  if (Math.abs(value) >= 10 ** digits) return Math.round(value).toLocaleString('en-US');
  return Number(value.toPrecision(digits)).toString();
}

/** "a / b" as a ratio string, or "n/a" when the reference is zero. */
export function ratio(value: number, reference: number): number {
  return reference === 0 ? Number.NaN : value / reference;
}
