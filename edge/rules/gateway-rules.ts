// The rules of one gateway: the compiled modules its config names plus the rules of the signed
// bundle it has installed, bound to its tags and handed to the scan. It owns the bundle installer:
// a bundle arrives (local API, or the hub), is verified and staged on this thread, and swapped
// into the scan worker at the next tick boundary; rule faults during its probation roll it back to
// the last good bundle. Everything it learns (faults, swaps, refusals, rollbacks) goes to the log
// and travels to the hub as event records.
import { join, isAbsolute, resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { bundleLimitsDefault, type BundleManifest, type OpenedModule } from '../../common/bundle.ts';
import type { Clock } from '../../common/clock.ts';
import { MillwrightError } from '../../common/errors.ts';
import type { Logger } from '../../common/log.ts';
import type { Point } from '../../common/point.ts';
import { parseRuleManifest } from '../../common/rule-manifest.ts';
import { validateRuleModule } from '../../common/rule-runtime.ts';
import { BundleInstaller, type InstallResult } from '../bundles/bundle-installer.ts';
import type { BundleEvent } from '../bundles/bundle-events.ts';
import { FileBundleStore } from '../bundles/file-bundle-store.ts';
import { edgeBundleErrors } from '../bundles/errors.ts';
import type { AlarmTransition, ScanHost } from '../scan/scan-host.ts';
import type { RuleAlarmDefinition, TraceHeader } from '../scan/trace.ts';
import { loadRuleFiles, type LoadedRule } from './load-rules.ts';
import type { RuleFaultEvent } from './rule-host.ts';
import { planRules, serializeRulePlan, type RulePlan } from './rule-plan.ts';
import type { RulesConfig } from './rule-config.ts';

type TagDefinition = TraceHeader['tags'][number];

export interface GatewayRulesContext {
  readonly gatewayId: string;
  readonly area: string;
  readonly tickMs: number;
  readonly configDir: string;
  readonly dataDir: string;
  /** The device tags and built-in alarm state tags, in scan order. */
  readonly baseTags: readonly TagDefinition[];
  readonly builtinAlarms: number;
  lookup(deviceTag: string): { index: number; writable: boolean } | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Sends an alarm or event record to the durable log (and so to the hub). */
  record(points: Point[], kind: 'alarm' | 'event', payload: string): void;
}

/** What the scan's trace header gets from the rules it starts with. */
export interface InitialRules {
  readonly tags: readonly TagDefinition[];
  readonly tagCapacity: number;
  readonly rules?: TraceHeader['rules'];
  readonly ruleAlarms: readonly RuleAlarmDefinition[];
}

interface Generation {
  readonly plan: RulePlan | null;
  readonly ruleAlarms: readonly RuleAlarmDefinition[];
}

export interface RuleAlarmRecord {
  readonly id: string;
  readonly stateTag: string;
  readonly severity: number;
  readonly message: string;
  readonly rule: string;
  /** The device the rule's inputs and outputs belong to, when they all name one; else null. */
  readonly device: string | null;
}

/** The one device every `device/tag` name of a rule refers to, or null when there are several. */
function deviceOf(names: readonly string[]): string | null {
  const devices = new Set(names.map((name) => name.split('/')[0]));
  return devices.size === 1 ? [...devices][0]! : null;
}

export class GatewayRules {
  readonly #config: RulesConfig;
  readonly #context: GatewayRulesContext;
  readonly #fileRules: LoadedRule[];
  readonly #installer: BundleInstaller | undefined;
  readonly #generations = new Map<number, Generation>();
  #current: Generation = { plan: null, ruleAlarms: [] };
  #initial: InitialRules;
  #scan: ScanHost | undefined;
  #timer: NodeJS.Timeout | undefined;
  #faults = 0;
  readonly #faultsByRule = new Map<string, { faults: number; lastCode: string; lastMessage: string; quarantined: boolean }>();
  #lastSwap: { generation: number; tick: number; swapMs: number } | undefined;
  #generation = 0;

  /** Loads and binds every rule the gateway starts with; throws a coded error (exit 2) for one that cannot run. */
  constructor(config: RulesConfig, context: GatewayRulesContext) {
    this.#config = config;
    this.#context = context;
    this.#fileRules = loadRuleFiles(config, context.configDir);
    this.#initial = this.#bind(this.#fileRules, 0);
    if (config.bundles !== undefined) {
      const bundles = config.bundles;
      const store = new FileBundleStore(bundles.dir === undefined ? join(context.dataDir, 'bundles') : absolute(context.configDir, bundles.dir));
      if (store.readRoot() === undefined && bundles.trustRoot !== undefined) store.writeRoot(readRoot(absolute(context.configDir, bundles.trustRoot)));
      const limits = { ...bundleLimitsDefault, fuelPerTickMax: config.fuelPerTickMax, memoryPagesMax: config.memoryPagesMax };
      this.#installer = new BundleInstaller(
        store,
        {
          gatewayId: context.gatewayId,
          groups: bundles.groups,
          limits,
          probationTicks: bundles.probationTicks,
          probationFaultsMax: bundles.probationFaultsMax,
          probationRestartsMax: 3,
          clock: context.clock,
          validateModule: (module) => void validateRuleModule(module, { moduleBytesMax: limits.moduleBytesMax, memoryPagesMax: limits.memoryPagesMax, fuelPerTickMax: limits.fuelPerTickMax }),
        },
        (modules, manifest) => this.#swapBundle(modules, manifest),
        (event) => this.#reportBundle(event),
      );
      // The installed bundle (if any) is staged by start() and swapped in before the first tick.
      this.#installer.start();
      this.#installer.atTickBoundary(0);
    }
  }

  /** The rules the scan starts with (file rules plus the installed bundle's). */
  get initial(): InitialRules {
    return this.#initial;
  }

  /** Connects to the running scan: from now on bundle swaps go to its worker. */
  attach(scan: ScanHost): void {
    this.#scan = scan;
    if (this.#installer !== undefined) {
      const installer = this.#installer;
      // Staging and probation are decided here, on this thread; the swap itself happens in the worker.
      this.#timer = setInterval(() => installer.atTickBoundary(scan.ticks), 50);
      this.#timer.unref();
    }
  }

  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
  }

  /** Verifies and stages a bundle; it runs from the next tick boundary. */
  install(bytes: Uint8Array, rootChain: readonly unknown[] = []): InstallResult {
    if (this.#installer === undefined) return { ok: false, error: new MillwrightError(edgeBundleErrors.rootMissing, 'this gateway does not accept bundles (no rules.bundles in its config)') };
    return this.#installer.installBundle(bytes, rootChain);
  }

  /** Maps a scan alarm transition of a rule alarm to its record; undefined for built-in alarms. */
  alarmOf(transition: AlarmTransition): RuleAlarmRecord | undefined {
    if (transition.alarmIndex < this.#context.builtinAlarms) return undefined;
    const generation = this.#generations.get(transition.generation) ?? this.#current;
    const alarm = generation.ruleAlarms[transition.alarmIndex - this.#context.builtinAlarms];
    if (alarm === undefined) return undefined;
    const manifest = generation.plan?.rules.find((rule) => rule.name === alarm.rule)?.manifest;
    const device = manifest === undefined ? null : deviceOf([...manifest.inputs, ...manifest.outputs].map((entry) => entry.name));
    return { id: alarm.id, stateTag: `${this.#context.area}/_alarms/${alarm.id}`, severity: alarm.severity, message: alarm.message, rule: alarm.rule, device };
  }

  /** Index of a running rule by name, for operator commands; -1 when there is none. */
  ruleIndex(name: string): number {
    return this.#current.plan?.rules.findIndex((rule) => rule.name === name) ?? -1;
  }

  /** Index of alarm `alarm` of rule `rule` in its manifest; -1 when there is none. */
  alarmIndex(rule: string, alarm: string): number {
    return this.#current.plan?.rules.find((entry) => entry.name === rule)?.manifest.alarms.findIndex((entry) => entry.name === alarm) ?? -1;
  }

  onFault(event: RuleFaultEvent): void {
    this.#faults++;
    const entry = this.#faultsByRule.get(event.rule) ?? { faults: 0, lastCode: '', lastMessage: '', quarantined: false };
    this.#faultsByRule.set(event.rule, { faults: entry.faults + 1, lastCode: event.code, lastMessage: event.message, quarantined: event.quarantined });
    const { logger, area, clock } = this.#context;
    logger.rateLimited(`rule-fault:${event.rule}`, 5000, 'error', `rule ${event.rule} faulted (${event.code}) at tick ${event.tick}: ${event.message}; its outputs were driven to their safe values${event.quarantined ? '; the rule is quarantined until a new bundle or an operator releases it' : ''}`);
    this.#context.record([{ tag: `${area}/_rules/${event.rule}/faults`, ts: clock.nowMs(), value: entry.faults + 1, quality: 'good' }], 'event', JSON.stringify({ type: 'rule-fault', ...event }));
    this.#installer?.reportFault(event.rule, event.tick);
  }

  onSwapped(generation: number, tick: number, swapMs: number, carried: readonly string[] = []): void {
    this.#lastSwap = { generation, tick, swapMs };
    const swapped = this.#generations.get(generation);
    if (swapped !== undefined) this.#current = swapped;
    for (const older of this.#generations.keys()) if (older < generation - 1) this.#generations.delete(older);
    this.#context.logger.info('rules swapped in', { generation, tick, swapMs: Math.round(swapMs * 1000) / 1000, rules: this.#current.plan?.rules.map((rule) => rule.name).join(', ') ?? '', keptRunning: carried.join(', ') });
  }

  onRefused(generation: number, code: string, message: string): void {
    this.#generations.delete(generation);
    this.#context.logger.error(`the scan refused the new rules (${code}): ${message}; the previous rules keep running`);
    for (const rule of this.#current.plan?.rules ?? []) this.#installer?.reportFault(rule.name, this.#scan?.ticks ?? 0);
  }

  stats(): Record<string, unknown> {
    return {
      rules: this.#current.plan?.rules.map((rule) => ({ name: rule.name, ...(this.#faultsByRule.get(rule.name) ?? { faults: 0, quarantined: false }) })) ?? [],
      faults: this.#faults,
      lastSwap: this.#lastSwap ?? null,
      bundle: this.#installer?.status() ?? null,
    };
  }

  /** Binds `rules` after the base tags; the plan is generation `generation`'s. */
  #bind(rules: readonly LoadedRule[], generation: number): InitialRules {
    const { baseTags, builtinAlarms, area, tickMs } = this.#context;
    const tagCapacity = baseTags.length + this.#config.tagsMax;
    if (rules.length === 0) {
      this.#generations.set(generation, { plan: null, ruleAlarms: [] });
      return { tags: baseTags, tagCapacity, ruleAlarms: [] };
    }
    const result = planRules(rules, {
      area,
      tickMs,
      lookup: (name) => this.#context.lookup(name),
      firstTagIndex: baseTags.length,
      firstAlarmIndex: builtinAlarms,
      limits: this.#config,
    });
    if (result.tags.length > this.#config.tagsMax) {
      throw new MillwrightError(edgeBundleErrors.swapFailed, `the rules publish ${result.tags.length} points and alarm states, more than rules.tagsMax (${this.#config.tagsMax})`);
    }
    const ruleAlarms = result.alarms.map(({ id, rule, severity, message }) => ({ id, rule, severity, message }));
    this.#generations.set(generation, { plan: result.plan, ruleAlarms });
    if (generation === 0) this.#current = { plan: result.plan, ruleAlarms };
    return { tags: [...baseTags, ...result.tags], tagCapacity, rules: serializeRulePlan(result.plan), ruleAlarms };
  }


  /** The installer's swap: binds file rules plus the bundle's, then hands them to the scan. Throws to refuse. */
  #swapBundle(modules: readonly OpenedModule[], manifest: BundleManifest | null): void {
    const bundleRules = modules.map((module): LoadedRule => {
      const ruleManifest = parseRuleManifest(module.ruleManifest, `rule manifest of module '${module.name}'`);
      return { source: `bundle ${manifest?.name ?? '?'} v${manifest?.version ?? '?'} module ${module.name}`, wasm: module.wasm, manifest: ruleManifest, params: this.#config.params[ruleManifest.name] ?? {} };
    });
    const scan = this.#scan;
    if (scan === undefined) {
      // Before the scan starts (the installed bundle at boot): it becomes part of the initial plan.
      this.#initial = this.#bind([...this.#fileRules, ...bundleRules], 0);
      return;
    }
    const generation = ++this.#generation;
    const bound = this.#bind([...this.#fileRules, ...bundleRules], generation);
    const swapped = scan.swapRules(this.#generations.get(generation)!.plan, bound.tags, bound.ruleAlarms);
    if (swapped !== generation) throw new MillwrightError(edgeBundleErrors.swapFailed, `rule generations out of step (${swapped} ≠ ${generation})`);
  }

  #reportBundle(event: BundleEvent): void {
    const { logger, area, clock } = this.#context;
    const level = event.type === 'bundle-refused' || event.type === 'bundle-rolled-back' || event.type === 'bundle-state-problem' ? 'error' : 'info';
    logger[level](`${event.type}: ${JSON.stringify(event)}`);
    const value = 'bundle' in event && event.bundle !== null ? event.bundle.version : 'to' in event && event.to !== null ? event.to.version : 0;
    this.#context.record([{ tag: `${area}/_rules/bundle`, ts: clock.nowMs(), value, quality: 'good' }], 'event', JSON.stringify(event));
  }
}

function absolute(base: string, path: string): string {
  return isAbsolute(path) ? path : resolve(base, path);
}

function readRoot(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch (error) {
    throw new MillwrightError(edgeBundleErrors.rootMissing, `rules.bundles.trustRoot: cannot read ${path}: ${(error as Error).message}`);
  }
}
