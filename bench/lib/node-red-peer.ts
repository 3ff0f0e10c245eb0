// The Node-RED peer of bench/gateway-cpu.bench.ts: the tool a plant team would otherwise pick,
// doing the same job as the gateway as fairly as a flow can. node-red 4.1 and
// node-red-contrib-modbus 5.23 are installed on demand into a cache folder outside the repository
// (never into package.json) and started headless (no editor, no admin API) on 127.0.0.1.
// The flow, per machine: one modbus-client, four modbus-read nodes polling the demo profile's
// four register blocks at the gateway's poll rate, a function node that decodes the 11 tags and
// runs the same checks as the rules (over-temperature above 80 with hysteresis 5 and a 2 s
// on-delay; vibration RMS over 1 s with a rate-of-change alarm and a high alarm), a file node
// appending every result as a JSON line (Node-RED has no fsync: that only favours it), and an
// mqtt-out node publishing it QoS 1 as JSON (one message per read, the points in an array).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProcess } from './child.ts';
import type { PlantMachine } from './gateway-site.ts';

export const nodeRedCacheDir = join(tmpdir(), 'millwright-bench-node-red');
export const nodeRedPackages = ['node-red@4.1', 'node-red-contrib-modbus@5.23'] as const;
const redEntry = join(nodeRedCacheDir, 'node_modules', 'node-red', 'red.js');
const modbusEntry = join(nodeRedCacheDir, 'node_modules', 'node-red-contrib-modbus', 'package.json');

export const nodeRedInstalled = (): boolean => existsSync(redEntry) && existsSync(modbusEntry);

/** Installs the peer into the cache folder with npm; resolves with why it failed, or undefined. */
export function installNodeRed(timeoutMs: number): Promise<string | undefined> {
  if (nodeRedInstalled()) return Promise.resolve(undefined);
  mkdirSync(nodeRedCacheDir, { recursive: true });
  return new Promise((resolve) => {
    const child = spawn('npm', ['install', '--prefix', nodeRedCacheDir, '--no-save', '--no-audit', '--no-fund', '--loglevel=error', ...nodeRedPackages], { stdio: ['ignore', 'ignore', 'pipe'] });
    let errors = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (errors = (errors + chunk).slice(-2000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => resolve(error.message));
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code === 0 && nodeRedInstalled() ? undefined : `npm install exited ${code}: ${errors.trim().split('\n').slice(-3).join(' ')}`);
    });
  });
}

/** The function node: decode, check, emit one message per read with its points and alarm changes. */
const checkFunction = `
const [machine, block] = msg.topic.split('/');
const r = msg.payload;
const ts = Date.now();
const f32 = (hi, lo) => { const b = Buffer.alloc(4); b.writeUInt16BE(hi, 0); b.writeUInt16BE(lo, 2); return b.readFloatBE(0); };
const points = [];
const alarms = [];
const derived = [];
const put = (tag, value) => points.push({ tag: 'line1/' + machine + '/' + tag, ts, value, quality: 'good' });
const state = context.get('s') || { hot: false, hotSince: 0, ring: [], sum: 0, rmsHistory: [], rising: false, high: false };
const alarm = (id, active, value) => { alarms.push({ tag: 'line1/_alarms/' + machine + '/' + id, ts, active, value }); };
if (block === 'input') {
  const temperature = f32(r[5], r[6]);
  const vibration = f32(r[7], r[8]);
  put('state', r[0]); put('good_count', r[1] * 65536 + r[2]); put('scrap_count', r[3] * 65536 + r[4]);
  put('temperature', temperature); put('vibration', vibration); put('speed', r[9] * 0.1);
  // over-temperature: above 80 for 2 s raises, at or below 75 clears
  if (!state.hot) {
    if (temperature > 80) { if (state.hotSince === 0) state.hotSince = ts; if (ts - state.hotSince >= 2000) { state.hot = true; alarm('over-temperature', true, temperature); } }
    else state.hotSince = 0;
  } else if (temperature <= 75) { state.hot = false; state.hotSince = 0; alarm('over-temperature', false, temperature); }
  // vibration RMS over 1 s of samples, its rate of change over 1 s, and the high limit
  state.ring.push(vibration * vibration); state.sum += vibration * vibration;
  if (state.ring.length > 50) state.sum -= state.ring.shift();
  const rms = Math.sqrt(state.sum / state.ring.length);
  state.rmsHistory.push(rms); if (state.rmsHistory.length > 50) state.rmsHistory.shift();
  const rate = rms - state.rmsHistory[0];
  if (!state.rising && rate > 2) { state.rising = true; alarm('vibration-rising', true, rate); } else if (state.rising && rate <= 1.5) { state.rising = false; alarm('vibration-rising', false, rate); }
  if (!state.high && rms > 7.1) { state.high = true; alarm('vibration-high', true, rms); } else if (state.high && rms <= 6.6) { state.high = false; alarm('vibration-high', false, rms); }
  derived.push({ tag: 'line1/' + machine + '/vibration_rms', ts, value: rms, quality: 'good' });
  context.set('s', state);
} else if (block === 'discrete') { put('running', !!r[0]); put('faulted', !!r[1]); }
else if (block === 'coil') { put('run_command', !!r[0]); put('fault_reset', !!r[1]); }
else { put('speed_setpoint', r[0] * 0.1); }
msg.topic = 'bench/node-red/' + machine;
msg.payload = JSON.stringify({ machine, points, derived, alarms });
return msg;
`;

const blocks = [
  { name: 'input', dataType: 'InputRegister', quantity: 10 },
  { name: 'discrete', dataType: 'Input', quantity: 2 },
  { name: 'coil', dataType: 'Coil', quantity: 2 },
  { name: 'holding', dataType: 'HoldingRegister', quantity: 1 },
] as const;

export function nodeRedFlow(machines: readonly PlantMachine[], pollIntervalMs: number, brokerPort: number, appendPath: string): object[] {
  const nodes: object[] = [
    { id: 'tab', type: 'tab', label: 'gateway-cpu bench' },
    { id: 'broker', type: 'mqtt-broker', name: 'bench broker', broker: '127.0.0.1', port: String(brokerPort), clientid: 'node-red-bench', autoConnect: true, usetls: false, protocolVersion: '4', keepalive: '60', cleansession: true },
    { id: 'file', type: 'file', z: 'tab', name: 'durable log', filename: appendPath, filenameType: 'str', appendNewline: true, createDir: true, overwriteFile: 'false', encoding: 'none', wires: [[]] },
    { id: 'mqtt', type: 'mqtt out', z: 'tab', name: 'to the hub', topic: '', qos: '1', retain: 'false', broker: 'broker', wires: [] },
  ];
  for (const machine of machines) {
    const id = machine.machine;
    nodes.push({ id: `client-${id}`, type: 'modbus-client', name: id, clienttype: 'tcp', bufferCommands: true, stateLogEnabled: false, queueLogEnabled: false, failureLogEnabled: false, tcpHost: machine.host, tcpPort: String(machine.port), tcpType: 'DEFAULT', unit_id: String(machine.unitId), commandDelay: '1', clientTimeout: '1000', reconnectOnTimeout: true, reconnectTimeout: '2000', parallelUnitIdsAllowed: true });
    nodes.push({ id: `check-${id}`, type: 'function', z: 'tab', name: `checks ${id}`, func: checkFunction, outputs: 1, wires: [['file', 'mqtt']] });
    for (const block of blocks) {
      nodes.push({ id: `read-${id}-${block.name}`, type: 'modbus-read', z: 'tab', name: `${id} ${block.name}`, topic: `${id}/${block.name}`, showStatusActivities: false, logIOActivities: false, showErrors: false, unitid: '', dataType: block.dataType, adr: '0', quantity: String(block.quantity), rate: String(pollIntervalMs), rateUnit: 'ms', delayOnStart: false, startDelayTime: '', server: `client-${id}`, useIOFile: false, ioFile: '', useIOForPayload: false, emptyMsgOnFail: false, wires: [[`check-${id}`], []] });
    }
  }
  return nodes;
}

export interface NodeRedProcess {
  readonly pid: number;
  stop(): Promise<void>;
}

/** Writes settings and flows into `userDir` and starts Node-RED; resolves once its flows run. */
export function startNodeRed(userDir: string, flow: object[], readyTimeoutMs = 60_000): Promise<NodeRedProcess> {
  mkdirSync(userDir, { recursive: true });
  writeFileSync(join(userDir, 'flows.json'), JSON.stringify(flow));
  writeFileSync(
    join(userDir, 'settings.js'),
    `module.exports = { uiHost: '127.0.0.1', uiPort: 0, httpAdminRoot: false, httpNodeRoot: false, disableEditor: true, flowFile: 'flows.json', credentialSecret: false, logging: { console: { level: 'info', metrics: false, audit: false } }, editorTheme: { tours: false } };\n`,
  );
  return startProcess('Node-RED', process.execPath, [redEntry, '--settings', join(userDir, 'settings.js'), '--userDir', userDir], { ready: /Started flows/, readyTimeoutMs, killAfterMs: 5000 });
}
