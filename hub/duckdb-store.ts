// The DuckDB adapter of the hub store: one database file, raw points appended in bulk with an
// Appender inside one transaction per commit, and the gateways table holding each gateway's acked
// sequence. Writes use one connection and reads another, so API queries never see (or join) an
// open ingest transaction.
import { DuckDBInstance, DuckDBTimestampMillisecondsValue, type DuckDBConnection } from '@duckdb/node-api';
import { assert } from '../common/assert.ts';
import { qualityCode, qualityFromCode, type PointValue, type Quality } from '../common/point.ts';
import { hubError, hubErrors } from './errors.ts';
import { gatewayStates, type CommitRequest, type GatewaySnapshot, type GatewayState, type HubStore, type PointQuery, type StoredPoint } from './store.ts';
import type { SeqRange } from './seq-tracker.ts';

const schemaSql = [
  `CREATE TABLE IF NOT EXISTS points (
     gateway VARCHAR NOT NULL, seq UBIGINT NOT NULL, tag VARCHAR NOT NULL, ts TIMESTAMP_MS NOT NULL,
     value_num DOUBLE, value_bool BOOLEAN, value_text VARCHAR, quality UTINYINT NOT NULL,
     historical BOOLEAN NOT NULL DEFAULT false)`,
  `CREATE TABLE IF NOT EXISTS gateways (
     gateway VARCHAR PRIMARY KEY, site VARCHAR NOT NULL, acked_seq UBIGINT NOT NULL,
     last_seen_ms BIGINT NOT NULL, state VARCHAR NOT NULL)`,
];

const upsertGatewaySql = `INSERT INTO gateways VALUES ($gateway, $site, $acked::UBIGINT, $seen::BIGINT, $state)
  ON CONFLICT (gateway) DO UPDATE SET site = excluded.site, acked_seq = excluded.acked_seq,
  last_seen_ms = excluded.last_seen_ms, state = excluded.state`;

// Gaps-and-islands over the sequences stored above each gateway's acked mark.
const committedAboveSql = `SELECT gateway, min(seq) AS first, max(seq) AS last FROM (
    SELECT gateway, seq, seq::HUGEINT - row_number() OVER (PARTITION BY gateway ORDER BY seq) AS island
    FROM (SELECT DISTINCT p.gateway, p.seq FROM points p JOIN gateways g ON g.gateway = p.gateway WHERE p.seq > g.acked_seq))
  GROUP BY gateway, island ORDER BY gateway, first`;

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
      const islands = (await this.#reader.runAndReadAll(committedAboveSql)).getRowObjectsJS();
      const above = new Map<string, SeqRange[]>();
      for (const island of islands) {
        const gateway = String(island['gateway']);
        const list = above.get(gateway) ?? [];
        list.push({ first: BigInt(island['first'] as bigint), last: BigInt(island['last'] as bigint) });
        above.set(gateway, list);
      }
      return rows.map((row) => {
        const gateway = String(row['gateway']);
        const state = String(row['state']);
        return {
          gateway,
          site: String(row['site']),
          ackedSeq: BigInt(row['acked_seq'] as bigint),
          lastSeenMs: Number(row['last_seen_ms']),
          state: (gatewayStates as readonly string[]).includes(state) ? (state as GatewayState) : 'unknown',
          committedAbove: above.get(gateway) ?? [],
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
            for (const point of request.points) appendPoint(appender, point);
          } finally {
            appender.closeSync(); // flushes the rows into the open transaction
          }
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
      if (query.fromMs !== undefined) {
        where.push('ts >= make_timestamp_ms($from::BIGINT)');
        values['from'] = String(Math.ceil(query.fromMs));
      }
      if (query.toMs !== undefined) {
        where.push('ts <= make_timestamp_ms($to::BIGINT)');
        values['to'] = String(Math.floor(query.toMs));
      }
      values['limit'] = String(query.limit);
      const sql = `SELECT gateway, seq, tag, epoch_ms(ts) AS ts_ms, value_num, value_bool, value_text, quality FROM points
        WHERE ${where.join(' AND ')} ORDER BY ts, gateway, seq LIMIT $limit::BIGINT`;
      const rows = (await this.#reader.runAndReadAll(sql, values)).getRowObjectsJS();
      return rows.map((row) => ({
        gateway: String(row['gateway']),
        seq: BigInt(row['seq'] as bigint),
        tag: String(row['tag']),
        ts: Number(row['ts_ms']),
        value: readValue(row['value_num'], row['value_bool'], row['value_text']),
        quality: qualityFromCode(Number(row['quality'])) ?? ('bad' satisfies Quality),
      }));
    });
  }

  pointCounts(): Promise<Map<string, number>> {
    return this.#track(async () => {
      const rows = (await this.#reader.runAndReadAll('SELECT gateway, count(*) AS n FROM points GROUP BY gateway')).getRowObjectsJS();
      return new Map(rows.map((row) => [String(row['gateway']), Number(row['n'])]));
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

function appendPoint(appender: Awaited<ReturnType<DuckDBConnection['createAppender']>>, point: StoredPoint): void {
  assert(Number.isSafeInteger(point.ts), `point ts must be an integer, got ${point.ts}`);
  appender.appendVarchar(point.gateway);
  appender.appendUBigInt(point.seq);
  appender.appendVarchar(point.tag);
  appender.appendTimestampMilliseconds(new DuckDBTimestampMillisecondsValue(BigInt(point.ts)));
  if (typeof point.value === 'number') appender.appendDouble(point.value);
  else appender.appendNull();
  if (typeof point.value === 'boolean') appender.appendBoolean(point.value);
  else appender.appendNull();
  if (typeof point.value === 'string') appender.appendVarchar(point.value);
  else appender.appendNull();
  appender.appendUTinyInt(qualityCode(point.quality));
  appender.appendBoolean(false); // historical: the wire does not carry it yet
  appender.endRow();
}

function readValue(num: unknown, bool: unknown, text: unknown): PointValue {
  if (typeof num === 'number') return num;
  if (typeof bool === 'boolean') return bool;
  assert(typeof text === 'string', 'a stored point has no value: every row this store writes sets exactly one value column');
  return text;
}
