// Gateway health for the gateways table. Every gateway publishes its own health every 10 s as
// tags of its line's `_gateway` system group (`{line}/_gateway/scan_lateness_p99_ms`, ...); the
// hub's /api/gateways names gateways, not lines, so the two are joined by the id convention: the
// gateway `line1-gw` serves line `line1`, and failing that, a gateway whose id starts with the
// line id at a dash (`line1-east`). Pure functions over the merged site view (live-state.ts).
import { gatewayGroup, type Reading, type SiteView } from './live-state.ts';
import type { GatewayInfo } from './wire.ts';

/** Health older than three report intervals (10 s each) is shown as stale. */
export const healthStaleAfterMs = 30_000;

export interface GatewayHealth {
  line: string;
  /** Newest timestamp of any health reading, epoch ms; null before the first one. */
  reportedMs: number | null;
  scanTicks: number | null;
  scanOverruns: number | null;
  latenessP99Ms: number | null;
  latenessMaxMs: number | null;
  stepMaxMs: number | null;
  pointsDropped: number | null;
  uplinkConnected: boolean | null;
  devicesConnected: number | null;
  devices: number | null;
}

/** One row of the gateways table: a gateway the hub lists, health of no listed gateway, or both. */
export interface GatewayRow {
  /** Unique: the gateway id, or `line:{line}` for health no listed gateway claims. */
  key: string;
  gateway: GatewayInfo | null;
  health: GatewayHealth | null;
}

/** A reading's value when it is good and of the expected type, else null (shown as "—"). */
function goodNumber(reading: Reading | undefined): number | null {
  return reading !== undefined && reading.quality === 'good' && typeof reading.value === 'number' ? reading.value : null;
}

function goodBoolean(reading: Reading | undefined): boolean | null {
  return reading !== undefined && reading.quality === 'good' && typeof reading.value === 'boolean' ? reading.value : null;
}

/** The health of every line that has a `_gateway` group, by line id. */
export function gatewayHealthByLine(site: SiteView): Map<string, GatewayHealth> {
  const byLine = new Map<string, GatewayHealth>();
  for (const view of Object.values(site.machines)) {
    if (view.machine !== gatewayGroup) continue;
    const readings = view.readings;
    byLine.set(view.line, {
      line: view.line,
      reportedMs: view.lastUpdateMs,
      scanTicks: goodNumber(readings.scan_ticks),
      scanOverruns: goodNumber(readings.scan_overruns),
      latenessP99Ms: goodNumber(readings.scan_lateness_p99_ms),
      latenessMaxMs: goodNumber(readings.scan_lateness_max_ms),
      stepMaxMs: goodNumber(readings.scan_step_max_ms),
      pointsDropped: goodNumber(readings.points_dropped),
      uplinkConnected: goodBoolean(readings.uplink_connected),
      devicesConnected: goodNumber(readings.devices_connected),
      devices: goodNumber(readings.devices),
    });
  }
  return byLine;
}

export function healthIsStale(health: GatewayHealth, nowMs: number): boolean {
  return health.reportedMs === null || nowMs - health.reportedMs > healthStaleAfterMs;
}

const naturalOrder = new Intl.Collator('en', { numeric: true });

/** Whether `gatewayId` is `line` or starts with it at a dash, the fallback of the naming convention. */
function startsWithLine(gatewayId: string, line: string): boolean {
  return gatewayId === line || gatewayId.startsWith(`${line}-`);
}

/**
 * Joins the hub's gateways with the lines' health: first `{line}-gw`, then, for a line still
 * without a gateway, the first unclaimed gateway (natural order) whose id is the line id or starts
 * with it at a dash, and does not so start with a longer line id (`line1-a-east` serves `line1-a`,
 * never `line1`; `line10-gw` never serves `line1`). Rows come in the gateways' natural order, then
 * one per line whose health no gateway claims.
 */
export function gatewayRows(gateways: readonly GatewayInfo[], healthByLine: ReadonlyMap<string, GatewayHealth>): GatewayRow[] {
  const sorted = [...gateways].sort((a, b) => naturalOrder.compare(a.gateway, b.gateway));
  const lines = [...healthByLine.keys()].sort((a, b) => naturalOrder.compare(a, b));
  const lineOfGateway = new Map<string, string>();
  const claimedLines = new Set<string>();
  const ids = new Set(sorted.map((gateway) => gateway.gateway));
  for (const line of lines) {
    if (!ids.has(`${line}-gw`)) continue;
    lineOfGateway.set(`${line}-gw`, line);
    claimedLines.add(line);
  }
  for (const line of lines) {
    if (claimedLines.has(line)) continue;
    const candidate = sorted.find(
      (gateway) =>
        !lineOfGateway.has(gateway.gateway) &&
        startsWithLine(gateway.gateway, line) &&
        !lines.some((other) => other.length > line.length && startsWithLine(gateway.gateway, other)),
    );
    if (candidate === undefined) continue;
    lineOfGateway.set(candidate.gateway, line);
    claimedLines.add(line);
  }
  const rows: GatewayRow[] = sorted.map((gateway) => {
    const line = lineOfGateway.get(gateway.gateway);
    return { key: gateway.gateway, gateway, health: line === undefined ? null : (healthByLine.get(line) ?? null) };
  });
  for (const line of lines) {
    if (!claimedLines.has(line)) rows.push({ key: `line:${line}`, gateway: null, health: healthByLine.get(line) ?? null });
  }
  return rows;
}
