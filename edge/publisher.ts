// Between the scan and the uplink: every point the scan produces gets the next sequence number
// and waits in a bounded queue; each publish interval, queued points go out as batches of at most
// batchPointsMax over QoS 1. When the queue is full the oldest points are dropped and counted
// (the durable log of the store-and-forward issue replaces this with a disk budget). A batch the
// transport refuses (offline, window full) is kept and sent first next time.
import { BoundedQueue } from '../common/bounded-queue.ts';
import type { Logger } from '../common/log.ts';
import type { Point } from '../common/point.ts';
import { encodeBatch, topics } from '../common/wire.ts';
import type { SequenceStore } from './sequence-store.ts';

export interface UplinkTransport {
  publish(topic: string, payload: Buffer, options: { qos: 0 | 1; retain: boolean }): Promise<void>;
  /** False while offline or while the in-flight window is full. */
  canPublish(): boolean;
}

interface QueuedPoint {
  readonly seq: bigint;
  readonly point: Point;
}

interface Batch {
  readonly firstSeq: bigint;
  readonly points: Point[];
}

export interface PublisherStats {
  readonly queued: number;
  readonly dropped: number;
  readonly publishedPoints: number;
  readonly publishedBatches: number;
  readonly refusedBatches: number;
  readonly ackedSeq: string;
}

export class Publisher {
  readonly #site: string;
  readonly #gateway: string;
  readonly #queue: BoundedQueue<QueuedPoint>;
  readonly #sequence: SequenceStore;
  readonly #transport: UplinkTransport;
  readonly #batchPointsMax: number;
  readonly #logger: Logger;
  readonly #retry: Batch[] = [];
  readonly #retryMax: number;
  #publishedPoints = 0;
  #publishedBatches = 0;
  #refusedBatches = 0;
  #ackedSeq = 0n;

  constructor(options: {
    site: string;
    gateway: string;
    sequence: SequenceStore;
    transport: UplinkTransport;
    queuePointsMax: number;
    batchPointsMax: number;
    inflightMax: number;
    logger: Logger;
  }) {
    this.#site = options.site;
    this.#gateway = options.gateway;
    this.#sequence = options.sequence;
    this.#transport = options.transport;
    this.#batchPointsMax = options.batchPointsMax;
    this.#retryMax = options.inflightMax;
    this.#logger = options.logger;
    this.#queue = new BoundedQueue<QueuedPoint>(options.queuePointsMax, 'drop-oldest');
  }

  enqueue(points: readonly Point[]): void {
    if (points.length === 0) return;
    const first = this.#sequence.take(points.length);
    for (let index = 0; index < points.length; index++) this.#queue.push({ seq: first + BigInt(index), point: points[index]! });
  }

  /** Sends what the transport accepts now; called every publish interval. */
  flush(): void {
    while (this.#transport.canPublish()) {
      const batch = this.#retry.shift() ?? this.#nextBatch();
      if (batch === undefined) return;
      this.#send(batch);
    }
  }

  onAck(ackedSeq: bigint): void {
    if (ackedSeq > this.#ackedSeq) this.#ackedSeq = ackedSeq;
  }

  stats(): PublisherStats {
    const counters = this.#queue.counters();
    return {
      queued: this.#queue.length + this.#retry.reduce((sum, batch) => sum + batch.points.length, 0),
      dropped: counters.dropped,
      publishedPoints: this.#publishedPoints,
      publishedBatches: this.#publishedBatches,
      refusedBatches: this.#refusedBatches,
      ackedSeq: this.#ackedSeq.toString(),
    };
  }

  #nextBatch(): Batch | undefined {
    const head = this.#queue.shift();
    if (head === undefined) return undefined;
    const points: Point[] = [head.point];
    // A batch holds consecutive sequences only: after a drop-oldest eviction the next queued
    // point may not follow the previous one, and then it starts a new batch.
    let expected = head.seq + 1n;
    while (points.length < this.#batchPointsMax) {
      const next = this.#queue.peek();
      if (next === undefined || next.seq !== expected) break;
      this.#queue.shift();
      points.push(next.point);
      expected++;
    }
    return { firstSeq: head.seq, points };
  }

  #send(batch: Batch): void {
    const payload = encodeBatch(this.#site, this.#gateway, batch.firstSeq, batch.points);
    this.#transport.publish(topics.data(this.#site, this.#gateway), payload, { qos: 1, retain: false }).then(
      () => {
        this.#publishedPoints += batch.points.length;
        this.#publishedBatches++;
      },
      (error: unknown) => {
        this.#refusedBatches++;
        if (this.#retry.length < this.#retryMax) this.#retry.push(batch);
        else this.#logger.rateLimited('publish-retry-full', 10_000, 'warn', 'uplink retry list full: batch dropped', { firstSeq: batch.firstSeq, points: batch.points.length });
        this.#logger.rateLimited('publish-refused', 10_000, 'warn', `uplink refused a batch: ${(error as Error).message}`);
      },
    );
  }
}
