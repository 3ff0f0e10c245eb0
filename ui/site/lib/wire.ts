// The hub's HTTP API as the dashboard sees it: response types and the checks that turn untrusted
// JSON into them. ui/ imports no server code, so these mirror the hub's documented contract;
// every parse error names the route and the field, e.g. "/api/machines: machines[2].tags[0].quality".

export type Quality = 'good' | 'uncertain' | 'bad';
export type TagValue = number | boolean | string;
export type GatewayState = 'online' | 'offline' | 'unknown';

export interface IngestCounters {
  received: number;
  stored: number;
  duplicates: number;
  rejected: number;
  queueFullRefusals: number;
}

export interface HealthResponse {
  status: string;
  site: string;
  uptimeMs: number;
  ingest: IngestCounters;
}

export interface GatewayInfo {
  gateway: string;
  site: string;
  /** 64-bit sequence number as a decimal string; never converted to a JS number. */
  ackedSeq: string;
  lastSeenMs: number;
  state: GatewayState;
  points: number;
}

export interface MachineTag {
  tag: string;
  name: string;
  value: TagValue;
  quality: Quality;
  ts: number;
}

export interface MachineInfo {
  line: string;
  machine: string;
  tags: MachineTag[];
}

/** One point of the live stream; tag is `line/machine/name`. */
export interface LivePoint {
  tag: string;
  ts: number;
  value: TagValue;
  quality: Quality;
}

/**
 * One stored alarm record of /api/alarms: the state tag `{line}/_alarms/{alarmId}` changed to
 * `value` (true raised, false cleared) at `ts`. `severity` and `message` are the hub's reading of
 * the record's payload; `device` and `rule` are read here from the payload itself (null when it
 * has none, or is not a JSON object).
 */
export interface AlarmRecord {
  gateway: string;
  tag: string;
  ts: number;
  value: TagValue;
  severity: string | null;
  message: string | null;
  device: string | null;
  rule: string | null;
}

export class WireError extends Error {
  override readonly name = 'WireError';
}

type Json = unknown;

function fail(where: string, what: string): never {
  throw new WireError(`${where}: ${what}`);
}

function record(value: Json, where: string): Record<string, Json> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(where, 'expected an object');
  return value as Record<string, Json>;
}

function list(value: Json, where: string): Json[] {
  if (!Array.isArray(value)) fail(where, 'expected an array');
  return value;
}

function text(value: Json, where: string): string {
  if (typeof value !== 'string') fail(where, 'expected a string');
  return value;
}

function finite(value: Json, where: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(where, 'expected a finite number');
  return value;
}

function textOrNull(value: Json, where: string): string | null {
  if (value === null) return null;
  if (typeof value !== 'string') fail(where, 'expected a string or null');
  return value;
}

function quality(value: Json, where: string): Quality {
  if (value === 'good' || value === 'uncertain' || value === 'bad') return value;
  return fail(where, `expected good, uncertain or bad, got ${JSON.stringify(value)}`);
}

function tagValue(value: Json, where: string): TagValue {
  if (typeof value === 'boolean' || typeof value === 'string') return value;
  return finite(value, where);
}

function gatewayState(value: Json, where: string): GatewayState {
  if (value === 'online' || value === 'offline' || value === 'unknown') return value;
  return fail(where, `expected online, offline or unknown, got ${JSON.stringify(value)}`);
}

export function parseHealth(json: Json, where = '/api/health'): HealthResponse {
  const body = record(json, where);
  const ingest = record(body.ingest, `${where}: ingest`);
  const counter = (key: keyof IngestCounters): number => finite(ingest[key], `${where}: ingest.${key}`);
  return {
    status: text(body.status, `${where}: status`),
    site: text(body.site, `${where}: site`),
    uptimeMs: finite(body.uptimeMs, `${where}: uptimeMs`),
    ingest: {
      received: counter('received'),
      stored: counter('stored'),
      duplicates: counter('duplicates'),
      rejected: counter('rejected'),
      queueFullRefusals: counter('queueFullRefusals'),
    },
  };
}

export function parseGateways(json: Json, where = '/api/gateways'): GatewayInfo[] {
  return list(record(json, where).gateways, `${where}: gateways`).map((item, index) => {
    const at = `${where}: gateways[${index}]`;
    const gateway = record(item, at);
    return {
      gateway: text(gateway.gateway, `${at}.gateway`),
      site: text(gateway.site, `${at}.site`),
      ackedSeq: text(gateway.ackedSeq, `${at}.ackedSeq`),
      lastSeenMs: finite(gateway.lastSeenMs, `${at}.lastSeenMs`),
      state: gatewayState(gateway.state, `${at}.state`),
      points: finite(gateway.points, `${at}.points`),
    };
  });
}

export function parseMachines(json: Json, where = '/api/machines'): MachineInfo[] {
  return list(record(json, where).machines, `${where}: machines`).map((item, index) => {
    const at = `${where}: machines[${index}]`;
    const machine = record(item, at);
    return {
      line: text(machine.line, `${at}.line`),
      machine: text(machine.machine, `${at}.machine`),
      tags: list(machine.tags, `${at}.tags`).map((tagItem, tagIndex) => {
        const tagAt = `${at}.tags[${tagIndex}]`;
        const tag = record(tagItem, tagAt);
        return {
          tag: text(tag.tag, `${tagAt}.tag`),
          name: text(tag.name, `${tagAt}.name`),
          value: tagValue(tag.value, `${tagAt}.value`),
          quality: quality(tag.quality, `${tagAt}.quality`),
          ts: finite(tag.ts, `${tagAt}.ts`),
        };
      }),
    };
  });
}

/** Parses the data line of one `points` event of /api/live. */
export function parseLivePoints(data: string, where = '/api/live'): LivePoint[] {
  let json: Json;
  try {
    json = JSON.parse(data);
  } catch {
    fail(where, 'event data is not JSON');
  }
  return list(record(json, where).points, `${where}: points`).map((item, index) => {
    const at = `${where}: points[${index}]`;
    const point = record(item, at);
    return {
      tag: text(point.tag, `${at}.tag`),
      ts: finite(point.ts, `${at}.ts`),
      value: tagValue(point.value, `${at}.value`),
      quality: quality(point.quality, `${at}.quality`),
    };
  });
}

/** `device` and `rule` of an alarm payload; a payload that is absent or not a JSON object names neither. */
function payloadFields(payload: Json, where: string): { device: string | null; rule: string | null } {
  if (payload === undefined) return { device: null, rule: null };
  let fields: Json;
  try {
    fields = JSON.parse(text(payload, where));
  } catch (error) {
    if (error instanceof WireError) throw error;
    return { device: null, rule: null }; // the hub serves such a payload unread; so does the dashboard
  }
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) return { device: null, rule: null };
  const { device, rule } = fields as Record<string, Json>;
  return { device: typeof device === 'string' ? device : null, rule: typeof rule === 'string' ? rule : null };
}

export function parseAlarms(json: Json, where = '/api/alarms'): AlarmRecord[] {
  return list(record(json, where).alarms, `${where}: alarms`).map((item, index) => {
    const at = `${where}: alarms[${index}]`;
    const alarm = record(item, at);
    return {
      gateway: text(alarm.gateway, `${at}.gateway`),
      tag: text(alarm.tag, `${at}.tag`),
      ts: finite(alarm.ts, `${at}.ts`),
      value: tagValue(alarm.value, `${at}.value`),
      severity: textOrNull(alarm.severity, `${at}.severity`),
      message: textOrNull(alarm.message, `${at}.message`),
      ...payloadFields(alarm.payload, `${at}.payload`),
    };
  });
}
