// The engine side of driver scheduling: one loop per device that opens, polls at the device's
// rate without overlapping itself, and on failure marks the device's tags bad and reconnects
// with jittered exponential backoff. A silent device never blocks the tick or another device.
import type { Clock } from '../common/clock.ts';
import type { Logger } from '../common/log.ts';
import type { RandomSource } from '../common/random.ts';
import { MillwrightError } from '../common/errors.ts';
import type { Driver, TagSink } from './drivers/driver.ts';
import { edgeErrors } from './errors.ts';

export interface PollerOptions {
  readonly driver: Driver;
  readonly sink: TagSink;
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly logger: Logger;
  readonly backoffMinMs: number;
  readonly backoffMaxMs: number;
}

export class DevicePoller {
  readonly #options: PollerOptions;
  #running = false;
  #wake: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #loop: Promise<void> | undefined;
  #reconnects = 0;

  constructor(options: PollerOptions) {
    this.#options = options;
  }

  get reconnects(): number {
    return this.#reconnects;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#wake?.();
    await this.#loop;
    await this.#options.driver.close();
  }

  async #run(): Promise<void> {
    const { driver, sink, clock, logger } = this.#options;
    let failures = 0;
    let connected = false;
    while (this.#running) {
      const startedMs = clock.nowMs();
      if (!connected) {
        try {
          await driver.open();
          connected = true;
          if (failures > 0) logger.info(`device ${driver.deviceId} connected again`, { afterFailures: failures });
          failures = 0;
        } catch (error) {
          failures++;
          this.#reconnects++;
          for (let index = 0; index < driver.tags.length; index++) sink.markQuality(index, 'bad', clock.nowMs());
          this.#logFailure(error);
          await this.#sleep(this.#backoffMs(failures));
          continue;
        }
      }
      try {
        await driver.poll(sink);
      } catch (error) {
        this.#logFailure(error);
        const code = error instanceof MillwrightError ? error.code : undefined;
        if (code !== edgeErrors.modbusException.code && driver.health().consecutiveFailures >= 2) {
          // Timeouts twice in a row or a dead socket: start again from a fresh connection.
          connected = false;
          failures = 1;
          await driver.close();
          await this.#sleep(this.#backoffMs(failures));
          continue;
        }
      }
      const elapsedMs = clock.nowMs() - startedMs;
      await this.#sleep(Math.max(0, driver.pollIntervalMs - elapsedMs));
    }
  }

  #backoffMs(failures: number): number {
    const { backoffMinMs, backoffMaxMs, random } = this.#options;
    const ceiling = Math.min(backoffMaxMs, backoffMinMs * 2 ** Math.min(failures - 1, 16));
    return ceiling / 2 + random.next() * (ceiling / 2);
  }

  #logFailure(error: unknown): void {
    const { driver, logger } = this.#options;
    const code = error instanceof MillwrightError ? error.code : 'EDGE_DRIVER_FAILED';
    logger.rateLimited(`device:${driver.deviceId}:${code}`, 10_000, 'warn', (error as Error).message, { device: driver.deviceId, code });
  }

  #sleep(durationMs: number): Promise<void> {
    if (!this.#running) return Promise.resolve();
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#timer = setTimeout(resolve, durationMs);
    });
  }
}
