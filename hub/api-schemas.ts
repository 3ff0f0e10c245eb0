// JSON Schemas for the hub API: request querystrings and response bodies. Fastify validates
// requests with them and serializes responses through them, so a field outside a schema never
// leaves the hub.
import { tagLengthMax } from '../common/point.ts';

export const pointsLimitDefault = 1000;
export const pointsLimitMax = 10_000;

const emptyQuery = { type: 'object', additionalProperties: false, properties: {} } as const;
const value = { type: ['number', 'boolean', 'string'] } as const;
const quality = { type: 'string', enum: ['good', 'uncertain', 'bad'] } as const;
const count = { type: 'integer', minimum: 0 } as const;

export const errorBody = {
  type: 'object',
  additionalProperties: false,
  required: ['statusCode', 'code', 'message'],
  properties: { statusCode: { type: 'integer' }, code: { type: 'string' }, message: { type: 'string' } },
} as const;

const errors = { '4xx': errorBody, '5xx': errorBody } as const;

export const healthSchema = {
  querystring: emptyQuery,
  response: {
    200: {
      type: 'object',
      additionalProperties: false,
      required: ['status', 'site', 'uptimeMs', 'ingest', 'live'],
      properties: {
        status: { type: 'string', enum: ['ok'] },
        site: { type: 'string' },
        uptimeMs: count,
        ingest: {
          type: 'object',
          additionalProperties: false,
          required: ['received', 'stored', 'duplicates', 'rejected', 'queueFullRefusals', 'storeFailures', 'queuedPoints'],
          properties: {
            received: count,
            stored: count,
            duplicates: count,
            rejected: count,
            queueFullRefusals: count,
            storeFailures: count,
            queuedPoints: count,
          },
        },
        live: {
          type: 'object',
          additionalProperties: false,
          required: ['clients', 'slowClientsDropped', 'clientsRefused'],
          properties: { clients: count, slowClientsDropped: count, clientsRefused: count },
        },
      },
    },
    ...errors,
  },
} as const;

export const gatewaysSchema = {
  querystring: emptyQuery,
  response: {
    200: {
      type: 'object',
      additionalProperties: false,
      required: ['gateways'],
      properties: {
        gateways: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['gateway', 'site', 'ackedSeq', 'lastSeenMs', 'state', 'points'],
            properties: {
              gateway: { type: 'string' },
              site: { type: 'string' },
              ackedSeq: { type: 'string', pattern: '^[0-9]+$' },
              lastSeenMs: { type: 'integer' },
              state: { type: 'string', enum: ['online', 'offline', 'unknown'] },
              points: count,
            },
          },
        },
      },
    },
    ...errors,
  },
} as const;

export const machinesSchema = {
  querystring: emptyQuery,
  response: {
    200: {
      type: 'object',
      additionalProperties: false,
      required: ['machines'],
      properties: {
        machines: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['line', 'machine', 'tags'],
            properties: {
              line: { type: 'string' },
              machine: { type: 'string' },
              tags: {
                type: 'array',
                items: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['tag', 'name', 'value', 'quality', 'ts'],
                  properties: { tag: { type: 'string' }, name: { type: 'string' }, value, quality, ts: { type: 'integer' } },
                },
              },
            },
          },
        },
      },
    },
    ...errors,
  },
} as const;

export const pointsSchema = {
  querystring: {
    type: 'object',
    additionalProperties: false,
    required: ['tag'],
    properties: {
      tag: { type: 'string', minLength: 1, maxLength: tagLengthMax, pattern: '^[A-Za-z0-9_][A-Za-z0-9_./-]*$' },
      fromMs: { type: 'integer' },
      toMs: { type: 'integer' },
      limit: { type: 'integer', minimum: 1, maximum: pointsLimitMax, default: pointsLimitDefault },
    },
  },
  response: {
    200: {
      type: 'object',
      additionalProperties: false,
      required: ['points'],
      properties: {
        points: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['gateway', 'seq', 'tag', 'ts', 'value', 'quality'],
            properties: { gateway: { type: 'string' }, seq: { type: 'string', pattern: '^[0-9]+$' }, tag: { type: 'string' }, ts: { type: 'integer' }, value, quality },
          },
        },
      },
    },
    ...errors,
  },
} as const;

export interface PointsQuery {
  readonly tag: string;
  readonly fromMs?: number;
  readonly toMs?: number;
  readonly limit: number;
}

/** The SSE stream is text/event-stream, described for people; errors before it opens are JSON. */
export const liveSchema = {
  querystring: emptyQuery,
  response: { 200: { description: 'text/event-stream of `points` events', type: 'string' }, ...errors },
} as const;

/** Static dashboard files: any querystring (cache busters), the body is the file; errors are JSON. */
export const staticSchema = { response: errors } as const;
