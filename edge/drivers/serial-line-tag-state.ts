// The latest value and quality of each tag of an event-driven driver, between the port's data
// events and the engine's sink. Values arrive whenever the device sends; the sink arrives with
// the first poll. Keeping one slot per tag (bounded by the config) lets a sink attached later get
// what already arrived, and lets poll() judge staleness without the engine's help.
import type { Quality } from '../../common/point.ts';
import type { TagSink } from './driver.ts';

export class TagState implements TagSink {
  readonly #values: Float64Array;
  readonly #qualities: (Quality | undefined)[];
  readonly #sourceTsMs: Float64Array;
  readonly #lastGoodMs: Float64Array;
  #target: TagSink | undefined;

  constructor(tagCount: number) {
    this.#values = new Float64Array(tagCount);
    this.#qualities = new Array<Quality | undefined>(tagCount).fill(undefined);
    this.#sourceTsMs = new Float64Array(tagCount);
    this.#lastGoodMs = new Float64Array(tagCount);
  }

  /** Sends writes on to `target` from now on; a new target first gets every tag's current state. */
  attach(target: TagSink): void {
    if (target === this.#target) return;
    this.#target = target;
    for (let index = 0; index < this.#qualities.length; index++) {
      const quality = this.#qualities[index];
      if (quality === undefined) continue;
      target.write(index, this.#values[index]!, quality, this.#sourceTsMs[index]!);
    }
  }

  quality(index: number): Quality | undefined {
    return this.#qualities[index];
  }

  write(index: number, value: number, quality: Quality, sourceTsMs: number): void {
    this.#values[index] = value;
    this.#qualities[index] = quality;
    this.#sourceTsMs[index] = sourceTsMs;
    if (quality === 'good') this.#lastGoodMs[index] = sourceTsMs;
    this.#target?.write(index, value, quality, sourceTsMs);
  }

  markQuality(index: number, quality: Quality, sourceTsMs: number): void {
    if (this.#qualities[index] === quality) return;
    this.#qualities[index] = quality;
    this.#sourceTsMs[index] = sourceTsMs;
    this.#target?.markQuality(index, quality, sourceTsMs);
  }

  markAll(quality: Quality, nowMs: number): void {
    for (let index = 0; index < this.#qualities.length; index++) this.markQuality(index, quality, nowMs);
  }

  /** Good tags whose last good value is at least staleAfterMs old become uncertain. */
  markStale(nowMs: number, staleAfterMs: number): void {
    for (let index = 0; index < this.#qualities.length; index++) {
      if (this.#qualities[index] === 'good' && nowMs - this.#lastGoodMs[index]! >= staleAfterMs) this.markQuality(index, 'uncertain', nowMs);
    }
  }
}
