import { describe, expect, it } from 'vitest';
import { LineSplitter } from './serial-line-splitter.ts';

function collect(delimiter: string, lineBytesMax: number, chunks: readonly string[]): { lines: string[]; overlong: number; pending: number } {
  const splitter = new LineSplitter(delimiter, lineBytesMax);
  const lines: string[] = [];
  let overlong = 0;
  for (const chunk of chunks) {
    splitter.push(Buffer.from(chunk, 'latin1'), { line: (bytes) => lines.push(bytes.toString('latin1')), overlong: () => overlong++ });
  }
  return { lines, overlong, pending: splitter.pendingBytes };
}

describe('LineSplitter', () => {
  it('cuts CR LF lines and keeps a partial line until its delimiter arrives', () => {
    expect(collect('\r\n', 64, ['ST,GS,+1.00 kg\r\nST,GS,+2', '.00 kg\r', '\nUS'])).toEqual({ lines: ['ST,GS,+1.00 kg', 'ST,GS,+2.00 kg'], overlong: 0, pending: 2 });
  });

  it('finds a CR LF split across one-byte chunks and keeps a lone CR as content', () => {
    const bytes = [...'a\rb\r\r\nc\r\n'];
    expect(collect('\r\n', 64, bytes).lines).toEqual(['a\rb\r', 'c']);
  });

  it('supports LF and CR delimiters, with empty lines passed through', () => {
    expect(collect('\n', 64, ['x\n\ny\n']).lines).toEqual(['x', '', 'y']);
    expect(collect('\r', 64, ['x\ry\r\n']).lines).toEqual(['x', 'y']);
  });

  it('discards a line longer than lineBytesMax up to its delimiter, reports it once, and keeps the next line', () => {
    const result = collect('\r\n', 8, ['12345678\r\n', '123456789', 'abcdefgh'.repeat(100), '\r\nok\r\n']);
    expect(result).toEqual({ lines: ['12345678', 'ok'], overlong: 1, pending: 0 });
  });

  it('never holds more than lineBytesMax bytes for a stream without delimiters', () => {
    const splitter = new LineSplitter('\n', 16);
    let overlong = 0;
    for (let index = 0; index < 1000; index++) splitter.push(Buffer.alloc(4096, 0x41), { line: () => undefined, overlong: () => overlong++ });
    expect(splitter.pendingBytes).toBe(16);
    expect(overlong).toBe(1);
  });
});
