// The MQTT contract between gateways and hubs: topic names and the JSON batch payload.
// docs/protocol.md describes the same contract for people and other MQTT clients.
import { isQuality, isTagPath, qualityCode, qualityFromCode, type Point, type Quality } from './point.ts';

export const topicRoot = 'millwright/v1';

export const topics = {
  /** Gateway → hub: batches of sequenced points. */
  data: (site: string, gateway: string) => `${topicRoot}/${site}/${gateway}/data`,
  /** Hub → gateway: the highest contiguous sequence the hub has committed. */
  ack: (site: string, gateway: string) => `${topicRoot}/${site}/${gateway}/ack`,
  /** Gateway birth and death certificates (retained). */
  state: (site: string, gateway: string) => `${topicRoot}/${site}/${gateway}/state`,
  /** Hub → gateway: a signed rule bundle file (QoS 1, not retained); the gateway verifies it itself. */
  bundle: (site: string, gateway: string) => `${topicRoot}/${site}/${gateway}/bundle`,
  /** Subscription filters the hub uses. */
  allData: `${topicRoot}/+/+/data`,
  allState: `${topicRoot}/+/+/state`,
} as const;

export interface TopicAddress {
  readonly site: string;
  readonly gateway: string;
  readonly kind: 'data' | 'ack' | 'state' | 'bundle';
}

export function parseTopic(topic: string): TopicAddress | undefined {
  const parts = topic.split('/');
  if (parts.length !== 5 || `${parts[0]}/${parts[1]}` !== topicRoot) return undefined;
  const [, , site, gateway, kind] = parts as [string, string, string, string, string];
  if (kind !== 'data' && kind !== 'ack' && kind !== 'state' && kind !== 'bundle') return undefined;
  return { site, gateway, kind };
}

/** One record in a batch: [tag, ts, value, qualityCode]; its sequence is firstSeq + index. */
export type WireRecord = [string, number, number | boolean | string, 0 | 1 | 2];

export interface DataBatch {
  readonly v: 1;
  readonly site: string;
  readonly gateway: string;
  /** Sequence number of records[0]; decimal string because sequences are 64-bit. */
  readonly firstSeq: string;
  readonly records: WireRecord[];
}

export interface SequencedPoint extends Point {
  readonly seq: bigint;
}

export function encodeBatch(site: string, gateway: string, firstSeq: bigint, points: readonly Point[]): Buffer {
  const batch: DataBatch = {
    v: 1,
    site,
    gateway,
    firstSeq: firstSeq.toString(),
    records: points.map((point) => [point.tag, point.ts, point.value, qualityCode(point.quality)]),
  };
  return Buffer.from(JSON.stringify(batch));
}

export type DecodeResult<T> = { ok: true; value: T } | { ok: false; error: string };

/** Validates a batch payload field by field; never throws on bad input. */
export function decodeBatch(payload: Buffer | Uint8Array): DecodeResult<{ site: string; gateway: string; points: SequencedPoint[] }> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    return { ok: false, error: 'payload is not JSON' };
  }
  if (typeof parsed !== 'object' || parsed === null) return { ok: false, error: 'payload is not an object' };
  const batch = parsed as Record<string, unknown>;
  if (batch['v'] !== 1) return { ok: false, error: `unsupported payload version ${String(batch['v'])}` };
  const { site, gateway, firstSeq, records } = batch;
  if (typeof site !== 'string' || typeof gateway !== 'string') return { ok: false, error: 'site and gateway must be strings' };
  if (typeof firstSeq !== 'string' || !/^\d{1,20}$/.test(firstSeq)) return { ok: false, error: 'firstSeq must be a decimal string' };
  if (!Array.isArray(records)) return { ok: false, error: 'records must be an array' };
  const first = BigInt(firstSeq);
  const points: SequencedPoint[] = [];
  for (let index = 0; index < records.length; index++) {
    const record: unknown = records[index];
    if (!Array.isArray(record) || record.length !== 4) return { ok: false, error: `records[${index}] must be [tag, ts, value, quality]` };
    const [tag, ts, value, code] = record as unknown[];
    if (typeof tag !== 'string' || !isTagPath(tag)) return { ok: false, error: `records[${index}] has an invalid tag` };
    if (typeof ts !== 'number' || !Number.isFinite(ts)) return { ok: false, error: `records[${index}] has an invalid ts` };
    if (typeof value !== 'number' && typeof value !== 'boolean' && typeof value !== 'string') {
      return { ok: false, error: `records[${index}] has an invalid value` };
    }
    const quality: Quality | undefined = typeof code === 'number' ? qualityFromCode(code) : undefined;
    if (quality === undefined || !isQuality(quality)) return { ok: false, error: `records[${index}] has an invalid quality` };
    points.push({ tag, ts, value, quality, seq: first + BigInt(index) });
  }
  return { ok: true, value: { site, gateway, points } };
}

export interface AckMessage {
  readonly v: 1;
  /** Highest contiguous sequence committed by the hub, as a decimal string. */
  readonly ackedSeq: string;
}

export interface StateMessage {
  readonly v: 1;
  readonly state: 'online' | 'offline';
  readonly ts: number;
}
