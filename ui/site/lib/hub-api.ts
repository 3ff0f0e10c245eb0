// Requests to the hub's JSON API (same origin as the dashboard). Each call validates the body
// with the parsers in wire.ts, so a component only ever sees well-formed data or an Error that
// names the route.
import { parseAlarms, parseGateways, parseHealth, parseMachines, type AlarmRecord, type GatewayInfo, type HealthResponse, type MachineInfo } from './wire.ts';

export const requestTimeoutMs = 10_000;

async function getJson(path: string): Promise<unknown> {
  const response = await fetch(path, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(requestTimeoutMs) });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status} ${response.statusText}`.trim());
  try {
    return await response.json();
  } catch {
    throw new Error(`${path}: response is not JSON`);
  }
}

export async function fetchHealth(): Promise<HealthResponse> {
  return parseHealth(await getJson('api/health'), '/api/health');
}

export async function fetchGateways(): Promise<GatewayInfo[]> {
  return parseGateways(await getJson('api/gateways'), '/api/gateways');
}

export async function fetchMachines(): Promise<MachineInfo[]> {
  return parseMachines(await getJson('api/machines'), '/api/machines');
}

/** A window of /api/alarms: records with fromMs ≤ ts ≤ toMs, newest first, at most `limit`. */
export interface AlarmsQuery {
  fromMs: number;
  toMs: number;
  limit: number;
}

export async function fetchAlarms(query: AlarmsQuery): Promise<AlarmRecord[]> {
  // The hub takes whole milliseconds; rounding outwards keeps every record of the window.
  const search = new URLSearchParams({ fromMs: String(Math.floor(query.fromMs)), toMs: String(Math.ceil(query.toMs)), limit: String(query.limit) });
  return parseAlarms(await getJson(`api/alarms?${search.toString()}`), '/api/alarms');
}
