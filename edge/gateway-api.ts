// The gateway's local HTTP API: health and the scan, uplink and device statistics for a plant
// engineer's curl or a monitoring agent, and the few operator actions a gateway takes locally
// (install a signed rule bundle, release a quarantined rule, acknowledge a rule alarm). On
// loopback by default; a bundle is accepted only if its signatures verify against the pinned root.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GatewayApi {
  readonly url: string;
  close(): Promise<void>;
}

export interface ApiReply {
  readonly status: number;
  readonly body: unknown;
}

/** Handles a POST; undefined when no route matches. */
export type PostHandler = (path: string, body: Buffer) => ApiReply | undefined;

/** The largest request body accepted (a bundle file is at most 32 MiB by default). */
export const requestBytesMax = 33 * 1024 * 1024;

function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > requestBytesMax) {
        resolve(undefined);
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

export async function startGatewayApi(options: { host: string; port: number }, stats: () => Record<string, unknown>, post?: PostHandler): Promise<GatewayApi> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    const send = (status: number, body: unknown): void => {
      const text = JSON.stringify(body, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
      response.writeHead(status, { 'content-type': 'application/json' }).end(text);
    };
    if (request.method === 'POST' && post !== undefined) {
      readBody(request).then(
        (body) => {
          if (body === undefined) return send(413, { code: 'EDGE_API_TOO_LARGE', message: `request bodies are limited to ${requestBytesMax} bytes` });
          const reply = post(path, body);
          if (reply === undefined) return send(404, { code: 'EDGE_API_NOT_FOUND', message: `no route POST ${path}` });
          send(reply.status, reply.body);
        },
        (error: unknown) => send(400, { code: 'EDGE_API_BAD_REQUEST', message: (error as Error).message }),
      );
      return;
    }
    if (request.method !== 'GET') return send(405, { code: 'EDGE_API_METHOD', message: 'only GET (and POST for operator actions) is supported' });
    if (path === '/api/health') return send(200, { status: 'ok' });
    if (path === '/api/stats') return send(200, stats());
    return send(404, { code: 'EDGE_API_NOT_FOUND', message: `no route ${path}` });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${address.port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
