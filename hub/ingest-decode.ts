// Where gateway messages enter the hub: topic, payload and identity checks for data batches (JSON
// version 1 or binary version 2, common/wire-payload.ts) and state messages. Pure functions that
// never throw on bad input; a refusal names the gateway (as far as it is known), the reason, and
// a stable kind the ingest counters are keyed by.
import { isId } from '../common/ids.ts';
import { parseTopic, type StateMessage } from '../common/wire.ts';
import type { DecodedBatch } from '../common/wire-batch.ts';
import { decodeDataPayload } from '../common/wire-payload.ts';

/** A decoded batch whose topic, site and gateway agree. */
export type AcceptedBatch = DecodedBatch;

/**
 * Why a message was refused: a bad topic, a malformed payload (`payload` when what is malformed is
 * a record's payload, a kind of malformed), or a payload naming someone else.
 */
export type RefusalKind = 'topic' | 'malformed' | 'payload' | 'identity';

export type Refusal = { ok: false; gateway: string; kind: RefusalKind; reason: string };
export type Checked<T> = { ok: true; value: T } | Refusal;

function refuse(gateway: string, reason: string, kind: RefusalKind = 'malformed'): Refusal {
  return { ok: false, gateway, kind, reason };
}

function checkAddress(topic: string, kind: 'data' | 'state', site: string): Checked<{ site: string; gateway: string }> {
  const address = parseTopic(topic);
  if (address === undefined || address.kind !== kind) return refuse('?', `unexpected topic '${topic.slice(0, 200)}'`, 'topic');
  if (!isId(address.gateway)) return refuse('?', `gateway id in topic '${topic.slice(0, 200)}' is not a valid id`, 'topic');
  if (address.site !== site) return refuse(address.gateway, `site '${address.site.slice(0, 64)}' in the topic is not this hub's site '${site}'`, 'topic');
  return { ok: true, value: { site: address.site, gateway: address.gateway } };
}

/** Validates a data message: its topic, its payload, and that the two agree on site and gateway. */
export function checkDataMessage(topic: string, payload: Uint8Array, site: string): Checked<AcceptedBatch> {
  const address = checkAddress(topic, 'data', site);
  if (!address.ok) return address;
  const { gateway } = address.value;
  const decoded = decodeDataPayload(payload);
  if (!decoded.ok) return refuse(gateway, `malformed batch (${decoded.code}): ${decoded.reason}`, decoded.code === 'invalid-payload' ? 'payload' : 'malformed');
  const batch = decoded.value;
  if (batch.site !== address.value.site || batch.gateway !== gateway) {
    const reason = `batch names ${batch.site.slice(0, 64)}/${batch.gateway.slice(0, 64)} but arrived on the topic of ${site}/${gateway}`;
    return refuse(gateway, reason, 'identity');
  }
  return { ok: true, value: batch };
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
