/** What the outbox holds. A row is one external effect, delivered after its transaction commits. */

/** A mail as the caller enqueues it. Addresses and text are the caller's: the outbox never logs them. */
export type MailInput = {
  to: string[];
  cc?: string[];
  bcc?: string[];
  subject: string;
  text: string;
  html?: string;
  /** What produced it ('alert', 'approval', 'transfer', …): for the console and metrics. */
  category: string;
  /** The id of the alert, approval, … it belongs to. */
  relatedId?: string | null;
};

/** The stored payload of a 'mail' row. */
export type MailPayload = { to: string[]; cc: string[]; bcc: string[]; subject: string; text: string; html: string | null };

/** The stored payload of a 'webhook' row: the event as the receiver gets it (its id is the row id). */
export type WebhookPayload = { event: { id: string; type: string; at: string } & Record<string, unknown> };

export type OutboxKind = 'mail' | 'webhook';

export type ClaimedRow = { id: string; kind: string; category: string; related_id: string | null; payload: unknown; attempts: number };

/** Delivers one claimed row; throws to have it retried (or `PermanentDeliveryError` to give up at once). */
export type OutboxHandler = (row: ClaimedRow) => Promise<void>;

/** A failure that retrying cannot fix (e.g. a malformed stored payload). */
export class PermanentDeliveryError extends Error {}

export type OutboxStatus = {
  kind: string;
  /** A worker on this node can deliver this kind (mail: a relay is configured). */
  configured: boolean;
  pending: number;
  failed: number;
  sent: number;
  oldestPendingAt: string | null;
  lastError: string | null;
};
