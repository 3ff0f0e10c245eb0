// The protocol-independent half of the Modbus drivers, on modbus-serial's client: the profile is
// batched into as few reads as the protocol allows (modbus-plan.ts), each read's registers are
// decoded per tag with the shared register codec, writes go only to tags the profile marks
// writable, and failures become coded errors and health. A failed read marks its tags bad and is
// reported with the Modbus exception code; it never throws anything uncoded into the engine.
// Transports differ only in how the client reaches the device (a ModbusLink): modbus-tcp.ts
// connects a socket, modbus-rtu.ts opens a serial port. Everything after connect is the same PDU
// exchange, so it lives here once.
import ModbusSerial from 'modbus-serial';
import type { ModbusRTU } from 'modbus-serial/ModbusRTU.js';
import type { DeviceProfile, ProfileTag } from '../../common/device-profile.ts';
import { MillwrightError } from '../../common/errors.ts';
import { decodeRaw, encodeRaw, fromEngineering, ordersOf, toEngineering, type ByteOrders } from '../../common/register-codec.ts';
import type { Clock } from '../../common/clock.ts';
import { edgeErrors } from '../errors.ts';
import type { Driver, DriverHealth, DriverTag, TagSink } from './driver.ts';
import { isBitArea, planReads, type ReadRequest } from './modbus-plan.ts';

// modbus-serial is CommonJS; its typings describe the default export as the client class.
const ModbusClient = ModbusSerial as unknown as new () => ModbusRTU;

const exceptionNames: Readonly<Record<number, string>> = {
  1: 'illegal function',
  2: 'illegal data address',
  3: 'illegal data value',
  4: 'server device failure',
  6: 'server device busy',
  10: 'gateway path unavailable',
  11: 'gateway target failed to respond',
};

/** The settings every Modbus transport has; the device configs of both drivers satisfy it. */

/** Longest a close waits for the client library's callback. */
const closeWaitMs = 500;
export interface ModbusClientSettings {
  readonly id: string;
  readonly unitId: number;
  readonly pollIntervalMs: number;
  readonly timeoutMs: number;
  /** Largest gap (in registers) bridged when batching adjacent tags into one request. */
  readonly batchGapMax: number;
}

/** How a client reaches its device: the only thing Modbus TCP and RTU do differently. */
export interface ModbusLink {
  /** Where the device is, for messages: `10.0.0.5:502`, `/dev/ttyUSB0`. */
  readonly endpoint: string;
  connect(client: ModbusRTU): Promise<void>;
}

export class ModbusClientDriver implements Driver {
  readonly deviceId: string;
  readonly tags: readonly DriverTag[];
  readonly pollIntervalMs: number;
  readonly #settings: ModbusClientSettings;
  readonly #link: ModbusLink;
  readonly #profileTags: readonly ProfileTag[];
  readonly #orders: readonly ByteOrders[];
  readonly #plan: readonly ReadRequest[];
  readonly #clock: Clock;
  #client: ModbusRTU | undefined;
  #health = { connected: false, polls: 0, pollFailures: 0, consecutiveFailures: 0, lastError: undefined as string | undefined, lastErrorCode: undefined as string | undefined };

  constructor(settings: ModbusClientSettings, link: ModbusLink, profile: DeviceProfile, clock: Clock) {
    this.deviceId = settings.id;
    this.pollIntervalMs = settings.pollIntervalMs;
    this.#settings = settings;
    this.#link = link;
    this.#clock = clock;
    this.#profileTags = profile.tags;
    this.#orders = profile.tags.map((tag) => ordersOf(tag, { ...(profile.wordOrder && { wordOrder: profile.wordOrder }), ...(profile.byteOrder && { byteOrder: profile.byteOrder }) }));
    this.tags = profile.tags.map((tag) => ({ name: tag.name, kind: tag.type === 'bool' ? 'boolean' : 'number', writable: tag.writable === true }));
    this.#plan = planReads(profile.tags, settings.batchGapMax);
  }

  get requestsPerPoll(): number {
    return this.#plan.length;
  }

  async open(): Promise<void> {
    await this.#closeClient();
    const client = new ModbusClient();
    client.setTimeout(this.#settings.timeoutMs);
    client.setID(this.#settings.unitId);
    client.on('error', () => {
      this.#health.connected = false;
    });
    client.on('close', () => {
      this.#health.connected = false;
    });
    try {
      await this.#link.connect(client);
    } catch (error) {
      this.#fail(edgeErrors.deviceUnreachable.code, `connect to ${this.#link.endpoint} failed: ${(error as Error).message}`);
      client.destroy(() => undefined);
      throw new MillwrightError(edgeErrors.deviceUnreachable, `device ${this.deviceId}: ${this.#health.lastError}`, {}, error);
    }
    this.#client = client;
    this.#health.connected = true;
  }

  async poll(sink: TagSink): Promise<void> {
    const client = this.#client;
    this.#health.polls++;
    if (client === undefined || !client.isOpen) {
      this.#health.connected = false;
      this.#markAll(sink, 'bad');
      this.#countFailure();
      throw new MillwrightError(edgeErrors.deviceUnreachable, `device ${this.deviceId} is not connected`);
    }
    let failed: MillwrightError | undefined;
    for (let requestIndex = 0; requestIndex < this.#plan.length; requestIndex++) {
      const request = this.#plan[requestIndex]!;
      try {
        await this.#read(client, request, sink);
      } catch (error) {
        const failure = this.#describe(error);
        this.#markSlots(sink, request);
        failed ??= failure;
        if (failure.code !== edgeErrors.modbusException.code) {
          // A timeout or a dead link means the rest of this poll would only wait again. The tags
          // left unread are as unknown as the failed ones: a silent device must not leave them good.
          for (const skipped of this.#plan.slice(requestIndex + 1)) this.#markSlots(sink, skipped);
          break;
        }
      }
    }
    if (failed !== undefined) {
      this.#countFailure();
      this.#health.lastError = failed.message;
      this.#health.lastErrorCode = failed.code;
      throw failed;
    }
    this.#health.consecutiveFailures = 0;
  }

  async #read(client: ModbusRTU, request: ReadRequest, sink: TagSink): Promise<void> {
    const ts = this.#clock.nowMs();
    if (isBitArea(request.area)) {
      const result = request.area === 'coil' ? await client.readCoils(request.start, request.count) : await client.readDiscreteInputs(request.start, request.count);
      for (const slot of request.slots) sink.write(slot.tagIndex, result.data[slot.offset] === true ? 1 : 0, 'good', ts);
      return;
    }
    const result = request.area === 'holding' ? await client.readHoldingRegisters(request.start, request.count) : await client.readInputRegisters(request.start, request.count);
    const registers = result.data;
    for (const slot of request.slots) {
      const tag = this.#profileTags[slot.tagIndex]!;
      const value = toEngineering(tag, decodeRaw(tag, registers, slot.offset, this.#orders[slot.tagIndex]!));
      // NaN and infinities from a float register are not values a rule may act on.
      if (Number.isFinite(value)) sink.write(slot.tagIndex, value, 'good', ts);
      else sink.markQuality(slot.tagIndex, 'bad', ts);
    }
  }

  async write(tagName: string, value: number | boolean): Promise<void> {
    const index = this.#profileTags.findIndex((tag) => tag.name === tagName);
    const tag = this.#profileTags[index];
    if (tag === undefined) throw new MillwrightError(edgeErrors.unknownTag, `device ${this.deviceId} has no tag '${tagName}'`);
    if (tag.writable !== true) throw new MillwrightError(edgeErrors.writeNotPermitted, `tag '${this.deviceId}/${tagName}' is not writable in its profile`);
    const client = this.#client;
    if (client === undefined || !client.isOpen) throw new MillwrightError(edgeErrors.deviceUnreachable, `device ${this.deviceId} is not connected`);
    const numeric = typeof value === 'boolean' ? (value ? 1 : 0) : value;
    try {
      if (tag.area === 'coil') {
        await client.writeCoil(tag.address, numeric !== 0);
        return;
      }
      if (tag.area !== 'holding') throw new MillwrightError(edgeErrors.writeNotPermitted, `tag '${this.deviceId}/${tagName}' is in the read-only ${tag.area} area`);
      const raw = fromEngineering(tag, numeric);
      if (raw === undefined) throw new MillwrightError(edgeErrors.writeOutOfRange, `value ${numeric} does not fit ${tag.type} tag '${this.deviceId}/${tagName}'`);
      const registers: number[] = [];
      encodeRaw(tag, raw, registers, 0, this.#orders[index]!);
      await client.writeRegisters(tag.address, registers);
    } catch (error) {
      throw error instanceof MillwrightError ? error : this.#describe(error);
    }
  }

  async close(): Promise<void> {
    await this.#closeClient();
  }

  health(): DriverHealth {
    return { ...this.#health };
  }

  async #closeClient(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    this.#health.connected = false;
    if (client === undefined) return;
    // Closing a link the peer already dropped reports "not open", and modbus-serial's TCP port
    // never calls back when its socket had already closed: never wait past a bound.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, closeWaitMs);
      client.close(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  #markSlots(sink: TagSink, request: ReadRequest): void {
    const ts = this.#clock.nowMs();
    for (const slot of request.slots) sink.markQuality(slot.tagIndex, 'bad', ts);
  }

  #markAll(sink: TagSink, quality: 'bad' | 'uncertain'): void {
    const ts = this.#clock.nowMs();
    for (let index = 0; index < this.tags.length; index++) sink.markQuality(index, quality, ts);
  }

  #countFailure(): void {
    this.#health.pollFailures++;
    this.#health.consecutiveFailures++;
  }

  #fail(code: string, message: string): void {
    this.#health.lastError = message;
    this.#health.lastErrorCode = code;
  }

  #describe(error: unknown): MillwrightError {
    const modbusCode = (error as { modbusCode?: number }).modbusCode;
    if (typeof modbusCode === 'number') {
      return new MillwrightError(edgeErrors.modbusException, `device ${this.deviceId}: Modbus exception ${modbusCode} (${exceptionNames[modbusCode] ?? 'unknown'})`, { modbusCode });
    }
    const message = (error as Error).message ?? String(error);
    if (message === 'Timed out') {
      return new MillwrightError(edgeErrors.deviceTimeout, `device ${this.deviceId}: no answer within ${this.#settings.timeoutMs} ms`);
    }
    this.#health.connected = false;
    return new MillwrightError(edgeErrors.deviceUnreachable, `device ${this.deviceId}: ${message}`);
  }
}
