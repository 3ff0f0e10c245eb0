// The site API: buildHubApi() assembles the fastify app (routes, schemas, error mapping, static
// dashboard) without listening, so tests drive it through inject(). hub.ts decides where it listens.
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Clock } from '../common/clock.ts';
import type { Logger } from '../common/log.ts';
import { isMillwrightError } from '../common/errors.ts';
import { alarmsSchema, gatewaysSchema, healthSchema, liveSchema, lostRangesSchema, machinesSchema, pointsSchema, staticSchema, type AlarmsQuery, type LostRangesQuery, type PointsQuery } from './api-schemas.ts';
import { createHash } from 'node:crypto';
import { isId } from '../common/ids.ts';
import type { BrokerLink } from './broker-link.ts';
import { hubError, hubErrors, httpStatusOf } from './errors.ts';
import type { GatewayView, IngestCounters, LivePoint } from './ingest.ts';
import type { LiveFeed } from './live.ts';
import { groupMachines } from './machines.ts';
import { openStaticFile } from './static-files.ts';
import type { HubStore } from './store.ts';

export interface HubApiDeps {
  readonly site: string;
  readonly clock: Clock;
  readonly ingest: {
    counters(): IngestCounters;
    gateways(): GatewayView[];
    latest(): LivePoint[];
  };
  readonly store: Pick<HubStore, 'queryPoints' | 'queryAlarms' | 'pointCounts' | 'queryLostRanges'>;
  /** The MQTT side: its counters, and relaying rule bundles to gateways; absent in tests that build the API alone. */
  readonly broker?: Pick<BrokerLink, 'counters' | 'publishBundle'>;
  readonly live: LiveFeed;
  /** Built dashboard files served at `/`; no static files when absent. */
  readonly uiDir?: string | undefined;
  /** Where server-side (5xx) errors are reported. */
  readonly logger: Logger;
}

export function buildHubApi(deps: HubApiDeps): FastifyInstance {
  const startedNs = deps.clock.monotonicNs();
  // removeAdditional: false makes an unknown query parameter a 400 instead of silently ignoring it.
  const app = Fastify({
    logger: false,
    ajv: { customOptions: { removeAdditional: false } },
    // Requests fastify refuses before routing (malformed URL, bad content type) get the same body.
    // (The cast: fastify types this callback's reply generically over every route's schema.)
    frameworkErrors: (error, _request, reply) => void (reply as unknown as FastifyReply).status(400).send(body(hubErrors.badRequest.code, 400, error.message)),
  });

  app.setErrorHandler((error: FastifyError, _request, reply) => {
    if (error.validation !== undefined) {
      const where = error.validationContext ?? 'request';
      return reply.status(400).send(body(hubErrors.badRequest.code, 400, `${where}: ${error.message}`));
    }
    if (isMillwrightError(error)) {
      const status = httpStatusOf(error.code);
      if (status >= 500) deps.logger.error('api request failed', { code: error.code, error: error.message });
      return reply.status(status).send(body(error.code, status, error.message));
    }
    if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      return reply.status(error.statusCode).send(body(hubErrors.badRequest.code, error.statusCode, error.message));
    }
    deps.logger.error('api internal error', { error: error.stack ?? error.message });
    return reply.status(500).send(body(hubErrors.internal.code, 500, 'internal error'));
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send(body(hubErrors.notFound.code, 404, `no route ${request.method} ${request.url.split('?')[0] ?? ''}`)),
  );

  app.get('/api/health', { schema: healthSchema }, async () => {
    return {
      status: 'ok',
      site: deps.site,
      uptimeMs: Number((deps.clock.monotonicNs() - startedNs) / 1_000_000n),
      ingest: deps.ingest.counters(),
      ...(deps.broker === undefined ? {} : { broker: deps.broker.counters() }),
      live: deps.live.counters(),
    };
  });

  app.get('/api/gateways', { schema: gatewaysSchema }, async () => {
    const counts = await deps.store.pointCounts();
    return {
      gateways: deps.ingest.gateways().map((view) => ({
        ...view,
        ackedSeq: view.ackedSeq.toString(),
        highestSeq: view.highestSeq.toString(),
        missingSeqs: view.missingSeqs.toString(),
        lostSeqs: view.lostSeqs.toString(),
        points: counts.get(view.gateway) ?? 0,
      })),
    };
  });

  app.get('/api/machines', { schema: machinesSchema }, async () => ({ machines: groupMachines(deps.ingest.latest()) }));

  app.get<{ Querystring: PointsQuery }>('/api/points', { schema: pointsSchema }, async (request) => {
    const { tag, fromMs, toMs, limit } = request.query;
    if (fromMs !== undefined && toMs !== undefined && fromMs > toMs) {
      throw hubError(hubErrors.badRequest, `querystring: fromMs ${fromMs} is after toMs ${toMs}`);
    }
    const points = await deps.store.queryPoints({ tag, limit, ...(fromMs === undefined ? {} : { fromMs }), ...(toMs === undefined ? {} : { toMs }) });
    return { points: points.map((point) => ({ ...point, seq: point.seq.toString() })) };
  });

  app.get<{ Querystring: AlarmsQuery }>('/api/alarms', { schema: alarmsSchema }, async (request) => {
    const { gateway, fromMs, toMs, limit } = request.query;
    if (fromMs !== undefined && toMs !== undefined && fromMs > toMs) {
      throw hubError(hubErrors.badRequest, `querystring: fromMs ${fromMs} is after toMs ${toMs}`);
    }
    const alarms = await deps.store.queryAlarms({ limit, ...(gateway === undefined ? {} : { gateway }), ...(fromMs === undefined ? {} : { fromMs }), ...(toMs === undefined ? {} : { toMs }) });
    return {
      alarms: alarms.map(({ gateway: from, seq, tag, ts, value, quality, historical, payload }) => ({
        gateway: from,
        seq: seq.toString(),
        tag,
        ts,
        value,
        quality,
        historical,
        ...alarmDetails(payload),
        ...(payload === undefined ? {} : { payload }),
      })),
    };
  });

  app.get<{ Querystring: LostRangesQuery }>('/api/lost-ranges', { schema: lostRangesSchema }, async (request) => {
    const { gateway, limit } = request.query;
    const ranges = await deps.store.queryLostRanges({ limit, ...(gateway === undefined ? {} : { gateway }) });
    return { lostRanges: ranges.map((range) => ({ gateway: range.gateway, firstSeq: range.first.toString(), lastSeq: range.last.toString(), reportedAtMs: range.reportedAtMs })) };
  });

  app.get('/api/live', { schema: liveSchema }, async (_request, reply) => {
    if (!deps.live.canAttach()) throw hubError(hubErrors.unavailable, 'too many live clients, or the hub is stopping');
    reply.hijack();
    deps.live.attach(reply.raw);
  });

  // Ends open event streams before the server waits for its connections to finish.
  app.addHook('preClose', async () => deps.live.close());

  const uiDir = deps.uiDir;
  app.get('/*', { schema: staticSchema }, async (request, reply) => {
    const urlPath = request.url.split('?')[0] ?? '/';
    if (urlPath === '/api' || urlPath.startsWith('/api/') || uiDir === undefined) {
      throw hubError(hubErrors.notFound, `no route ${request.method} ${urlPath}`);
    }
    const file = await openStaticFile(uiDir, urlPath);
    if (file === undefined) throw hubError(hubErrors.notFound, `no file ${urlPath}`);
    return reply.type(file.contentType).header('content-length', file.sizeBytes).header('cache-control', file.cacheControl).send(file.stream);
  });

  // Rule bundles for a gateway: relayed over MQTT (QoS 1, its persistent session holds it while
  // the gateway is offline). The hub checks only the shape; the gateway verifies signatures itself.
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: bundleRelayBytesMax }, (_request, payload, done) => done(null, payload));
  app.post<{ Params: { gateway: string } }>('/api/gateways/:gateway/bundle', { bodyLimit: bundleRelayBytesMax }, async (request, reply) => {
    const { gateway } = request.params;
    const bundle = request.body;
    if (!isId(gateway)) throw hubError(hubErrors.badRequest, `'${gateway.slice(0, 80)}' is not a gateway id`);
    if (!Buffer.isBuffer(bundle) || bundle.length < 8 || bundle.toString('latin1', 0, 8) !== 'MWBUNDLE') {
      throw hubError(hubErrors.badRequest, 'the body must be a bundle file (content-type application/octet-stream, starting MWBUNDLE)');
    }
    if (!deps.ingest.gateways().some((view) => view.gateway === gateway)) {
      throw hubError(hubErrors.notFound, `gateway ${gateway} has never connected to this hub: it would not receive the bundle`);
    }
    if (deps.broker === undefined) throw hubError(hubErrors.unavailable, 'this hub has no broker link');
    try {
      await deps.broker.publishBundle(deps.site, gateway, bundle);
    } catch (error) {
      throw hubError(hubErrors.unavailable, `the broker did not take the bundle: ${(error as Error).message}`);
    }
    deps.logger.info('bundle relayed', { gateway, bytes: bundle.length });
    return reply.status(202).send({ relayed: { gateway, bytes: bundle.length, sha256: createHash('sha256').update(bundle).digest('hex') } });
  });

  return app;
}

/** Bundles relayed over MQTT stay under the gateways' 1 MiB packet limit; bigger ones go to a gateway's local API. */
export const bundleRelayBytesMax = 1_000_000;

/** Severity and message from an alarm's payload (checked to be a JSON object when it entered); null when absent. */
function alarmDetails(payload: string | undefined): { severity: string | null; message: string | null } {
  let fields: Record<string, unknown> = {};
  try {
    const parsed: unknown = payload === undefined ? undefined : JSON.parse(payload);
    if (typeof parsed === 'object' && parsed !== null) fields = parsed as Record<string, unknown>;
  } catch {
    // Only a database edited by hand holds a payload that is not JSON: it is served, unread.
  }
  return {
    severity: typeof fields['severity'] === 'string' ? fields['severity'] : null,
    message: typeof fields['message'] === 'string' ? fields['message'] : null,
  };
}

function body(code: string, statusCode: number, message: string): { statusCode: number; code: string; message: string } {
  return { statusCode, code, message };
}
