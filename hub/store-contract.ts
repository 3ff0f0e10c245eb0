// The contract every HubStore adapter passes (aedes-persistence style): describeStoreContract()
// registers the shared vitest suite; each adapter's test file calls it with its own factory.
import { afterEach, describe, expect, it } from 'vitest';
import type { GatewayRecord, HubStore, LostRangeRecord, StoredPoint } from './store.ts';

const t0 = 1_767_225_600_000;

export function point(gateway: string, seq: bigint, tag: string, ts: number, value: StoredPoint['value'] = Number(seq)): StoredPoint {
  return { gateway, seq, kind: 'point', tag, ts, value, quality: 'good', historical: false };
}

export function gatewayRow(gateway: string, ackedSeq: bigint, lastSeenMs = t0): GatewayRecord {
  return { gateway, site: 'site-a', ackedSeq, lastSeenMs, state: 'unknown' };
}

export function describeStoreContract(name: string, open: () => Promise<HubStore>): void {
  describe(`${name} (store contract)`, () => {
    const opened: HubStore[] = [];
    const openStore = async (): Promise<HubStore> => {
      const store = await open();
      opened.push(store);
      return store;
    };
    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close();
    });

    it('returns committed points of one tag ordered by ts with every value type', async () => {
      const store = await openStore();
      await store.commit({
        points: [point('gw-1', 2n, 'l1/m1/a', t0 + 20, true), point('gw-1', 1n, 'l1/m1/a', t0 + 10, 1.5), point('gw-1', 3n, 'l1/m1/a', t0 + 30, 'text'), point('gw-1', 4n, 'l1/m1/b', t0)],
        gateways: [gatewayRow('gw-1', 4n)],
      });
      const rows = await store.queryPoints({ tag: 'l1/m1/a', limit: 10 });
      expect(rows).toEqual([point('gw-1', 1n, 'l1/m1/a', t0 + 10, 1.5), point('gw-1', 2n, 'l1/m1/a', t0 + 20, true), point('gw-1', 3n, 'l1/m1/a', t0 + 30, 'text')]);
    });

    it('filters by an inclusive time window and honours the limit', async () => {
      const store = await openStore();
      const points = [1, 2, 3, 4, 5].map((i) => point('gw-1', BigInt(i), 'l1/m1/a', t0 + i * 1000));
      await store.commit({ points, gateways: [gatewayRow('gw-1', 5n)] });
      const window = await store.queryPoints({ tag: 'l1/m1/a', fromMs: t0 + 2000, toMs: t0 + 4000, limit: 10 });
      expect(window.map((p) => p.seq)).toEqual([2n, 3n, 4n]);
      const limited = await store.queryPoints({ tag: 'l1/m1/a', limit: 2 });
      expect(limited.map((p) => p.seq)).toEqual([1n, 2n]);
    });

    it('keeps 64-bit sequences exact', async () => {
      const store = await openStore();
      const big = 18_446_744_073_709_551_615n;
      await store.commit({ points: [point('gw-1', big, 'l1/m1/a', t0, 1)], gateways: [gatewayRow('gw-1', big)] });
      expect((await store.queryPoints({ tag: 'l1/m1/a', limit: 1 }))[0]?.seq).toBe(big);
      expect((await store.loadGateways())[0]?.ackedSeq).toBe(big);
    });

    it('upserts gateway rows and reports committed ranges above the acked mark', async () => {
      const store = await openStore();
      await store.commit({ points: [1n, 2n].map((s) => point('gw-1', s, 't', t0)), gateways: [gatewayRow('gw-1', 2n)] });
      await store.commit({ points: [5n, 6n, 9n].map((s) => point('gw-1', s, 't', t0)), gateways: [{ ...gatewayRow('gw-1', 2n, t0 + 5), state: 'online' }] });
      const [row] = await store.loadGateways();
      expect(row).toEqual({
        ...gatewayRow('gw-1', 2n, t0 + 5),
        state: 'online',
        committedAbove: [{ first: 5n, last: 6n }, { first: 9n, last: 9n }],
        lostSeqs: 0n,
      });
    });

    it('keeps kinds and the historical flag', async () => {
      const store = await openStore();
      const alarm: StoredPoint = { ...point('gw-1', 1n, 'l1/m1/hi', t0, true), kind: 'alarm', historical: true };
      const event: StoredPoint = { ...point('gw-1', 2n, 'l1/m1/hi', t0 + 1, 'reset by operator'), kind: 'event', quality: 'uncertain' };
      await store.commit({ points: [alarm, event], gateways: [gatewayRow('gw-1', 2n)] });
      expect(await store.queryPoints({ tag: 'l1/m1/hi', limit: 10 })).toEqual([alarm, event]);
    });

    it('keeps alarm and event payloads and lists alarms newest first by gateway and time window', async () => {
      const store = await openStore();
      const alarm = (gateway: string, seq: bigint, ts: number, payload?: string): StoredPoint => ({ ...point(gateway, seq, 'l1/_alarms/m1-hot', ts, true), kind: 'alarm', ...(payload === undefined ? {} : { payload }) });
      const raised = alarm('gw-1', 2n, t0 + 10, '{"severity":"critical","message":"Übertemperatur"}');
      const cleared = alarm('gw-1', 4n, t0 + 30);
      const other = alarm('gw-2', 1n, t0 + 20, '{"severity":"low"}');
      const event: StoredPoint = { ...point('gw-1', 3n, 'l1/m1/note', t0 + 20, 'reset'), kind: 'event', payload: '{"by":"operator 7"}' };
      await store.commit({ points: [point('gw-1', 1n, 'l1/m1/t', t0), raised, event, cleared, other], gateways: [gatewayRow('gw-1', 4n), gatewayRow('gw-2', 1n)] });
      expect(await store.queryAlarms({ limit: 10 })).toEqual([cleared, other, raised]);
      expect(await store.queryAlarms({ gateway: 'gw-1', limit: 10 })).toEqual([cleared, raised]);
      expect(await store.queryAlarms({ fromMs: t0 + 10, toMs: t0 + 20, limit: 1 })).toEqual([other]);
      expect(await store.queryPoints({ tag: 'l1/m1/note', limit: 10 })).toEqual([event]);
      expect((await store.queryPoints({ tag: 'l1/m1/t', limit: 10 }))[0]).not.toHaveProperty('payload');
    });

    it('stores declared lost ranges and counts them as accounted for above the mark', async () => {
      const store = await openStore();
      const lost = (first: bigint, last: bigint, at = t0): LostRangeRecord => ({ gateway: 'gw-1', first, last, reportedAtMs: at });
      await store.commit({ points: [1n, 2n, 9n].map((s) => point('gw-1', s, 't', t0)), lostRanges: [lost(3n, 4n), lost(6n, 8n, t0 + 1)], gateways: [gatewayRow('gw-1', 4n)] });
      const [row] = await store.loadGateways();
      expect(row).toMatchObject({ ackedSeq: 4n, committedAbove: [{ first: 6n, last: 9n }], lostSeqs: 5n });
      expect(await store.queryLostRanges({ limit: 10 })).toEqual([lost(6n, 8n, t0 + 1), lost(3n, 4n)]);
      expect(await store.queryLostRanges({ gateway: 'gw-2', limit: 10 })).toEqual([]);
      expect(await store.queryLostRanges({ gateway: 'gw-1', limit: 1 })).toHaveLength(1);
    });

    it('counts stored points per gateway', async () => {
      const store = await openStore();
      await store.commit({ points: [point('gw-1', 1n, 't', t0), point('gw-2', 1n, 't', t0), point('gw-2', 2n, 't', t0)], gateways: [gatewayRow('gw-1', 1n), gatewayRow('gw-2', 2n)] });
      expect(await store.pointCounts()).toEqual(new Map([['gw-1', 1], ['gw-2', 2]]));
    });

    it('rejects calls after close, and close is idempotent', async () => {
      const store = await open();
      await store.close();
      await store.close();
      await expect(store.queryPoints({ tag: 't', limit: 1 })).rejects.toMatchObject({ code: 'HUB_UNAVAILABLE' });
    });
  });
}
