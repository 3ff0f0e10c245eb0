// How a bench reports: aligned tables for people, and one `BENCH-RESULT {json}` line per headline
// figure, which bench/run.mjs collects into its summary table. A result always carries the peer
// it was measured against in the same run and the ratio, because on a shared machine the ratio is
// the figure that survives the noise.

export interface BenchResult {
  readonly bench: string;
  /** What was measured, e.g. "p99 lateness @ 10 ms". */
  readonly measure: string;
  readonly value: number;
  readonly unit: string;
  /** The peer measured in the same run, e.g. "setInterval p99" and its value. */
  readonly reference: string;
  readonly referenceValue: number;
  readonly ratio: number;
  /** The goal in words, e.g. "ratio ≤ 0.25"; absent for figures that are informative only. */
  readonly goal?: string;
  readonly met?: boolean;
}

export function printResult(result: BenchResult): void {
  process.stdout.write(`BENCH-RESULT ${JSON.stringify(result)}\n`);
}

export function printTable(headers: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd();
  process.stdout.write(`${line(headers)}\n${line(widths.map((width) => '-'.repeat(width)))}\n`);
  for (const row of rows) process.stdout.write(`${line(row)}\n`);
}

export function heading(text: string): void {
  process.stdout.write(`\n== ${text}\n`);
}

export function note(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** `--quick`: a few seconds per bench instead of the full run (bench/run.mjs passes it through). */
export const quick = process.argv.includes('--quick');

export function verdict(met: boolean): string {
  return met ? 'MET' : 'NOT MET';
}
