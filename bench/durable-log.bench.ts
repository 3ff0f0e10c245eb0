// Durable points per second through the gateway's store-and-forward log (edge/log) on the real
// disk, in batches of 1,000 points with one commit (one write + one fdatasync) each, measured two
// ways: as the gateway runs (the next batch is appended while the previous commit syncs) and
// strict (the producer waits for every commit). Peer, measured in the same run on the same disk:
// the disk's own sequential write + fdatasync rate for the same bytes in the same chunk sizes
// (fs.writeSync + fs.fdatasyncSync of the average bytes per commit the log wrote, as many times as
// the log committed). The three alternate in slices of 50 commits so that other load on the
// shared machine falls on all alike.
// Goals: log ≥ 50% of the peer's points/s (same bytes) and ≥ 500,000 points/s.
// Also printed: bytes per point on disk; group commit under a producer that never waits for the
// disk (commits grow to what arrives during a sync); the time to reopen (recover) the log
// written; and the read rate for resending. Runs in a temp dir it removes.
// usage: node --import tsx bench/durable-log.bench.ts [--quick]
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../common/clock.ts';
import { createLogger } from '../common/log.ts';
import { seededRandom } from '../common/random.ts';
import { DurableLog } from '../edge/log/durable-log.ts';
import { FsStorage } from '../edge/log/fs-storage.ts';
import type { LogInput } from '../edge/log/log-types.ts';
import { heading, note, printResult, printTable, quick, verdict } from './lib/report.ts';
import { fmt, ratio } from './lib/stats.ts';

const bench = 'durable-log';
const batchPoints = 1000;
const rounds = quick ? 2 : 3;
const roundSeconds = quick ? 0.6 : 1.5;
const sliceCommits = 50;
const pendingRecordsMax = 20_000;
const ratioGoal = 0.5;
const rateGoal = 500_000;
const tagCount = 2000;
const tickMs = 10;
const seed = 20_260_101;

/** 2,000 tags: 60% analog (float64 noise), 20% counters (integers), 20% states (booleans). */
function makeBatches(count: number): LogInput[][] {
  const random = seededRandom(seed);
  const tags = Array.from({ length: tagCount }, (_, index) => `line${index % 10}/machine${Math.floor(index / 10) % 20}/signal${index}`);
  const counters = new Float64Array(tagCount);
  const batches: LogInput[][] = [];
  let ts = 1_767_225_600_000;
  let tag = 0;
  for (let batch = 0; batch < count; batch++) {
    const points: LogInput[] = [];
    for (let index = 0; index < batchPoints; index++) {
      const kind = tag % 5;
      const value = kind < 3 ? 20 + random.gaussian() * 5 : kind === 3 ? (counters[tag]! += random.int(0, 3)) : random.next() < 0.5;
      points.push({ kind: 'point', ts, tag: tags[tag]!, value, quality: 'good' });
      tag = (tag + 1) % tagCount;
      if (tag % 500 === 0) ts += tickMs; // 500 tags change per 10 ms tick
    }
    batches.push(points);
  }
  return batches;
}

interface LogRound {
  readonly points: number;
  readonly seconds: number;
  readonly commits: number;
  readonly bytesWritten: number;
}

const logger = createLogger({ component: 'bench', clock: systemClock, level: 'warn' });

async function openLog(directory: string): Promise<DurableLog> {
  return DurableLog.open({ storage: await FsStorage.open(directory), gatewayId: 'bench-gw', clock: systemClock, logger, limits: { budgetBytes: 8 * 1024 * 1024 * 1024, pendingRecordsMax } });
}

/**
 * Appends `commits` batches of 1,000 points with one commit each. Strict: the producer waits for
 * each commit before appending the next batch. Pipelined: it appends the next batch while the
 * previous commit syncs (each commit still holds exactly one batch), as the gateway's scan does.
 */
async function runLog(log: DurableLog, batches: LogInput[][], commits: number, pipelined: boolean): Promise<LogRound> {
  const before = log.stats();
  const started = performance.now();
  let inFlight: Promise<bigint> | undefined;
  for (let index = 0; index < commits; index++) {
    appendBatch(log, batches);
    if (pipelined) {
      await inFlight;
      inFlight = log.commit();
      await turn(); // the commit writes and hands its fdatasync to the thread pool
    } else {
      await log.commit();
    }
  }
  await inFlight;
  const seconds = (performance.now() - started) / 1000;
  const after = log.stats();
  return { points: commits * batchPoints, seconds, commits: after.commits - before.commits, bytesWritten: after.bytesWritten - before.bytesWritten };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The next of the pre-built batches, round robin. */
let cursor = 0;

function appendBatch(log: DurableLog, batches: LogInput[][]): void {
  const result = log.appendMany(batches[(cursor = (cursor + 1) % batches.length)]!);
  if (result.refusals.length > 0) throw new Error(`append refused: ${result.refusals[0]!.refusal.reason}`);
}

/**
 * Group commit under a producer that never waits for the disk: batches are appended back to
 * back while one commit syncs, and the next commit takes everything appended meanwhile. The
 * producer yields between batches (so completions run) and only waits when the pending limit is near.
 */
async function runGroupCommit(log: DurableLog, batches: LogInput[][], seconds: number): Promise<LogRound> {
  const before = log.stats();
  let inFlight: Promise<unknown> | undefined;
  let points = 0;
  const started = performance.now();
  const until = started + seconds * 1000;
  while (performance.now() < until) {
    if (log.pendingRecords + batchPoints > pendingRecordsMax) await inFlight;
    appendBatch(log, batches);
    points += batchPoints;
    inFlight ??= log.commit().then(() => (inFlight = undefined));
    await turn();
  }
  await log.commit();
  const elapsed = (performance.now() - started) / 1000;
  const after = log.stats();
  return { points, seconds: elapsed, commits: after.commits - before.commits, bytesWritten: after.bytesWritten - before.bytesWritten };
}

/** The disk alone: `commits` chunks of `chunkBytes`, each written then fdatasync'd, appended to one file. */
function runRaw(fd: number, position: number, commits: number, chunkBytes: number): number {
  const chunk = Buffer.alloc(chunkBytes, 0x5a);
  const started = performance.now();
  for (let index = 0; index < commits; index++) {
    writeSync(fd, chunk, 0, chunkBytes, position);
    fdatasyncSync(fd);
    position += chunkBytes;
  }
  return (performance.now() - started) / 1000;
}

async function main(): Promise<void> {
  const directory = mkdtempSync(join(tmpdir(), 'millwright-log-bench-'));
  try {
    const batches = makeBatches(200);
    heading(`durable log: batches of ${batchPoints} points, one commit each, ${rounds} rounds of ${roundSeconds} s, log, disk and strict log alternating every ${sliceCommits} commits, ${tagCount} tags, in ${directory}`);
    const logDirectory = join(directory, 'log');
    const log = await openLog(logDirectory);
    await runLog(log, batches, 200, false); // warm-up: JIT, file cache, first segment
    await runLog(log, batches, 200, true);
    const rawFile = join(directory, 'raw.bin');
    const rawFd = openSync(rawFile, 'w');
    let rawPosition = 0;
    const total = { points: 0, strict: 0, pipelined: 0, raw: 0, commits: 0, bytes: 0 };
    const rows: string[][] = [];
    for (let round = 0; round < rounds; round++) {
      const sum = { points: 0, strict: 0, pipelined: 0, raw: 0, commits: 0, bytes: 0 };
      const until = performance.now() + roundSeconds * 1000;
      while (performance.now() < until) {
        // Slices of 50 commits each, strict, disk, pipelined, so all see the same moments of the shared disk.
        const strict = await runLog(log, batches, sliceCommits, false);
        const chunkBytes = Math.round(strict.bytesWritten / strict.commits);
        sum.raw += runRaw(rawFd, rawPosition, strict.commits, chunkBytes);
        rawPosition += strict.commits * chunkBytes;
        sum.pipelined += (await runLog(log, batches, sliceCommits, true)).seconds;
        sum.points += strict.points;
        sum.strict += strict.seconds;
        sum.commits += strict.commits;
        sum.bytes += strict.bytesWritten;
      }
      for (const key of Object.keys(total) as (keyof typeof total)[]) total[key] += sum[key];
      rows.push([
        String(round + 1),
        fmt(sum.points / sum.pipelined),
        fmt(sum.points / sum.strict),
        fmt(sum.points / sum.raw),
        fmt(sum.raw / sum.pipelined),
        fmt(sum.raw / sum.strict),
        fmt(sum.bytes / sum.commits),
        `${fmt((sum.pipelined / sum.commits) * 1000)} / ${fmt((sum.strict / sum.commits) * 1000)}`,
        fmt((sum.raw / sum.commits) * 1000),
      ]);
    }
    closeSync(rawFd);
    rmSync(rawFile);
    printTable(['round', 'log points/s', 'strict', 'disk points/s (same bytes)', 'ratio', 'ratio strict', 'bytes/commit', 'log ms/commit (strict)', 'disk ms/commit'], rows);
    const logRate = total.points / total.pipelined;
    const strictRate = total.points / total.strict;
    const rawRate = total.points / total.raw;
    const share = ratio(logRate, rawRate);
    const strictShare = ratio(strictRate, rawRate);
    const bytesPerPoint = total.bytes / total.points;
    note(`log (1000 points per commit, next batch appended during the sync): ${fmt(logRate)} durable points/s vs the disk's ${fmt(rawRate)} for the same bytes: ${fmt(share * 100, 4)}% (goal ≥ ${ratioGoal * 100}%): ${verdict(share >= ratioGoal)}`);
    note(`log, strict (each commit awaited before the next batch is appended): ${fmt(strictRate)} points/s: ${fmt(strictShare * 100, 4)}% of the disk (goal ≥ ${ratioGoal * 100}%): ${verdict(strictShare >= ratioGoal)}`);
    note(`log ${fmt(logRate)} durable points/s, strict ${fmt(strictRate)} (goal ≥ ${fmt(rateGoal)}): ${verdict(Math.min(logRate, strictRate) >= rateGoal)}`);
    note(`bytes per point on disk: ${fmt(bytesPerPoint)} (${total.commits} commits of ${fmt(total.bytes / total.commits)} bytes: tag dictionary, varints, float32 when exact, a CRC-32 per record, a commit marker per commit)`);

    const group = await runGroupCommit(log, batches, quick ? 0.5 : 1);
    const groupRate = group.points / group.seconds;
    note(`group commit, producer never waiting for the disk: ${fmt(groupRate)} durable points/s, ${fmt(group.points / group.commits)} points per commit (goal ≥ ${fmt(rateGoal)}): ${verdict(groupRate >= rateGoal)}`);
    const stats = log.stats();
    note(`fdatasync: ${stats.fdatasyncs} calls, mean ${fmt(stats.fdatasyncMsTotal / stats.fdatasyncs)} ms, max ${fmt(stats.fdatasyncMsMax)} ms`);
    await log.close();

    const openStarted = performance.now();
    const reopened = await openLog(logDirectory);
    const openMs = performance.now() - openStarted;
    const reopenedStats = reopened.stats();
    note(`reopen (recovery scan of every segment): ${fmt(openMs)} ms for ${fmt(reopenedStats.usedBytes / 1e6)} MB in ${reopenedStats.segments} segments = ${fmt(reopenedStats.usedBytes / 1e6 / (openMs / 1000))} MB/s`);
    const readStarted = performance.now();
    let read = 0;
    for (let from = 1n; read < 500_000; ) {
      const records = await reopened.read(from, 10_000);
      if (records.length === 0) break;
      read += records.length;
      from = records[records.length - 1]!.seq + 1n;
    }
    const readSeconds = (performance.now() - readStarted) / 1000;
    note(`read for resending: ${fmt(read / readSeconds)} records/s (${fmt(read)} records in batches of 10,000)`);
    await reopened.close();

    printResult({ bench, measure: 'durable points/s, 1000 per commit', value: logRate, unit: 'points/s', reference: 'writeSync+fdatasyncSync of the same bytes', referenceValue: rawRate, ratio: share, goal: `ratio ≥ ${ratioGoal}`, met: share >= ratioGoal });
    printResult({ bench, measure: 'durable points/s, 1000 per commit, strict', value: strictRate, unit: 'points/s', reference: 'writeSync+fdatasyncSync of the same bytes', referenceValue: rawRate, ratio: strictShare, goal: `ratio ≥ ${ratioGoal}`, met: strictShare >= ratioGoal });
    printResult({ bench, measure: 'durable points/s, 1000 per commit (absolute)', value: Math.min(logRate, strictRate), unit: 'points/s', reference: 'goal', referenceValue: rateGoal, ratio: ratio(Math.min(logRate, strictRate), rateGoal), goal: `≥ ${rateGoal}`, met: Math.min(logRate, strictRate) >= rateGoal });
    printResult({ bench, measure: 'durable points/s, group commit (absolute)', value: groupRate, unit: 'points/s', reference: 'goal', referenceValue: rateGoal, ratio: ratio(groupRate, rateGoal), goal: `≥ ${rateGoal}`, met: groupRate >= rateGoal });
    printResult({ bench, measure: 'bytes per point on disk', value: bytesPerPoint, unit: 'bytes', reference: 'JSON wire record (common/wire.ts)', referenceValue: jsonBytesPerPoint(batches), ratio: ratio(bytesPerPoint, jsonBytesPerPoint(batches)) });
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/** Bytes per point of the same points as JSON wire records, for scale. */
function jsonBytesPerPoint(batches: LogInput[][]): number {
  const sample = batches[0]!;
  return JSON.stringify(sample.map((point) => [point.tag, point.ts, point.value, 0])).length / sample.length;
}

await main();
