import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDuckDbStore } from './duckdb-store.ts';
import { describeStoreContract, gatewayRow, point } from './store-contract.ts';

let directory: string;
let fileNumber = 0;
const nextFile = (): string => path.join(directory, `store-${++fileNumber}.duckdb`);

beforeAll(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'hub-store-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describeStoreContract('DuckDB store', () => openDuckDbStore(nextFile()));

describe('DuckDB store on disk', () => {
  it('keeps points, acked marks and committed ranges across a reopen of the file', async () => {
    const file = nextFile();
    const first = await openDuckDbStore(file);
    await first.commit({ points: [1n, 2n, 4n].map((seq) => point('gw-1', seq, 'l1/m1/t', 1000 + Number(seq))), gateways: [gatewayRow('gw-1', 2n)] });
    await first.close();
    const second = await openDuckDbStore(file);
    try {
      expect(await second.loadGateways()).toEqual([{ ...gatewayRow('gw-1', 2n), committedAbove: [{ first: 4n, last: 4n }], lostSeqs: 0n }]);
      expect((await second.queryPoints({ tag: 'l1/m1/t', limit: 10 })).map((p) => p.seq)).toEqual([1n, 2n, 4n]);
    } finally {
      await second.close();
    }
  });

  it('rolls back the whole commit when one row cannot be written', async () => {
    const store = await openDuckDbStore(nextFile());
    try {
      await store.commit({ points: [point('gw-1', 1n, 't', 1000)], gateways: [gatewayRow('gw-1', 1n)] });
      const bad = { ...point('gw-1', 3n, 't', 1000), ts: 1000.5 };
      await expect(store.commit({ points: [point('gw-1', 2n, 't', 1001), bad], gateways: [gatewayRow('gw-1', 3n)] })).rejects.toMatchObject({ code: 'HUB_STORE_FAILED' });
      expect((await store.queryPoints({ tag: 't', limit: 10 })).map((p) => p.seq)).toEqual([1n]);
      expect((await store.loadGateways())[0]?.ackedSeq).toBe(1n);
      await store.commit({ points: [point('gw-1', 2n, 't', 1001)], gateways: [gatewayRow('gw-1', 2n)] }); // still usable
      expect(await store.pointCounts()).toEqual(new Map([['gw-1', 2]]));
    } finally {
      await store.close();
    }
  });

  it('appends a large flush in one commit', async () => {
    const store = await openDuckDbStore(nextFile());
    try {
      const points = Array.from({ length: 20_000 }, (_, index) => point('gw-1', BigInt(index + 1), `l1/m${index % 10}/t`, 1000 + index));
      await store.commit({ points, gateways: [gatewayRow('gw-1', 20_000n)] });
      expect(await store.pointCounts()).toEqual(new Map([['gw-1', 20_000]]));
    } finally {
      await store.close();
    }
  });
});
