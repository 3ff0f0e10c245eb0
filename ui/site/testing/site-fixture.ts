// Fixed site data for the dashboard's browser test: two lines of demo machines (running, idle,
// faulted, one with a bad and one with an uncertain reading), the lines' alarm states and gateway
// health (system groups `_alarms` and `_gateway`), the hub's stored alarm records (/api/alarms),
// three gateways, and a backlog of temperatures for the sparklines. Every timestamp is relative to
// `nowMs`, so ages read the same on every run.
import type { GatewayInfo, HealthResponse, LivePoint, MachineInfo, Quality, TagValue } from '../lib/wire.ts';

export const fixtureSite = 'plant-a · Dayton';

interface MachineSpec {
  line: string;
  machine: string;
  state: 0 | 1 | 2;
  goodCount: number;
  scrapCount: number;
  temperatureDegC: number;
  vibrationMmPerS: number;
  speedPartsPerMin: number;
  speedSetpoint: number;
  /** How long before `nowMs` the machine's tags were last reported. */
  ageMs: number;
  qualities?: Partial<Record<string, Quality>>;
}

export const fixtureMachines: readonly MachineSpec[] = [
  { line: 'line1', machine: 'm1', state: 1, goodCount: 12_840, scrapCount: 37, temperatureDegC: 71.4, vibrationMmPerS: 2.31, speedPartsPerMin: 118, speedSetpoint: 120, ageMs: 2_000 },
  { line: 'line1', machine: 'm2', state: 0, goodCount: 9_120, scrapCount: 12, temperatureDegC: 48.2, vibrationMmPerS: 0.42, speedPartsPerMin: 0, speedSetpoint: 90, ageMs: 45_000 },
  {
    line: 'line1',
    machine: 'm3',
    state: 2,
    goodCount: 4_410,
    scrapCount: 219,
    temperatureDegC: 88.9,
    vibrationMmPerS: 7.85,
    speedPartsPerMin: 0,
    speedSetpoint: 100,
    ageMs: 1_000,
    qualities: { vibration: 'bad' },
  },
  { line: 'line1', machine: 'filler', state: 1, goodCount: 7_702, scrapCount: 21, temperatureDegC: 77.8, vibrationMmPerS: 1.12, speedPartsPerMin: 96, speedSetpoint: 100, ageMs: 1_000 },
  { line: 'line2', machine: 'm1', state: 1, goodCount: 20_315, scrapCount: 88, temperatureDegC: 65.7, vibrationMmPerS: 1.96, speedPartsPerMin: 140, speedSetpoint: 140, ageMs: 3_000 },
  {
    line: 'line2',
    machine: 'm2',
    state: 1,
    goodCount: 18_902,
    scrapCount: 54,
    temperatureDegC: 69.1,
    vibrationMmPerS: 2.74,
    speedPartsPerMin: 137,
    speedSetpoint: 140,
    ageMs: 2_000,
    qualities: { speed: 'uncertain' },
  },
];

/** How far back the temperature backlog (and the snapshot's temperature reading) goes. */
export const backlogSpanMs = 118_000;
const backlogStepMs = 2_000;

function tag(spec: MachineSpec, name: string, value: TagValue, ts: number): MachineInfo['tags'][number] {
  return { tag: `${spec.line}/${spec.machine}/${name}`, name, value, quality: spec.qualities?.[name] ?? 'good', ts };
}

/**
 * /api/machines: every tag at the machine's age, except temperature, which the backlog continues;
 * then the lines' system groups, as the hub lists them beside the machines.
 */
export function machinesResponse(nowMs: number): { machines: MachineInfo[] } {
  const machines = fixtureMachines.map((spec) => {
    const ts = nowMs - spec.ageMs;
    return {
      line: spec.line,
      machine: spec.machine,
      tags: [
        tag(spec, 'state', spec.state, ts),
        tag(spec, 'running', spec.state === 1, ts),
        tag(spec, 'faulted', spec.state === 2, ts),
        tag(spec, 'good_count', spec.goodCount, ts),
        tag(spec, 'scrap_count', spec.scrapCount, ts),
        tag(spec, 'temperature', backlogTemperature(spec, nowMs - backlogSpanMs - spec.ageMs, nowMs), nowMs - backlogSpanMs - spec.ageMs),
        tag(spec, 'vibration', spec.vibrationMmPerS, ts),
        tag(spec, 'speed', spec.speedPartsPerMin, ts),
        tag(spec, 'speed_setpoint', spec.speedSetpoint, ts),
      ],
    };
  });
  return { machines: [...machines, ...systemGroups(nowMs)] };
}

interface AlarmSpec {
  line: string;
  id: string;
  active: boolean;
  /** How long before `nowMs` the alarm last changed state. */
  ageMs: number;
  /** The payload of the hub's record of that change; without one the hub has no record of it. */
  record?: AlarmPayload;
}

export interface AlarmPayload {
  severity: string;
  message: string;
  device: string | null;
  rule?: string;
}

/**
 * Alarm states in the snapshot: line1's faulted m3 has a high alarm the hub has a record of and
 * one it has none of (its severity is guessed: neutral), line2 none active.
 */
export const fixtureAlarms: readonly AlarmSpec[] = [
  { line: 'line1', id: 'm3-fault', active: true, ageMs: 7 * 60_000 + 12_000, record: { severity: 'high', message: 'm3 is in fault', device: 'm3' } },
  { line: 'line1', id: 'm3-vibration', active: true, ageMs: 9 * 60_000 + 40_000 },
  { line: 'line1', id: 'filler-fault', active: false, ageMs: 3_600_000, record: { severity: 'high', message: 'filler is in fault', device: 'filler' } },
  { line: 'line1', id: 'filler-overtemp', active: false, ageMs: 2 * 3_600_000, record: { severity: 'critical', message: 'filler over temperature: stopped by the gateway', device: 'filler' } },
  { line: 'line2', id: 'm2-fault', active: false, ageMs: 5_400_000, record: { severity: 'high', message: 'm2 is in fault', device: 'm2' } },
];

/** One /api/alarms record as the hub serves it. */
export interface AlarmRecordJson {
  gateway: string;
  seq: string;
  tag: string;
  ts: number;
  value: boolean;
  quality: Quality;
  historical: boolean;
  severity: string | null;
  message: string | null;
  payload?: string;
}

/** The hub's record of `{line}/_alarms/{id}` changing to `value` at `ts`, from its gateway `{line}-gw`. */
export function alarmRecord(line: string, id: string, ts: number, value: boolean, payload: AlarmPayload): AlarmRecordJson {
  return {
    gateway: `${line}-gw`,
    seq: String(ts), // unique enough here: the dashboard does not read it
    tag: `${line}/_alarms/${id}`,
    ts,
    value,
    quality: 'good',
    historical: false,
    severity: payload.severity,
    message: payload.message,
    payload: JSON.stringify({ ...payload, value: value ? 97.5 : 80.1 }),
  };
}

/** The records the hub holds at start: one per fixture alarm state that has one. */
export function alarmRecords(nowMs: number): AlarmRecordJson[] {
  return fixtureAlarms.flatMap((alarm) => (alarm.record === undefined ? [] : [alarmRecord(alarm.line, alarm.id, nowMs - alarm.ageMs, alarm.active, alarm.record)]));
}

interface GatewayHealthSpec {
  line: string;
  ageMs: number;
  values: Record<string, number | boolean>;
}

/** Health of each line's gateway: line1 healthy, line2 struggling, packing silent for 10 minutes. */
export const fixtureGatewayHealth: readonly GatewayHealthSpec[] = [
  {
    line: 'line1',
    ageMs: 4_000,
    values: {
      scan_ticks: 1_151_880,
      scan_overruns: 0,
      scan_lateness_p99_ms: 0.42,
      scan_lateness_max_ms: 3.1,
      scan_step_max_ms: 0.88,
      points_dropped: 0,
      uplink_connected: true,
      devices_connected: 4,
      devices: 4,
    },
  },
  {
    line: 'line2',
    ageMs: 6_000,
    values: {
      scan_ticks: 1_150_302,
      scan_overruns: 17,
      scan_lateness_p99_ms: 6.8,
      scan_lateness_max_ms: 41.5,
      scan_step_max_ms: 2.4,
      points_dropped: 1_250,
      uplink_connected: true,
      devices_connected: 1,
      devices: 2,
    },
  },
  {
    line: 'packing',
    ageMs: 600_000,
    values: {
      scan_ticks: 88_410,
      scan_overruns: 0,
      scan_lateness_p99_ms: 0.51,
      scan_lateness_max_ms: 2.2,
      scan_step_max_ms: 0.6,
      points_dropped: 0,
      uplink_connected: true,
      devices_connected: 3,
      devices: 3,
    },
  },
];

function systemTag(line: string, group: string, name: string, value: TagValue, ts: number): MachineInfo['tags'][number] {
  return { tag: `${line}/${group}/${name}`, name, value, quality: 'good', ts };
}

/** The `_alarms` and `_gateway` system groups as /api/machines lists them: one entry per line and group. */
function systemGroups(nowMs: number): MachineInfo[] {
  const groups: MachineInfo[] = [];
  for (const line of [...new Set(fixtureAlarms.map((alarm) => alarm.line))]) {
    const tags = fixtureAlarms.filter((alarm) => alarm.line === line).map((alarm) => systemTag(line, '_alarms', alarm.id, alarm.active, nowMs - alarm.ageMs));
    groups.push({ line, machine: '_alarms', tags });
  }
  for (const health of fixtureGatewayHealth) {
    const tags = Object.entries(health.values).map(([name, value]) => systemTag(health.line, '_gateway', name, value, nowMs - health.ageMs));
    groups.push({ line: health.line, machine: '_gateway', tags });
  }
  return groups;
}

/** A gentle, deterministic wave that ends exactly at the machine's current temperature. */
function backlogTemperature(spec: MachineSpec, ts: number, nowMs: number): number {
  const secondsBeforeLatest = (nowMs - spec.ageMs - ts) / 1000;
  const phase = spec.goodCount % 7;
  const drift = spec.state === 2 ? -secondsBeforeLatest * 0.09 : 0; // the faulted machine overheated
  const wave = Math.sin(secondsBeforeLatest / 9 + phase) - Math.sin(phase);
  return Math.round((spec.temperatureDegC + drift + wave * 1.6) * 10) / 10;
}

/** The first live event: each machine's temperatures over the last two minutes, oldest first. */
export function temperatureBacklog(nowMs: number): LivePoint[] {
  const points: LivePoint[] = [];
  for (let offsetMs = backlogSpanMs - backlogStepMs; offsetMs >= 0; offsetMs -= backlogStepMs) {
    for (const spec of fixtureMachines) {
      const ts = nowMs - spec.ageMs - offsetMs;
      points.push({ tag: `${spec.line}/${spec.machine}/temperature`, ts, value: backlogTemperature(spec, ts, nowMs), quality: spec.qualities?.temperature ?? 'good' });
    }
  }
  return points;
}

export function gatewaysResponse(nowMs: number): { gateways: GatewayInfo[] } {
  return {
    gateways: [
      { gateway: 'line1-gw', site: fixtureSite, ackedSeq: '18446744073709551000', lastSeenMs: nowMs - 1_000, state: 'online', points: 48_211 },
      { gateway: 'line2-gw', site: fixtureSite, ackedSeq: '902113', lastSeenMs: nowMs - 2_000, state: 'online', points: 39_770 },
      { gateway: 'packing-gw', site: fixtureSite, ackedSeq: '4410', lastSeenMs: nowMs - 600_000, state: 'offline', points: 0 },
    ],
  };
}

export function healthResponse(startedMs: number, nowMs: number): HealthResponse {
  return {
    status: 'ok',
    site: fixtureSite,
    uptimeMs: 3 * 3_600_000 + 12 * 60_000 + (nowMs - startedMs),
    ingest: { received: 1_204_388, stored: 1_204_311, duplicates: 77, rejected: 0, queueFullRefusals: 0 },
  };
}
