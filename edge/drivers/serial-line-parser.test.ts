import { describe, expect, it } from 'vitest';
import { recordingSink } from './fixtures/recording-sink.ts';
import { compileSerialLineConfig, type SerialLineDeviceConfig, type SerialLinePatternConfig } from './serial-line-config.ts';
import { parseDecimal, SerialLineParser, type LineNoise } from './serial-line-parser.ts';

const scalePattern: SerialLinePatternConfig = {
  regex: '^(?<status>ST|US),GS,(?<weight>[+-]? *[0-9.OL-]+) (?<unit>kg|g)$',
  tags: [
    { name: 'weight', group: 'weight', type: 'number' },
    { name: 'stable', group: 'status', type: 'boolean', equals: 'ST' },
  ],
};

function parser(patterns: readonly SerialLinePatternConfig[] = [scalePattern], encoding: 'ascii' | 'latin1' = 'ascii') {
  const config: SerialLineDeviceConfig = { id: 'scale-1', driver: 'serial-line', path: '/dev/null', baudRate: 9600, parity: 'none', dataBits: 8, stopBits: 1, delimiter: '\r\n', lineBytesMax: 32, encoding, staleAfterMs: 1000, pollIntervalMs: 100, patterns };
  const noise: [LineNoise, string][] = [];
  const lineParser = new SerialLineParser(compileSerialLineConfig(config), { delimiter: '\r\n', lineBytesMax: 32, encoding, onNoise: (kind, sample) => noise.push([kind, sample]) });
  const sink = recordingSink();
  const push = (text: string, nowMs = 5): void => lineParser.push(Buffer.from(text, 'latin1'), nowMs, sink);
  return { lineParser, sink, noise, push };
}

describe('parseDecimal', () => {
  it('reads instrument decimals strictly', () => {
    expect(['+0012.34', '-1', ' 7. ', '.5', '+  12.5', '1e3'].map(parseDecimal)).toEqual([12.34, -1, 7, 0.5, 12.5, 1000]);
    expect(['', '+', '0x10', 'Infinity', '1,5', '12.3.4', 'OL', '1e999'].map(parseDecimal)).toEqual(Array(8).fill(undefined));
  });
});

describe('SerialLineParser', () => {
  it('writes the tags of a matching line, good, at the time it arrived', () => {
    const { sink, lineParser, push } = parser();
    push('ST,GS,+0012.34 kg\r\n', 42);
    expect(sink.values).toEqual([12.34, 1]);
    expect(sink.qualities).toEqual(['good', 'good']);
    push('US,GS,-0001.50 kg\r\n');
    expect(sink.values).toEqual([-1.5, 0]);
    expect(lineParser.counters).toMatchObject({ linesMatched: 2, linesUnmatched: 0 });
  });

  it('counts lines that match no pattern, with a sample, and leaves the last good value alone', () => {
    const { sink, lineParser, noise, push } = parser();
    push('ST,GS,+0012.34 kg\r\nMETTLER TOLEDO v1.2\r\n');
    expect(sink.values).toEqual([12.34, 1]);
    expect(sink.qualities).toEqual(['good', 'good']);
    expect(lineParser.counters.linesUnmatched).toBe(1);
    expect(noise).toEqual([['unmatched', '"METTLER TOLEDO v1.2"']]);
  });

  it('counts non-ASCII and NUL lines as garbage without touching tags; latin1 accepts high bytes', () => {
    const { sink, lineParser, push } = parser();
    push('ST,GS,+0001.00 kg\r\n\xff\xfe\x81garbage\r\nST,GS,+00\x0001.00 kg\r\n');
    expect(lineParser.counters).toMatchObject({ linesGarbage: 2, linesMatched: 1 });
    expect(sink.qualities).toEqual(['good', 'good']);
    const latin = parser([{ regex: '^(?<w>\\d+) (?<u>°C)$', tags: [{ name: 'temperature', group: 'w', type: 'number' }] }], 'latin1');
    latin.push('21 \xb0C\r\n');
    expect(latin.sink.values).toEqual([21]);
  });

  it('marks only the tag whose text does not convert bad, and still writes the others of that line', () => {
    const { sink, lineParser, noise, push } = parser();
    push('ST,GS,+0012.34 kg\r\n');
    push('US,GS,+OL.--- kg\r\n', 9);
    expect(sink.qualities).toEqual(['bad', 'good']);
    expect(sink.values).toEqual([12.34, 0]);
    expect(lineParser.counters.valuesUnparsable).toBe(1);
    expect(noise).toEqual([['unparsable', '"weight=+OL.---"']]);
  });

  it('discards an overlong line and parses the next one', () => {
    const { sink, lineParser, push } = parser();
    push(`ST,GS,${'9'.repeat(100)}\r\nST,GS,+0003.00 kg\r\n`);
    expect(lineParser.counters.linesOverlong).toBe(1);
    expect(sink.values).toEqual([3, 1]);
  });

  it('tries patterns in order, applies scale and offset, reads boolean words, and skips groups that did not take part', () => {
    const { sink, push } = parser([
      { regex: '^T=(?<t>\\S+)(?: A=(?<alarm>\\w+))?$', tags: [{ name: 'temperature', group: 't', type: 'number', scale: 0.1, offset: -40 }, { name: 'alarm', group: 'alarm', type: 'boolean' }] },
      { regex: '^(?<raw>T=.*)$', tags: [{ name: 'shadowed', group: 'raw', type: 'number' }] },
    ]);
    push('T=650 A=On\r\n');
    expect(sink.values).toEqual([25, 1]);
    push('T=700\r\n');
    expect(sink.values).toEqual([30, 1]);
    expect(sink.values[2]).toBeUndefined();
  });

  it('forgets a partial line on reset', () => {
    const { sink, lineParser, push } = parser();
    push('ST,GS,+0012');
    lineParser.reset();
    push('.34 kg\r\n');
    expect(sink.values).toEqual([]);
    expect(lineParser.counters.linesUnmatched).toBe(1);
  });
});
