import { describe, expect, it } from 'vitest';
import { AssertionError } from '../assert.ts';
import { deferred, InflightWindow, PacketIds, SubscriptionTable } from './session-state.ts';

describe('PacketIds', () => {
  it('wraps from 65535 to 1 and skips identifiers still in use', () => {
    const ids = new PacketIds();
    const held = [ids.allocate(), ids.allocate()];
    expect(held).toEqual([1, 2]);
    for (let id = 3; id <= 65_535; id++) ids.release(ids.allocate());
    expect(ids.allocate()).toBe(3); // 1 and 2 are still in flight
    ids.release(1);
    for (let id = 4; id <= 65_535; id++) ids.release(ids.allocate());
    expect(ids.allocate()).toBe(1);
    expect(ids.inUse).toBe(3);
  });

  it('never hands out 0', () => {
    const ids = new PacketIds();
    const seen = new Set<number>();
    for (let index = 0; index < 70_000; index++) {
      const id = ids.allocate();
      seen.add(id);
      ids.release(id);
    }
    expect(seen.has(0)).toBe(false);
    expect(Math.min(...seen)).toBe(1);
    expect(Math.max(...seen)).toBe(65_535);
  });
});

describe('InflightWindow', () => {
  const entry = (id: number) => ({ id, bytes: Buffer.from([id]), done: deferred<void>() });

  it('is full at capacity and refuses to grow past it', () => {
    const window = new InflightWindow(2);
    window.add(entry(1));
    window.add(entry(2));
    expect(window.full).toBe(true);
    expect(() => window.add(entry(3))).toThrow(AssertionError);
    window.take(1);
    expect(window.full).toBe(false);
  });

  it("takes the broker's lower Receive Maximum as its limit, never a higher one", () => {
    const window = new InflightWindow(64);
    window.setServerLimit(20);
    expect(window.limit).toBe(20);
    window.setServerLimit(1000);
    expect(window.limit).toBe(64);
    window.setServerLimit(undefined);
    expect(window.limit).toBe(64);
  });

  it('keeps entries in send order for re-sending', () => {
    const window = new InflightWindow(8);
    for (const id of [5, 1, 9, 3]) window.add(entry(id));
    window.take(9);
    expect([...window.inSendOrder()].map((item) => item.id)).toEqual([5, 1, 3]);
    expect(window.takeAll().map((item) => item.id)).toEqual([5, 1, 3]);
    expect(window.size).toBe(0);
  });
});

describe('SubscriptionTable', () => {
  it('updates an existing filter and refuses a new one past capacity', () => {
    const table = new SubscriptionTable(1);
    expect(table.upsert('a/#', 1)).toBeDefined();
    expect(table.upsert('a/#', 0)?.qos).toBe(0);
    expect(table.upsert('b/#', 1)).toBeUndefined();
    expect(table.size).toBe(1);
  });
});
