// Wires one gateway process: device profiles → drivers → shared tag table → scan worker →
// writes back to drivers, points and alarms to the durable log → forwarder → MQTT uplink. startGateway validates
// everything (config, profiles, alarm references) before it opens a socket or a thread, so a bad
// config never leaves a half-started gateway behind.
import { createWriteStream, type WriteStream } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { systemClock, type Clock } from '../common/clock.ts';
import type { Point } from '../common/point.ts';
import { createLogger, type Logger } from '../common/log.ts';
import { seededRandom } from '../common/random.ts';
import { topics, type StateMessage } from '../common/wire.ts';
import { alarmStateTag, resolveAlarms } from './alarm-config.ts';
import { DevicePoller } from './device-poller.ts';
import type { Driver, TagSink } from './drivers/driver.ts';
import { createDrivers } from './drivers/create-drivers.ts';
import { startGatewayApi, type ApiReply, type GatewayApi } from './gateway-api.ts';
import type { GatewayConfig } from './gateway-config.ts';
import { DurableLog } from './log/durable-log.ts';
import { FsStorage } from './log/fs-storage.ts';
import { Forwarder } from './forwarder.ts';
import { legacySequenceFloor } from './sequence-store.ts';
import { GatewayRules } from './rules/gateway-rules.ts';
import { ScanHost } from './scan/scan-host.ts';
import type { TraceHeader } from './scan/trace.ts';
import { MqttClient } from '../common/mqtt/mqtt-client.ts';

export interface RunningGateway {
  readonly id: string;
  readonly apiUrl: string | undefined;
  stats(): Record<string, unknown>;
  close(): Promise<void>;
}

export interface GatewayOptions {
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Record every tick's inputs and outputs to this file (see `millwright gateway replay`). */
  readonly recordPath?: string;
}

function resolveFrom(base: string, path: string): string {
  return isAbsolute(path) ? path : resolve(base, path);
}

interface TagBinding {
  readonly driver: Driver;
  readonly name: string;
}

export async function startGateway(config: GatewayConfig, configDir: string, options: GatewayOptions = {}): Promise<RunningGateway> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger({ component: `gateway ${config.gateway.id}`, clock });
  const random = seededRandom(config.scan.seed);
  const { site, id, area } = config.gateway;

  // Everything that can be refused is checked before any socket or thread opens.
  const drivers = await createDrivers(config.devices, configDir, clock, logger);
  const tags: TraceHeader['tags'][number][] = [];
  const bindings: TagBinding[] = [];
  const offsets: number[] = [];
  const byDeviceTag = new Map<string, { index: number; writable: boolean }>();
  for (const driver of drivers) {
    offsets.push(tags.length);
    for (const tag of driver.tags) {
      byDeviceTag.set(`${driver.deviceId}/${tag.name}`, { index: tags.length, writable: tag.writable });
      bindings.push({ driver, name: tag.name });
      tags.push({ tag: `${area}/${driver.deviceId}/${tag.name}`, kind: tag.kind, ...(driver.deliversChangesOnly === true && { aged: false }) });
    }
  }
  const stateTags = new Map<string, number>();
  for (const alarm of config.alarms) {
    stateTags.set(alarm.id, tags.length);
    tags.push({ tag: alarmStateTag(area, alarm.id), kind: 'boolean', aged: false });
  }
  const alarms = resolveAlarms(config.alarms, { lookup: (name) => byDeviceTag.get(name) }, (alarmId) => stateTags.get(alarmId)!, config.scan.tickMs);
  const dataDir = resolveFrom(configDir, config.dataDir);
  // Records the rules report before the log is open (an installed bundle swapped in at boot) wait here.
  const earlyRecords: { points: Point[]; kind: 'alarm' | 'event'; payload: string }[] = [];
  let recordSink: (points: Point[], kind: 'alarm' | 'event', payload: string) => void = (points, kind, payload) => earlyRecords.push({ points, kind, payload });
  const rules = new GatewayRules(config.rules, {
    gatewayId: id,
    area,
    tickMs: config.scan.tickMs,
    configDir,
    dataDir,
    baseTags: tags,
    builtinAlarms: alarms.length,
    lookup: (name) => byDeviceTag.get(name),
    clock,
    logger: logger.child('rules'),
    record: (points, kind, payload) => recordSink(points, kind, payload),
  });
  const initialRules = rules.initial;
  const header: TraceHeader = {
    version: 1,
    gateway: id,
    tickMs: config.scan.tickMs,
    publishInputs: true,
    staleUncertainMs: config.scan.staleUncertainMs,
    staleBadMs: config.scan.staleBadMs,
    tags: initialRules.tags,
    tagCapacity: initialRules.tagCapacity,
    alarms,
    ...(initialRules.rules !== undefined && { rules: initialRules.rules, ruleAlarms: initialRules.ruleAlarms }),
  };

  const stateMessage = (state: StateMessage['state']): Buffer => Buffer.from(JSON.stringify({ v: 1, state, ts: clock.nowMs() } satisfies StateMessage));
  const client = new MqttClient({
    host: config.uplink.host,
    port: config.uplink.port,
    clientId: `millwright-${site}-${id}`,
    protocolVersion: config.uplink.protocolVersion,
    keepaliveS: config.uplink.keepaliveS,
    inflightMax: config.uplink.inflightMax,
    reconnectMinMs: config.uplink.reconnectMinMs,
    reconnectMaxMs: config.uplink.reconnectMaxMs,
    will: { topic: topics.state(site, id), payload: stateMessage('offline'), retain: true },
    birth: () => ({ topic: topics.state(site, id), payload: stateMessage('online'), retain: true }),
    clock,
    random,
    logger: logger.child('uplink'),
  });
  const legacyFloor = legacySequenceFloor(dataDir);
  const log = await DurableLog.open({
    storage: await FsStorage.open(join(dataDir, 'log')),
    gatewayId: id,
    clock,
    logger: logger.child('log'),
    limits: { budgetBytes: config.log.budgetBytes, segmentBytesMax: config.log.segmentBytesMax },
    policy: config.log.policy,
    ...(legacyFloor !== undefined && { sequenceFloor: legacyFloor }),
    onHealth: (event) => {
      const level = event.kind === 'degraded' || event.kind === 'budget-exceeded' ? 'error' : 'info';
      logger[level](`durable log ${event.kind}`, { ...event });
      // A full or failing disk is an alarm in itself: it travels as an alarm record (never dropped).
      const active = event.kind === 'degraded' || event.kind === 'budget-exceeded';
      const alarmId = event.kind === 'degraded' || event.kind === 'recovered' ? 'disk-failing' : 'disk-budget-exceeded';
      forwarder.accept([{ tag: alarmStateTag(area, alarmId), ts: clock.nowMs(), value: active, quality: 'good' }], 'alarm', JSON.stringify(event));
    },
  });
  const forwarder: Forwarder = new Forwarder({
    site,
    gateway: id,
    log,
    transport: { publish: (topic, payload, options) => client.publish(topic, payload, options), canPublish: () => client.canPublish(), isConnected: () => client.state === 'connected' },
    clock,
    logger: logger.child('forwarder'),
    limits: { batchRecordsMax: config.uplink.batchPointsMax, backlogRecordsPerSecond: config.uplink.backlogPointsPerSecond, ackTimeoutMs: config.uplink.ackTimeoutMs },
  });
  recordSink = (points, kind, payload) => forwarder.accept(points, kind, payload);
  for (const early of earlyRecords.splice(0)) recordSink(early.points, early.kind, early.payload);
  client.onEvent((event) => {
    if (event.type === 'connected') forwarder.onConnected();
  });
  client.onMessage((topic, payload) => {
    if (topic === topics.bundle(site, id)) {
      // The hub relays bundles; the gateway trusts only the signatures, never the sender.
      const result = rules.install(new Uint8Array(payload.buffer, payload.byteOffset, payload.length));
      if (!result.ok) logger.warn(`bundle from the hub refused (${result.error.code}): ${result.error.message}`);
      return;
    }
    if (topic !== topics.ack(site, id)) return;
    try {
      const ack = JSON.parse(payload.toString('utf8')) as { ackedSeq?: unknown };
      if (typeof ack.ackedSeq === 'string' && /^\d{1,20}$/.test(ack.ackedSeq)) void forwarder.onAck(BigInt(ack.ackedSeq));
    } catch {
      logger.rateLimited('bad-ack', 10_000, 'warn', 'ignored an ack that is not JSON');
    }
  });

  let recording: WriteStream | undefined;
  if (options.recordPath !== undefined) recording = createWriteStream(options.recordPath);
  let writesFailed = 0;
  const scan = new ScanHost({
    header,
    tickMs: config.scan.tickMs,
    spinUs: config.scan.spinUs,
    threadNice: config.scan.threadNice,
    realtimePriority: config.scan.realtimePriority,
    logger: logger.child('scan'),
    ...(recording !== undefined && { onTrace: (chunk: Uint8Array) => recording.write(chunk) }),
    onPoints: (points) => forwarder.accept(points),
    onWrite: (tagIndex, value) => {
      const binding = bindings[tagIndex];
      if (binding === undefined) return;
      const typed = tags[tagIndex]!.kind === 'boolean' ? value !== 0 : value;
      binding.driver.write(binding.name, typed).catch((error: unknown) => {
        writesFailed++;
        logger.rateLimited(`write:${tagIndex}`, 5000, 'error', `local action write to ${tags[tagIndex]!.tag} failed: ${(error as Error).message}`);
      });
    },
    onRuleFault: (event) => rules.onFault(event),
    onRulesSwapped: (generation, tick, swapMs, carried) => rules.onSwapped(generation, tick, swapMs, carried),
    onRulesRefused: (generation, code, message) => rules.onRefused(generation, code, message),
    onAlarm: (transition) => {
      const ruleAlarm = rules.alarmOf(transition);
      if (ruleAlarm !== undefined) {
        const record = { tag: ruleAlarm.stateTag, ts: clock.nowMs(), value: transition.active, quality: 'good' as const };
        forwarder.accept([record], 'alarm', JSON.stringify({ severity: severityNames[ruleAlarm.severity] ?? ruleAlarm.severity, value: transition.value, message: ruleAlarm.message, rule: ruleAlarm.rule, device: ruleAlarm.device }));
        logger.warn(`alarm ${ruleAlarm.id} ${transition.active ? 'raised' : 'cleared'}`, { value: transition.value, severity: severityNames[ruleAlarm.severity], message: ruleAlarm.message });
        return;
      }
      const alarm = config.alarms[transition.alarmIndex];
      if (alarm !== undefined) {
        const record = { tag: alarmStateTag(area, alarm.id), ts: clock.nowMs(), value: transition.active, quality: 'good' as const };
        forwarder.accept([record], 'alarm', JSON.stringify({ severity: alarm.severity, value: transition.value, message: alarm.message ?? null, device: alarm.tag.split('/')[0] }));
      }
      logger.warn(`alarm ${alarm?.id} ${transition.active ? 'raised' : 'cleared'}`, { tag: alarm?.tag, value: transition.value, severity: alarm?.severity, message: alarm?.message });
    },
  });
  rules.attach(scan);
  const pollers = drivers.map((driver, driverIndex) => {
    const offset = offsets[driverIndex]!;
    const sink: TagSink = {
      write: (index, value, quality, ts) => scan.tags.write(offset + index, value, quality, ts),
      markQuality: (index, quality, ts) => scan.tags.markQuality(offset + index, quality, ts),
    };
    return new DevicePoller({ driver, sink, clock, random, logger: logger.child(driver.deviceId), backoffMinMs: 200, backoffMaxMs: 5000 });
  });

  const stats = (): Record<string, unknown> => ({
    gateway: id,
    scan: scan.stats(),
    forwarder: forwarder.stats(),
    log: log.stats(),
    uplink: client.stats(),
    rules: rules.stats(),
    localWritesFailed: writesFailed,
    devices: Object.fromEntries(drivers.map((driver) => [driver.deviceId, driver.health()])),
  });
  let api: GatewayApi | undefined;
  if (config.api !== undefined) api = await startGatewayApi(config.api, stats, (path, body) => operatorAction(rules, scan, path, body));

  client.start();
  client.subscribe(topics.ack(site, id), 1);
  if (config.rules.bundles !== undefined) client.subscribe(topics.bundle(site, id), 1);
  scan.start();
  pollers.forEach((poller) => poller.start());
  const flushing = forwarder.startFlushing(config.uplink.publishIntervalMs, (error: unknown) => logger.rateLimited('flush-failed', 10_000, 'error', `forwarding failed: ${(error as Error).message}`));
  const statsTimer = setInterval(() => {
    const timing = scan.stats();
    logger.info('scan', { ticks: timing.ticks, overruns: timing.overruns, lateP50Ms: timing.latenessP50Ms, lateP99Ms: timing.latenessP99Ms, lateMaxMs: timing.latenessMaxMs, stepMaxMs: timing.stepMsMax });
  }, 60_000);
  statsTimer.unref();
  // The gateway's own health travels as ordinary points under {area}/_gateway/, so the hub stores
  // and shows it like any machine's values, with no second channel.
  const healthTimer = setInterval(() => forwarder.accept(healthPoints(`${area}/_gateway`, clock.nowMs(), scan.stats(), forwarder.stats().refused, client.state === 'connected', drivers)), config.uplink.healthIntervalMs);
  healthTimer.unref();
  logger.info('started', { devices: drivers.length, tags: header.tags.length, alarms: alarms.length, rules: initialRules.rules?.rules.length ?? 0, tickMs: config.scan.tickMs, nextSeq: log.stats().nextSeq, api: api?.url });

  let closing: Promise<void> | undefined;
  return {
    id,
    apiUrl: api?.url,
    stats,
    close() {
      closing ??= (async () => {
        clearInterval(statsTimer);
        clearInterval(healthTimer);
        rules.close();
        await Promise.all(pollers.map((poller) => poller.stop()));
        await scan.stop();
        await flushing.stop();
        await forwarder.flush();
        // A clean stop sends DISCONNECT, which suppresses the will: say "offline" ourselves.
        await client.publish(topics.state(site, id), stateMessage('offline'), { qos: 1, retain: true }).catch(() => undefined);
        await client.close();
        await api?.close();
        if (recording !== undefined) await new Promise<void>((done) => recording.end(done));
        await log.close();
        logger.info('stopped', { ...forwarder.stats() });
      })();
      return closing;
    },
  };
}

const severityNames: Readonly<Record<number, string>> = { 1: 'low', 2: 'medium', 3: 'high', 4: 'critical' };

/** POST routes of the local API: install a bundle, release a quarantined rule, acknowledge a rule alarm. */
function operatorAction(rules: GatewayRules, scan: ScanHost, path: string, body: Buffer): ApiReply | undefined {
  if (path === '/api/bundles') {
    const result = rules.install(new Uint8Array(body.buffer, body.byteOffset, body.length));
    return result.ok ? { status: 202, body: { staged: result.bundle } } : { status: result.error.code === 'EDGE_BUNDLE_BUSY' ? 409 : 422, body: { code: result.error.code, message: result.error.message } };
  }
  const release = /^\/api\/rules\/([^/]+)\/release$/.exec(path);
  const acknowledge = /^\/api\/rules\/([^/]+)\/alarms\/([^/]+)\/acknowledge$/.exec(path);
  if (release === null && acknowledge === null) return undefined;
  const rule = decodeURIComponent((release ?? acknowledge)![1]!);
  const ruleIndex = rules.ruleIndex(rule);
  if (ruleIndex < 0) return { status: 404, body: { code: 'EDGE_RULE_UNKNOWN', message: `no rule ${rule} runs on this gateway` } };
  if (release !== null) {
    return scan.ruleCommands.release(ruleIndex) ? { status: 202, body: { released: rule } } : { status: 503, body: { code: 'EDGE_RULE_COMMANDS_FULL', message: 'too many commands queued; try again' } };
  }
  const alarm = decodeURIComponent(acknowledge![2]!);
  const alarmIndex = rules.alarmIndex(rule, alarm);
  if (alarmIndex < 0) return { status: 404, body: { code: 'EDGE_RULE_ALARM_UNKNOWN', message: `rule ${rule} has no alarm ${alarm}` } };
  return scan.ruleCommands.acknowledge(ruleIndex, alarmIndex) ? { status: 202, body: { acknowledged: `${rule}/${alarm}` } } : { status: 503, body: { code: 'EDGE_RULE_COMMANDS_FULL', message: 'too many commands queued; try again' } };
}

function healthPoints(prefix: string, ts: number, timing: ReturnType<ScanHost['stats']>, pointsDropped: number, uplinkConnected: boolean, drivers: readonly Driver[]): Point[] {
  const point = (name: string, value: number | boolean): Point => ({ tag: `${prefix}/${name}`, ts, value, quality: 'good' });
  return [
    point('scan_ticks', timing.ticks),
    point('scan_overruns', timing.overruns),
    point('scan_lateness_p99_ms', timing.latenessP99Ms),
    point('scan_lateness_max_ms', timing.latenessMaxMs),
    point('scan_step_max_ms', timing.stepMsMax),
    point('points_dropped', pointsDropped),
    point('uplink_connected', uplinkConnected),
    point('devices_connected', drivers.filter((driver) => driver.health().connected).length),
    point('devices', drivers.length),
  ];
}

export function configDirOf(configPath: string): string {
  return dirname(resolve(configPath));
}
