/**
 * The periodic review (T6: 専任の担当者により、定期的に適切な送信であったか確認). Each period (weekly by
 * default) the job opens one review holding the period's delivered transmissions, all or a sample
 * (a keyed, stable pick the reviewer cannot steer), and tells the reviewers. A reviewer marks each item
 * appropriate or not with a note — never a transmission they sent or approved — and the review closes
 * when every item is marked. A review still open past its due date alerts the security center once.
 * Every opening, mark, closing and alert is audited; the record is exportable as CSV.
 */
import { createHmac } from 'node:crypto';
import type { ReviewVerdict, TransmissionReviewItemView, TransmissionReviewView } from '@mamori/contracts';
import type { AppContext } from '../../platform/context.ts';
import { AppError } from '../../platform/errors.ts';
import { isUuid, newId } from '../../platform/ids.ts';
import { systemActor, type Actor } from '../identity/index.ts';
import { authorize } from '../access-policy/index.ts';
import { appendAudit } from '../audit/index.ts';
import { csvCell } from '../approvals/index.ts';
import { notify, securityCenter } from '../notifications/index.ts';
import { transmissionsRepository, type ReviewRow } from './transmissions.repository.ts';
import { inSample, periodOf } from './transmissions.rules.ts';
import { loadRules } from './transmissions.settings.ts';
import { viewsOf } from './transmissions.views.ts';

const system = () => systemActor({ ip: null, userAgent: 'mamori-transmission-review', deviceId: null });
const LINK = (id: string) => `/transmissions/reviews?review=${id}`;
/** At most this many past periods are opened in one run (a server that was off for a year catches up over runs). */
const MAX_PERIODS_PER_RUN = 60;

/** The job: opens the reviews of periods that have ended, and alerts the security center about overdue ones. */
export async function runReviews(ctx: AppContext): Promise<{ opened: number; alerted: number }> {
  const rules = await loadRules(ctx.db, ctx.clock);
  const repo = transmissionsRepository(ctx.db);
  const now = ctx.clock.now();
  const len = rules.review.periodDays * 86_400_000;
  const last = await repo.lastReview();
  // Periods follow each other from the one of the first delivery: nothing before it went out through the gateway.
  const first = last ? null : await repo.firstDeliveredAt();
  let start = last ? new Date(last.period_end) : first ? periodOf(first, rules.review.periodDays).start : null;
  let opened = 0;
  for (let i = 0; start && i < MAX_PERIODS_PER_RUN && start.getTime() + len <= now.getTime(); i++) {
    const end = new Date(start.getTime() + len);
    if (await openReview(ctx, start, end, rules.review.samplePercent, rules.review.graceDays, rules.review.reviewerRoles)) opened++;
    start = end;
  }
  let alerted = 0;
  for (const r of await repo.overdue(now)) if (await alertOverdue(ctx, r)) alerted++;
  return { opened, alerted };
}

async function openReview(ctx: AppContext, start: Date, end: Date, samplePercent: number, graceDays: number, reviewerRoles: readonly string[]): Promise<boolean> {
  const id = newId();
  const now = ctx.clock.now();
  return ctx.db.transaction().execute(async (tx) => {
    const repo = transmissionsRepository(tx);
    const delivered = await repo.deliveredBetween(start, end);
    const picked = delivered.filter((t) => inSample(createHmac('sha256', id).update(t).digest(), samplePercent));
    const empty = picked.length === 0;
    const inserted = await repo.insertReview({
      id, period_start: start, period_end: end, due_at: new Date(end.getTime() + graceDays * 86_400_000), sample_percent: samplePercent,
      // A period without a delivered transmission has nothing to review: recorded, and closed at once.
      state: empty ? 'closed' : 'open', created_at: now, closed_at: empty ? now : null, overdue_alerted_at: null,
    }, picked);
    if (!inserted) return false;
    await appendAudit(tx, ctx.clock, system(), {
      action: 'transmission.review.open', decision: 'allow', rule: 'system.operator', reason: empty ? 'Review period with no delivered transmission' : 'Review opened', result: 'ok',
      details: { reviewId: id, periodStart: start.toISOString(), periodEnd: end.toISOString(), delivered: delivered.length, items: picked.length, samplePercent },
    });
    if (!empty) await notify(tx, ctx.clock, await repo.holdersOf(reviewerRoles), { kind: 'transmission.review_due', params: { reviewId: id, count: picked.length }, link: LINK(id) });
    return true;
  });
}

async function alertOverdue(ctx: AppContext, r: ReviewRow): Promise<boolean> {
  return ctx.db.transaction().execute(async (tx) => {
    const repo = transmissionsRepository(tx);
    if (!(await repo.markOverdueAlerted(r.id, ctx.clock.now()))) return false;
    const unmarked = await repo.unmarked(r.id);
    await appendAudit(tx, ctx.clock, system(), {
      action: 'alert.raise', decision: 'allow', rule: 'system.operator', reason: 'Transmission review overdue', result: 'ok',
      details: { alert: 'transmission_review_overdue', reviewId: r.id, dueAt: new Date(r.due_at).toISOString(), unmarked },
    });
    await notify(tx, ctx.clock, await securityCenter(tx), { kind: 'transmission.review_overdue', params: { reviewId: r.id, count: unmarked }, link: LINK(r.id) });
    return true;
  });
}

function reviewView(r: ReviewRow & { items: number; marked: number; inappropriate: number }, now: Date): TransmissionReviewView {
  return {
    id: r.id, periodStart: new Date(r.period_start).toISOString(), periodEnd: new Date(r.period_end).toISOString(), dueAt: new Date(r.due_at).toISOString(),
    state: r.state, items: r.items, marked: r.marked, inappropriate: r.inappropriate, overdue: r.state === 'open' && now >= new Date(r.due_at),
    closedAt: r.closed_at ? new Date(r.closed_at).toISOString() : null,
  };
}

async function reviewContext(ctx: AppContext) {
  const rules = await loadRules(ctx.db, ctx.clock);
  return { reviewerRoles: rules.review.reviewerRoles, party: false };
}

export async function listReviews(ctx: AppContext, actor: Actor): Promise<TransmissionReviewView[]> {
  await authorize(ctx, { actor, action: 'transmission.review.read', transmissionReview: await reviewContext(ctx) });
  const now = ctx.clock.now();
  return (await transmissionsRepository(ctx.db).reviews(200)).map((r) => reviewView(r, now));
}

export async function getReview(ctx: AppContext, actor: Actor, id: string, format: 'json' | 'csv' = 'json'): Promise<{ review: TransmissionReviewView; items: TransmissionReviewItemView[] }> {
  const d = await authorize(ctx, { actor, action: 'transmission.review.read', transmissionReview: await reviewContext(ctx) }, { details: { reviewId: id.slice(0, 64) } });
  const repo = transmissionsRepository(ctx.db);
  const summary = isUuid(id) ? (await repo.reviews(1, id))[0] : undefined;
  if (!summary) throw new AppError('not_found', 'No such review.');
  const items = await repo.items(id);
  const rows = (await Promise.all(items.map((i) => repo.get(i.transmission_id)))).filter((x) => x !== undefined);
  const views = new Map((await viewsOf(ctx.db, rows)).map((v) => [v.id, v]));
  const people = await repo.people(items.map((i) => i.marked_by));
  if (format === 'csv') {
    await appendAudit(ctx.db, ctx.clock, actor, { action: 'transmission.review.read', decision: 'allow', rule: d.rule, reason: 'Review record exported', result: 'ok', details: { reviewId: id, format, items: items.length } });
  }
  return {
    review: reviewView(summary, ctx.clock.now()),
    items: items.map((i) => ({
      transmission: views.get(i.transmission_id)!, verdict: i.verdict, note: i.note, markedBy: i.marked_by ? (people.get(i.marked_by) ?? null) : null,
      markedAt: i.marked_at ? new Date(i.marked_at).toISOString() : null,
    })).sort((a, b) => (a.transmission.deliveredAt ?? '').localeCompare(b.transmission.deliveredAt ?? '') || a.transmission.id.localeCompare(b.transmission.id)),
  };
}

/** Marks one item; the review closes when the last item is marked. A reviewer never judges their own send or approval. */
export async function markItem(ctx: AppContext, actor: Actor, reviewId: string, transmissionId: string, verdict: ReviewVerdict, noteIn: string): Promise<TransmissionReviewItemView> {
  const repo = transmissionsRepository(ctx.db);
  const t = isUuid(transmissionId) ? await repo.get(transmissionId) : undefined;
  const party = t !== undefined && actor.userId !== null && (t.sender_id === actor.userId || t.approved_by.includes(actor.userId));
  const rules = await loadRules(ctx.db, ctx.clock);
  const d = await authorize(ctx, { actor, action: 'transmission.review.mark', transmissionReview: { reviewerRoles: rules.review.reviewerRoles, party } }, {
    subjectUserId: t?.sender_id ?? null, details: { reviewId: reviewId.slice(0, 64), transmissionId: transmissionId.slice(0, 64), verdict },
  });
  const note = noteIn.trim();
  if (verdict === 'inappropriate' && note.length === 0) throw new AppError('transmission.invalid', 'Say why a transmission was not appropriate.', { field: 'note' });
  if (note.length > 2000) throw new AppError('transmission.invalid', 'The note is at most 2000 characters.', { field: 'note' });
  if (!isUuid(reviewId) || !t) throw new AppError('not_found', 'No such review item.');
  const now = ctx.clock.now();
  await ctx.db.transaction().execute(async (tx) => {
    const trepo = transmissionsRepository(tx);
    const review = await trepo.review(reviewId);
    const item = await trepo.item(reviewId, transmissionId);
    if (!review || !item) throw new AppError('not_found', 'No such review item.');
    if (review.state !== 'open') throw new AppError('transmission.closed', 'This review is closed.');
    await trepo.markItem(reviewId, transmissionId, { verdict, note, marked_by: actor.userId!, marked_at: now });
    await appendAudit(tx, ctx.clock, actor, {
      action: 'transmission.review.mark', decision: 'allow', rule: d.rule, reason: `Transmission marked ${verdict}`, result: 'ok', subjectUserId: t.sender_id,
      details: { reviewId, transmissionId, verdict, before: item.verdict, noteLength: note.length },
    });
    if ((await trepo.unmarked(reviewId)) === 0 && (await trepo.closeReview(reviewId, now))) {
      await appendAudit(tx, ctx.clock, actor, {
        action: 'transmission.review.mark', decision: 'allow', rule: d.rule, reason: 'Review complete: every item marked', result: 'ok', details: { reviewId, phase: 'closed' },
      });
    }
  });
  const { items } = await getReview(ctx, actor, reviewId);
  return items.find((i) => i.transmission.id === transmissionId)!;
}

const HEADER = ['review_id', 'period_start', 'period_end', 'transmission_id', 'sender_login', 'sender_name', 'recipients', 'external', 'subject', 'attachments', 'findings', 'approved_by', 'bcc', 'delivered_at', 'verdict', 'note', 'marked_by', 'marked_at'];

export function reviewCsv(r: { review: TransmissionReviewView; items: TransmissionReviewItemView[] }): string {
  const lines = [HEADER.join(',')];
  for (const i of r.items) {
    const t = i.transmission;
    lines.push([
      r.review.id, r.review.periodStart, r.review.periodEnd, t.id, t.sender.login, t.sender.displayName, t.recipients.join(' '), t.external.join(' '), t.subject,
      t.attachments.map((a) => a.name).join(' | '), Object.entries(t.summary).map(([k, n]) => `${k}:${n}`).join(' '), t.approvedBy.map((p) => p.login).join(' '),
      t.bcc?.login ?? null, t.deliveredAt, i.verdict, i.note, i.markedBy?.login ?? null, i.markedAt,
    ].map(csvCell).join(','));
  }
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}
