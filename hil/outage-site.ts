// The rig of the long-outage test (outage.e2e.test.ts): a device profile with many tags, the hub
// and gateway configs, the gateway's stats and log folder as an outside observer sees them, and
// the checks run on the hub's DuckDB file afterwards. Kept apart so the test reads as its story.
import { openSync, readSync, closeSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { stringify } from 'yaml';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * The demo machine's registers (the simulator needs them) plus `sensorCount` float64 inputs right
 * after them, so a poll reads them in as few requests as Modbus allows. Returns the sensor names.
 */
export function writeWideProfile(path: string, sensorCount: number): string[] {
  const tags: object[] = [
    { name: 'state', area: 'input', address: 0, type: 'uint16' },
    { name: 'good_count', area: 'input', address: 1, type: 'uint32' },
    { name: 'scrap_count', area: 'input', address: 3, type: 'uint32' },
    { name: 'temperature', area: 'input', address: 5, type: 'float32' },
    { name: 'vibration', area: 'input', address: 7, type: 'float32' },
    { name: 'speed', area: 'input', address: 9, type: 'uint16', scale: 0.1 },
    { name: 'running', area: 'discrete', address: 0, type: 'bool' },
    { name: 'faulted', area: 'discrete', address: 1, type: 'bool' },
    { name: 'run_command', area: 'coil', address: 0, type: 'bool', writable: true },
    { name: 'fault_reset', area: 'coil', address: 1, type: 'bool', writable: true },
    { name: 'speed_setpoint', area: 'holding', address: 0, type: 'uint16', scale: 0.1, writable: true },
  ];
  const sensors = Array.from({ length: sensorCount }, (_, index) => `sensor_${String(index).padStart(2, '0')}`);
  sensors.forEach((name, index) => tags.push({ name, area: 'input', address: 11 + 4 * index, type: 'float64' }));
  writeFileSync(path, stringify({ profile: 'wide-machine', protocol: 'modbus', wordOrder: 'big', byteOrder: 'big', tags }));
  return sensors;
}

export interface GatewayCase {
  readonly id: string;
  readonly line: string;
  readonly policy: 'thin-oldest' | 'drop-oldest-telemetry';
  /** Telemetry points a segment the policy rewrote may keep per tag and minute. */
  readonly residuePerTagMinute: number;
}

export interface GatewayStats {
  readonly scan: { readonly ticks: number; readonly overruns: number };
  readonly forwarder: { readonly ackedSeq: string; readonly durableSeq: string; readonly backlogRecords: string; readonly liveSent: number; readonly backlogSent: number; readonly refused: number };
  readonly log: {
    readonly usedBytes: number;
    readonly durableSeq: string;
    readonly thinnedPoints: number;
    readonly lostSeqs: number;
    readonly lostRanges: number;
    readonly refusedPoints: number;
    readonly refusedAlarmsEvents: number;
    readonly budgetExceededCount: number;
    readonly segments: number;
  };
  readonly uplink: { readonly state: string };
}

export async function gatewayStats(apiPort: number): Promise<GatewayStats> {
  const response = await fetch(`http://127.0.0.1:${apiPort}/api/stats`);
  return (await response.json()) as GatewayStats;
}

export interface SegmentSpan {
  readonly firstSeq: bigint;
  readonly lastSeq: bigint;
  readonly thinned: boolean;
}

/**
 * The log folder as an observer sees it: segment files are named by their first seq, and byte 5
 * of a segment header carries the thinned flag (format in edge/log/segment-header.ts). The last
 * segment is the active one, whose end is not known yet; it is left out.
 */
export function readSegmentSpans(logDir: string): { spans: SegmentSpan[]; bytes: number } {
  const names = readdirSync(logDir).filter((name) => /^segment-\d{20}\.mwlog$/.test(name)).sort();
  let bytes = 0;
  for (const name of readdirSync(logDir)) bytes += statSync(join(logDir, name), { throwIfNoEntry: false })?.size ?? 0;
  const spans: SegmentSpan[] = [];
  for (let index = 0; index + 1 < names.length; index++) {
    const header = Buffer.alloc(6);
    const fd = openSync(join(logDir, names[index]!), 'r');
    try {
      readSync(fd, header, 0, 6, 0);
    } finally {
      closeSync(fd);
    }
    const firstSeq = BigInt(names[index]!.slice(8, 28));
    const nextFirst = BigInt(names[index + 1]!.slice(8, 28));
    spans.push({ firstSeq, lastSeq: nextFirst - 1n, thinned: (header[5]! & 1) === 1 });
  }
  return { spans, bytes };
}

const one = async (connection: DuckDBConnection, sql: string): Promise<Record<string, unknown>> => (await connection.runAndReadAll(sql)).getRowObjects()[0]!;

export interface StoreFacts {
  readonly stored: bigint;
  readonly distinct: bigint;
  readonly lowest: bigint;
  readonly highest: bigint;
  readonly lost: bigint;
  readonly lostOverlappingStored: bigint;
  readonly lostOverlappingLost: bigint;
  readonly lostOutside: bigint;
}

/** Every sequence 1..durable must be stored once or declared lost once: the facts that say so. */
export async function storeFacts(connection: DuckDBConnection, gateway: string, durable: bigint): Promise<StoreFacts> {
  const rows = await one(connection, `SELECT count(*)::BIGINT AS n, count(DISTINCT seq)::BIGINT AS d, coalesce(min(seq), 0)::BIGINT AS lo, coalesce(max(seq), 0)::BIGINT AS hi FROM points WHERE gateway = '${gateway}'`);
  const lost = await one(connection, `SELECT coalesce(sum(last_seq - first_seq + 1), 0)::BIGINT AS n FROM lost_ranges WHERE gateway = '${gateway}'`);
  const overlapStored = await one(
    connection,
    `SELECT count(*)::BIGINT AS n FROM points p JOIN lost_ranges l ON l.gateway = p.gateway AND p.seq BETWEEN l.first_seq AND l.last_seq WHERE p.gateway = '${gateway}'`,
  );
  const overlapLost = await one(
    connection,
    `SELECT count(*)::BIGINT AS n FROM lost_ranges a JOIN lost_ranges b ON a.gateway = b.gateway AND a.rowid < b.rowid AND a.first_seq <= b.last_seq AND b.first_seq <= a.last_seq WHERE a.gateway = '${gateway}'`,
  );
  const outside = await one(connection, `SELECT count(*)::BIGINT AS n FROM lost_ranges WHERE gateway = '${gateway}' AND (first_seq < 1 OR last_seq > ${durable} OR first_seq > last_seq)`);
  return {
    stored: rows['n'] as bigint,
    distinct: rows['d'] as bigint,
    lowest: rows['lo'] as bigint,
    highest: rows['hi'] as bigint,
    lost: lost['n'] as bigint,
    lostOverlappingStored: overlapStored['n'] as bigint,
    lostOverlappingLost: overlapLost['n'] as bigint,
    lostOutside: outside['n'] as bigint,
  };
}

export interface AlarmRow {
  readonly seq: bigint;
  readonly tag: string;
  readonly active: boolean;
}

export async function storedAlarms(connection: DuckDBConnection, gateway: string): Promise<AlarmRow[]> {
  const rows = (await connection.runAndReadAll(`SELECT seq, tag, value_bool FROM points WHERE gateway = '${gateway}' AND kind = 1 ORDER BY seq`)).getRowObjects();
  return rows.map((row) => ({ seq: row['seq'] as bigint, tag: row['tag'] as string, active: row['value_bool'] as boolean }));
}

const spansTable = (spans: readonly SegmentSpan[]): string => `(VALUES ${spans.map((span) => `(${span.firstSeq}, ${span.lastSeq})`).join(', ')}) AS s(lo, hi)`;

/**
 * Telemetry left in thinned segments: the worst count per (segment, tag, minute), which the policy
 * bounds, the worst per (tag, minute) over all of them, and the totals.
 */
export async function thinnedResidue(
  connection: DuckDBConnection,
  gateway: string,
  thinned: readonly SegmentSpan[],
): Promise<{ worst: bigint; worstAcrossSegments: bigint; points: bigint; alarms: bigint }> {
  if (thinned.length === 0) return { worst: 0n, worstAcrossSegments: 0n, points: 0n, alarms: 0n };
  const residue = (groups: string): string => `SELECT coalesce(max(n), 0)::BIGINT AS worst, coalesce(sum(n), 0)::BIGINT AS points FROM (
       SELECT count(*) AS n FROM points p JOIN ${spansTable(thinned)} ON p.seq BETWEEN s.lo AND s.hi
       WHERE p.gateway = '${gateway}' AND p.kind = 0 AND p.historical GROUP BY ${groups}, p.tag, floor(epoch_ms(p.ts) / 60000))`;
  const perSegment = await one(connection, residue('s.lo'));
  const acrossSegments = await one(connection, residue('p.gateway'));
  const alarms = await one(connection, `SELECT count(*)::BIGINT AS n FROM points p JOIN ${spansTable(thinned)} ON p.seq BETWEEN s.lo AND s.hi WHERE p.gateway = '${gateway}' AND p.kind = 1`);
  return { worst: perSegment['worst'] as bigint, worstAcrossSegments: acrossSegments['worst'] as bigint, points: perSegment['points'] as bigint, alarms: alarms['n'] as bigint };
}

/** Stored points of a seq range by their historical flag. */
export async function historicalSplit(connection: DuckDBConnection, gateway: string, fromSeq: bigint, toSeq: bigint): Promise<{ historical: bigint; live: bigint }> {
  const row = await one(
    connection,
    `SELECT count(*) FILTER (WHERE historical)::BIGINT AS h, count(*) FILTER (WHERE NOT historical)::BIGINT AS l FROM points WHERE gateway = '${gateway}' AND seq BETWEEN ${fromSeq} AND ${toSeq}`,
  );
  return { historical: row['h'] as bigint, live: row['l'] as bigint };
}
