// Bounded line splitter for serial byte streams: bytes go into one buffer of lineBytesMax,
// allocated once, and come out as lines without their delimiter. A delimiter split across chunks
// (CR at the end of one read, LF at the start of the next) is still found. A line that outgrows
// the buffer is discarded whole, up to its delimiter, and reported once; memory never grows with
// what the device sends.
import { assert } from '../../common/assert.ts';

export interface LineHandler {
  /** A complete line; the view is only valid during the call (the buffer is reused). */
  line(bytes: Buffer): void;
  /** A line longer than lineBytesMax started being discarded. */
  overlong(): void;
}

export class LineSplitter {
  readonly #delimiter: Buffer;
  readonly #buffer: Buffer;
  #length = 0;
  /** Delimiter bytes matched so far at the end of the stream. */
  #matched = 0;
  #discarding = false;

  constructor(delimiter: string, lineBytesMax: number) {
    // Only delimiters none of whose proper prefixes is also a suffix, so a failed partial match
    // never hides the start of another: CR LF, LF, CR. Anything else needs a real matcher.
    assert(delimiter === '\r\n' || delimiter === '\n' || delimiter === '\r', `unsupported line delimiter ${JSON.stringify(delimiter)}`);
    assert(Number.isInteger(lineBytesMax) && lineBytesMax > 0, `lineBytesMax must be a positive integer, got ${lineBytesMax}`);
    this.#delimiter = Buffer.from(delimiter, 'latin1');
    this.#buffer = Buffer.alloc(lineBytesMax);
  }

  /** Bytes held for the line in progress (a partial delimiter included). */
  get pendingBytes(): number {
    return this.#length + this.#matched;
  }

  push(chunk: Uint8Array, handler: LineHandler): void {
    const delimiter = this.#delimiter;
    for (const byte of chunk) {
      if (byte === delimiter[this.#matched]) {
        this.#matched++;
        if (this.#matched === delimiter.length) this.#endLine(handler);
        continue;
      }
      // A partial delimiter that did not complete was content (a lone CR inside a CR LF line).
      for (let index = 0; index < this.#matched; index++) this.#append(delimiter[index]!, handler);
      this.#matched = 0;
      if (byte === delimiter[0]) {
        this.#matched = 1;
        if (delimiter.length === 1) this.#endLine(handler);
        continue;
      }
      this.#append(byte, handler);
    }
  }

  /** Forgets the line in progress, e.g. after the port was reopened. */
  reset(): void {
    this.#length = 0;
    this.#matched = 0;
    this.#discarding = false;
  }

  #append(byte: number, handler: LineHandler): void {
    if (this.#discarding) return;
    if (this.#length === this.#buffer.length) {
      this.#discarding = true;
      handler.overlong();
      return;
    }
    this.#buffer[this.#length++] = byte;
  }

  #endLine(handler: LineHandler): void {
    const discarded = this.#discarding;
    const length = this.#length;
    this.reset();
    if (!discarded) handler.line(this.#buffer.subarray(0, length));
  }
}
