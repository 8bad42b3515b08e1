/**
 * History for periodic review: every request, kept after it expires, filtered by kind, state and
 * date, as JSON or as CSV for Excel (UTF-8 with BOM, CRLF, formula-safe cells). Break-glass reviews
 * are listed and closed here. Reading history is audited.
 */
import type { ApprovalKind, ApprovalRequestView, ApprovalState, BreakGlassReviewView } from '@mamori/contracts';
import type { AppContext } from '../../platform/context.ts';
import { AppError } from '../../platform/errors.ts';
import { isUuid } from '../../platform/ids.ts';
import type { Actor } from '../identity/index.ts';
import { authorize } from '../access-policy/index.ts';
import { appendAudit } from '../audit/index.ts';
import { approvalsRepository } from './approvals.repository.ts';
import { personRef, viewsOf } from './approvals.views.ts';

export type HistoryQuery = { kind?: ApprovalKind; state?: ApprovalState; from?: Date; to?: Date; limit?: number };

export const MAX_HISTORY_ROWS = 10_000;

export async function history(ctx: AppContext, actor: Actor, q: HistoryQuery, format: 'json' | 'csv' = 'json'): Promise<ApprovalRequestView[]> {
  const d = await authorize(ctx, { actor, action: 'approval.history.read' });
  if (q.from && q.to && q.from.getTime() >= q.to.getTime()) throw new AppError('request.invalid', 'The start must be before the end.', { field: 'from' });
  const now = ctx.clock.now();
  const rows = await approvalsRepository(ctx.db).history({ kind: q.kind, from: q.from, to: q.to, limit: Math.min(q.limit ?? 1000, MAX_HISTORY_ROWS) });
  // The state filter applies to the state as of now (a request past its deadline reads as expired).
  const views = (await viewsOf(ctx.db, rows, now)).views.filter((v) => !q.state || v.state === q.state);
  await appendAudit(ctx.db, ctx.clock, actor, {
    action: 'approval.history.read', decision: 'allow', rule: d.rule, reason: d.reason.en, result: 'ok',
    details: { format, kind: q.kind ?? null, state: q.state ?? null, from: q.from?.toISOString() ?? null, to: q.to?.toISOString() ?? null, rows: views.length },
  });
  return views;
}

/** A cell Excel will not run as a formula, quoted per RFC 4180. */
export function csvCell(v: string | number | boolean | null): string {
  let s = v === null ? '' : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const HEADER = ['id', 'kind', 'state', 'requester_login', 'requester_name', 'summary', 'scope', 'created_at', 'expires_at', 'approved_at', 'valid_until', 'closed_at', 'consumed_at', 'required_approvals', 'approvals_counting', 'rejections_counting', 'decisions', 'break_glass_reason'];

export function historyCsv(views: readonly ApprovalRequestView[]): string {
  const lines = [HEADER.join(',')];
  for (const v of views) {
    const decisions = v.decisions.map((d) => `${d.approver.login}:${d.decision}${d.counts ? '' : '(not counting)'}@${d.decidedAt}${d.reason ? ` ${d.reason}` : ''}`).join(' | ');
    lines.push([
      v.id, v.kind, v.state, v.requester.login, v.requester.displayName, v.summary, JSON.stringify(v.scope), v.createdAt, v.expiresAt, v.approvedAt, v.validUntil,
      v.closedAt, v.consumedAt, v.requiredApprovals, v.approvals, v.rejections, decisions, v.breakGlass?.reason ?? null,
    ].map(csvCell).join(','));
  }
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}

export async function listReviews(ctx: AppContext, actor: Actor, open?: boolean): Promise<BreakGlassReviewView[]> {
  await authorize(ctx, { actor, action: 'approval.history.read' });
  const repo = approvalsRepository(ctx.db);
  const reviews = await repo.reviews(open, 500);
  const requests = new Map((await repo.requests(reviews.map((r) => r.request_id))).map((r) => [r.id, r]));
  const people = await repo.people([...[...requests.values()].map((r) => r.requester_id), ...reviews.flatMap((r) => (r.closed_by ? [r.closed_by] : []))]);
  return reviews.map((v) => {
    const r = requests.get(v.request_id)!;
    return {
      id: v.id, requestId: v.request_id, kind: r.kind as ApprovalKind, requester: personRef(r.requester_id, people), summary: r.summary, reason: v.reason,
      openedAt: new Date(v.opened_at).toISOString(), closedAt: v.closed_at ? new Date(v.closed_at).toISOString() : null,
      closedBy: v.closed_by ? personRef(v.closed_by, people) : null, note: v.note,
    };
  });
}

/** Closes a break-glass review with a note: a security center member or the CPO, never the person who broke glass. */
export async function closeReview(ctx: AppContext, actor: Actor, reviewId: string, noteIn: string): Promise<void> {
  const repo = approvalsRepository(ctx.db);
  const review = isUuid(reviewId) ? await repo.review(reviewId) : undefined;
  if (!review) throw new AppError('not_found', 'No such review.');
  const request = (await repo.request(review.request_id))!;
  const d = await authorize(ctx, { actor, action: 'approval.review.close', approval: { requesterUserId: request.requester_id, eligible: false, breakGlassAllowed: false } }, { subjectUserId: request.requester_id, details: { reviewId, requestId: request.id } });
  const note = noteIn.trim();
  if (note.length === 0 || note.length > 2000) throw new AppError('approval.invalid', 'Closing a review needs a note (1 to 2000 characters).', { field: 'note' });
  await ctx.db.transaction().execute(async (tx) => {
    if (!(await approvalsRepository(tx).closeReview(reviewId, actor.userId!, note, ctx.clock.now()))) throw new AppError('conflict', 'This review is already closed.');
    await appendAudit(tx, ctx.clock, actor, {
      action: 'approval.review.close', decision: 'allow', rule: d.rule, reason: note.slice(0, 500), result: 'ok', subjectUserId: request.requester_id,
      details: { reviewId, requestId: request.id, kind: request.kind },
    });
  });
}
