// The bounded containers of an MQTT client session: packet identifiers, the window of
// un-acknowledged QoS 1 publishes, and the table of subscriptions. session.ts holds the rules
// that use them; nothing here does I/O.
import { assert } from '../assert.ts';

export const packetIdMax = 65_535;

export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}

/** Identifiers 1..65535, handed out in a wrapping sequence that skips those still in use. */
export class PacketIds {
  readonly #inUse = new Set<number>();
  #next = 1;

  get inUse(): number {
    return this.#inUse.size;
  }

  allocate(): number {
    assert(this.#inUse.size < packetIdMax, 'every packet identifier is in use');
    while (this.#inUse.has(this.#next)) this.#next = (this.#next % packetIdMax) + 1;
    const id = this.#next;
    this.#inUse.add(id);
    this.#next = (id % packetIdMax) + 1;
    return id;
  }

  release(id: number): void {
    this.#inUse.delete(id);
  }
}

export interface InflightPublish {
  readonly id: number;
  /** The PUBLISH as first encoded (DUP clear); a re-send sets DUP on a copy. */
  readonly bytes: Buffer;
  readonly done: Deferred<void>;
}

/**
 * QoS 1 publishes sent and not yet acknowledged, in send order (a Map keeps insertion order, and
 * MQTT asks re-sends to keep the original order). The window never grows past its capacity:
 * the client refuses a publish when it is full instead of queueing it.
 */
export class InflightWindow {
  readonly capacity: number;
  readonly #entries = new Map<number, InflightPublish>();
  #serverLimit: number | undefined;

  constructor(capacity: number) {
    assert(Number.isInteger(capacity) && capacity > 0 && capacity < packetIdMax, `in-flight capacity must be in 1..65534, got ${capacity}`);
    this.capacity = capacity;
  }

  /** The effective limit: our capacity, lowered by an MQTT 5 broker's Receive Maximum. */
  get limit(): number {
    return this.#serverLimit === undefined ? this.capacity : Math.min(this.capacity, this.#serverLimit);
  }

  setServerLimit(receiveMaximum: number | undefined): void {
    this.#serverLimit = receiveMaximum !== undefined && receiveMaximum > 0 ? receiveMaximum : undefined;
  }

  get size(): number {
    return this.#entries.size;
  }

  get full(): boolean {
    return this.#entries.size >= this.limit;
  }

  add(entry: InflightPublish): void {
    assert(!this.full, 'in-flight window overfilled');
    assert(!this.#entries.has(entry.id), `packet id ${entry.id} is already in flight`);
    this.#entries.set(entry.id, entry);
  }

  take(id: number): InflightPublish | undefined {
    const entry = this.#entries.get(id);
    this.#entries.delete(id);
    return entry;
  }

  inSendOrder(): IterableIterator<InflightPublish> {
    return this.#entries.values();
  }

  takeAll(): InflightPublish[] {
    const all = [...this.#entries.values()];
    this.#entries.clear();
    return all;
  }
}

export interface Subscription {
  readonly filter: string;
  qos: 0 | 1;
  /** QoS granted by the last SUBACK, undefined until one arrives on the current connection. */
  granted: 0 | 1 | undefined;
  /** Settled by the next SUBACK; one per filter, so repeated subscribe() calls share it. */
  waiter: Deferred<0 | 1> | undefined;
}

export class SubscriptionTable {
  readonly capacity: number;
  readonly #byFilter = new Map<string, Subscription>();

  constructor(capacity: number) {
    assert(Number.isInteger(capacity) && capacity > 0, `subscription capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
  }

  get size(): number {
    return this.#byFilter.size;
  }

  get(filter: string): Subscription | undefined {
    return this.#byFilter.get(filter);
  }

  /** Adds or updates a filter; undefined when the table is full and the filter is new. */
  upsert(filter: string, qos: 0 | 1): Subscription | undefined {
    const existing = this.#byFilter.get(filter);
    if (existing !== undefined) {
      existing.qos = qos;
      return existing;
    }
    if (this.#byFilter.size >= this.capacity) return undefined;
    const created: Subscription = { filter, qos, granted: undefined, waiter: undefined };
    this.#byFilter.set(filter, created);
    return created;
  }

  remove(filter: string): void {
    this.#byFilter.delete(filter);
  }

  all(): IterableIterator<Subscription> {
    return this.#byFilter.values();
  }
}
