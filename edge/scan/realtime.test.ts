// SCHED_FIFO for the scan thread (ADR 0006): the policy really lands on the worker's thread as
// the kernel reports it, every way it can fail leaves the scan ticking with the reason reported,
// and a realtime scan that cannot keep its period is returned to SCHED_OTHER.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../common/clock.ts';
import { createLogger, type Logger } from '../../common/log.ts';
import { realtimeOverrunning, realtimeSpinRefusal, setThreadFifo, threadPolicy } from './realtime.ts';
import { ScanHost, type ScanHostOptions } from './scan-host.ts';
import type { TraceHeader } from './trace.ts';

const header: TraceHeader = { version: 1, gateway: 'g', tickMs: 2, publishInputs: false, tags: [{ tag: 'l/m/temperature', kind: 'number' }], alarms: [] };

/** Whether this machine lets us run anything under SCHED_FIFO (root or CAP_SYS_NICE, RT runtime). */
function realtimePermitted(): boolean {
  try {
    execFileSync('chrt', ['-f', '1', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function capturingLogger(lines: string[]): Logger {
  return createLogger({ component: 'scan', clock: systemClock, write: (line) => lines.push(line) });
}

/** Runs a scan at 2 ms until its realtime attempt settled and it ticked on; returns its stats. */
async function runScan(options: Partial<ScanHostOptions>, check?: (stats: ReturnType<ScanHost['stats']>) => void): Promise<ReturnType<ScanHost['stats']>> {
  const host = new ScanHost({ header, tickMs: 2, onPoints: () => undefined, onWrite: () => undefined, onAlarm: () => undefined, ...options });
  host.start();
  try {
    await until(() => host.stats().realtimeState !== 'pending');
    const settledAt = host.stats().ticks;
    await until(() => host.stats().ticks > settledAt + 20); // still ticking after the attempt
    check?.(host.stats());
  } finally {
    await host.stop();
  }
  return host.stats();
}

describe('setThreadFifo', () => {
  it('refuses a priority outside 1..99, another OS and a missing chrt, each with its reason', async () => {
    expect(await setThreadFifo(process.pid, 0)).toEqual({ applied: false, reason: 'priority 0 is not an integer 1..99' });
    expect(await setThreadFifo(process.pid, 100)).toMatchObject({ applied: false, reason: expect.stringContaining('1..99') as unknown });
    expect(await setThreadFifo(process.pid, 10, { platform: 'darwin' })).toEqual({ applied: false, reason: 'SCHED_FIFO is set only on Linux' });
    expect(await setThreadFifo(process.pid, 10, { chrtPath: '/nonexistent/chrt' })).toEqual({ applied: false, reason: '/nonexistent/chrt not found (install util-linux)' });
    expect(threadPolicy(process.pid)).toEqual({ policy: 'SCHED_OTHER', priority: 0 });
  });

  it.runIf(process.platform === 'linux')('reports a thread that does not exist', async () => {
    expect(await setThreadFifo(4_194_305, 10)).toEqual({ applied: false, reason: 'the thread is gone' }); // above Linux's largest pid_max
  });
});

describe('realtime bounds', () => {
  it('demotes a realtime scan that keeps overrunning or stops completing ticks, not one that keeps up', () => {
    expect(realtimeOverrunning({ elapsedMs: 1000, tickMs: 1, ticks: 990, overruns: 3 })).toBe(false);
    expect(realtimeOverrunning({ elapsedMs: 1000, tickMs: 1, ticks: 500, overruns: 500 })).toBe(true);
    expect(realtimeOverrunning({ elapsedMs: 1000, tickMs: 10, ticks: 0, overruns: 0 })).toBe(true);
    expect(realtimeOverrunning({ elapsedMs: 50, tickMs: 10, ticks: 0, overruns: 0 })).toBe(false); // too short a window to judge
  });

  it('refuses realtime for a spin longer than half the period', () => {
    expect(realtimeSpinRefusal(10, 300)).toBeUndefined();
    expect(realtimeSpinRefusal(1, 600)).toContain('half the 1 ms period');
  });
});

describe('ScanHost under SCHED_FIFO', () => {
  it.runIf(process.platform === 'linux' && realtimePermitted())('puts the scan thread, and only it, under SCHED_FIFO at the configured priority', async () => {
    const lines: string[] = [];
    await runScan({ realtimePriority: 30, logger: capturingLogger(lines) }, (stats) => {
      expect(stats).toMatchObject({ realtimeState: 'applied', realtimePolicy: 'SCHED_FIFO', realtimePriority: 30, realtimeReason: '' });
      expect(threadPolicy(stats.threadId)).toEqual({ policy: 'SCHED_FIFO', priority: 30 });
      const chrt = execFileSync('chrt', ['-p', String(stats.threadId)], { encoding: 'utf8' });
      expect(chrt).toMatch(/scheduling policy: SCHED_FIFO/);
      expect(chrt).toMatch(/scheduling priority: 30/);
      expect(threadPolicy(process.pid)).toEqual({ policy: 'SCHED_OTHER', priority: 0 }); // the main thread is untouched
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('scan thread runs SCHED_FIFO priority=30');
  });

  it.runIf(process.platform === 'linux' && realtimePermitted())('returns a realtime scan that cannot keep its period to SCHED_OTHER, and says why', async () => {
    // 200,000 tags take far longer than 1 ms to collect: every tick overruns.
    const huge: TraceHeader = { ...header, tickMs: 1, tags: Array.from({ length: 200_000 }, (_, index) => ({ tag: `l/m/t${index}`, kind: 'number' as const })) };
    const lines: string[] = [];
    const host = new ScanHost({ header: huge, tickMs: 1, realtimePriority: 30, logger: capturingLogger(lines), onPoints: () => undefined, onWrite: () => undefined, onAlarm: () => undefined });
    host.start();
    try {
      await until(() => host.stats().realtimeState === 'demoted', 10_000);
      const stats = host.stats();
      expect(stats).toMatchObject({ realtimePolicy: 'SCHED_OTHER', realtimePriority: 0, realtimeReason: expect.stringMatching(/^demoted after \d+ ticks with \d+ overruns in \d+ ms$/) as unknown });
      expect(threadPolicy(stats.threadId)?.policy).toBe('SCHED_OTHER');
      const ticks = stats.ticks;
      await until(() => host.stats().ticks > ticks + 2); // and it keeps scanning
    } finally {
      await host.stop();
    }
    expect(lines).toHaveLength(2); // applied, then demoted
    expect(lines[1]).toContain('scan thread stays SCHED_OTHER at nice -10: demoted after');
  }, 20_000);

  it('keeps scanning at its nice value when chrt is missing, reporting and logging the reason once', async () => {
    const lines: string[] = [];
    const stats = await runScan({ realtimePriority: 30, realtime: { chrtPath: '/nonexistent/chrt' }, logger: capturingLogger(lines) }, (running) => {
      expect(threadPolicy(running.threadId)?.policy).toBe('SCHED_OTHER');
    });
    expect(stats).toMatchObject({ realtimeState: 'failed', realtimePolicy: 'SCHED_OTHER', realtimePriority: 0, realtimeReason: '/nonexistent/chrt not found (install util-linux)' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/warn .*scan thread stays SCHED_OTHER at nice -10: \/nonexistent\/chrt not found/);
  });

  it('keeps scanning when the priority is invalid or the spin too long for realtime, and does nothing when off', async () => {
    const invalid = await runScan({ realtimePriority: 120, logger: capturingLogger([]) });
    expect(invalid).toMatchObject({ realtimeState: 'failed', realtimePolicy: 'SCHED_OTHER', realtimeReason: 'priority 120 is not an integer 1..99' });
    const spinning = await runScan({ realtimePriority: 30, spinUs: 1500, logger: capturingLogger([]) });
    expect(spinning).toMatchObject({ realtimeState: 'failed', realtimeReason: expect.stringContaining('exceeds half the 2 ms period') as unknown });
    const lines: string[] = [];
    const off = await runScan({ realtimePriority: 0, logger: capturingLogger(lines) }, (running) => {
      expect(threadPolicy(running.threadId)?.policy).toBe('SCHED_OTHER');
    });
    expect(off).toMatchObject({ realtimeState: 'off', realtimePolicy: 'SCHED_OTHER', realtimeReason: '' });
    expect(lines).toEqual([]);
  });
});
