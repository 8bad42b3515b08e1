/**
 * From approval to the wire. The worker (any node, any number of them) first turns decided approval
 * requests into queued or rejected transmissions — consuming the approval in the same transaction,
 * so it is used once and counted again then — and then delivers what is queued: rows are claimed with
 * FOR UPDATE SKIP LOCKED and a lease, delivered outside any transaction, and settled only by the
 * holder of the lease. TLS is required and the upstream's certificate verified; on any failure
 * nothing is sent, the message stays queued with a stable error code and is retried with back-off.
 */
import type { Transporter } from 'nodemailer';
import type { DeliveryError, DlpKind } from '@mamori/contracts';
import type { AppContext } from '../../platform/context.ts';
import { isAppError } from '../../platform/errors.ts';
import { systemActor } from '../identity/index.ts';
import { appendAudit } from '../audit/index.ts';
import { withApproval } from '../approvals/index.ts';
import { notify } from '../notifications/index.ts';
import { createMailTransport } from '../outbox/index.ts';
import { recordTransmissionProvision } from '../extraction/index.ts';
import { openContent } from './transmissions.content.ts';
import { transmissionsRepository } from './transmissions.repository.ts';
import type { RelaySettings } from './transmissions.service.ts';

export const MAX_DELIVERY_ATTEMPTS = 12;
const LEASE_MS = 5 * 60_000;
const BATCH = 10;
const system = () => systemActor({ ip: null, userAgent: 'mamori-transmissions', deviceId: null });
const LINK = (id: string) => `/transmissions/mine?transmission=${id}`;

/** 30 s, 1 min, 2 min, … capped at one hour. */
export function retryDelayMs(attempts: number): number {
  return Math.min(30_000 * 2 ** Math.max(attempts - 1, 0), 3_600_000);
}

/**
 * What went wrong, as a stable code: no TLS offered (or a downgrade), a certificate that did not
 * verify, an upstream that could not be reached, or one that refused the message.
 */
export function classifyDeliveryError(err: unknown): DeliveryError {
  const e = err as { code?: unknown; message?: unknown; responseCode?: unknown; reason?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  const text = `${typeof e.message === 'string' ? e.message : ''} ${typeof e.reason === 'string' ? e.reason : ''}`;
  if (/certificate|self[- ]signed|CERT_|unable to verify|UNABLE_TO_|altnames|hostname\/IP does not match/i.test(`${code} ${text}`)) return 'relay.bad_certificate';
  if (code === 'ETLS' || /STARTTLS|TLS/i.test(text)) return 'relay.no_tls';
  if (code === 'EENVELOPE' || code === 'EMESSAGE' || (typeof e.responseCode === 'number' && e.responseCode >= 500)) return 'relay.rejected';
  return 'relay.unreachable';
}

/** Decided approval requests: approved → queued (the approval consumed), rejected / cancelled / expired → rejected. */
export async function advanceApprovals(ctx: AppContext): Promise<{ queued: number; rejected: number }> {
  const repo = transmissionsRepository(ctx.db);
  const out = { queued: 0, rejected: 0 };
  for (const w of await repo.awaitingApproval(200)) {
    if (w.request_state === 'approved') {
      try {
        await withApproval(ctx, system(), w.approval_request_id, { kind: 'transmission', ref: w.id }, async (tx) => {
          const trepo = transmissionsRepository(tx);
          const now = ctx.clock.now();
          const approvers = await trepo.approversOf(w.approval_request_id);
          if (!(await trepo.transition(w.id, ['pending_approval'], { state: 'queued', approved_by: approvers, decided_at: now, next_attempt_at: now }))) {
            throw new Error('transmission changed while its approval was being used');
          }
          await appendAudit(tx, ctx.clock, system(), {
            action: 'transmission.deliver', decision: 'allow', rule: 'system.operator', reason: 'Approved transmission queued for delivery', result: 'ok',
            details: { transmissionId: w.id, requestId: w.approval_request_id, phase: 'approved', from: 'pending_approval', to: 'queued' },
          });
        });
        out.queued++;
      } catch (e) {
        if (!isAppError(e)) throw e;
        // Refused use (expired, or its approvers no longer count: the request went back to pending): audited by the engine.
        if ((e.details as { rule?: string } | undefined)?.rule === 'approval.expired' && (await close(ctx, w.id, 'expired'))) out.rejected++;
      }
    } else if (['rejected', 'cancelled', 'expired'].includes(w.request_state)) {
      if (await close(ctx, w.id, w.request_state)) out.rejected++;
    }
  }
  return out;
}

async function close(ctx: AppContext, id: string, requestState: string): Promise<boolean> {
  return ctx.db.transaction().execute(async (tx) => {
    if (!(await transmissionsRepository(tx).transition(id, ['pending_approval'], { state: 'rejected', content: null, decided_at: ctx.clock.now() }))) return false;
    await appendAudit(tx, ctx.clock, system(), {
      action: 'transmission.deliver', decision: 'allow', rule: 'system.operator', reason: `Approval request ${requestState}: message not sent, content deleted`, result: 'ok',
      details: { transmissionId: id, phase: 'closed', requestState, from: 'pending_approval', to: 'rejected' },
    });
    return true;
  });
}

export type DeliveryReport = { delivered: number; retrying: number; failed: number };

/** One transport per worker run; the upstream's TLS settings are those of the outbox (TLS required, verified). */
export function relayTransport(relay: RelaySettings): Transporter {
  return createMailTransport({ url: relay.url, from: '', ca: relay.ca, auth: relay.auth });
}

/** Claims due transmissions and delivers each once; see the module comment. */
export async function deliverQueued(ctx: AppContext, relay: RelaySettings | null, transport?: Transporter): Promise<DeliveryReport> {
  const report: DeliveryReport = { delivered: 0, retrying: 0, failed: 0 };
  const repo = transmissionsRepository(ctx.db);
  const own = !transport && relay ? relayTransport(relay) : null;
  const t = transport ?? own;
  try {
    for (;;) {
      const claimed = await repo.claim(ctx.clock.now(), LEASE_MS, BATCH);
      for (const c of claimed) {
        const outcome = await deliverOne(ctx, c.id, new Date(c.claimed_until), c.attempts, t);
        report[outcome]++;
      }
      if (claimed.length < BATCH) return report;
    }
  } finally {
    own?.close();
  }
}

async function deliverOne(ctx: AppContext, id: string, lease: Date, attempts: number, transport: Transporter | null): Promise<'delivered' | 'retrying' | 'failed'> {
  const repo = transmissionsRepository(ctx.db);
  const row = (await repo.withContent(id))!;
  const hasAttachments = (row.attachments as unknown[]).length > 0;
  // The supervisor as of now (not as of submission): a mover's new manager gets the copy.
  const supervisor = hasAttachments ? await repo.currentSupervisor(row.sender_id) : null;
  let error: DeliveryError | null = null;
  let detail = '';
  if (hasAttachments && !supervisor) error = 'supervisor.missing';
  else if (!transport) error = 'relay.not_configured';
  else if (!row.content) error = 'relay.rejected';
  else {
    try {
      const raw = openContent(ctx.keyring, id, { content: row.content, master_key_id: row.master_key_id, wrapped_key: row.wrapped_key });
      await transport.sendMail({ envelope: { from: row.sender_address, to: [...row.recipients, ...(supervisor ? [supervisor.email] : [])] }, raw });
    } catch (err) {
      error = classifyDeliveryError(err);
      detail = typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : '';
    }
  }
  const now = ctx.clock.now();
  if (error === null) {
    await ctx.db.transaction().execute(async (tx) => {
      const trepo = transmissionsRepository(tx);
      if (!(await trepo.settle(id, lease, { state: 'delivered', delivered_at: now, content: null, delivery_error: null, next_attempt_at: null, bcc_user_id: supervisor?.id ?? null }))) {
        // Our lease ran out and another worker took the row: it records the outcome of its own attempt.
        ctx.logger.warn({ transmissionId: id }, 'transmission delivered after its lease ended');
        return;
      }
      const personalKinds = Object.keys(row.summary as Record<string, number>).filter((k) => (row.reasons as string[]).includes(`finding:${k}`)) as DlpKind[];
      let provisionId: string | null = null;
      if (row.external_recipients.length > 0 && personalKinds.length > 0) {
        provisionId = await recordTransmissionProvision(tx, {
          transmissionId: id, providedAt: now, recipientName: row.external_recipients.join(', '), recipientAddress: [...new Set(row.external_recipients.map((r) => r.slice(r.lastIndexOf('@') + 1)))].join(', '),
          recipientRepresentative: '', dataItems: personalKinds,
          recordCount: personalKinds.reduce((n, k) => n + ((row.summary as Record<string, number>)[k] ?? 0), 0),
        });
      }
      await appendAudit(tx, ctx.clock, system(), {
        action: 'transmission.deliver', decision: 'allow', rule: 'system.operator', reason: 'Delivered to the upstream relay over verified TLS', result: 'ok', subjectUserId: row.sender_id,
        details: { transmissionId: id, phase: 'delivered', attempts, recipients: row.recipients.length, external: row.external_recipients.length, supervisorBcc: supervisor?.id ?? null, provisionId },
      });
      await notify(tx, ctx.clock, [row.sender_id], { kind: 'transmission.delivered', params: { transmissionId: id, count: row.recipients.length }, link: LINK(id) });
    });
    return 'delivered';
  }
  const giveUp = attempts >= MAX_DELIVERY_ATTEMPTS;
  await ctx.db.transaction().execute(async (tx) => {
    const set = giveUp
      ? { state: 'failed' as const, content: null, delivery_error: error, next_attempt_at: null }
      : { delivery_error: error, next_attempt_at: new Date(now.getTime() + retryDelayMs(attempts)) };
    if (!(await transmissionsRepository(tx).settle(id, lease, set))) return;
    await appendAudit(tx, ctx.clock, system(), {
      action: 'transmission.deliver', decision: 'allow', rule: 'system.operator', reason: giveUp ? 'Delivery given up: nothing was sent' : 'Delivery failed: nothing was sent, will retry', result: 'error',
      subjectUserId: row.sender_id, details: { transmissionId: id, phase: giveUp ? 'failed' : 'retry', attempts, error, transportCode: detail || null },
    });
    if (giveUp || attempts === 1) await notify(tx, ctx.clock, [row.sender_id], { kind: 'transmission.delivery_failed', params: { transmissionId: id, cause: error!, count: attempts }, link: LINK(id) });
  });
  ctx.logger.warn({ transmissionId: id, attempts, error, giveUp }, 'transmission delivery failed');
  return giveUp ? 'failed' : 'retrying';
}
