// The in-memory hub store: same contract as the DuckDB adapter (store-contract.ts), for tests that
// need fault injection or speed. Not durable.
import { hubError, hubErrors } from './errors.ts';
import { compareLostRanges, comparePoints, mergeRanges, toRanges, type AlarmQuery, type CommitRequest, type GatewayRecord, type GatewaySnapshot, type HubStore, type LostRangeQuery, type LostRangeRecord, type PointQuery, type StoredPoint } from './store.ts';

export class MemoryStore implements HubStore {
  readonly points: StoredPoint[] = [];
  readonly lostRanges: LostRangeRecord[] = [];
  readonly gateways = new Map<string, GatewayRecord>();
  /** When set, the next commit throws this and changes nothing. */
  failNextCommit: Error | undefined;
  #closed = false;

  async loadGateways(): Promise<GatewaySnapshot[]> {
    this.#checkOpen();
    return [...this.gateways.values()]
      .sort((a, b) => (a.gateway < b.gateway ? -1 : 1))
      .map((row) => {
        const seqs = [...new Set(this.points.filter((p) => p.gateway === row.gateway && p.seq > row.ackedSeq).map((p) => p.seq))];
        seqs.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        const lost = this.lostRanges.filter((range) => range.gateway === row.gateway);
        const lostAbove = lost.filter((range) => range.last > row.ackedSeq).map(({ first, last }) => ({ first: first > row.ackedSeq ? first : row.ackedSeq + 1n, last }));
        const committedAbove = mergeRanges([...toRanges(seqs), ...lostAbove]);
        return { ...row, committedAbove, lostSeqs: lost.reduce((sum, range) => sum + range.last - range.first + 1n, 0n) };
      });
  }

  async commit(request: CommitRequest): Promise<void> {
    this.#checkOpen();
    const failure = this.failNextCommit;
    if (failure !== undefined) {
      this.failNextCommit = undefined;
      throw hubError(hubErrors.storeFailed, `commit failed: ${failure.message}`, {}, failure);
    }
    this.points.push(...request.points);
    this.lostRanges.push(...(request.lostRanges ?? []));
    for (const row of request.gateways) this.gateways.set(row.gateway, row);
  }

  async queryPoints(query: PointQuery): Promise<StoredPoint[]> {
    this.#checkOpen();
    return this.points
      .filter((p) => p.tag === query.tag && (query.fromMs === undefined || p.ts >= query.fromMs) && (query.toMs === undefined || p.ts <= query.toMs))
      .sort(comparePoints)
      .slice(0, query.limit);
  }

  async queryAlarms(query: AlarmQuery): Promise<StoredPoint[]> {
    this.#checkOpen();
    return this.points
      .filter((p) => p.kind === 'alarm' && (query.gateway === undefined || p.gateway === query.gateway) && (query.fromMs === undefined || p.ts >= query.fromMs) && (query.toMs === undefined || p.ts <= query.toMs))
      .sort((a, b) => comparePoints(b, a))
      .slice(0, query.limit);
  }

  async pointCounts(): Promise<Map<string, number>> {
    this.#checkOpen();
    const counts = new Map<string, number>();
    for (const point of this.points) counts.set(point.gateway, (counts.get(point.gateway) ?? 0) + 1);
    return counts;
  }

  async queryLostRanges(query: LostRangeQuery): Promise<LostRangeRecord[]> {
    this.#checkOpen();
    return this.lostRanges
      .filter((range) => query.gateway === undefined || range.gateway === query.gateway)
      .sort(compareLostRanges)
      .slice(0, query.limit);
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #checkOpen(): void {
    if (this.#closed) throw hubError(hubErrors.unavailable, 'the store is closed');
  }
}
