// Fixed site data for the dashboard's browser test: two lines of demo machines (running, idle,
// faulted, one with a bad and one with an uncertain reading), three gateways, and a backlog of
// temperatures for the sparklines. Every timestamp is relative to `nowMs`, so ages read the
// same on every run.
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

/** /api/machines: every tag at the machine's age, except temperature, which the backlog continues. */
export function machinesResponse(nowMs: number): { machines: MachineInfo[] } {
  return {
    machines: fixtureMachines.map((spec) => {
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
    }),
  };
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
      { gateway: 'gw-line1', site: fixtureSite, ackedSeq: '18446744073709551000', lastSeenMs: nowMs - 1_000, state: 'online', points: 48_211 },
      { gateway: 'gw-line2', site: fixtureSite, ackedSeq: '902113', lastSeenMs: nowMs - 2_000, state: 'online', points: 39_770 },
      { gateway: 'gw-packing', site: fixtureSite, ackedSeq: '4410', lastSeenMs: nowMs - 600_000, state: 'offline', points: 0 },
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
