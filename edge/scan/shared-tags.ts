// The tag table shared between drivers (main thread) and the scan worker, in SharedArrayBuffers.
// Each tag has a seqlock version: a writer makes it odd, writes value, quality and source ts,
// then makes it even again; the scan reads a tag only when the version is even and unchanged
// across its read, so it never sees a torn sample. A tag that is being written at the instant of
// collect is simply picked up at the next tick. Writers never wait and readers never block.
import { qualityCode, type Quality } from '../../common/point.ts';

export interface SharedTagBuffers {
  readonly versions: SharedArrayBuffer;
  readonly values: SharedArrayBuffer;
  readonly qualities: SharedArrayBuffer;
  readonly sourceTsMs: SharedArrayBuffer;
  readonly size: number;
}

export function allocateSharedTags(size: number): SharedTagBuffers {
  return {
    versions: new SharedArrayBuffer(Math.max(1, size) * 4),
    values: new SharedArrayBuffer(Math.max(1, size) * 8),
    qualities: new SharedArrayBuffer(Math.max(1, size)),
    sourceTsMs: new SharedArrayBuffer(Math.max(1, size) * 8),
    size,
  };
}

const bad = qualityCode('bad');

/** The drivers' side. */
export class SharedTagWriter {
  readonly size: number;
  readonly #versions: Int32Array;
  readonly #values: Float64Array;
  readonly #qualities: Uint8Array;
  readonly #sourceTsMs: Float64Array;

  constructor(buffers: SharedTagBuffers) {
    this.size = buffers.size;
    this.#versions = new Int32Array(buffers.versions);
    this.#values = new Float64Array(buffers.values);
    this.#qualities = new Uint8Array(buffers.qualities);
    this.#sourceTsMs = new Float64Array(buffers.sourceTsMs);
    this.#qualities.fill(bad);
  }

  write(index: number, value: number, quality: Quality, sourceTsMs: number): void {
    Atomics.add(this.#versions, index, 1);
    this.#values[index] = value;
    this.#qualities[index] = qualityCode(quality);
    this.#sourceTsMs[index] = sourceTsMs;
    Atomics.add(this.#versions, index, 1);
  }

  /** Changes only the quality (a silent device); a no-op when the quality is already that. */
  markQuality(index: number, quality: Quality, sourceTsMs: number): void {
    const code = qualityCode(quality);
    if (this.#qualities[index] === code) return;
    Atomics.add(this.#versions, index, 1);
    this.#qualities[index] = code;
    this.#sourceTsMs[index] = sourceTsMs;
    Atomics.add(this.#versions, index, 1);
  }
}

/** The scan's side: reads every tag whose version moved since the last collect. */
export class SharedTagReader {
  readonly size: number;
  readonly #versions: Int32Array;
  readonly #values: Float64Array;
  readonly #qualities: Uint8Array;
  readonly #sourceTsMs: Float64Array;
  readonly #seen: Int32Array;

  constructor(buffers: SharedTagBuffers) {
    this.size = buffers.size;
    this.#versions = new Int32Array(buffers.versions);
    this.#values = new Float64Array(buffers.values);
    this.#qualities = new Uint8Array(buffers.qualities);
    this.#sourceTsMs = new Float64Array(buffers.sourceTsMs);
    this.#seen = new Int32Array(buffers.size);
  }

  /** Calls take(index, value, quality, ts) for every tag changed since the last collect. */
  collect(take: (index: number, value: number, quality: number, sourceTsMs: number) => void): void {
    const versions = this.#versions;
    for (let index = 0; index < this.size; index++) {
      const before = Atomics.load(versions, index);
      if (before === this.#seen[index] || (before & 1) === 1) continue;
      const value = this.#values[index]!;
      const quality = this.#qualities[index]!;
      const ts = this.#sourceTsMs[index]!;
      if (Atomics.load(versions, index) !== before) continue;
      this.#seen[index] = before;
      take(index, value, quality, ts);
    }
  }
}
