// CPU time of individual threads of this process (and of peer processes), from /proc/<pid>/task/<tid>/stat (Linux): how a
// bench tells what the scan worker's thread costs apart from the main thread's work. Node 20 has
// no per-thread CPU API, so a bench snapshots the thread ids before starting a worker and treats
// the ids that appear afterwards as the worker's.
import { readdirSync, readFileSync } from 'node:fs';

const ticksPerSecond = 100; // USER_HZ on Linux

export function threadIds(): string[] {
  try {
    return readdirSync(`/proc/${process.pid}/task`);
  } catch {
    return [];
  }
}

/** User + system CPU milliseconds of one thread of this process; 0 once it has gone. */
export function threadCpuMs(tid: string): number {
  try {
    const stat = readFileSync(`/proc/${process.pid}/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
  } catch {
    return 0;
  }
}

/** User + system CPU milliseconds of a whole process (another one, e.g. a peer server). */
export function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
  } catch {
    return 0;
  }
}

export function threadsCpuMs(tids: readonly string[]): number {
  return tids.reduce((sum, tid) => sum + threadCpuMs(tid), 0);
}
