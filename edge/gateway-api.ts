// The gateway's local HTTP API: health and the scan, uplink and device statistics, for a plant
// engineer's curl or a monitoring agent. Read-only and on loopback by default.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GatewayApi {
  readonly url: string;
  close(): Promise<void>;
}

export async function startGatewayApi(options: { host: string; port: number }, stats: () => Record<string, unknown>): Promise<GatewayApi> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const send = (status: number, body: unknown): void => {
      const text = JSON.stringify(body, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
      response.writeHead(status, { 'content-type': 'application/json' }).end(text);
    };
    if (request.method !== 'GET') return send(405, { code: 'EDGE_API_METHOD', message: 'only GET is supported' });
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
