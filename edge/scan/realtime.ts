// Puts one thread of this process under SCHED_FIFO, as soft-PLC runtimes on Linux run their scan
// task (ADR 0006). Node has no sched_setscheduler and we want no native build, so the policy is
// set by util-linux's `chrt` (execFile, no shell) and then read back from /proc, which is the
// only answer trusted. Every failure (not Linux, no chrt, no CAP_SYS_NICE, a bad priority) is a
// value with a reason: the caller keeps running at its nice value instead.
// Also here, as a pure function: when a realtime scan must be demoted because it keeps overrunning.
import { execFile, type ExecFileException } from 'node:child_process';
import { readFileSync } from 'node:fs';

export const realtimePriorityMin = 1;
export const realtimePriorityMax = 99;

export type RealtimeResult =
  | { readonly applied: true; readonly policy: 'SCHED_FIFO'; readonly priority: number }
  | { readonly applied: false; readonly reason: string };

export interface RealtimeOptions {
  /** The chrt binary; tests point it at a missing file. */
  readonly chrtPath?: string;
  readonly platform?: NodeJS.Platform;
  readonly timeoutMs?: number;
}

const policyNames: Readonly<Record<number, string>> = { 0: 'SCHED_OTHER', 1: 'SCHED_FIFO', 2: 'SCHED_RR', 3: 'SCHED_BATCH', 5: 'SCHED_IDLE', 6: 'SCHED_DEADLINE' };

/** A thread's scheduling policy and realtime priority from /proc/<tid>/stat; undefined if unreadable. */
export function threadPolicy(threadId: number): { readonly policy: string; readonly priority: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${threadId}/stat`, 'utf8');
    // Fields after "(comm) " start at field 3 (state); rt_priority is field 40, policy field 41.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const policy = Number(fields[38]);
    return { policy: policyNames[policy] ?? `policy ${policy}`, priority: Number(fields[37]) };
  } catch {
    return undefined;
  }
}

function run(file: string, args: readonly string[], timeoutMs: number): Promise<{ error: ExecFileException | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, windowsHide: true }, (error, _stdout, stderr) => resolve({ error, stderr: String(stderr).trim() }));
  });
}

function reasonOf(error: ExecFileException, stderr: string, chrtPath: string): string {
  if (error.code === 'ENOENT') return `${chrtPath} not found (install util-linux)`;
  if (/not permitted/i.test(stderr)) return 'not permitted: needs root or CAP_SYS_NICE (and realtime runtime for the cgroup)';
  if (/no such process/i.test(stderr)) return 'the thread is gone';
  return `chrt failed: ${stderr === '' ? error.message : stderr}`;
}

/** Sets SCHED_FIFO at `priority` (1..99) for the thread `threadId` (a Linux TID). */
export async function setThreadFifo(threadId: number, priority: number, options: RealtimeOptions = {}): Promise<RealtimeResult> {
  const chrtPath = options.chrtPath ?? 'chrt';
  if ((options.platform ?? process.platform) !== 'linux') return { applied: false, reason: 'SCHED_FIFO is set only on Linux' };
  if (!Number.isInteger(priority) || priority < realtimePriorityMin || priority > realtimePriorityMax) return { applied: false, reason: `priority ${priority} is not an integer ${realtimePriorityMin}..${realtimePriorityMax}` };
  if (!Number.isInteger(threadId) || threadId <= 0) return { applied: false, reason: `no thread id (${threadId})` };
  const { error, stderr } = await run(chrtPath, ['-f', '-p', String(priority), String(threadId)], options.timeoutMs ?? 5000);
  if (error !== null) return { applied: false, reason: reasonOf(error, stderr, chrtPath) };
  const now = threadPolicy(threadId);
  if (now?.policy !== 'SCHED_FIFO' || now.priority !== priority) return { applied: false, reason: `chrt succeeded but the thread runs ${now === undefined ? 'unknown' : `${now.policy} ${now.priority}`}` };
  return { applied: true, policy: 'SCHED_FIFO', priority };
}

/** Returns the thread to SCHED_OTHER (its nice value applies again). */
export async function setThreadOther(threadId: number, options: RealtimeOptions = {}): Promise<{ readonly returned: true } | { readonly returned: false; readonly reason: string }> {
  const chrtPath = options.chrtPath ?? 'chrt';
  const { error, stderr } = await run(chrtPath, ['-o', '-p', '0', String(threadId)], options.timeoutMs ?? 5000);
  return error === null ? { returned: true } : { returned: false, reason: reasonOf(error, stderr, chrtPath) };
}

/**
 * Whether a realtime scan should fall back to SCHED_OTHER, judged over one window: it completed
 * fewer than half the ticks the window held (stuck in a step), or more than half of its ticks
 * overran. A realtime thread that cannot keep its period only takes CPU from the rest.
 */
export function realtimeOverrunning(window: { readonly elapsedMs: number; readonly tickMs: number; readonly ticks: number; readonly overruns: number }): boolean {
  const expected = window.elapsedMs / window.tickMs;
  if (expected < 10) return false;
  return window.ticks < expected / 2 || window.overruns > window.ticks / 2;
}

/** Why a spin this long is refused under SCHED_FIFO (the thread would rarely sleep), or undefined. */
export function realtimeSpinRefusal(tickMs: number, spinUs: number): string | undefined {
  return spinUs * 2 > tickMs * 1000 ? `spinUs ${spinUs} exceeds half the ${tickMs} ms period: a realtime thread must sleep most of each tick` : undefined;
}
