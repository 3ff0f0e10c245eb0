// A stand-in for the hub in the dashboard's browser test: serves the built dashboard from a
// directory at `/` and answers the API routes from site-fixture.ts; /api/alarms filters its
// records like the hub (window, newest first, limit) and logs every query. On every /api/live
// connection it sends the temperature backlog; the test pushes further events with sendPoints()
// and can cut the stream and refuse reconnects to exercise the "reconnecting" indicator.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import type { LivePoint } from '../lib/wire.ts';
import { alarmRecords, gatewaysResponse, healthResponse, machinesResponse, temperatureBacklog, type AlarmRecordJson } from './site-fixture.ts';

/** The query of one /api/alarms request; a parameter left out is undefined. */
export interface AlarmsRequest {
  fromMs: number | undefined;
  toMs: number | undefined;
  limit: number | undefined;
}

export interface FakeHub {
  url: string;
  /** Time the fixture data is relative to (the server's start), epoch ms. */
  nowMs: number;
  sendPoints(points: LivePoint[]): void;
  /** Stores alarm records, as the hub does before it broadcasts their states. */
  storeAlarmRecords(records: AlarmRecordJson[]): void;
  alarmsRequests(): AlarmsRequest[];
  liveClientCount(): number;
  /** /api/live requests answered 503 while the stream was unavailable. */
  refusedLiveCount(): number;
  /** While false, /api/live answers 503 (EventSource then gives up and the app must retry). */
  setLiveAvailable(available: boolean): void;
  dropLiveClients(): void;
  close(): Promise<void>;
}

/** Reconnect delay the hub asks EventSource to use, in ms (the SSE `retry:` field). */
const sseRetryMs = 300;

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

function sendJson(response: ServerResponse, body: unknown): void {
  response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  response.end(JSON.stringify(body));
}

async function sendStatic(directory: string, urlPath: string, response: ServerResponse): Promise<void> {
  const relativePath = normalize(decodeURIComponent(urlPath === '/' ? '/index.html' : urlPath)).replace(/^[/\\]+/, '');
  const filePath = join(directory, relativePath);
  if (!filePath.startsWith(directory + sep)) {
    response.writeHead(403).end();
    return;
  }
  try {
    const body = await readFile(filePath);
    response.writeHead(200, { 'content-type': contentTypes[extname(filePath)] ?? 'application/octet-stream' });
    response.end(body);
  } catch {
    response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  }
}

export async function startFakeHub(staticDirectory: string): Promise<FakeHub> {
  const startedMs = Date.now();
  const liveClients = new Set<ServerResponse>();
  let liveAvailable = true;
  let refusedLive = 0;
  const storedAlarms = alarmRecords(startedMs);
  const alarmsLog: AlarmsRequest[] = [];

  function answerAlarms(search: URLSearchParams, response: ServerResponse): void {
    const number = (name: string) => (search.has(name) ? Number(search.get(name)) : undefined);
    const query = { fromMs: number('fromMs'), toMs: number('toMs'), limit: number('limit') };
    alarmsLog.push(query);
    const alarms = storedAlarms
      .filter((record) => (query.fromMs === undefined || record.ts >= query.fromMs) && (query.toMs === undefined || record.ts <= query.toMs))
      .sort((a, b) => b.ts - a.ts)
      .slice(0, query.limit ?? 100);
    sendJson(response, { alarms });
  }

  function writeEvent(client: ServerResponse, data: string): void {
    client.write(`event: points\ndata: ${data}\n\n`);
  }

  function openLive(request: IncomingMessage, response: ServerResponse): void {
    if (!liveAvailable) {
      refusedLive += 1;
      response.writeHead(503, { 'content-type': 'text/plain' }).end('live stream unavailable');
      return;
    }
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    response.write(`retry: ${sseRetryMs}\n\n`);
    writeEvent(response, JSON.stringify({ points: temperatureBacklog(startedMs) }));
    liveClients.add(response);
    request.on('close', () => liveClients.delete(response));
  }

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (request.method !== 'GET') response.writeHead(405).end();
    else if (path === '/api/health') sendJson(response, healthResponse(startedMs, Date.now()));
    else if (path === '/api/gateways') sendJson(response, gatewaysResponse(startedMs));
    else if (path === '/api/machines') sendJson(response, machinesResponse(startedMs));
    else if (path === '/api/alarms') answerAlarms(url.searchParams, response);
    else if (path === '/api/live') openLive(request, response);
    else if (path.startsWith('/api/')) response.writeHead(404).end();
    else void sendStatic(staticDirectory, path, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/`,
    nowMs: startedMs,
    sendPoints(points) {
      for (const client of liveClients) writeEvent(client, JSON.stringify({ points }));
    },
    storeAlarmRecords(records) {
      storedAlarms.push(...records);
    },
    alarmsRequests: () => [...alarmsLog],
    liveClientCount: () => liveClients.size,
    refusedLiveCount: () => refusedLive,
    setLiveAvailable(available) {
      liveAvailable = available;
    },
    dropLiveClients() {
      for (const client of liveClients) client.destroy();
      liveClients.clear();
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
