// Server-sent events for the site dashboard: after every ingest flush one `points` event with the
// latest point per tag in that flush goes to every connected client. Each client's unsent bytes are
// bounded: a client that falls behind by more than clientBufferBytesMax is dropped and counted.
import type { ServerResponse } from 'node:http';
import type { LivePoint } from './ingest.ts';

export interface LiveFeedLimits {
  readonly heartbeatIntervalMs: number;
  readonly clientBufferBytesMax: number;
  readonly clientsMax: number;
}

export const liveFeedDefaults: LiveFeedLimits = {
  heartbeatIntervalMs: 15_000,
  clientBufferBytesMax: 1_048_576,
  clientsMax: 64,
};

export interface LiveFeedCounters {
  readonly clients: number;
  readonly slowClientsDropped: number;
  readonly clientsRefused: number;
  readonly eventsSent: number;
}

export class LiveFeed {
  readonly #limits: LiveFeedLimits;
  readonly #clients = new Set<ServerResponse>();
  #heartbeat: NodeJS.Timeout | undefined;
  #slowClientsDropped = 0;
  #clientsRefused = 0;
  #eventsSent = 0;
  #closed = false;

  constructor(limits: Partial<LiveFeedLimits> = {}) {
    this.#limits = { ...liveFeedDefaults, ...limits };
  }

  /** False when the feed is full or closed: the caller answers 503 instead of opening a stream. */
  canAttach(): boolean {
    if (this.#closed || this.#clients.size >= this.#limits.clientsMax) {
      this.#clientsRefused++;
      return false;
    }
    return true;
  }

  /** Takes over a response whose headers are not yet sent and keeps it until either side closes. */
  attach(response: ServerResponse): void {
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    this.#clients.add(response);
    response.on('close', () => this.#detach(response));
    this.#write(response, 'retry: 2000\n: connected\n\n');
    this.#heartbeat ??= setInterval(() => this.#sendAll(': heartbeat\n\n'), this.#limits.heartbeatIntervalMs);
  }

  broadcast(points: readonly LivePoint[]): void {
    if (points.length === 0 || this.#clients.size === 0) return;
    const data = JSON.stringify({ points: points.map(({ tag, ts, value, quality }) => ({ tag, ts, value, quality })) });
    this.#sendAll(`event: points\ndata: ${data}\n\n`);
    this.#eventsSent++;
  }

  counters(): LiveFeedCounters {
    return { clients: this.#clients.size, slowClientsDropped: this.#slowClientsDropped, clientsRefused: this.#clientsRefused, eventsSent: this.#eventsSent };
  }

  /** Ends every stream (so the HTTP server can close) and refuses new ones. Idempotent. */
  close(): void {
    this.#closed = true;
    for (const response of [...this.#clients]) {
      this.#detach(response);
      response.end();
    }
  }

  #sendAll(chunk: string): void {
    for (const response of [...this.#clients]) this.#write(response, chunk);
  }

  #write(response: ServerResponse, chunk: string): void {
    response.write(chunk);
    if (response.writableLength > this.#limits.clientBufferBytesMax) {
      this.#slowClientsDropped++;
      this.#detach(response);
      response.destroy();
    }
  }

  #detach(response: ServerResponse): void {
    this.#clients.delete(response);
    if (this.#clients.size === 0 && this.#heartbeat !== undefined) {
      clearInterval(this.#heartbeat);
      this.#heartbeat = undefined;
    }
  }
}
