// A few WebAssembly instructions by name, for the host's own small generated modules (the batch,
// the input scatter): they are small enough to write by hand, and the gateway needs no assembler.
import { encodeS32, encodeU32 } from './rule-wasm.ts';

export const get = (local: number): number[] => [0x20, local];
export const set = (local: number): number[] => [0x21, local];
export const tee = (local: number): number[] => [0x22, local];
export const const32 = (value: number): number[] => [0x41, ...encodeS32(value | 0)];
export const load32 = (offset = 0): number[] => [0x28, 2, ...encodeU32(offset)];
export const load8 = (offset = 0): number[] => [0x2d, 0, ...encodeU32(offset)];
export const loadF64 = (offset = 0): number[] => [0x2b, 3, ...encodeU32(offset)];
export const store32 = (offset = 0): number[] => [0x36, 2, ...encodeU32(offset)];
export const store8 = (offset = 0): number[] => [0x3a, 0, ...encodeU32(offset)];
export const storeF64 = (offset = 0): number[] => [0x39, 3, ...encodeU32(offset)];
export const [add, sub, mul, and, or, xor, shl, shrS, shrU] = [[0x6a], [0x6b], [0x6c], [0x71], [0x72], [0x73], [0x74], [0x75], [0x76]];
export const [eq, ne, ltS, ltU, gtS, geU, eqz] = [[0x46], [0x47], [0x48], [0x49], [0x4a], [0x4f], [0x45]];
export const f64Eq = [0x61];
export const [block, loop, end, select] = [[0x02, 0x40], [0x03, 0x40], [0x0b], [0x1b]];
export const ifVoid = [0x04, 0x40];
export const elseOp = [0x05];
export const br = (depth: number): number[] => [0x0c, depth];
export const brIf = (depth: number): number[] => [0x0d, depth];
/** The canonical quiet NaN, as WebAssembly f64.const. */
export const canonicalNaN = [0x44, 0, 0, 0, 0, 0, 0, 0xf8, 0x7f];
/** value (f64, in `local`) with any NaN replaced by the canonical one. */
export const canonical = (local: number): number[] => [...get(local), ...canonicalNaN, ...get(local), ...get(local), ...f64Eq, ...select];
