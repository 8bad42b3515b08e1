/** Request rows → the views people see: decisions, who counts now, the state as of now. */
import type { ApprovalKind, ApprovalRequestView, ApprovalScope, PersonRef } from '@mamori/contracts';
import type { DecisionRow, PersonRow, RequestRow, ReviewRow } from './approvals.repository.ts';
import { approvalsRepository } from './approvals.repository.ts';
import type { Executor } from '../../platform/db/database.ts';
import { stateAt, tally, type Eligibility, type Requester } from './approvals.rules.ts';

export function eligibilityOf(r: RequestRow): Eligibility {
  return { eligibleRoles: r.eligible_roles, eligibleGroupIds: r.eligible_group_ids, requesterSupervisor: r.requester_supervisor };
}

export function requesterOf(r: RequestRow, people: ReadonlyMap<string, PersonRow>): Requester {
  // The supervisor as of now: a move changes who may approve at once.
  return { id: r.requester_id, supervisorId: people.get(r.requester_id)?.supervisorId ?? null };
}

export function personRef(id: string, people: ReadonlyMap<string, PersonRow>): PersonRef {
  const p = people.get(id);
  return { id, login: p?.login ?? '', displayName: p?.displayName ?? '' };
}

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

export function countNow(r: RequestRow, decisions: readonly DecisionRow[], people: ReadonlyMap<string, PersonRow>) {
  return tally(eligibilityOf(r), requesterOf(r, people), decisions.filter((d) => d.request_id === r.id).map((d) => ({ approverId: d.approver_id, decision: d.decision, withdrawn: d.withdrawn_at !== null })), people);
}

export function toView(r: RequestRow, decisions: readonly DecisionRow[], people: ReadonlyMap<string, PersonRow>, reviews: readonly ReviewRow[], now: Date): ApprovalRequestView {
  const mine = decisions.filter((d) => d.request_id === r.id);
  const t = countNow(r, mine, people);
  const review = reviews.find((v) => v.request_id === r.id) ?? null;
  return {
    id: r.id,
    kind: r.kind as ApprovalKind,
    state: stateAt({ state: r.state, expiresAt: new Date(r.expires_at), validUntil: r.valid_until ? new Date(r.valid_until) : null }, now),
    requester: personRef(r.requester_id, people),
    summary: r.summary,
    scope: r.scope as ApprovalScope,
    subjectRef: r.subject_ref,
    requiredApprovals: r.required_approvals,
    rejectionsToEnd: r.rejections_to_end,
    approvals: t.approvals,
    rejections: t.rejections,
    createdAt: iso(r.created_at)!,
    expiresAt: iso(r.expires_at)!,
    approvedAt: iso(r.approved_at),
    validUntil: iso(r.valid_until),
    closedAt: iso(r.closed_at),
    consumedAt: iso(r.consumed_at),
    breakGlass: r.break_glass_reason !== null ? { reason: r.break_glass_reason, reviewId: review?.id ?? null, reviewClosedAt: iso(review?.closed_at ?? null) } : null,
    decisions: mine.map((d) => ({
      approver: personRef(d.approver_id, people),
      decision: d.decision,
      reason: d.reason,
      decidedAt: iso(d.decided_at)!,
      counts: t.counting.has(d.approver_id),
      withdrawnAt: iso(d.withdrawn_at),
    })),
  };
}

/** Views of many requests in four queries (requests are listed by the hundred). */
export async function viewsOf(db: Executor, rows: readonly RequestRow[], now: Date, extraPeople: readonly string[] = []): Promise<{ views: ApprovalRequestView[]; people: Map<string, PersonRow>; decisions: DecisionRow[] }> {
  const repo = approvalsRepository(db);
  const ids = rows.map((r) => r.id);
  const decisions = await repo.decisions(ids);
  const reviews = await repo.reviewsOf(ids);
  const people = await repo.people([...rows.map((r) => r.requester_id), ...decisions.map((d) => d.approver_id), ...extraPeople]);
  return { views: rows.map((r) => toView(r, decisions, people, reviews, now)), people, decisions };
}
