// Fuel metering and memory guards, written into a rule's function bodies at load time. Every
// function entry and every loop header is charged the instruction count of its straight-line
// region (nested loops excluded), so fuel counts work done, is the same on every machine, and a
// rule that loops forever traps inside its own tick. Each `memory.grow` that fails leaves a mark,
// so the trap that follows is reported as RULE_MEMORY. The instruction decoder accepts the
// features AssemblyScript emits (MVP, sign extension, saturating conversions, bulk memory,
// reference types) and refuses everything else (SIMD, threads, exceptions, tail calls): a module
// we cannot fully read is a module we do not run.
import { trapStatus } from './rule-abi.ts';
import { ByteReader, encodeS32, encodeU32, invalid } from './rule-wasm.ts';

export interface FuelGlobals {
  readonly fuel: number;
  readonly status: number;
}

function blockType(reader: ByteReader): void {
  const first = reader.bytes[reader.offset];
  if (first === 0x40 || first === 0x7f || first === 0x7e || first === 0x7d || first === 0x7c || first === 0x70 || first === 0x6f) reader.offset++;
  else reader.skipSigned(33);
}

/** Reads past one instruction's immediates (the opcode is already read). */
function immediates(reader: ByteReader, op: number): void {
  if (op >= 0x45 && op <= 0xc4) return; // numeric, no immediates
  if (op >= 0x28 && op <= 0x3e) {
    const align = reader.u32();
    if (align >= 64) throw invalid('multi-memory access is not allowed');
    reader.u32();
    return;
  }
  switch (op) {
    case 0x00: case 0x01: case 0x05: case 0x0b: case 0x0f: case 0x1a: case 0x1b: case 0xd1:
      return;
    case 0x02: case 0x03: case 0x04:
      return blockType(reader);
    case 0x0c: case 0x0d: case 0x10: case 0x20: case 0x21: case 0x22: case 0x23: case 0x24: case 0x25: case 0x26: case 0xd2:
      reader.u32();
      return;
    case 0x0e:
      for (let count = reader.u32() + 1; count > 0; count--) reader.u32();
      return;
    case 0x11:
      reader.u32();
      reader.u32();
      return;
    case 0x1c:
      for (let count = reader.u32(); count > 0; count--) reader.u8();
      return;
    case 0x3f: case 0x40:
      if (reader.u8() !== 0) throw invalid('multi-memory is not allowed');
      return;
    case 0x41: return reader.skipSigned(32);
    case 0x42: return reader.skipSigned(64);
    case 0x43: return reader.skip(4);
    case 0x44: return reader.skip(8);
    case 0xd0:
      reader.u8();
      return;
    case 0xfc: {
      const sub = reader.u32();
      if (sub <= 7) return;
      if (sub === 8) { reader.u32(); reader.u8(); return; }
      if (sub === 9 || sub === 13 || sub === 15 || sub === 16 || sub === 17) { reader.u32(); return; }
      if (sub === 10) { reader.u8(); reader.u8(); return; }
      if (sub === 11) { reader.u8(); return; }
      if (sub === 12 || sub === 14) { reader.u32(); reader.u32(); return; }
      throw invalid(`instruction 0xfc ${sub} is not allowed`);
    }
    default: {
      const feature = op === 0xfd ? ' (SIMD)' : op === 0xfe ? ' (threads)' : op >= 0x06 && op <= 0x0a ? ' (exceptions)' : op === 0x12 || op === 0x13 ? ' (tail calls)' : '';
      throw invalid(`instruction 0x${op.toString(16)}${feature} is not allowed`);
    }
  }
}

function charge(cost: number, globals: FuelGlobals): number[] {
  const fuel = encodeU32(globals.fuel);
  const status = encodeU32(globals.status);
  // fuel -= cost; if (fuel < 0) { status = fuel; unreachable }
  return [0x23, ...fuel, 0x41, ...encodeS32(cost), 0x6b, 0x24, ...fuel, 0x23, ...fuel, 0x41, 0x00, 0x48, 0x04, 0x40, 0x41, trapStatus.fuel, 0x24, ...status, 0x00, 0x0b];
}

function growGuard(temp: number, globals: FuelGlobals): number[] {
  const local = encodeU32(temp);
  // (after memory.grow) local.tee t; if (t == -1) status = growFailed; local.get t
  return [0x22, ...local, 0x41, 0x7f, 0x46, 0x04, 0x40, 0x41, trapStatus.memoryGrowFailed, 0x24, ...encodeU32(globals.status), 0x0b, 0x20, ...local];
}

interface Insertion {
  readonly at: number;
  readonly bytes: () => number[];
}

/** Instruments one function body (locals + expression); `params` is its parameter count. */
export function instrumentBody(body: Uint8Array, params: number, globals: FuelGlobals): Uint8Array {
  const reader = new ByteReader(body);
  let locals = 0;
  const groups = reader.u32();
  const groupsStart = reader.offset;
  for (let group = 0; group < groups; group++) {
    locals += reader.u32();
    reader.u8();
  }
  if (params + locals > 50_000) throw invalid('a function has more than 50,000 locals');
  const localsEnd = reader.offset;
  const costs = [0];
  const regions = [0];
  const controls: boolean[] = [];
  const loops: { at: number; cost: number }[] = [];
  const grows: number[] = [];
  let ended = false;
  while (!reader.atEnd) {
    const op = reader.u8();
    costs[regions[regions.length - 1]!]!++;
    immediates(reader, op);
    if (op === 0x02 || op === 0x04) controls.push(false);
    else if (op === 0x03) {
      costs.push(0);
      loops.push({ at: reader.offset, cost: costs.length - 1 });
      regions.push(costs.length - 1);
      controls.push(true);
    } else if (op === 0x40) grows.push(reader.offset);
    else if (op === 0x0b) {
      if (controls.length === 0) {
        ended = true;
        break;
      }
      if (controls.pop() === true) regions.pop();
    }
  }
  if (!ended || !reader.atEnd) throw invalid('a function body does not end where its size says');

  const temp = params + locals;
  const insertions: Insertion[] = [
    ...loops.map((loop) => ({ at: loop.at, bytes: () => charge(costs[loop.cost]!, globals) })),
    ...grows.map((at) => ({ at, bytes: () => growGuard(temp, globals) })),
  ].sort((a, b) => a.at - b.at);
  const out: number[] = [];
  const copy = (from: number, to: number): void => {
    for (let index = from; index < to; index++) out.push(body[index]!);
  };
  if (grows.length > 0) {
    out.push(...encodeU32(groups + 1));
    copy(groupsStart, localsEnd);
    out.push(1, 0x7f);
  } else copy(0, localsEnd);
  out.push(...charge(costs[0]!, globals));
  let copied = localsEnd;
  for (const insertion of insertions) {
    copy(copied, insertion.at);
    out.push(...insertion.bytes());
    copied = insertion.at;
  }
  copy(copied, body.length);
  return Uint8Array.from(out);
}
