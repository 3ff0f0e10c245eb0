// Shared fixtures of the durable log's tests: a log on the in-memory disk with a simulated clock,
// a logger whose lines the test can read, health events collected, record builders, and the
// seed of randomised tests (printed, and replayed from MILLWRIGHT_SEED).
import { SimulatedClock } from '../../common/clock.ts';
import { createLogger, type Logger } from '../../common/log.ts';
import { DurableLog } from './durable-log.ts';
import type { DurableLogLimits, OverflowPolicy } from './log-limits.ts';
import type { LogHealthEvent, LogInput, LogRecord } from './log-types.ts';
import { MemoryStorage } from './memory-storage.ts';

/** Small limits so that tests cross segments and budgets with few records. */
export const smallLimits: Partial<DurableLogLimits> = {
  segmentBytesMax: 2048,
  budgetBytes: 32 * 1024,
  payloadBytesMax: 256,
  stringValueBytesMax: 256,
  indexEveryRecords: 4,
  readBytesMax: 1024,
  diskRetryIntervalMs: 1000,
};

export interface Harness {
  storage: MemoryStorage;
  readonly clock: SimulatedClock;
  readonly lines: string[];
  readonly health: LogHealthEvent[];
  readonly logger: Logger;
  open(options?: { gatewayId?: string; limits?: Partial<DurableLogLimits>; policy?: OverflowPolicy; sequenceFloor?: bigint }): Promise<DurableLog>;
}

export function harness(defaults: { limits?: Partial<DurableLogLimits>; policy?: OverflowPolicy } = {}): Harness {
  const clock = new SimulatedClock();
  const lines: string[] = [];
  const health: LogHealthEvent[] = [];
  const logger = createLogger({ component: 'log', clock, level: 'debug', write: (line) => void lines.push(line) });
  const kit: Harness = {
    storage: new MemoryStorage(),
    clock,
    lines,
    health,
    logger,
    open: (options = {}) =>
      DurableLog.open({
        storage: kit.storage,
        gatewayId: options.gatewayId ?? 'gw-1',
        clock,
        logger,
        limits: { ...smallLimits, ...defaults.limits, ...options.limits },
        policy: options.policy ?? defaults.policy ?? 'thin-oldest',
        ...(options.sequenceFloor === undefined ? {} : { sequenceFloor: options.sequenceFloor }),
        onHealth: (event) => void health.push(event),
      }),
  };
  return kit;
}

export const startMs = 1_767_225_600_000;

export function point(tag: string, ts: number, value: number | boolean | string): LogInput {
  return { kind: 'point', ts, tag, value, quality: 'good' };
}

export function alarm(tag: string, ts: number, payload = '{"severity":2}'): LogInput {
  return { kind: 'alarm', ts, tag, value: true, quality: 'good', payload };
}

/** Appends and checks acceptance; returns the seqs as numbers. */
export function appendAll(log: DurableLog, inputs: readonly LogInput[]): number[] {
  return inputs.map((input) => {
    const result = log.append(input);
    if (!result.ok) throw new Error(`append refused: ${result.reason} ${result.detail ?? ''}`);
    return Number(result.seq);
  });
}

/** Every durable record from `fromSeq`, read in pages of `pageRecords`. */
export async function readAll(log: DurableLog, fromSeq = 1n, pageRecords = 7): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  for (let from = fromSeq; ; ) {
    const page = await log.read(from, pageRecords);
    if (page.length === 0) return out;
    out.push(...page);
    from = page[page.length - 1]!.seq + 1n;
  }
}

/** What a record looks like without its seq, to compare with what was appended. */
export function withoutSeq(record: LogRecord): LogInput {
  const { seq: _seq, ...rest } = record;
  return rest;
}

/** A seed for a randomised test: MILLWRIGHT_SEED when set, else a fresh one; printed either way. */
export function testSeed(test: string): number {
  const fromEnvironment = process.env['MILLWRIGHT_SEED'];
  const seed = fromEnvironment === undefined ? Date.now() % 2_147_483_647 : Number(fromEnvironment);
  process.stdout.write(`${test}: seed ${seed} (replay with MILLWRIGHT_SEED=${seed})\n`);
  return seed;
}
