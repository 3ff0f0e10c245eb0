import { describe, expect, it } from 'vitest';
import { SimulatedClock } from './clock.ts';
import { createLogger } from './log.ts';

describe('logger', () => {
  it('writes one line with level, component and fields', () => {
    const lines: string[] = [];
    const logger = createLogger({ component: 'edge', clock: new SimulatedClock(0), write: (line) => lines.push(line) });
    logger.warn('device silent', { device: 'm1', code: 'EDGE_DEVICE_TIMEOUT', note: 'two words' });
    expect(lines).toEqual(['1970-01-01T00:00:00.000Z warn  edge: device silent device=m1 code=EDGE_DEVICE_TIMEOUT note="two words"\n']);
  });

  it('drops lines below its level', () => {
    const lines: string[] = [];
    const logger = createLogger({ component: 'x', clock: new SimulatedClock(0), level: 'warn', write: (line) => lines.push(line) });
    logger.info('quiet');
    logger.error('loud');
    expect(lines.length).toBe(1);
  });

  it('rate-limits by key and reports how many lines it suppressed', () => {
    const lines: string[] = [];
    const clock = new SimulatedClock(0);
    const logger = createLogger({ component: 'edge', clock, write: (line) => lines.push(line) });
    for (let i = 0; i < 5; i++) logger.rateLimited('m1', 1000, 'warn', 'timeout');
    logger.rateLimited('m2', 1000, 'warn', 'timeout');
    clock.advanceMs(1000);
    logger.rateLimited('m1', 1000, 'warn', 'timeout');
    expect(lines.length).toBe(3);
    expect(lines[2]).toContain('suppressed=4');
  });
});
