// The append side of the log: encodes each record straight into the pending batch (in the active
// segment's tag dictionary) and rolls to a new segment when a record would take the active one
// past segmentBytesMax or its dictionary is full. The batch is a list of chunks, one per segment
// it touches; a commit takes them all, each ended by a commit marker, and writes each with one
// write call.
import { isTagPath } from '../../common/point.ts';
import { ByteSink } from './byte-sink.ts';
import type { DurableLogLimits } from './log-limits.ts';
import { commitMarkerBytesMax, dataRecordBytesBound, encodeCommit, encodeData } from './record-codec.ts';
import { encodeHeader, formatVersion, segmentName } from './segment-header.ts';
import { Segment } from './segment.ts';

export interface PendingChunk {
  readonly segment: Segment;
  /** File offset of the chunk's first byte. */
  readonly position: number;
  readonly sink: ByteSink;
  /** The chunk starts its file (header included): writing it creates the file. */
  readonly creates: boolean;
  /** The segment's last seq once this chunk is written. */
  lastSeq: number;
  records: number;
}

const sinkBytesInitial = 64 * 1024;
const sparesMax = 2;

export class PendingBatch {
  readonly #gatewayId: string;
  readonly #limits: DurableLogLimits;
  readonly #onSegment: (segment: Segment) => void;
  #active: Segment;
  #tagIds = new Map<string, number>();
  #chunks: PendingChunk[] = [];
  #current: PendingChunk | undefined;
  readonly #spares: ByteSink[] = [];
  /** Records and bytes appended since the last take(). */
  records = 0;
  bytes = 0;
  /** Start a new segment with the next record, so the overflow policy can work on this one. */
  rollRequested = false;

  constructor(active: Segment, gatewayId: string, limits: DurableLogLimits, onSegment: (segment: Segment) => void) {
    this.#active = active;
    this.#gatewayId = gatewayId;
    this.#limits = limits;
    this.#onSegment = onSegment;
    active.tags.forEach((tag, index) => this.#tagIds.set(tag, index + 1));
  }

  get active(): Segment {
    return this.#active;
  }

  /** The seq the next record gets. */
  get nextSeq(): number {
    return this.#active.lastSeq + 1;
  }

  /**
   * Encodes a point, alarm or event with the next seq; `textBytes` are the UTF-8 bytes of its
   * string value and payload. Returns false, appending nothing, when a new tag is not a tag path.
   */
  appendData(kind: 0 | 1 | 2, quality: 0 | 1 | 2, ts: number, tag: string, value: number | boolean | string, payload: string | undefined, textBytes: number): boolean {
    let tagId = this.#tagIds.get(tag);
    if (tagId === undefined && !isTagPath(tag)) return false;
    const bound = dataRecordBytesBound(textBytes + tag.length);
    const active = this.#active;
    if (
      active.appendedBytes + bound > this.#limits.segmentBytesMax ||
      (this.rollRequested && active.records > 0) ||
      (tagId === undefined && active.tags.length >= this.#limits.segmentTagsMax)
    ) {
      this.#roll();
      tagId = undefined;
    }
    const segment = this.#active;
    const chunk = this.#chunkFor(segment, bound);
    const sink = chunk.sink;
    const start = sink.length;
    let newTag: string | undefined;
    if (tagId === undefined) {
      newTag = tag;
      this.#tagIds.set(tag, segment.tags.length + 1);
    }
    const end = encodeData(sink.buffer, start, kind, quality, ts - segment.lastTs, tagId ?? 0, newTag, value, payload);
    segment.noteData(chunk.position + start, chunk.position + end, kind === 0, ts, newTag);
    sink.length = end;
    chunk.lastSeq = segment.lastSeq;
    chunk.records++;
    this.records++;
    this.bytes += end - start;
    return true;
  }

  /** Hands every pending chunk to a commit, each ended by a commit marker; appends after this go into new chunks. */
  take(): PendingChunk[] {
    const chunks = this.#chunks;
    for (const chunk of chunks) {
      if (chunk.records === 0) continue; // a header alone needs no marker
      const sink = chunk.sink;
      sink.reserve(commitMarkerBytesMax);
      const start = sink.length;
      sink.length = encodeCommit(sink.buffer, start, chunk.lastSeq);
      chunk.segment.noteCommit(chunk.position + start, chunk.position + sink.length);
    }
    this.#chunks = [];
    this.#current = undefined;
    this.records = 0;
    this.bytes = 0;
    return chunks;
  }

  /** Returns a written chunk's buffer for reuse. */
  recycle(chunk: PendingChunk): void {
    if (this.#spares.length >= sparesMax || chunk.sink.buffer.length > 4 * sinkBytesInitial) return;
    chunk.sink.length = 0;
    this.#spares.push(chunk.sink);
  }

  #roll(): void {
    const firstSeq = this.nextSeq;
    const header = encodeHeader(this.#gatewayId, firstSeq, false);
    const segment = new Segment(segmentName(firstSeq), { version: formatVersion, thinned: false, gatewayId: this.#gatewayId, firstSeq, bytes: header.length }, this.#limits.indexEveryRecords);
    this.#active = segment;
    this.#tagIds = new Map();
    this.rollRequested = false;
    const chunk = this.#newChunk(segment, 0, true);
    chunk.sink.append(header);
    this.bytes += header.length;
    this.#onSegment(segment);
  }

  #chunkFor(segment: Segment, bytes: number): PendingChunk {
    let chunk = this.#current;
    if (chunk === undefined || chunk.segment !== segment) chunk = this.#newChunk(segment, segment.appendedBytes, false);
    chunk.sink.reserve(bytes);
    return chunk;
  }

  #newChunk(segment: Segment, position: number, creates: boolean): PendingChunk {
    const sink = this.#spares.pop() ?? new ByteSink(sinkBytesInitial);
    const chunk: PendingChunk = { segment, position, sink, creates, lastSeq: segment.lastSeq, records: 0 };
    this.#chunks.push(chunk);
    this.#current = chunk;
    return chunk;
  }
}
