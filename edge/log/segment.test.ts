import { describe, expect, it } from 'vitest';
import { resolveLimits } from './log-limits.ts';
import { PendingBatch } from './pending-batch.ts';
import { encodeHeader, formatVersion } from './segment-header.ts';
import { Segment, scanSegment } from './segment.ts';

describe('Segment', () => {
  it('is rebuilt by the recovery scan exactly as the appender built it', () => {
    const limits = resolveLimits({ segmentBytesMax: 64 * 1024, budgetBytes: 1024 * 1024, indexEveryRecords: 8 });
    const header = encodeHeader('gw-1', 500, false);
    const first = new Segment('segment-00000000000000000500.mwlog', { version: formatVersion, thinned: false, gatewayId: 'gw-1', firstSeq: 500, bytes: header.length }, 8);
    const batch = new PendingBatch(first, 'gw-1', limits, () => {});
    for (let index = 0; index < 300; index++) {
      const kind = index % 50 === 7 ? 1 : 0;
      const value = index % 3 === 0 ? index * 0.1 : index % 3 === 1 ? index : index % 2 === 0;
      expect(batch.appendData(kind, 0, 1_767_225_600_000 + index * 7, `line/m${index % 11}/v`, value, kind === 1 ? '{"a":1}' : undefined, kind === 1 ? 7 : 0)).toBe(true);
    }
    const bytes = Buffer.concat([header, ...batch.take().map((chunk) => chunk.sink.bytes())]);
    const scanned = scanSegment(first.name, { version: formatVersion, thinned: false, gatewayId: 'gw-1', firstSeq: 500, bytes: header.length }, bytes, 8);
    expect(scanned.validBytes).toBe(bytes.length);
    first.markDurable();
    expect({ ...scanned.segment }).toEqual({ ...first });
    for (const field of ['tags', 'indexOffsets', 'indexPrevSeqs', 'indexPrevTs', 'lost'] as const) expect(scanned.segment[field]).toEqual(first[field]);
    expect([scanned.segment.lastSeq, scanned.segment.records, scanned.segment.points, scanned.segment.lastTs]).toEqual([799, 301, 294, 1_767_225_600_000 + 299 * 7]); // 300 and a commit marker
  });
});
