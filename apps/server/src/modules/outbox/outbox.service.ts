/**
 * The outbox's use cases: enqueue in the caller's transaction, deliver what is due (any node, any
 * number of them: rows are claimed with SKIP LOCKED and a lease), and report the queue's state.
 */
import type { Clock } from '../../platform/clock.ts';
import type { AppContext } from '../../platform/context.ts';
import type { Executor } from '../../platform/db/database.ts';
import { AppError } from '../../platform/errors.ts';
import { newId } from '../../platform/ids.ts';
import { authorize } from '../access-policy/index.ts';
import type { Actor } from '../identity/index.ts';
import { createMailTransport, describeDeliveryError, mailHandler } from './outbox.mail.ts';
import { outboxRepository } from './outbox.repository.ts';
import { PermanentDeliveryError, type MailInput, type MailPayload, type OutboxHandler, type OutboxStatus, type WebhookPayload } from './outbox.types.ts';
import { webhookHandler } from './outbox.webhook.ts';

/** Attempts before a row is given up as `failed` (it stays visible; nothing is dropped silently). */
export const MAX_ATTEMPTS = 12;
const LEASE_MS = 5 * 60_000;
const BATCH = 20;

/** Exponential back-off: 30 s, 1 min, 2 min, … capped at one hour (12 attempts span about 5 h). */
export function backoffMs(attempts: number): number {
  return Math.min(30_000 * 2 ** Math.max(attempts - 1, 0), 3_600_000);
}

const ADDRESS = /^[^\s@<>(),;:"\\[\]]+@[^\s@<>(),;:"\\[\]]+$/;

/** Whether `enqueueMail` accepts this address (callers filter stored addresses with it). */
export function isMailAddress(a: string): boolean {
  return typeof a === 'string' && a.length <= 254 && ADDRESS.test(a);
}
const MAX_RECIPIENTS = 100;

function invalid(field: string, message: string): AppError {
  return new AppError('request.invalid', message, { field });
}

function checkAddresses(field: string, list: readonly string[] | undefined): string[] {
  const out = [...(list ?? [])];
  for (const a of out) if (!isMailAddress(a)) throw invalid(field, 'An address is not a valid e-mail address.');
  return out;
}

/**
 * Writes a mail into the outbox inside the caller's transaction: if that transaction rolls back,
 * no mail is ever sent. The worker delivers it after commit. Bad input is refused before anything
 * is written (the message names the field, never the value).
 */
export async function enqueueMail(tx: Executor, clock: Clock, mail: MailInput): Promise<string> {
  const to = checkAddresses('to', mail.to);
  const cc = checkAddresses('cc', mail.cc);
  const bcc = checkAddresses('bcc', mail.bcc);
  if (to.length === 0) throw invalid('to', 'A mail needs at least one recipient.');
  if (to.length + cc.length + bcc.length > MAX_RECIPIENTS) throw invalid('to', `At most ${MAX_RECIPIENTS} recipients.`);
  if (typeof mail.subject !== 'string' || mail.subject.length === 0 || mail.subject.length > 250 || /[\r\n]/.test(mail.subject)) {
    throw invalid('subject', 'The subject must be one line of 1–250 characters.');
  }
  if (typeof mail.text !== 'string' || mail.text.length > 1_000_000) throw invalid('text', 'The text must be at most 1,000,000 characters.');
  if (mail.html !== undefined && (typeof mail.html !== 'string' || mail.html.length > 2_000_000)) throw invalid('html', 'The HTML must be at most 2,000,000 characters.');
  if (!/^[a-z][a-z0-9_.-]{0,63}$/.test(mail.category)) throw invalid('category', 'The category must be a short lower-case name.');
  const payload: MailPayload = { to, cc, bcc, subject: mail.subject, text: mail.text, html: mail.html ?? null };
  const id = newId();
  await outboxRepository(tx).insert({ id, kind: 'mail', category: mail.category, relatedId: mail.relatedId ?? null, payload, at: clock.now() });
  return id;
}

/**
 * Writes one event for an outside system (category 'door': the door controllers) inside the
 * caller's transaction. The event's id is the outbox row id: the receiver deduplicates on it.
 */
export async function enqueueWebhook(tx: Executor, clock: Clock, input: { category: 'door'; type: string; relatedId?: string | null; data: Record<string, unknown> }): Promise<string> {
  if (!/^[a-z][a-z0-9_.-]{0,63}$/.test(input.type)) throw invalid('type', 'The event type must be a short lower-case name.');
  const id = newId();
  const at = clock.now();
  const payload: WebhookPayload = { event: { ...input.data, id, type: input.type, at: at.toISOString() } };
  await outboxRepository(tx).insert({ id, kind: 'webhook', category: input.category, relatedId: input.relatedId ?? null, payload, at });
  return id;
}

/** The kinds this node can deliver and how. Mail when a relay is configured; webhooks when a destination is. */
export function outboxHandlers(ctx: AppContext): { handlers: Map<string, OutboxHandler>; close(): void } {
  const handlers = new Map<string, OutboxHandler>();
  if (ctx.door) handlers.set('webhook', webhookHandler({ door: ctx.door }));
  let close = () => undefined as void;
  if (ctx.mail) {
    const transport = createMailTransport(ctx.mail);
    handlers.set('mail', mailHandler(ctx.mail, transport));
    close = () => transport.close();
  }
  return { handlers, close };
}

export type DeliveryReport = { sent: number; retrying: number; failed: number };

/**
 * Claims what is due and delivers it, one row at a time, outside any transaction (a slow relay must
 * not hold the database). Each attempt is counted; a failure records a redacted error and the next
 * attempt time, or gives the row up as `failed` after MAX_ATTEMPTS. Logs carry ids, never addresses.
 */
export async function deliverDue(ctx: AppContext, handlers: ReadonlyMap<string, OutboxHandler>): Promise<DeliveryReport> {
  const report: DeliveryReport = { sent: 0, retrying: 0, failed: 0 };
  const repo = outboxRepository(ctx.db);
  for (;;) {
    const rows = await repo.claim([...handlers.keys()], ctx.clock.now(), LEASE_MS, BATCH);
    for (const row of rows) {
      try {
        await handlers.get(row.kind)!(row);
        await repo.markSent(row.id, ctx.clock.now());
        report.sent++;
      } catch (err) {
        const error = describeDeliveryError(err);
        const giveUp = err instanceof PermanentDeliveryError || row.attempts >= MAX_ATTEMPTS;
        await repo.markFailedAttempt(row.id, error, giveUp ? null : new Date(ctx.clock.now().getTime() + backoffMs(row.attempts)));
        if (giveUp) report.failed++;
        else report.retrying++;
        ctx.logger.warn({ outboxId: row.id, kind: row.kind, attempts: row.attempts, giveUp, error }, 'outbox delivery failed');
      }
    }
    if (rows.length < BATCH) return report;
  }
}

/** The queue per kind, for the console and /metrics: nothing queued is ever invisible. */
export async function readOutboxStatus(ctx: AppContext): Promise<OutboxStatus[]> {
  const repo = outboxRepository(ctx.db);
  const counts = await repo.counts();
  const kinds = new Set<string>(['mail', 'webhook', ...counts.map((c) => c.kind)]);
  const out: OutboxStatus[] = [];
  for (const kind of kinds) {
    const of = (status: string) => counts.find((c) => c.kind === kind && c.status === status);
    const oldest = of('pending')?.oldest ?? null;
    out.push({
      kind,
      configured: kind === 'mail' ? Boolean(ctx.mail) : kind === 'webhook' ? Boolean(ctx.door) : false,
      pending: of('pending')?.n ?? 0,
      failed: of('failed')?.n ?? 0,
      sent: of('sent')?.n ?? 0,
      oldestPendingAt: oldest ? new Date(oldest).toISOString() : null,
      lastError: await repo.lastError(kind),
    });
  }
  return out;
}

/** The queue's state for people (administrators and the security center). */
export async function outboxStatus(ctx: AppContext, actor: Actor): Promise<OutboxStatus[]> {
  await authorize(ctx, { actor, action: 'outbox.read' });
  return readOutboxStatus(ctx);
}
