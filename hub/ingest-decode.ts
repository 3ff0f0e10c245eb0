// Where gateway messages enter the hub: topic, payload and identity checks for data batches and
// state messages. Pure functions that never throw on bad input; a refusal names the gateway (as
// far as it is known) and the reason.
import { isId } from '../common/ids.ts';
import { decodeBatch, parseTopic, type StateMessage } from '../common/wire.ts';
import type { StoredPoint } from './store.ts';

export const seqMax = 18_446_744_073_709_551_615n;
/** The range JavaScript dates cover; DuckDB timestamps cover more. */
export const tsAbsMaxMs = 8_640_000_000_000_000;

export interface AcceptedBatch {
  readonly site: string;
  readonly gateway: string;
  readonly points: readonly StoredPoint[];
}

export type Checked<T> = { ok: true; value: T } | { ok: false; gateway: string; reason: string };

function refuse(gateway: string, reason: string): { ok: false; gateway: string; reason: string } {
  return { ok: false, gateway, reason };
}

function checkAddress(topic: string, kind: 'data' | 'state', site: string): Checked<{ site: string; gateway: string }> {
  const address = parseTopic(topic);
  if (address === undefined || address.kind !== kind) return refuse('?', `unexpected topic '${topic.slice(0, 200)}'`);
  if (!isId(address.gateway)) return refuse('?', `gateway id in topic '${topic.slice(0, 200)}' is not a valid id`);
  if (address.site !== site) return refuse(address.gateway, `site '${address.site.slice(0, 64)}' in the topic is not this hub's site '${site}'`);
  return { ok: true, value: { site: address.site, gateway: address.gateway } };
}

/** Validates a data message: its topic, its payload, and that the two agree on site and gateway. */
export function checkDataMessage(topic: string, payload: Uint8Array, site: string): Checked<AcceptedBatch> {
  const address = checkAddress(topic, 'data', site);
  if (!address.ok) return address;
  const { gateway } = address.value;
  const decoded = decodeBatch(payload);
  if (!decoded.ok) return refuse(gateway, `malformed batch: ${decoded.error}`);
  const batch = decoded.value;
  if (batch.site !== address.value.site || batch.gateway !== gateway) {
    return refuse(gateway, `batch names ${batch.site.slice(0, 64)}/${batch.gateway.slice(0, 64)} but arrived on the topic of ${site}/${gateway}`);
  }
  const points: StoredPoint[] = [];
  for (const [index, point] of batch.points.entries()) {
    if (point.seq < 1n || point.seq > seqMax) return refuse(gateway, `malformed batch: records[${index}] has sequence ${point.seq}, outside 1..2^64-1`);
    if (Math.abs(point.ts) > tsAbsMaxMs) return refuse(gateway, `malformed batch: records[${index}] has ts ${point.ts}, outside the date range`);
    points.push({ gateway, seq: point.seq, tag: point.tag, ts: Math.floor(point.ts), value: point.value, quality: point.quality });
  }
  return { ok: true, value: { site, gateway, points } };
}

/** Validates a gateway birth/death message. */
export function checkStateMessage(topic: string, payload: Uint8Array, site: string): Checked<{ gateway: string; message: StateMessage }> {
  const address = checkAddress(topic, 'state', site);
  if (!address.ok) return address;
  const { gateway } = address.value;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    return refuse(gateway, 'malformed state message: payload is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null) return refuse(gateway, 'malformed state message: payload is not an object');
  const { v, state, ts } = parsed as Record<string, unknown>;
  if (v !== 1) return refuse(gateway, `malformed state message: unsupported version ${String(v).slice(0, 20)}`);
  if (state !== 'online' && state !== 'offline') return refuse(gateway, 'malformed state message: state must be online or offline');
  if (typeof ts !== 'number' || !Number.isFinite(ts)) return refuse(gateway, 'malformed state message: ts must be a number');
  return { ok: true, value: { gateway, message: { v: 1, state, ts } } };
}
