import { describe, expect, it } from 'vitest';
import { ScanCore } from './scan-core.ts';
import { OutputPrinter, type TraceHeader } from './trace.ts';

const header: TraceHeader = { version: 1, gateway: 'g', tickMs: 10, publishInputs: true, tags: [{ tag: 'l/m/a', kind: 'number' }, { tag: 'l/m/b', kind: 'boolean' }], alarms: [] };

function core(options: { staleUncertainMs?: number; staleBadMs?: number } = {}) {
  const lines: string[] = [];
  const scan = new ScanCore({ tagCount: 2, program: { step: () => undefined }, outputs: new OutputPrinter(header, (line) => lines.push(line)), publishInputs: true, ...options });
  return { scan, lines };
}

describe('ScanCore', () => {
  it('publishes each collected input once per tick, the last sample winning', () => {
    const { scan, lines } = core();
    scan.begin(0, 100);
    scan.input(0, 1, 0, 90);
    scan.input(0, 2, 0, 95);
    scan.input(1, 1, 0, 96);
    scan.run();
    scan.begin(1, 110);
    scan.run();
    expect(lines).toEqual(['tick 0 point l/m/a 2 good 95', 'tick 0 point l/m/b true good 96']);
  });

  it('turns a tag its driver stopped refreshing uncertain, then bad, once each', () => {
    const { scan, lines } = core({ staleUncertainMs: 50, staleBadMs: 200 });
    scan.begin(0, 1000);
    scan.input(0, 7, 0, 1000);
    scan.run();
    for (let tick = 1; tick <= 30; tick++) {
      scan.begin(tick, 1000 + tick * 10);
      scan.run();
    }
    expect(lines).toEqual(['tick 0 point l/m/a 7 good 1000', 'tick 6 point l/m/a 7 uncertain 1000', 'tick 21 point l/m/a 7 bad 1000']);
  });

  it('lets a fresh sample restore good quality', () => {
    const { scan, lines } = core({ staleUncertainMs: 50 });
    scan.begin(0, 1000);
    scan.input(0, 7, 0, 1000);
    scan.run();
    scan.begin(1, 1100);
    scan.run();
    scan.begin(2, 1110);
    scan.input(0, 8, 0, 1110);
    scan.run();
    expect(lines.slice(1)).toEqual(['tick 1 point l/m/a 7 uncertain 1000', 'tick 2 point l/m/a 8 good 1110']);
  });
});
