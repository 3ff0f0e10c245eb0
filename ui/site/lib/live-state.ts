// The dashboard's model of the site's machines, and the merge of hub data into it: the
// /api/machines snapshot and /api/live point batches go through the same latest-wins rule, so a
// snapshot re-fetched after a reconnect, a duplicate event or a backlog point arriving late never
// moves a value backwards in time. Plain data mutated in place, so the Svelte app can wrap it in
// one $state proxy and get fine-grained updates; nothing here touches the DOM, clock or network.
import { createRing, ringNewest, ringPush, type Ring } from './ring.ts';
import type { LivePoint, MachineInfo, Quality, TagValue } from './wire.ts';

/** The tag drawn as a sparkline in every machine panel. */
export const trendTagName = 'temperature';
export const trendWindowMs = 120_000;
/** Samples closer together than this are skipped, so a fast tag cannot flood the ring. */
export const trendSampleIntervalMs = 500;
/** Enough samples to fill the window at the sample interval, and never more. */
export const trendSamplesMax = trendWindowMs / trendSampleIntervalMs;

export interface Reading {
  value: TagValue;
  quality: Quality;
  /** Gateway timestamp, epoch ms. */
  ts: number;
}

export interface TrendSample {
  ts: number;
  value: number;
}

export interface MachineView {
  /** `line/machine`, the prefix of the machine's tags. */
  key: string;
  line: string;
  machine: string;
  /** Latest reading per tag name (`temperature`, `good_count`, ...). */
  readings: Record<string, Reading>;
  /** Newest gateway timestamp of any reading, epoch ms; null before the first one. */
  lastUpdateMs: number | null;
  /** Good-quality numeric samples of `trendTagName`, oldest first once unrolled. */
  trend: Ring<TrendSample>;
}

export interface MergeCounters {
  applied: number;
  /** Points older than the reading already held for their tag (late backlog, duplicates). */
  stale: number;
  /** Points whose tag is not `line/machine/name`. */
  malformed: number;
}

export interface SiteView {
  machines: Record<string, MachineView>;
  counters: MergeCounters;
}

export interface LineGroup {
  line: string;
  /** The line's machines, system groups left out. */
  machines: MachineView[];
  /** The line's system groups by name (`_alarms`, `_gateway`); read them with alarms.ts and gateway-health.ts. */
  systemGroups: Record<string, MachineView>;
}

/**
 * Gateways publish their own data as "machines" whose name starts with this prefix: the line's
 * alarm states under `{line}/_alarms/{alarmId}` and the gateway's health under `{line}/_gateway/{name}`.
 * They merge like any machine's tags (same latest-wins rule) but are never drawn as machine panels.
 */
export const systemGroupPrefix = '_';
export const alarmsGroup = '_alarms';
export const gatewayGroup = '_gateway';

export function isSystemGroup(machine: string): boolean {
  return machine.startsWith(systemGroupPrefix);
}

export interface TagPath {
  line: string;
  machine: string;
  name: string;
}

export function createSiteView(): SiteView {
  return { machines: {}, counters: { applied: 0, stale: 0, malformed: 0 } };
}

/** Splits `line/machine/name`; a deeper path keeps the rest as the name. Null when malformed. */
export function splitTag(tag: string): TagPath | null {
  const parts = tag.split('/');
  if (parts.length < 3 || parts.some((part) => part.length === 0)) return null;
  const [line, machine, ...rest] = parts as [string, string, ...string[]];
  return { line, machine, name: rest.join('/') };
}

function machineFor(site: SiteView, line: string, machine: string): MachineView {
  const key = `${line}/${machine}`;
  const existing = site.machines[key];
  if (existing !== undefined) return existing;
  site.machines[key] = { key, line, machine, readings: {}, lastUpdateMs: null, trend: createRing(trendSamplesMax) };
  // Read back through the container: under a Svelte $state proxy this returns the proxied view.
  return site.machines[key] as MachineView;
}

function applyReading(site: SiteView, view: MachineView, name: string, reading: Reading): void {
  const held = view.readings[name];
  if (held !== undefined && reading.ts < held.ts) {
    site.counters.stale += 1;
    return;
  }
  view.readings[name] = { value: reading.value, quality: reading.quality, ts: reading.ts };
  view.lastUpdateMs = view.lastUpdateMs === null ? reading.ts : Math.max(view.lastUpdateMs, reading.ts);
  site.counters.applied += 1;
  if (name === trendTagName && reading.quality === 'good' && typeof reading.value === 'number') {
    const newest = ringNewest(view.trend);
    if (newest === undefined || reading.ts >= newest.ts + trendSampleIntervalMs) {
      ringPush(view.trend, { ts: reading.ts, value: reading.value });
    }
  }
}

/** Merges a /api/machines snapshot; machines it lists appear even before they have tags. */
export function applySnapshot(site: SiteView, machines: readonly MachineInfo[]): void {
  for (const info of machines) {
    const view = machineFor(site, info.line, info.machine);
    for (const tag of info.tags) applyReading(site, view, tag.name, tag);
  }
}

/** Merges one /api/live batch, in order; a machine first seen here is added. */
export function applyPoints(site: SiteView, points: readonly LivePoint[]): void {
  for (const point of points) {
    const path = splitTag(point.tag);
    if (path === null) {
      site.counters.malformed += 1;
      continue;
    }
    applyReading(site, machineFor(site, path.line, path.machine), path.name, point);
  }
}

const naturalOrder = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

/**
 * Machines grouped by line, lines and machines in natural order (line2 before line10). System
 * groups ride along in `systemGroups`; a line with no machines gets a card only when it reports
 * alarms (a gateway with nothing but health is shown in the gateways table alone).
 */
export function groupByLine(site: SiteView): LineGroup[] {
  const lines = new Map<string, LineGroup>();
  for (const view of Object.values(site.machines)) {
    let group = lines.get(view.line);
    if (group === undefined) {
      group = { line: view.line, machines: [], systemGroups: {} };
      lines.set(view.line, group);
    }
    if (isSystemGroup(view.machine)) group.systemGroups[view.machine] = view;
    else group.machines.push(view);
  }
  for (const group of lines.values()) group.machines.sort((a, b) => naturalOrder.compare(a.machine, b.machine));
  return [...lines.values()]
    .filter((group) => group.machines.length > 0 || group.systemGroups[alarmsGroup] !== undefined)
    .sort((a, b) => naturalOrder.compare(a.line, b.line));
}
