// The protocol-independent half of the Modbus drivers, over a Modbus client (our lean TCP client,
// or modbus-serial's for RTU): the profile is
// batched into as few reads as the protocol allows (modbus-plan.ts), each read's registers are
// decoded per tag with the shared register codec, writes go only to tags the profile marks
// writable, and failures become coded errors and health. A failed read marks its tags bad and is
// reported with the Modbus exception code; it never throws anything uncoded into the engine.
// Transports differ only in which client reaches the device and how (a ModbusLink): modbus-tcp.ts
// connects a socket, modbus-rtu.ts opens a serial port. Everything after connect is the same PDU
// exchange, so it lives here once.
import type { DeviceProfile, ProfileTag } from '../../common/device-profile.ts';
import { MillwrightError } from '../../common/errors.ts';
import { decodeRaw, encodeRaw, fromEngineering, ordersOf, toEngineering, type ByteOrders } from '../../common/register-codec.ts';
import type { Clock } from '../../common/clock.ts';
import { edgeErrors } from '../errors.ts';
import type { Driver, DriverHealth, DriverTag, TagSink } from './driver.ts';
import { isBitArea, planReads, type ReadRequest } from './modbus-plan.ts';

/** The part of a Modbus client the driver uses: modbus-serial's API, which the TCP client mirrors. */
export interface ModbusClientApi {
  readonly isOpen: boolean;
  setTimeout(ms: number): void;
  setID(unitId: number): void;
  on(event: 'error' | 'close', listener: () => void): unknown;
  readCoils(start: number, count: number): Promise<{ data: boolean[] }>;
  readDiscreteInputs(start: number, count: number): Promise<{ data: boolean[] }>;
  readHoldingRegisters(start: number, count: number): Promise<{ data: number[] }>;
  readInputRegisters(start: number, count: number): Promise<{ data: number[] }>;
  writeCoil(address: number, value: boolean): Promise<unknown>;
  writeRegisters(address: number, values: number[]): Promise<unknown>;
  close(callback: () => void): void;
  destroy(callback: () => void): void;
}

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
  /** Reads of one poll in flight at once (Modbus TCP); absent or 1: one after the other. */
  readonly pipelineMax?: number;
}

/** Which client reaches the device and how: the only thing Modbus TCP and RTU do differently. */
export interface ModbusLink<Client extends ModbusClientApi = ModbusClientApi> {
  /** Where the device is, for messages: `10.0.0.5:502`, `/dev/ttyUSB0`. */
  readonly endpoint: string;
  createClient(): Client;
  connect(client: Client): Promise<void>;
}

export class ModbusClientDriver<Client extends ModbusClientApi = ModbusClientApi> implements Driver {
  readonly deviceId: string;
  readonly tags: readonly DriverTag[];
  readonly pollIntervalMs: number;
  readonly #settings: ModbusClientSettings;
  readonly #link: ModbusLink<Client>;
  readonly #profileTags: readonly ProfileTag[];
  readonly #orders: readonly ByteOrders[];
  readonly #plan: readonly ReadRequest[];
  readonly #clock: Clock;
  #client: Client | undefined;
  #health = { connected: false, polls: 0, pollFailures: 0, consecutiveFailures: 0, lastError: undefined as string | undefined, lastErrorCode: undefined as string | undefined };

  constructor(settings: ModbusClientSettings, link: ModbusLink<Client>, profile: DeviceProfile, clock: Clock) {
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
    const client = this.#link.createClient();
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
    const pipelineMax = this.#settings.pipelineMax ?? 1;
    if (pipelineMax > 1 && this.#plan.length > 1) return this.#pollPipelined(client, sink, pipelineMax);
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
    this.#finishPoll(failed);
  }

  /** Counts a poll's outcome in the health and throws its first failure. */
  #finishPoll(failed: MillwrightError | undefined): void {
    if (failed !== undefined) {
      this.#countFailure();
      this.#health.lastError = failed.message;
      this.#health.lastErrorCode = failed.code;
      throw failed;
    }
    this.#health.consecutiveFailures = 0;
  }

  /** A poll with up to pipelineMax reads in flight; answers are applied in plan order. */
  async #pollPipelined(client: Client, sink: TagSink, pipelineMax: number): Promise<void> {
    let failed: MillwrightError | undefined;
    for (let first = 0; first < this.#plan.length; first += pipelineMax) {
      const batch = this.#plan.slice(first, first + pipelineMax);
      const ts = this.#clock.nowMs();
      const answers = await Promise.allSettled(batch.map((request) => this.#fetch(client, request)));
      answers.forEach((answer, index) => {
        const request = batch[index]!;
        if (answer.status === 'fulfilled') return this.#apply(request, answer.value, sink, ts);
        this.#markSlots(sink, request);
        failed ??= this.#describe(answer.reason);
      });
      if (failed !== undefined && failed.code !== edgeErrors.modbusException.code) {
        for (const skipped of this.#plan.slice(first + pipelineMax)) this.#markSlots(sink, skipped);
        break;
      }
    }
    this.#finishPoll(failed);
  }

  #fetch(client: Client, request: ReadRequest): Promise<{ data: readonly (number | boolean)[] }> {
    switch (request.area) {
      case 'coil':
        return client.readCoils(request.start, request.count);
      case 'discrete':
        return client.readDiscreteInputs(request.start, request.count);
      case 'holding':
        return client.readHoldingRegisters(request.start, request.count);
      default:
        return client.readInputRegisters(request.start, request.count);
    }
  }

  async #read(client: Client, request: ReadRequest, sink: TagSink): Promise<void> {
    const ts = this.#clock.nowMs();
    this.#apply(request, await this.#fetch(client, request), sink, ts);
  }

  #apply(request: ReadRequest, result: { data: readonly (number | boolean)[] }, sink: TagSink, ts: number): void {
    if (isBitArea(request.area)) {
      for (const slot of request.slots) sink.write(slot.tagIndex, result.data[slot.offset] === true ? 1 : 0, 'good', ts);
      return;
    }
    const registers = result.data as readonly number[];
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
