/**
 * The transmission register: what went where, when, approved by whom (and what was blocked or
 * refused). Read by the security center, the CPO, auditors and the approvers; every read and export
 * is audited with its filter and row count. Bodies and attachments never appear: they are deleted
 * once a message is delivered or closed.
 */
import type { TransmissionState, TransmissionView } from '@mamori/contracts';
import type { AppContext } from '../../platform/context.ts';
import { AppError } from '../../platform/errors.ts';
import type { Actor } from '../identity/index.ts';
import { authorize } from '../access-policy/index.ts';
import { appendAudit } from '../audit/index.ts';
import { csvCell } from '../approvals/index.ts';
import { transmissionsRepository } from './transmissions.repository.ts';
import { viewsOf } from './transmissions.views.ts';

export type RegisterQuery = { from?: Date; to?: Date; state?: TransmissionState; limit?: number };
export const MAX_REGISTER_ROWS = 10_000;

export async function register(ctx: AppContext, actor: Actor, q: RegisterQuery, format: 'json' | 'csv' = 'json'): Promise<TransmissionView[]> {
  const d = await authorize(ctx, { actor, action: 'transmission.register.read' });
  if (q.from && q.to && q.from.getTime() >= q.to.getTime()) throw new AppError('request.invalid', 'The start must be before the end.', { field: 'from' });
  const rows = await transmissionsRepository(ctx.db).register({ ...(q.from ? { from: q.from } : {}), ...(q.to ? { to: q.to } : {}), ...(q.state ? { state: q.state } : {}), limit: Math.min(q.limit ?? 1000, MAX_REGISTER_ROWS) });
  await appendAudit(ctx.db, ctx.clock, actor, {
    action: 'transmission.register.read', decision: 'allow', rule: d.rule, reason: d.reason.en, result: 'ok',
    details: { format, state: q.state ?? null, from: q.from?.toISOString() ?? null, to: q.to?.toISOString() ?? null, rows: rows.length },
  });
  return viewsOf(ctx.db, rows);
}

const HEADER = ['id', 'created_at', 'channel', 'state', 'route', 'reasons', 'sender_login', 'sender_name', 'sender_address', 'recipients', 'external', 'subject', 'attachments', 'findings', 'approved_by', 'decided_at', 'bcc', 'delivered_at', 'delivery_error', 'attempts', 'provision_record'];

export function registerCsv(views: readonly TransmissionView[]): string {
  const lines = [HEADER.join(',')];
  for (const t of views) {
    lines.push([
      t.id, t.createdAt, t.channel, t.state, t.route, t.reasons.join(' '), t.sender.login, t.sender.displayName, t.senderAddress, t.recipients.join(' '), t.external.join(' '),
      t.subject, t.attachments.map((a) => `${a.name} (${a.bytes})`).join(' | '), Object.entries(t.summary).map(([k, n]) => `${k}:${n}`).join(' '),
      t.approvedBy.map((p) => p.login).join(' '), t.decidedAt, t.bcc?.login ?? null, t.deliveredAt, t.deliveryError, t.attempts, t.provisionRecordId,
    ].map(csvCell).join(','));
  }
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}
