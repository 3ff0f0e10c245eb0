// The DuckDB adapter of the hub store: one database file, raw points appended in bulk (data chunks
// of 2048 rows through an Appender) inside one transaction per commit, together with the lost
// ranges the gateways declared and the gateways table holding each gateway's acked sequence.
// Alarms and events are rows of `points` too (kind 1 and 2), their payload (JSON: severity,
// message, ...) in the `payload` column, NULL for telemetry; so every sequence is in one table
// once, and the alarm history is a filter on kind.
// Writes use one connection and reads another, so API queries never see (or join) an open ingest
// transaction.
import {
  BOOLEAN,
  DOUBLE,
  DuckDBDataChunk,
  DuckDBInstance,
  DuckDBTimestampMillisecondsValue,
  TIMESTAMP_MS,
  UBIGINT,
  UTINYINT,
  VARCHAR,
  type DuckDBAppender,
  type DuckDBConnection,
  type DuckDBVector,
} from '@duckdb/node-api';
import { assert } from '../common/assert.ts';
import { qualityCode, qualityFromCode, type PointValue, type Quality } from '../common/point.ts';
import { recordKinds, type RecordKind } from '../common/wire-batch.ts';
import { hubError, hubErrors } from './errors.ts';
import {
  gatewayStates,
  mergeRanges,
  type CommitRequest,
  type GatewaySnapshot,
  type GatewayState,
  type HubStore,
  type LostRangeQuery,
  type LostRangeRecord,
  type AlarmQuery,
  type PointQuery,
  type StoredPoint,
} from './store.ts';
import type { SeqRange } from './seq-tracker.ts';

const schemaSql = [
  `CREATE TABLE IF NOT EXISTS points (
     gateway VARCHAR NOT NULL, seq UBIGINT NOT NULL, tag VARCHAR NOT NULL, ts TIMESTAMP_MS NOT NULL,
     value_num DOUBLE, value_bool BOOLEAN, value_text VARCHAR, quality UTINYINT NOT NULL,
     historical BOOLEAN NOT NULL DEFAULT false, kind UTINYINT DEFAULT 0, payload VARCHAR)`,
  // Files written before records had kinds (0 point, 1 alarm, 2 event), and before payloads.
  `ALTER TABLE points ADD COLUMN IF NOT EXISTS kind UTINYINT DEFAULT 0`,
  `ALTER TABLE points ADD COLUMN IF NOT EXISTS payload VARCHAR`,
  `CREATE TABLE IF NOT EXISTS lost_ranges (
     gateway VARCHAR NOT NULL, first_seq UBIGINT NOT NULL, last_seq UBIGINT NOT NULL, reported_at TIMESTAMP_MS NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS gateways (
     gateway VARCHAR PRIMARY KEY, site VARCHAR NOT NULL, acked_seq UBIGINT NOT NULL,
     last_seen_ms BIGINT NOT NULL, state VARCHAR NOT NULL)`,
];

/** The points columns in table order, as the data chunks carry them. */
const pointColumnTypes = [VARCHAR, UBIGINT, VARCHAR, TIMESTAMP_MS, DOUBLE, BOOLEAN, VARCHAR, UTINYINT, BOOLEAN, UTINYINT, VARCHAR];
const pointColumnsSql = 'gateway, seq, kind, tag, epoch_ms(ts) AS ts_ms, value_num, value_bool, value_text, quality, historical, payload';
const chunkRowsMax = 2048;

const upsertGatewaySql = `INSERT INTO gateways VALUES ($gateway, $site, $acked::UBIGINT, $seen::BIGINT, $state)
  ON CONFLICT (gateway) DO UPDATE SET site = excluded.site, acked_seq = excluded.acked_seq,
  last_seen_ms = excluded.last_seen_ms, state = excluded.state`;

const insertLostSql = `INSERT INTO lost_ranges VALUES ($gateway, $first::UBIGINT, $last::UBIGINT, make_timestamp_ms($at::BIGINT))`;

// Gaps-and-islands over the sequences stored above each gateway's acked mark.
const committedAboveSql = `SELECT gateway, min(seq) AS first, max(seq) AS last FROM (
    SELECT gateway, seq, seq::HUGEINT - row_number() OVER (PARTITION BY gateway ORDER BY seq) AS island
    FROM (SELECT DISTINCT p.gateway, p.seq FROM points p JOIN gateways g ON g.gateway = p.gateway WHERE p.seq > g.acked_seq))
  GROUP BY gateway, island ORDER BY gateway, first`;

const lostAboveSql = `SELECT l.gateway, greatest(l.first_seq, g.acked_seq + 1) AS first, l.last_seq AS last
  FROM lost_ranges l JOIN gateways g ON g.gateway = l.gateway WHERE l.last_seq > g.acked_seq`;

const lostTotalsSql = `SELECT gateway, sum(last_seq::HUGEINT - first_seq + 1) AS lost FROM lost_ranges GROUP BY gateway`;

export async function openDuckDbStore(filePath: string): Promise<HubStore> {
  let instance: DuckDBInstance | undefined;
  try {
    instance = await DuckDBInstance.create(filePath);
    const writer = await instance.connect();
    const reader = await instance.connect();
    for (const sql of schemaSql) await writer.run(sql);
    return new DuckDbStore(instance, writer, reader);
  } catch (error) {
    instance?.closeSync();
    throw hubError(hubErrors.storeFailed, `cannot open database ${filePath}: ${(error as Error).message}`, { filePath }, error);
  }
}

class DuckDbStore implements HubStore {
  readonly #instance: DuckDBInstance;
  readonly #writer: DuckDBConnection;
  readonly #reader: DuckDBConnection;
  readonly #inFlight = new Set<Promise<unknown>>();
  #closed = false;

  constructor(instance: DuckDBInstance, writer: DuckDBConnection, reader: DuckDBConnection) {
    this.#instance = instance;
    this.#writer = writer;
    this.#reader = reader;
  }

  loadGateways(): Promise<GatewaySnapshot[]> {
    return this.#track(async () => {
      const rows = (await this.#reader.runAndReadAll('SELECT gateway, site, acked_seq, last_seen_ms, state FROM gateways ORDER BY gateway')).getRowObjectsJS();
      const above = new Map<string, SeqRange[]>();
      for (const sql of [committedAboveSql, lostAboveSql]) {
        for (const island of (await this.#reader.runAndReadAll(sql)).getRowObjectsJS()) {
          const gateway = String(island['gateway']);
          const list = above.get(gateway) ?? [];
          list.push({ first: BigInt(island['first'] as bigint), last: BigInt(island['last'] as bigint) });
          above.set(gateway, list);
        }
      }
      const lostTotals = new Map<string, bigint>();
      for (const row of (await this.#reader.runAndReadAll(lostTotalsSql)).getRowObjectsJS()) lostTotals.set(String(row['gateway']), BigInt(row['lost'] as bigint));
      return rows.map((row) => {
        const gateway = String(row['gateway']);
        const state = String(row['state']);
        return {
          gateway,
          site: String(row['site']),
          ackedSeq: BigInt(row['acked_seq'] as bigint),
          lastSeenMs: Number(row['last_seen_ms']),
          state: (gatewayStates as readonly string[]).includes(state) ? (state as GatewayState) : 'unknown',
          committedAbove: mergeRanges(above.get(gateway) ?? []),
          lostSeqs: lostTotals.get(gateway) ?? 0n,
        };
      });
    });
  }

  commit(request: CommitRequest): Promise<void> {
    return this.#track(async () => {
      try {
        await this.#writer.run('BEGIN TRANSACTION');
        if (request.points.length > 0) {
          const appender = await this.#writer.createAppender('points');
          try {
            appendPoints(appender, request.points);
          } finally {
            appender.closeSync(); // flushes the rows into the open transaction
          }
        }
        for (const range of request.lostRanges ?? []) {
          await this.#writer.run(insertLostSql, { gateway: range.gateway, first: range.first.toString(), last: range.last.toString(), at: String(range.reportedAtMs) });
        }
        for (const row of request.gateways) {
          await this.#writer.run(upsertGatewaySql, {
            gateway: row.gateway,
            site: row.site,
            acked: row.ackedSeq.toString(),
            seen: row.lastSeenMs.toString(),
            state: row.state,
          });
        }
        await this.#writer.run('COMMIT');
      } catch (error) {
        await this.#writer.run('ROLLBACK').catch(() => undefined); // the original error is what matters
        throw hubError(hubErrors.storeFailed, `commit of ${request.points.length} points failed: ${(error as Error).message}`, {}, error);
      }
    });
  }

  queryPoints(query: PointQuery): Promise<StoredPoint[]> {
    return this.#track(async () => {
      const where = ['tag = $tag'];
      const values: Record<string, string> = { tag: query.tag };
      whereTimeRange(query, where, values);
      values['limit'] = String(query.limit);
      const sql = `SELECT ${pointColumnsSql} FROM points WHERE ${where.join(' AND ')} ORDER BY ts, gateway, seq LIMIT $limit::BIGINT`;
      return (await this.#reader.runAndReadAll(sql, values)).getRowObjectsJS().map(readPoint);
    });
  }

  queryAlarms(query: AlarmQuery): Promise<StoredPoint[]> {
    return this.#track(async () => {
      const where = [`kind = ${recordKinds.indexOf('alarm')}`];
      const values: Record<string, string> = { limit: String(query.limit) };
      if (query.gateway !== undefined) {
        where.push('gateway = $gateway');
        values['gateway'] = query.gateway;
      }
      whereTimeRange(query, where, values);
      const sql = `SELECT ${pointColumnsSql} FROM points WHERE ${where.join(' AND ')} ORDER BY ts DESC, gateway DESC, seq DESC LIMIT $limit::BIGINT`;
      return (await this.#reader.runAndReadAll(sql, values)).getRowObjectsJS().map(readPoint);
    });
  }

  pointCounts(): Promise<Map<string, number>> {
    return this.#track(async () => {
      const rows = (await this.#reader.runAndReadAll('SELECT gateway, count(*) AS n FROM points GROUP BY gateway')).getRowObjectsJS();
      return new Map(rows.map((row) => [String(row['gateway']), Number(row['n'])]));
    });
  }

  queryLostRanges(query: LostRangeQuery): Promise<LostRangeRecord[]> {
    return this.#track(async () => {
      const values: Record<string, string> = { limit: String(query.limit) };
      if (query.gateway !== undefined) values['gateway'] = query.gateway;
      const where = query.gateway === undefined ? '' : 'WHERE gateway = $gateway';
      const sql = `SELECT gateway, first_seq, last_seq, epoch_ms(reported_at) AS at FROM lost_ranges ${where}
        ORDER BY reported_at DESC, gateway, first_seq LIMIT $limit::BIGINT`;
      const rows = (await this.#reader.runAndReadAll(sql, values)).getRowObjectsJS();
      return rows.map((row) => ({
        gateway: String(row['gateway']),
        first: BigInt(row['first_seq'] as bigint),
        last: BigInt(row['last_seq'] as bigint),
        reportedAtMs: Number(row['at']),
      }));
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#inFlight]);
    this.#writer.closeSync();
    this.#reader.closeSync();
    this.#instance.closeSync();
  }

  /** Runs an operation unless closed, and remembers it so close() waits for it to finish. */
  #track<T>(operation: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(hubError(hubErrors.unavailable, 'the store is closed'));
    const promise = operation();
    this.#inFlight.add(promise);
    const forget = (): void => void this.#inFlight.delete(promise);
    promise.then(forget, forget);
    return promise;
  }
}

/** Appends points in data chunks: one native call per column per chunk instead of per value. */
function appendPoints(appender: DuckDBAppender, points: readonly StoredPoint[]): void {
  const chunk = DuckDBDataChunk.create(pointColumnTypes);
  for (let start = 0; start < points.length; start += chunkRowsMax) {
    const rows = Math.min(chunkRowsMax, points.length - start);
    chunk.rowCount = rows; // also drops the vectors cached for the previous size
    const columns: DuckDBVector[] = pointColumnTypes.map((_, index) => chunk.getColumnVector(index));
    const [gateway, seq, tag, ts, valueNum, valueBool, valueText, quality, historical, kind, payload] = columns as [DuckDBVector, DuckDBVector, DuckDBVector, DuckDBVector, DuckDBVector, DuckDBVector, DuckDBVector, DuckDBVector, DuckDBVector, DuckDBVector, DuckDBVector];
    for (let row = 0; row < rows; row++) {
      const point = points[start + row]!;
      assert(Number.isSafeInteger(point.ts), `point ts must be an integer, got ${point.ts}`);
      const value = point.value;
      gateway.setItem(row, point.gateway);
      seq.setItem(row, point.seq);
      tag.setItem(row, point.tag);
      ts.setItem(row, new DuckDBTimestampMillisecondsValue(BigInt(point.ts)));
      valueNum.setItem(row, typeof value === 'number' ? value : null);
      valueBool.setItem(row, typeof value === 'boolean' ? value : null);
      valueText.setItem(row, typeof value === 'string' ? value : null);
      quality.setItem(row, qualityCode(point.quality));
      historical.setItem(row, point.historical);
      kind.setItem(row, recordKinds.indexOf(point.kind));
      payload.setItem(row, point.payload ?? null);
    }
    for (const column of columns) column.flush();
    appender.appendDataChunk(chunk);
  }
}

function readPoint(row: Record<string, unknown>): StoredPoint {
  const point: StoredPoint = {
    gateway: String(row['gateway']),
    seq: BigInt(row['seq'] as bigint),
    kind: recordKinds[Number(row['kind'] ?? 0)] ?? ('point' satisfies RecordKind),
    tag: String(row['tag']),
    ts: Number(row['ts_ms']),
    value: readValue(row['value_num'], row['value_bool'], row['value_text']),
    quality: qualityFromCode(Number(row['quality'])) ?? ('bad' satisfies Quality),
    historical: row['historical'] === true,
  };
  return typeof row['payload'] === 'string' ? { ...point, payload: row['payload'] } : point;
}

function readValue(num: unknown, bool: unknown, text: unknown): PointValue {
  if (typeof num === 'number') return num;
  if (typeof bool === 'boolean') return bool;
  assert(typeof text === 'string', 'a stored point has no value: every row this store writes sets exactly one value column');
  return text;
}

/** Adds the optional [fromMs, toMs] bounds of a query to a WHERE list and its parameters. */
function whereTimeRange(query: { readonly fromMs?: number | undefined; readonly toMs?: number | undefined }, where: string[], values: Record<string, string>): void {
  if (query.fromMs !== undefined) {
    where.push('ts >= make_timestamp_ms($from::BIGINT)');
    values['from'] = String(Math.ceil(query.fromMs));
  }
  if (query.toMs !== undefined) {
    where.push('ts <= make_timestamp_ms($to::BIGINT)');
    values['to'] = String(Math.floor(query.toMs));
  }
}
