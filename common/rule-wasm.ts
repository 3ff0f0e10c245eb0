// A small WebAssembly binary reader and writer, just enough for the rule sandbox: split a module
// into sections, read its types, imports, memories, globals, exports and start function, and
// re-encode sections. The gateway checks and instruments modules with this instead of a compiler
// toolchain (binaryen is ~100 MB; the gateway must stay small and see every byte it runs).
import { MillwrightError } from './errors.ts';
import { ruleErrors } from './rule-errors.ts';

export function invalid(message: string): MillwrightError {
  return new MillwrightError(ruleErrors.moduleInvalid, `not a valid rule module: ${message}`);
}

export class ByteReader {
  offset: number;
  constructor(
    readonly bytes: Uint8Array,
    offset = 0,
    readonly end = bytes.length,
  ) {
    this.offset = offset;
  }

  get atEnd(): boolean {
    return this.offset >= this.end;
  }

  u8(): number {
    if (this.offset >= this.end) throw invalid(`unexpected end at byte ${this.offset}`);
    return this.bytes[this.offset++]!;
  }

  /** Unsigned LEB128, at most 32 bits. */
  u32(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = this.u8();
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) {
        if (result > 0xffff_ffff) throw invalid(`integer too large at byte ${this.offset}`);
        return result;
      }
    }
    throw invalid(`integer too long at byte ${this.offset}`);
  }

  /** A signed LEB128 of at most 5 bytes (s32 and s33 immediates), as a number. */
  signed(): number {
    let value = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = this.u8();
      value += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while ((byte & 0x80) !== 0 && shift < 35);
    if ((byte & 0x80) !== 0) throw invalid(`integer too long at byte ${this.offset}`);
    return (byte & 0x40) !== 0 ? value - 2 ** shift : value;
  }

  /** Skips a signed LEB128 of at most `bits` bits (instruction immediates). */
  skipSigned(bits: 32 | 33 | 64): void {
    const bytesMax = Math.ceil(bits / 7);
    for (let count = 0; count < bytesMax; count++) if ((this.u8() & 0x80) === 0) return;
    throw invalid(`integer too long at byte ${this.offset}`);
  }

  skip(count: number): void {
    if (this.offset + count > this.end) throw invalid(`unexpected end at byte ${this.offset}`);
    this.offset += count;
  }

  name(): string {
    const length = this.u32();
    const start = this.offset;
    this.skip(length);
    return new TextDecoder('utf-8', { fatal: true }).decode(this.bytes.subarray(start, start + length));
  }
}

export function encodeU32(value: number): number[] {
  const out: number[] = [];
  let rest = value >>> 0;
  do {
    let byte = rest & 0x7f;
    rest >>>= 7;
    if (rest !== 0) byte |= 0x80;
    out.push(byte);
  } while (rest !== 0);
  return out;
}

export function encodeS32(value: number): number[] {
  const out: number[] = [];
  let rest = value | 0;
  for (;;) {
    const byte = rest & 0x7f;
    rest >>= 7;
    const done = (rest === 0 && (byte & 0x40) === 0) || (rest === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

export function encodeName(name: string): number[] {
  const utf8 = new TextEncoder().encode(name);
  return [...encodeU32(utf8.length), ...utf8];
}

export interface Section {
  readonly id: number;
  /** Content bounds (after the id and size). */
  readonly start: number;
  readonly end: number;
}

export interface FunctionType {
  readonly params: readonly number[];
  readonly results: readonly number[];
}

export interface Limits {
  readonly min: number;
  readonly max: number | undefined;
}

export interface Import {
  readonly module: string;
  readonly name: string;
  /** 0 function, 1 table, 2 memory, 3 global. */
  readonly kind: number;
  readonly typeIndex: number;
  readonly limits?: Limits;
}

export interface Export {
  readonly name: string;
  readonly kind: number;
  readonly index: number;
}

export interface GlobalDef {
  readonly type: number;
  readonly mutable: boolean;
  readonly initStart: number;
  readonly initEnd: number;
}

export interface ParsedModule {
  readonly bytes: Uint8Array;
  readonly sections: readonly Section[];
  readonly types: readonly FunctionType[];
  readonly imports: readonly Import[];
  /** Type index of each function defined in the module. */
  readonly functionTypes: readonly number[];
  readonly importedFunctions: number;
  readonly importedGlobals: number;
  readonly globals: number;
  /** Each defined global's value type, mutability and the byte range of its initialiser (up to and without its `end`). */
  readonly globalDefs: readonly GlobalDef[];
  readonly tables: readonly Limits[];
  readonly memories: readonly Limits[];
  readonly exports: readonly Export[];
  readonly start: number | undefined;
}

const valueTypes = new Set([0x7f, 0x7e, 0x7d, 0x7c, 0x70, 0x6f]);

export function valueType(reader: ByteReader): number {
  const type = reader.u8();
  if (!valueTypes.has(type)) throw invalid(`value type 0x${type.toString(16)} is not allowed (only i32, i64, f32, f64, funcref, externref)`);
  return type;
}

function limits(reader: ByteReader, what: string): Limits {
  const flags = reader.u8();
  if (flags > 1) throw invalid(`${what} is shared or 64-bit (limits flags 0x${flags.toString(16)}); rules use one plain 32-bit memory`);
  const min = reader.u32();
  return { min, max: flags === 1 ? reader.u32() : undefined };
}

/** Skips a constant expression (global initialisers, segment offsets) up to its `end`. */
export function skipConstantExpression(reader: ByteReader): void {
  for (;;) {
    const op = reader.u8();
    if (op === 0x0b) return;
    if (op === 0x41) reader.skipSigned(32);
    else if (op === 0x42) reader.skipSigned(64);
    else if (op === 0x43) reader.skip(4);
    else if (op === 0x44) reader.skip(8);
    else if (op === 0x23) throw invalid('global.get in a constant expression is not allowed (rules import no globals, and the sandbox renumbers the ones they define)');
    else if (op === 0xd2) reader.u32();
    else if (op === 0xd0) reader.u8();
    else if (![0x6a, 0x6b, 0x6c, 0x7c, 0x7d, 0x7e].includes(op)) throw invalid(`opcode 0x${op.toString(16)} in a constant expression`);
  }
}

export function parseModule(bytes: Uint8Array): ParsedModule {
  const reader = new ByteReader(bytes);
  const magic = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  if (bytes.length < 8 || magic.some((byte, index) => bytes[index] !== byte)) throw invalid('missing the \\0asm version 1 header');
  reader.offset = 8;
  const sections: Section[] = [];
  const types: FunctionType[] = [];
  const imports: Import[] = [];
  const functionTypes: number[] = [];
  const tables: Limits[] = [];
  const memories: Limits[] = [];
  const exports: Export[] = [];
  const globalDefs: GlobalDef[] = [];
  let start: number | undefined;
  while (!reader.atEnd) {
    const id = reader.u8();
    const size = reader.u32();
    const section = { id, start: reader.offset, end: reader.offset + size };
    if (section.end > bytes.length) throw invalid(`section ${id} runs past the end of the module`);
    sections.push(section);
    const body = new ByteReader(bytes, section.start, section.end);
    switch (id) {
      case 0:
        break;
      case 1:
        for (let count = body.u32(); count > 0; count--) {
          const form = body.u8();
          if (form !== 0x60) throw invalid(`type form 0x${form.toString(16)} (only function types are allowed)`);
          const params = Array.from({ length: body.u32() }, () => valueType(body));
          const results = Array.from({ length: body.u32() }, () => valueType(body));
          types.push({ params, results });
        }
        break;
      case 2:
        for (let count = body.u32(); count > 0; count--) {
          const module = body.name();
          const name = body.name();
          const kind = body.u8();
          if (kind === 0) imports.push({ module, name, kind, typeIndex: body.u32() });
          else if (kind === 1) imports.push({ module, name, kind, typeIndex: body.u8(), limits: limits(body, 'an imported table') });
          else if (kind === 2) imports.push({ module, name, kind, typeIndex: 0, limits: limits(body, 'the imported memory') });
          else if (kind === 3) {
            imports.push({ module, name, kind, typeIndex: valueType(body) });
            body.u8();
          }
          else throw invalid(`import ${module}.${name} has kind ${kind} (tags and others are not allowed)`);
        }
        break;
      case 3:
        for (let count = body.u32(); count > 0; count--) functionTypes.push(body.u32());
        break;
      case 4:
        for (let count = body.u32(); count > 0; count--) {
          body.u8();
          tables.push(limits(body, 'a table'));
        }
        break;
      case 5:
        for (let count = body.u32(); count > 0; count--) memories.push(limits(body, 'the memory'));
        break;
      case 6:
        for (let count = body.u32(); count > 0; count--) {
          const type = valueType(body);
          const mutable = body.u8() === 1;
          const initStart = body.offset;
          skipConstantExpression(body);
          globalDefs.push({ type, mutable, initStart, initEnd: body.offset - 1 });
        }
        break;
      case 7:
        for (let count = body.u32(); count > 0; count--) exports.push({ name: body.name(), kind: body.u8(), index: body.u32() });
        break;
      case 8:
        start = body.u32();
        break;
      case 9:
      case 10:
      case 11:
      case 12:
        body.offset = body.end;
        break;
      default:
        throw invalid(`section ${id} is not allowed (exception tags and other proposals are refused)`);
    }
    if (id !== 0 && id !== 9 && id !== 10 && id !== 11 && body.offset !== body.end) throw invalid(`section ${id} has ${body.end - body.offset} stray bytes`);
    reader.offset = section.end;
  }
  const importedFunctions = imports.filter((entry) => entry.kind === 0).length;
  const importedGlobals = imports.filter((entry) => entry.kind === 3).length;
  return { bytes, sections, types, imports, functionTypes, importedFunctions, importedGlobals, globals: globalDefs.length, globalDefs, tables, memories, exports, start };
}

/** One section as bytes: id, size, content. */
export function encodeSection(id: number, content: readonly number[] | Uint8Array): Uint8Array {
  const size = encodeU32(content.length);
  const out = new Uint8Array(1 + size.length + content.length);
  out[0] = id;
  out.set(size, 1);
  out.set(content, 1 + size.length);
  return out;
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
