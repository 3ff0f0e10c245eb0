import { describe, expect, it } from 'vitest';
import { quarantineDefaults } from './rule-faults.ts';
import { pageBytes, regionBytes, regionFrontBytes, RuleArena, type RuleRegion } from './rule-arena.ts';
import { compileRule } from './rule-instance.ts';
import { RuleSupervisor } from './rule-supervisor.ts';
import { assembleRule, recordingSink, type WatRule } from './rule-test-modules.ts';

const passThrough: WatRule = { inputs: ['m/in'], outputs: [{ name: 'm/out', safe: -1 }], tick: '(call $output (i32.const 0) (call $input (i32.const 0)))' };

const sink = recordingSink;

async function supervise(rule: WatRule, region: RuleRegion): Promise<RuleSupervisor> {
  const compiled = compileRule(await assembleRule({ memory: '1 16', ...rule }));
  return new RuleSupervisor({ name: 'r', compiled, tickMs: 10, fuelPerTick: 1_000_000, startFuel: 1_000_000, quarantine: quarantineDefaults, region });
}

/** Everything in the arena outside `region` and its guard page. */
function outside(region: RuleRegion): Uint8Array {
  const bytes = region.arena.u8;
  const before = bytes.slice(0, region.base);
  const after = bytes.slice(region.base + region.bytes + pageBytes);
  const all = new Uint8Array(before.length + after.length);
  all.set(before);
  all.set(after, before.length);
  return all;
}

describe('the rule arena', () => {
  it('hands out power-of-two regions, each with a front for its frame, a guard page and a cache colour, and grows by more than one region at a time', () => {
    expect(regionBytes(1)).toBe(pageBytes);
    expect(regionBytes(16)).toBe(16 * pageBytes);
    expect(regionBytes(17)).toBe(32 * pageBytes);
    const arena = new RuleArena();
    const first = arena.allocate(16);
    const second = arena.allocate(3);
    expect(first.base).toBe(regionFrontBytes);
    // the second starts after the first's 16 pages, its guard page and its first page (its front and colour), shifted into that page by its front and a multiple of 64 bytes
    expect(Math.floor(second.base / pageBytes)).toBe(18);
    expect(second.base % pageBytes).toBeGreaterThanOrEqual(regionFrontBytes);
    expect(second.base % 64).toBe(0);
    expect(second.base % pageBytes).not.toBe(first.base % pageBytes);
    expect(second.bytes).toBe(4 * pageBytes);
    expect(arena.usedPages).toBe(18 + 6);
    expect(arena.pages).toBeGreaterThanOrEqual(64);
  });

  it('reuses a released range, zeroed, and merges free neighbours', () => {
    const arena = new RuleArena();
    const [a, b, c] = [arena.allocate(1), arena.allocate(1), arena.allocate(1)];
    const page = (region: RuleRegion): number => Math.floor(region.base / pageBytes);
    arena.u8.fill(7, page(b) * pageBytes, (page(b) + 3) * pageBytes);
    arena.release(b);
    arena.release(b); // a second release is a no-op
    const again = arena.allocate(1);
    expect(page(again)).toBe(page(b));
    expect(arena.u8.subarray(page(again) * pageBytes, (page(again) + 3) * pageBytes).every((byte) => byte === 0)).toBe(true);
    arena.release(a);
    arena.release(again);
    expect(page(arena.allocate(2))).toBe(0); // a's and b's ranges merged into 6 pages: room for 2 pages, a guard and a colour page
    arena.release(c);
    expect(arena.usedPages).toBe(4);
  });
});

describe('software fault isolation in the shared rule memory', () => {
  it('a rule that stores at wild addresses and with huge static offsets changes nothing outside its own region', async () => {
    const arena = new RuleArena();
    const vandalRegion = arena.allocate(16);
    const victimRegion = arena.allocate(16);
    const stores = [0, 1024, 65_536, 1_048_568, 1_049_600, 2_098_176, 0x7fff_fff8, 0xffff_fff0, 0xffff_fffc]
      .map((address) => `(f64.store (i32.const ${address | 0}) (f64.const 1e300)) (i64.store offset=65519 (i32.const ${address | 0}) (i64.const -1)) (i32.store8 offset=4294967295 (i32.const ${address | 0}) (i32.const 255))`)
      .join(' ');
    const vandal = await supervise({ ...passThrough, tick: stores }, vandalRegion);
    const victim = await supervise(passThrough, victimRegion);
    const victimSink = sink();
    victim.input(0, 42, 0, 1);
    victim.run(1, victimSink);
    const before = outside(vandalRegion);
    const vandalSink = sink();
    vandal.run(1, vandalSink);
    vandal.run(2, vandalSink);
    expect(Buffer.from(outside(vandalRegion)).equals(Buffer.from(before))).toBe(true);
    // its own memory took the stores (the header it trampled is its own problem), its neighbour is untouched
    expect(arena.f64[vandalRegion.base / 8]).toBe(1e300);
    victim.input(0, 43, 0, 2);
    victim.run(2, victimSink);
    expect(victimSink.writes).toEqual([42, 43]);
    expect(victimSink.faults).toEqual([]);
  });

  it('memory.fill and memory.copy stay in the region: a length that would leave it traps, and nothing outside changes', async () => {
    const arena = new RuleArena();
    const left = arena.allocate(1);
    const region = arena.allocate(1);
    const right = arena.allocate(1);
    const untouched = (neighbour: RuleRegion): boolean => arena.u8.subarray(neighbour.base, neighbour.base + neighbour.bytes + pageBytes).every((byte) => byte === 0);
    const fills = await supervise({ ...passThrough, memory: '1 1', tick: '(memory.fill (i32.const 65000) (i32.const 255) (i32.const 536)) (call $output (i32.const 0) (f64.const 1))' }, region);
    const ok = sink();
    fills.run(1, ok);
    expect(ok.writes).toEqual([1]);
    expect(arena.u8[region.base + 65_535]).toBe(255);
    const overflowing = await supervise({ ...passThrough, memory: '1 1', tick: '(memory.fill (i32.const 65000) (i32.const 255) (i32.const 537))' }, arena.allocate(1));
    const copying = await supervise({ ...passThrough, memory: '1 1', tick: '(memory.copy (i32.const 0) (i32.const 65000) (i32.const 600))' }, arena.allocate(1));
    const trapped = sink();
    overflowing.run(1, trapped);
    copying.run(1, trapped);
    expect(trapped.faults).toEqual(['RULE_TRAP', 'RULE_TRAP']);
    expect(trapped.writes).toEqual([-1, -1]); // safe values in the same tick
    expect(untouched(left) && untouched(right)).toBe(true);
  });

  it('memory.grow and memory.size are the rule’s own: growth up to its maximum, then RULE_MEMORY', async () => {
    const region = new RuleArena().allocate(2);
    const grower = await supervise({ ...passThrough, memory: '1 2', tick: '(if (i32.eq (memory.grow (i32.const 1)) (i32.const -1)) (then unreachable)) (call $output (i32.const 0) (f64.convert_i32_u (memory.size)))' }, region);
    const recorded = sink();
    grower.run(1, recorded);
    grower.run(2, recorded);
    expect(recorded.writes).toEqual([2, -1]);
    expect(recorded.faults).toEqual(['RULE_MEMORY']);
    grower.run(3, recorded); // restarted from a fresh memory: one page again, so it may grow once more
    expect(recorded.writes).toEqual([2, -1, 2]);
  });

  it('lays the data segments into the region, and a restart starts from a zeroed region', async () => {
    const region = new RuleArena().allocate(1);
    const rule = await supervise({ ...passThrough, memory: '1 1', extra: '(data (i32.const 40000) "\\2a")', tick: '(call $output (i32.const 0) (f64.convert_i32_u (i32.load8_u (i32.const 40000)))) (i32.store8 (i32.const 40000) (i32.const 7)) (i32.store (i32.const 50000) (i32.add (i32.load (i32.const 50000)) (i32.const 1))) (if (i32.eq (i32.load (i32.const 50000)) (i32.const 2)) (then unreachable))' }, region);
    const recorded = sink();
    rule.run(1, recorded);
    rule.run(2, recorded);
    rule.run(3, recorded);
    expect(recorded.writes).toEqual([42, -1, 42]); // the trapping tick's output is dropped for the safe value
    expect(recorded.faults).toEqual(['RULE_TRAP']);
  });
});
