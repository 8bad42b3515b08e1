/**
 * Webhook delivery (kind 'webhook'): one JSON event per row, POSTed over https with the peer's
 * certificate verified (the configured CA or the system roots). The event id is the outbox row id,
 * sent as `Idempotency-Key` and inside the body: a retry after a lost answer carries the same id, so
 * the receiver applies each event exactly once. Any 2xx is delivered; 408, 429 and 5xx are retried
 * with the outbox's back-off; other 4xx mean the receiver will never take it (given up at once).
 */
import type { DoorWebhookSettings } from '../../platform/context.ts';
import { tlsFetch } from '../../platform/http/tls-fetch.ts';
import { PermanentDeliveryError, type ClaimedRow, type OutboxHandler, type WebhookPayload } from './outbox.types.ts';

function isWebhookPayload(p: unknown): p is WebhookPayload {
  const w = p as WebhookPayload;
  return typeof w === 'object' && w !== null && typeof w.event === 'object' && w.event !== null && typeof w.event.type === 'string' && typeof w.event.id === 'string';
}

/** Destinations by category: today the door controllers only. */
export function webhookHandler(destinations: { door: DoorWebhookSettings | null }): OutboxHandler {
  const fetchers = new Map<string, { settings: DoorWebhookSettings; fetch: ReturnType<typeof tlsFetch> }>();
  if (destinations.door) fetchers.set('door', { settings: destinations.door, fetch: tlsFetch({ ca: destinations.door.ca, cert: destinations.door.cert, key: destinations.door.key, maxBodyBytes: 64 * 1024 }) });
  return async (row: ClaimedRow) => {
    if (!isWebhookPayload(row.payload)) throw new PermanentDeliveryError('stored webhook payload is malformed');
    const dest = fetchers.get(row.category);
    // A category without a destination on this node: retried (it may be configured later), never dropped.
    if (!dest) throw new Error(`no webhook destination for category ${row.category}`);
    const res = await dest.fetch(dest.settings.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'idempotency-key': row.id,
        'x-mamori-event': row.payload.event.type,
        ...(dest.settings.authorization ? { authorization: dest.settings.authorization } : {}),
      },
      body: JSON.stringify(row.payload.event),
    });
    await res.arrayBuffer();
    if (res.status >= 200 && res.status < 300) return;
    const retry = res.status === 408 || res.status === 429 || res.status >= 500;
    const message = `HTTP ${res.status} from the ${row.category} webhook`;
    throw retry ? new Error(message) : new PermanentDeliveryError(message);
  };
}
