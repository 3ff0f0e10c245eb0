// JSON Schemas for the hub API: request querystrings and response bodies. Fastify validates
// requests with them and serializes responses through them, so a field outside a schema never
// leaves the hub.
import { idPatternSource } from '../common/ids.ts';
import { tagLengthMax } from '../common/point.ts';
import type { IngestCounters } from './ingest.ts';

export const pointsLimitDefault = 1000;
export const pointsLimitMax = 10_000;
export const alarmsLimitDefault = 100;

const emptyQuery = { type: 'object', additionalProperties: false, properties: {} } as const;
const value = { type: ['number', 'boolean', 'string'] } as const;
const quality = { type: 'string', enum: ['good', 'uncertain', 'bad'] } as const;
const count = { type: 'integer', minimum: 0 } as const;
/** 64-bit sequence numbers and counts of them travel as decimal strings. */
const seqString = { type: 'string', pattern: '^[0-9]+$' } as const;

/** Every IngestCounters field, in the order /api/health lists them. */
export const ingestCounterNames = [
  'received', 'stored', 'storedHistorical', 'duplicates', 'batchesBelowAck', 'rejected', 'rejectedMalformed', 'rejectedPayload', 'rejectedIdentity', 'rejectedTopic',
  'queueFullRefusals', 'storeFailures', 'queuedPoints', 'queuedHistoricalPoints', 'latestTagsRefused', 'gapsDetected', 'lostSeqsDeclared', 'lostRangesDeclared',
] as const satisfies readonly (keyof IngestCounters)[];

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
          required: ingestCounterNames,
          properties: Object.fromEntries(ingestCounterNames.map((name) => [name, count])),
        },
        broker: {
          type: 'object',
          additionalProperties: false,
          required: ['mode', 'connected', 'refusedPublishes', 'clientErrors', 'acksSent', 'acksFailed'],
          properties: {
            mode: { type: 'string', enum: ['embedded', 'external'] },
            connected: { type: 'boolean' },
            refusedPublishes: count,
            clientErrors: count,
            acksSent: count,
            acksFailed: count,
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
            required: ['gateway', 'site', 'ackedSeq', 'highestSeq', 'gaps', 'missingSeqs', 'lostSeqs', 'lastSeenMs', 'state', 'points'],
            properties: {
              gateway: { type: 'string' },
              site: { type: 'string' },
              ackedSeq: seqString,
              highestSeq: seqString,
              gaps: count,
              missingSeqs: seqString,
              lostSeqs: seqString,
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
            required: ['gateway', 'seq', 'kind', 'tag', 'ts', 'value', 'quality', 'historical'],
            properties: {
              gateway: { type: 'string' },
              seq: seqString,
              kind: { type: 'string', enum: ['point', 'alarm', 'event'] },
              tag: { type: 'string' },
              ts: { type: 'integer' },
              value,
              quality,
              historical: { type: 'boolean' },
              payload: { type: 'string', description: 'alarms and events: the JSON object the gateway sent with the record' },
            },
          },
        },
      },
    },
    ...errors,
  },
} as const;

export const alarmsSchema = {
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      gateway: { type: 'string', pattern: idPatternSource },
      fromMs: { type: 'integer' },
      toMs: { type: 'integer' },
      limit: { type: 'integer', minimum: 1, maximum: pointsLimitMax, default: alarmsLimitDefault },
    },
  },
  response: {
    200: {
      type: 'object',
      additionalProperties: false,
      required: ['alarms'],
      properties: {
        alarms: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['gateway', 'seq', 'tag', 'ts', 'value', 'quality', 'historical', 'severity', 'message'],
            properties: {
              gateway: { type: 'string' },
              seq: seqString,
              tag: { type: 'string', description: 'the alarm state tag, {area}/_alarms/{alarm id}' },
              ts: { type: 'integer' },
              value: { ...value, description: 'the alarm state: true raised, false cleared' },
              quality,
              historical: { type: 'boolean' },
              severity: { type: ['string', 'null'], description: "the payload's severity, null when it has none" },
              message: { type: ['string', 'null'], description: "the payload's message, null when it has none" },
              payload: { type: 'string', description: 'the whole JSON object the gateway sent with the alarm' },
            },
          },
        },
      },
    },
    ...errors,
  },
} as const;

export interface AlarmsQuery {
  readonly gateway?: string;
  readonly fromMs?: number;
  readonly toMs?: number;
  readonly limit: number;
}

export interface PointsQuery {
  readonly tag: string;
  readonly fromMs?: number;
  readonly toMs?: number;
  readonly limit: number;
}

export const lostRangesSchema = {
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      gateway: { type: 'string', pattern: idPatternSource },
      limit: { type: 'integer', minimum: 1, maximum: pointsLimitMax, default: pointsLimitDefault },
    },
  },
  response: {
    200: {
      type: 'object',
      additionalProperties: false,
      required: ['lostRanges'],
      properties: {
        lostRanges: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['gateway', 'firstSeq', 'lastSeq', 'reportedAtMs'],
            properties: { gateway: { type: 'string' }, firstSeq: seqString, lastSeq: seqString, reportedAtMs: { type: 'integer' } },
          },
        },
      },
    },
    ...errors,
  },
} as const;

export interface LostRangesQuery {
  readonly gateway?: string;
  readonly limit: number;
}

/** The SSE stream is text/event-stream, described for people; errors before it opens are JSON. */
export const liveSchema = {
  querystring: emptyQuery,
  response: { 200: { description: 'text/event-stream of `points` events', type: 'string' }, ...errors },
} as const;

/** Static dashboard files: any querystring (cache busters), the body is the file; errors are JSON. */
export const staticSchema = { response: errors } as const;
