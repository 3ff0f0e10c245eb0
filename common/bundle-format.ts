// The bundle container, one file (all integers big-endian):
//
//   offset 0   8 bytes  magic "MWBUNDLE"
//          8   u16      format version (1)
//         10   u16      flags (0; reserved)
//         12   u32      E = envelope length
//         16   E bytes  envelope: canonical JSON {"signatures":[...],"signed":<manifest>}
//   then per module, in manifest order:
//              u32      W = module length (equals the manifest's `bytes`)
//              W bytes  WebAssembly module
//              u32      R = rule manifest length
//              R bytes  rule manifest, canonical JSON
//   and nothing after the last module.
//
// The reader checks every length against the bytes that remain before reading, so a truncated or
// corrupt file is a coded refusal, never a RangeError.
import { bundleErrors } from './bundle-errors.ts';
import { MillwrightError } from './errors.ts';

export const bundleMagic = new TextEncoder().encode('MWBUNDLE');
export const bundleFormatVersion = 1;
export const headerBytes = 16;

export class ByteReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  #offset = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get offset(): number {
    return this.#offset;
  }

  get remaining(): number {
    return this.#bytes.length - this.#offset;
  }

  u16(what: string): number {
    this.#need(2, what);
    const value = this.#view.getUint16(this.#offset);
    this.#offset += 2;
    return value;
  }

  u32(what: string): number {
    this.#need(4, what);
    const value = this.#view.getUint32(this.#offset);
    this.#offset += 4;
    return value;
  }

  bytes(length: number, what: string): Uint8Array {
    this.#need(length, what);
    const slice = this.#bytes.subarray(this.#offset, this.#offset + length);
    this.#offset += length;
    return slice;
  }

  #need(length: number, what: string): void {
    if (length > this.remaining) {
      throw new MillwrightError(
        bundleErrors.truncated,
        `bundle is truncated: ${what} needs ${length} bytes at offset ${this.#offset}, the file has ${this.remaining} left`,
        { offset: this.#offset, needed: length, remaining: this.remaining },
      );
    }
  }
}

export class ByteWriter {
  readonly #chunks: Uint8Array[] = [];

  u16(value: number): this {
    const chunk = new Uint8Array(2);
    new DataView(chunk.buffer).setUint16(0, value);
    this.#chunks.push(chunk);
    return this;
  }

  u32(value: number): this {
    const chunk = new Uint8Array(4);
    new DataView(chunk.buffer).setUint32(0, value);
    this.#chunks.push(chunk);
    return this;
  }

  bytes(value: Uint8Array): this {
    this.#chunks.push(value);
    return this;
  }

  /** u32 length, then the bytes. */
  block(value: Uint8Array): this {
    return this.u32(value.length).bytes(value);
  }

  finish(): Uint8Array {
    return Buffer.concat(this.#chunks);
  }
}

export function malformed(message: string, details: Record<string, unknown> = {}): MillwrightError {
  return new MillwrightError(bundleErrors.malformed, `bundle is malformed: ${message}`, details);
}
