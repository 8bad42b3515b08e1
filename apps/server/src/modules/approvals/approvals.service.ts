/**
 * The life of an approval request: filed (by another module, in its own transaction), decided by
 * eligible people (approve / reject with a reason), cancelled by its requester, expired by time,
 * bypassed by break-glass, and consumed exactly once by the module that uses it. Every transition is
 * audited in the transaction that makes it; every refusal is audited in its own.
 */
import type { ApprovalKind, ApprovalRequestView, ApprovalScope } from '@mamori/contracts';
import { APPROVAL_KINDS } from '@mamori/contracts';
import type { AppContext } from '../../platform/context.ts';
import type { Executor } from '../../platform/db/database.ts';
import { AppError, isAppError } from '../../platform/errors.ts';
import { isUuid, newId } from '../../platform/ids.ts';
import { systemActor, type Actor } from '../identity/index.ts';
import { authorize, deniedError, evaluate, type ApprovalPolicyContext } from '../access-policy/index.ts';
import { appendAudit, appendAuditAlone } from '../audit/index.ts';
import { notify, securityCenter } from '../notifications/index.ts';
import { approvalsRepository, type RequestRow } from './approvals.repository.ts';
import { afterDecision, isEligible, stateAt } from './approvals.rules.ts';
import { countNow, eligibilityOf, requesterOf, viewsOf } from './approvals.views.ts';

export type FileRequestInput = {
  kind: ApprovalKind;
  /** One line approvers read first (no personal data). */
  summary: string;
  /** What exactly is approved, shown to approvers as filed (no personal data). */
  scope: ApprovalScope;
  /** The using module's id for the thing approved. */
  subjectRef?: string | null;
  /** A shorter validity than the policy's maximum, counted from approval. */
  validForMinutes?: number;
};

/** Console paths: the requester's list and the approver's inbox (the request id is not personal data). */
const LINK = (id: string) => `/approvals/mine?request=${id}`;
const INBOX_LINK = (id: string) => `/approvals/inbox?request=${id}`;
const SCOPE_KEY = /^[a-zA-Z][a-zA-Z0-9_]{0,40}$/;
const MAX_SCOPE_BYTES = 16 * 1024;

function checkScope(scope: ApprovalScope): void {
  if (typeof scope !== 'object' || scope === null || Array.isArray(scope)) throw new AppError('approval.invalid', 'The scope is an object of named values.', { field: 'scope' });
  const entries = Object.entries(scope);
  if (entries.length === 0 || entries.length > 40) throw new AppError('approval.invalid', 'The scope names 1 to 40 values.', { field: 'scope' });
  for (const [k, v] of entries) {
    if (!SCOPE_KEY.test(k)) throw new AppError('approval.invalid', 'Scope names are letters, digits and underscores.', { field: 'scope', key: k.slice(0, 40) });
    const ok = typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v)) || (typeof v === 'string' && v.length <= 2000)
      || (Array.isArray(v) && v.length <= 200 && v.every((x) => typeof x === 'string' && x.length <= 200));
    if (!ok) throw new AppError('approval.invalid', 'A scope value is a number, a yes/no, a text of at most 2000 characters or a list of short texts.', { field: 'scope', key: k });
  }
  if (Buffer.byteLength(JSON.stringify(scope)) > MAX_SCOPE_BYTES) throw new AppError('approval.invalid', 'The scope is too large.', { field: 'scope' });
}

function context(r: RequestRow, eligible: boolean, breakGlassAllowed = false): ApprovalPolicyContext {
  return { requesterUserId: r.requester_id, eligible, breakGlassAllowed };
}

async function load(ctx: AppContext, id: string): Promise<RequestRow> {
  const r = isUuid(id) ? await approvalsRepository(ctx.db).request(id) : undefined;
  if (!r) throw new AppError('not_found', 'No such approval request.');
  return r;
}

/** Is the actor eligible to decide `r`, judged on the actor's roles, groups and status as stored now? */
async function actorEligible(db: Executor, actor: Actor, r: RequestRow): Promise<boolean> {
  if (!actor.userId) return false;
  const people = await approvalsRepository(db).people([actor.userId, r.requester_id]);
  const me = people.get(actor.userId);
  return me !== undefined && isEligible(eligibilityOf(r), requesterOf(r, people), me);
}

async function refuse(ctx: AppContext, actor: Actor, action: 'approval.decide' | 'approval.cancel' | 'approval.consume' | 'approval.break_glass', r: RequestRow, rule: string, error: AppError): Promise<never> {
  await appendAuditAlone(ctx.db, ctx.clock, actor, {
    action, decision: 'deny', rule, reason: error.message, result: 'denied', subjectUserId: r.requester_id, details: { requestId: r.id, kind: r.kind, state: r.state },
  });
  throw error;
}

function closedError(state: string): AppError {
  return new AppError('approval.closed', state === 'expired' ? 'This request has expired.' : `This request is ${state}: it can no longer be decided or changed.`, { state });
}

/**
 * Authorizes filing before the caller opens its transaction (a refusal is audited in its own). The
 * using module then calls `fileRequest` inside its transaction.
 */
export async function authorizeFiling(ctx: AppContext, actor: Actor, kind: ApprovalKind): Promise<void> {
  await authorize(ctx, { actor, action: 'approval.request' }, { details: { kind } });
}

/**
 * Files a request in the caller's transaction, under the kind's current policy (snapshotted on the
 * request), notifies the eligible approvers and audits the filing. Refused (nothing written) when
 * nobody could ever approve it.
 */
export async function fileRequest(ctx: AppContext, tx: Executor, actor: Actor, input: FileRequestInput): Promise<ApprovalRequestView> {
  const d = evaluate({ actor, action: 'approval.request', now: ctx.clock.now() });
  if (d.effect !== 'allow' || !actor.userId) throw deniedError(d);
  if (!(APPROVAL_KINDS as readonly string[]).includes(input.kind)) throw new AppError('approval.invalid', 'Unknown request kind.', { field: 'kind' });
  const summary = input.summary.trim();
  if (summary.length === 0 || summary.length > 300) throw new AppError('approval.invalid', 'The summary is 1 to 300 characters.', { field: 'summary' });
  checkScope(input.scope);
  const repo = approvalsRepository(tx);
  const policy = await repo.policy(input.kind);
  if (!policy) throw new AppError('approval.invalid', 'This kind has no approval policy.', { field: 'kind' });
  if (input.validForMinutes !== undefined && (!Number.isInteger(input.validForMinutes) || input.validForMinutes < 1)) {
    throw new AppError('approval.invalid', 'The validity is a whole number of minutes.', { field: 'validForMinutes' });
  }
  const grantMinutes = Math.min(input.validForMinutes ?? policy.grant_max_minutes, policy.grant_max_minutes);
  const now = ctx.clock.now();
  const id = newId<'ApprovalRequestId'>();
  const row = {
    id, kind: input.kind, requester_id: actor.userId, state: 'pending' as const, summary, scope: JSON.stringify(input.scope), subject_ref: input.subjectRef ?? null,
    required_approvals: policy.required_approvals, rejections_to_end: policy.rejections_to_end, eligible_roles: policy.eligible_roles,
    eligible_group_ids: policy.eligible_group_ids, requester_supervisor: policy.requester_supervisor, grant_minutes: grantMinutes,
    created_at: now, expires_at: new Date(now.getTime() + policy.request_ttl_minutes * 60_000), approved_at: null, valid_until: null,
    closed_at: null, consumed_at: null, consumed_ref: null, break_glass_reason: null,
  };
  const people = await repo.people([actor.userId]);
  const requester = { id: actor.userId, supervisorId: people.get(actor.userId)?.supervisorId ?? null };
  const candidates = await repo.people(await repo.candidateIds(policy.eligible_roles, policy.eligible_group_ids, policy.requester_supervisor ? requester.supervisorId : null));
  const approvers = [...candidates.values()].filter((p) => isEligible({ eligibleRoles: policy.eligible_roles, eligibleGroupIds: policy.eligible_group_ids, requesterSupervisor: policy.requester_supervisor }, requester, p));
  if (approvers.length < policy.required_approvals) {
    throw new AppError('approval.invalid', 'Not enough people are eligible to approve this request under its policy; ask the administrator or CPO to review the policy.', { field: 'kind', eligible: approvers.length, required: policy.required_approvals });
  }
  await repo.insertRequest(row);
  await appendAudit(tx, ctx.clock, actor, {
    action: 'approval.request', decision: 'allow', rule: d.rule, reason: d.reason.en, result: 'ok',
    details: { requestId: id, kind: input.kind, subjectRef: input.subjectRef ?? null, requiredApprovals: policy.required_approvals, eligibleApprovers: approvers.length, expiresAt: row.expires_at.toISOString() },
  });
  const by = people.get(actor.userId)?.displayName ?? actor.login;
  await notify(tx, ctx.clock, approvers.map((p) => p.id), { kind: 'approval.requested', params: { requestId: id, requestKind: input.kind, summary, by }, link: INBOX_LINK(id) });
  const stored = (await repo.request(id))!;
  return (await viewsOf(tx, [stored], now)).views[0]!;
}

/** Records the expiry of a request past its deadline (own transaction). Returns whether this call did it. */
async function expireOne(ctx: AppContext, r: RequestRow): Promise<boolean> {
  const now = ctx.clock.now();
  const system = systemActor({ ip: null, userAgent: 'mamori-approvals', deviceId: null });
  return ctx.db.transaction().execute(async (tx) => {
    const repo = approvalsRepository(tx);
    const won = await repo.transition(r.id, [r.state], { state: 'expired', closed_at: now });
    if (!won) return false;
    await appendAudit(tx, ctx.clock, system, {
      action: 'approval.expire', decision: 'allow', rule: r.state === 'pending' ? 'approval.ttl' : 'approval.validity', reason: r.state === 'pending' ? 'Request time-to-live passed' : 'Approval validity window passed unused',
      result: 'ok', subjectUserId: r.requester_id, details: { requestId: r.id, kind: r.kind, from: r.state },
    });
    await notify(tx, ctx.clock, [r.requester_id], { kind: 'approval.expired', params: { requestId: r.id, requestKind: r.kind, summary: r.summary }, link: LINK(r.id) });
    return true;
  });
}

/** The expiry job: every request past its deadline is expired, audited and its requester told. */
export async function expireDue(ctx: AppContext, limit = 200): Promise<number> {
  const due = await approvalsRepository(ctx.db).due(ctx.clock.now(), limit);
  let n = 0;
  for (const r of due) if (await expireOne(ctx, r)) n++;
  return n;
}

/** A request read lazily: past its deadline, it is expired now (recorded), so it can never be used. */
async function current(ctx: AppContext, r: RequestRow): Promise<RequestRow> {
  const live = stateAt({ state: r.state, expiresAt: new Date(r.expires_at), validUntil: r.valid_until ? new Date(r.valid_until) : null }, ctx.clock.now());
  if (live === 'expired' && r.state !== 'expired') {
    await expireOne(ctx, r);
    return (await approvalsRepository(ctx.db).request(r.id))!;
  }
  return r;
}

export async function decide(ctx: AppContext, actor: Actor, requestId: string, decision: 'approve' | 'reject', reasonIn: string): Promise<ApprovalRequestView> {
  let r = await load(ctx, requestId);
  const eligible = await actorEligible(ctx.db, actor, r);
  const d = await authorize(ctx, { actor, action: 'approval.decide', approval: context(r, eligible) }, { subjectUserId: r.requester_id, details: { requestId: r.id, kind: r.kind, decision } });
  const reason = reasonIn.trim();
  if (decision === 'reject' && reason.length === 0) throw new AppError('approval.invalid', 'A rejection needs a reason.', { field: 'reason' });
  if (reason.length > 1000) throw new AppError('approval.invalid', 'The reason is at most 1000 characters.', { field: 'reason' });
  r = await current(ctx, r);
  if (r.state !== 'pending') return refuse(ctx, actor, 'approval.decide', r, 'approval.closed', closedError(r.state));
  const now = ctx.clock.now();
  const outcome = await ctx.db.transaction().execute(async (tx) => {
    const repo = approvalsRepository(tx);
    const locked = (await repo.requestForUpdate(r.id))!;
    if (locked.state !== 'pending' || now >= new Date(locked.expires_at)) return { refused: closedError(locked.state === 'pending' ? 'expired' : locked.state) };
    const before = await repo.decisions([r.id]);
    if (before.some((x) => x.approver_id === actor.userId)) return { refused: new AppError('approval.already_decided', 'You have already decided this request; one person counts once.') };
    await repo.insertDecision({ request_id: r.id, approver_id: actor.userId!, decision, reason, decided_at: now, withdrawn_at: null, withdrawn_reason: null });
    const decisions = await repo.decisions([r.id]);
    const people = await repo.people([r.requester_id, ...decisions.map((x) => x.approver_id)]);
    const t = countNow(locked, decisions, people);
    const next = afterDecision(locked.required_approvals, locked.rejections_to_end, t);
    if (next === 'approved') {
      await repo.transition(r.id, ['pending'], { state: 'approved', approved_at: now, valid_until: new Date(now.getTime() + locked.grant_minutes * 60_000) });
    } else if (next === 'rejected') {
      await repo.transition(r.id, ['pending'], { state: 'rejected', closed_at: now });
    }
    await appendAudit(tx, ctx.clock, actor, {
      action: 'approval.decide', decision: 'allow', rule: d.rule, reason: d.reason.en, result: 'ok', subjectUserId: r.requester_id,
      details: { requestId: r.id, kind: r.kind, decision, approvals: t.approvals, rejections: t.rejections, required: locked.required_approvals, from: 'pending', to: next },
    });
    const by = people.get(actor.userId!)?.displayName ?? actor.login;
    const kind = next === 'approved' ? 'approval.approved' as const : next === 'rejected' ? 'approval.rejected' as const : 'approval.decision' as const;
    await notify(tx, ctx.clock, [r.requester_id], {
      kind, params: { requestId: r.id, requestKind: r.kind, summary: r.summary, by, reason, decision, approvals: t.approvals, required: locked.required_approvals }, link: LINK(r.id),
    });
    return { refused: null };
  });
  if (outcome.refused) return refuse(ctx, actor, 'approval.decide', r, outcome.refused.code === 'approval.already_decided' ? 'approval.once' : 'approval.closed', outcome.refused);
  return getRequest(ctx, actor, r.id, { skipAuth: true });
}

/** The requester withdraws a request that is pending or approved but unused. */
export async function cancel(ctx: AppContext, actor: Actor, requestId: string, reasonIn = ''): Promise<ApprovalRequestView> {
  let r = await load(ctx, requestId);
  const d = await authorize(ctx, { actor, action: 'approval.cancel', approval: context(r, false) }, { subjectUserId: r.requester_id, details: { requestId: r.id } });
  r = await current(ctx, r);
  if (r.state !== 'pending' && r.state !== 'approved') return refuse(ctx, actor, 'approval.cancel', r, 'approval.closed', closedError(r.state));
  const now = ctx.clock.now();
  const ok = await ctx.db.transaction().execute(async (tx) => {
    if (!(await approvalsRepository(tx).transition(r.id, ['pending', 'approved'], { state: 'cancelled', closed_at: now }))) return false;
    await appendAudit(tx, ctx.clock, actor, {
      action: 'approval.cancel', decision: 'allow', rule: d.rule, reason: reasonIn.trim().slice(0, 500) || d.reason.en, result: 'ok', subjectUserId: r.requester_id,
      details: { requestId: r.id, kind: r.kind, from: r.state, to: 'cancelled' },
    });
    await notify(tx, ctx.clock, [r.requester_id], { kind: 'approval.cancelled', params: { requestId: r.id, requestKind: r.kind, summary: r.summary }, link: LINK(r.id) });
    return true;
  });
  if (!ok) return refuse(ctx, actor, 'approval.cancel', r, 'approval.closed', closedError('changed'));
  return getRequest(ctx, actor, r.id, { skipAuth: true });
}

/**
 * Break-glass: one of the kind's configured few makes their own pending request usable without an
 * approval, with a written reason. The security center is alerted at once and an after-the-fact
 * review opens; it stays open until a security center member or the CPO closes it with a note.
 */
export async function breakGlass(ctx: AppContext, actor: Actor, requestId: string, reasonIn: string): Promise<ApprovalRequestView> {
  let r = await load(ctx, requestId);
  const policy = await approvalsRepository(ctx.db).policy(r.kind);
  const allowed = actor.userId !== null && (policy?.break_glass_user_ids ?? []).includes(actor.userId);
  const d = await authorize(ctx, { actor, action: 'approval.break_glass', approval: context(r, false, allowed) }, { subjectUserId: r.requester_id, details: { requestId: r.id, kind: r.kind } });
  const reason = reasonIn.trim();
  if (reason.length < 10 || reason.length > 1000) throw new AppError('approval.invalid', 'Break-glass needs a written reason (10 to 1000 characters).', { field: 'reason' });
  r = await current(ctx, r);
  if (r.state !== 'pending') return refuse(ctx, actor, 'approval.break_glass', r, 'approval.closed', closedError(r.state));
  const now = ctx.clock.now();
  const ok = await ctx.db.transaction().execute(async (tx) => {
    const repo = approvalsRepository(tx);
    const won = await repo.transition(r.id, ['pending'], { state: 'approved', approved_at: now, valid_until: new Date(now.getTime() + r.grant_minutes * 60_000), break_glass_reason: reason });
    if (!won) return false;
    const reviewId = newId();
    await repo.insertReview({ id: reviewId, request_id: r.id, reason, opened_at: now, closed_at: null, closed_by: null, note: null });
    await appendAudit(tx, ctx.clock, actor, {
      action: 'approval.break_glass', decision: 'allow', rule: d.rule, reason: reason.slice(0, 500), result: 'ok', subjectUserId: r.requester_id,
      details: { requestId: r.id, kind: r.kind, reviewId, from: 'pending', to: 'approved' },
    });
    const by = (await repo.people([actor.userId!])).get(actor.userId!)?.displayName ?? actor.login;
    // TODO(monitor): when the monitor branch's alerts land on main, raise one here as well.
    await notify(tx, ctx.clock, await securityCenter(tx), { kind: 'approval.break_glass', params: { requestId: r.id, requestKind: r.kind, summary: r.summary, by, reason }, link: `/approvals/history?request=${r.id}` });
    return true;
  });
  if (!ok) return refuse(ctx, actor, 'approval.break_glass', r, 'approval.closed', closedError('changed'));
  return getRequest(ctx, actor, r.id, { skipAuth: true });
}

export type ConsumeOptions = { kind: ApprovalKind; ref?: string | null };

/**
 * Uses an approved request, exactly once, in the caller's transaction. Refused (AppError
 * `approval.not_usable` or `policy.denied`, nothing written) when: not the requester (or the system
 * worker), another kind, not approved, expired, already used, or — evaluated now, not at approval
 * time — fewer approvals still count than the policy requires (an approver retired, suspended or no
 * longer eligible since). A break-glass approval needs no approver. Prefer `withApproval`, which also
 * audits a refusal.
 */
export async function consume(ctx: AppContext, tx: Executor, actor: Actor, requestId: string, opts: ConsumeOptions): Promise<ApprovalRequestView> {
  const repo = approvalsRepository(tx);
  const r = isUuid(requestId) ? await repo.requestForUpdate(requestId) : undefined;
  if (!r) throw new AppError('not_found', 'No such approval request.');
  const d = evaluate({ actor, action: 'approval.consume', now: ctx.clock.now(), approval: context(r, false) });
  if (d.effect !== 'allow') throw deniedError(d);
  const now = ctx.clock.now();
  const unusable = (rule: string, message: string) => new AppError('approval.not_usable', message, { rule, requestId: r.id, state: r.state });
  if (r.kind !== opts.kind) throw unusable('approval.wrong_kind', 'This approval is for another kind of request.');
  const state = stateAt({ state: r.state, expiresAt: new Date(r.expires_at), validUntil: r.valid_until ? new Date(r.valid_until) : null }, now);
  if (state === 'consumed') throw unusable('approval.used', 'This approval has already been used; it is single-use.');
  if (state === 'expired') throw unusable('approval.expired', 'This approval has expired.');
  if (state !== 'approved') throw unusable('approval.not_approved', 'This request is not approved.');
  if (r.break_glass_reason === null) {
    const decisions = await repo.decisions([r.id]);
    const people = await repo.people([r.requester_id, ...decisions.map((x) => x.approver_id)]);
    const t = countNow(r, decisions, people);
    if (t.approvals < r.required_approvals) throw unusable('approval.lapsed', 'Not enough of its approvals still count (an approver left, was suspended or is no longer eligible); it needs approving again.');
  }
  if (!(await repo.transition(r.id, ['approved'], { state: 'consumed', consumed_at: now, consumed_ref: opts.ref ?? null, closed_at: now }))) throw unusable('approval.used', 'This approval has already been used.');
  await appendAudit(tx, ctx.clock, actor, {
    action: 'approval.consume', decision: 'allow', rule: d.rule, reason: d.reason.en, result: 'ok', subjectUserId: r.requester_id,
    details: { requestId: r.id, kind: r.kind, ref: opts.ref ?? null, breakGlass: r.break_glass_reason !== null, from: 'approved', to: 'consumed' },
  });
  const fresh = (await repo.request(r.id))!;
  return (await viewsOf(tx, [fresh], now)).views[0]!;
}

/**
 * Opens a transaction, consumes the approval in it and runs `fn` (the using module's writes) in the
 * same transaction: the use and its effect commit together or not at all. A refused use is audited
 * in its own transaction; an approval whose approvals lapsed goes back to pending (its requester is
 * told), so that another eligible person can approve it.
 */
export async function withApproval<T>(ctx: AppContext, actor: Actor, requestId: string, opts: ConsumeOptions, fn: (tx: Executor, request: ApprovalRequestView) => Promise<T>): Promise<T> {
  try {
    return await ctx.db.transaction().execute(async (tx) => fn(tx, await consume(ctx, tx, actor, requestId, opts)));
  } catch (e) {
    if (!isAppError(e) || !['approval.not_usable', 'policy.denied', 'auth.mfa_required'].includes(e.code)) throw e;
    const rule = (e.details as { rule?: string } | undefined)?.rule ?? 'approval.refused';
    const r = isUuid(requestId) ? await approvalsRepository(ctx.db).request(requestId) : undefined;
    await appendAuditAlone(ctx.db, ctx.clock, actor, {
      action: 'approval.consume', decision: 'deny', rule, reason: e.message, result: 'denied', subjectUserId: r?.requester_id ?? null, details: { requestId, kind: opts.kind },
    });
    if (r && rule === 'approval.lapsed') await reopen(ctx, r);
    else if (r && rule === 'approval.expired') await current(ctx, r);
    throw e;
  }
}

/** An approved request whose approvals no longer suffice goes back to pending. */
async function reopen(ctx: AppContext, r: RequestRow): Promise<void> {
  const system = systemActor({ ip: null, userAgent: 'mamori-approvals', deviceId: null });
  await ctx.db.transaction().execute(async (tx) => {
    const repo = approvalsRepository(tx);
    if (!(await repo.transition(r.id, ['approved'], { state: 'pending', approved_at: null, valid_until: null }))) return;
    await appendAudit(tx, ctx.clock, system, {
      action: 'approval.decide', decision: 'allow', rule: 'approval.lapsed', reason: 'Approvals no longer sufficient: back to pending', result: 'ok', subjectUserId: r.requester_id,
      details: { requestId: r.id, kind: r.kind, from: 'approved', to: 'pending' },
    });
    await notify(tx, ctx.clock, [r.requester_id], { kind: 'approval.decision', params: { requestId: r.id, requestKind: r.kind, summary: r.summary, by: 'Mamori', approvals: 0, required: r.required_approvals }, link: LINK(r.id) });
  });
}

/**
 * For leavers (identity, issue 7), in the caller's transaction: the user's open requests are
 * cancelled and the approvals they gave on requests not yet used are withdrawn; approved requests
 * that no longer have enough approvals go back to pending. Returns counts for the caller's audit.
 */
export async function withdrawForLeaver(ctx: AppContext, tx: Executor, actor: Actor, userId: string): Promise<{ cancelled: number; withdrawn: number; reopened: number }> {
  const repo = approvalsRepository(tx);
  const now = ctx.clock.now();
  let cancelled = 0;
  for (const r of await repo.openRequestsOf(userId)) {
    if (await repo.transition(r.id, ['pending', 'approved'], { state: 'cancelled', closed_at: now })) {
      cancelled++;
      await appendAudit(tx, ctx.clock, actor, { action: 'approval.cancel', decision: 'allow', rule: 'approval.leaver', reason: 'Requester left or was suspended', result: 'ok', subjectUserId: userId, details: { requestId: r.id, kind: r.kind, from: r.state, to: 'cancelled' } });
    }
  }
  const touched = await repo.withdrawApprovalsBy(userId, now, 'approver left or was suspended');
  let reopened = 0;
  for (const r of await repo.requests(touched)) {
    await appendAudit(tx, ctx.clock, actor, { action: 'approval.decide', decision: 'allow', rule: 'approval.leaver', reason: 'Approval withdrawn: approver left or was suspended', result: 'ok', subjectUserId: r.requester_id, details: { requestId: r.id, approverId: userId } });
    if (r.state !== 'approved' || r.break_glass_reason !== null) continue;
    const decisions = await repo.decisions([r.id]);
    const people = await repo.people([r.requester_id, ...decisions.map((x) => x.approver_id)]);
    if (countNow(r, decisions, people).approvals < r.required_approvals && (await repo.transition(r.id, ['approved'], { state: 'pending', approved_at: null, valid_until: null }))) {
      reopened++;
      await notify(tx, ctx.clock, [r.requester_id], { kind: 'approval.decision', params: { requestId: r.id, requestKind: r.kind, summary: r.summary, by: 'Mamori', approvals: 0, required: r.required_approvals }, link: LINK(r.id) });
    }
  }
  return { cancelled, withdrawn: touched.length, reopened };
}

// ---------------------------------------------------------------- reads

export async function getRequest(ctx: AppContext, actor: Actor, requestId: string, opts: { skipAuth?: boolean } = {}): Promise<ApprovalRequestView> {
  const r = await load(ctx, requestId);
  if (!opts.skipAuth) await authorize(ctx, { actor, action: 'approval.read', approval: context(r, await actorEligible(ctx.db, actor, r)) }, { details: { requestId: r.id } });
  return (await viewsOf(ctx.db, [r], ctx.clock.now())).views[0]!;
}

export async function myRequests(ctx: AppContext, actor: Actor, limit = 200): Promise<ApprovalRequestView[]> {
  await authorize(ctx, { actor, action: 'approval.read' });
  if (!actor.userId) return [];
  const rows = await approvalsRepository(ctx.db).byRequester(actor.userId, limit);
  return (await viewsOf(ctx.db, rows, ctx.clock.now())).views;
}

/** Pending requests the actor may decide and has not decided yet (never their own). */
export async function waitingForMe(ctx: AppContext, actor: Actor): Promise<ApprovalRequestView[]> {
  await authorize(ctx, { actor, action: 'approval.read' });
  if (!actor.userId) return [];
  const now = ctx.clock.now();
  const rows = await approvalsRepository(ctx.db).openPending(now, actor.userId, 500);
  const { views, people, decisions } = await viewsOf(ctx.db, rows, now, [actor.userId]);
  const me = people.get(actor.userId);
  if (!me) return [];
  return views.filter((v, i) => {
    const r = rows[i]!;
    return isEligible(eligibilityOf(r), requesterOf(r, people), me) && !decisions.some((d) => d.request_id === r.id && d.approver_id === actor.userId);
  });
}
