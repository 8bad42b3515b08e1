/**
 * The approvals engine on a real database: the two-person rule and its invariants (self-approval
 * refused even for an administrator holding every role, one count per person, only eligible people,
 * an approver retired after approving no longer counts, closed requests cannot be decided, one use),
 * expiry by time (lazy and by the job), break-glass with its alert and review, notifications, the
 * policy settings, the history CSV, and the audit trail of every transition.
 */
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import assert from 'node:assert/strict';
import { ROLES, type ApprovalKind } from '@mamori/contracts';
import { startTestApp, signIn, type TestApp, type Session, actorOf as actorOfUser } from './support/app.ts';
import { identity, systemActor, type Actor } from '../src/modules/identity/index.ts';
import { isAppError } from '../src/platform/errors.ts';
import * as approvals from '../src/modules/approvals/index.ts';
import * as lifecycle from '../src/modules/lifecycle/index.ts';
import { listNotifications, markRead } from '../src/modules/notifications/index.ts';

let t: TestApp;
const system = systemActor({ ip: null, userAgent: 'test', deviceId: null });

before(async () => {
  t = await startTestApp({ demoContacts: 0 });
});
after(async () => {
  await t?.close();
});

const actorOf = (login: string): Promise<Actor> => actorOfUser(t, login);

let counter = 0;
async function createUser(login: string, over: Partial<identity.CreateUserInput> = {}): Promise<Actor> {
  await identity.createUser(t.ctx, system, { login, displayName: `テスト ${login}`, employmentType: 'employee', password: 'a long enough password 1', ...over });
  return actorOf(login);
}

async function file(actor: Actor, kind: ApprovalKind = 'general', over: Partial<approvals.FileRequestInput> = {}) {
  counter++;
  return t.ctx.db.transaction().execute((tx) => approvals.fileRequest(t.ctx, tx, actor, { kind, summary: `申請 ${counter}`, scope: { purpose: '検証', n: counter }, ...over }));
}

async function setPolicy(kind: ApprovalKind, patch: Partial<approvals.FileRequestInput> & Record<string, unknown>) {
  const cur = (await approvals.listPolicies(t.ctx, system)).find((p) => p.kind === kind)!;
  const { kind: _k, updatedAt: _u, updatedBy: _b, version: _v, ...rest } = cur;
  return approvals.updatePolicy(t.ctx, system, kind, { ...rest, ...patch });
}

async function rejects(p: Promise<unknown>, code: string, rule?: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isAppError(e), String(e));
    assert.equal(e.code, code, `${e.code}: ${e.message}`);
    if (rule) assert.equal((e.details as { rule?: string }).rule, rule);
    return true;
  });
}

/** Every audit event, integrated or still pending, in order. */
async function allEvents(): Promise<{ payload: string }[]> {
  return (await sql<{ payload: string }>`SELECT payload, id FROM audit_events UNION ALL SELECT payload, id FROM audit_pending ORDER BY id`.execute(t.ctx.db)).rows;
}

async function auditOf(requestId: string): Promise<{ action: string; decision: string; rule: string; to: string | null }[]> {
  const rows = await allEvents();
  return rows.map((r) => JSON.parse(r.payload) as { action: string; decision: string; rule: string; details: { requestId?: string; to?: string } })
    .filter((e) => e.details.requestId === requestId)
    .map((e) => ({ action: e.action, decision: e.decision, rule: e.rule, to: e.details.to ?? null }));
}

async function use(actor: Actor, id: string, kind: ApprovalKind = 'general') {
  return approvals.withApproval(t.ctx, actor, id, { kind, ref: 'test' }, async (_tx, v) => v);
}

void test('self-approval is refused, even for an administrator holding every role and being their own supervisor; the refusal is audited; the database refuses it too', async () => {
  const almighty = await createUser('almighty', { roles: [...ROLES] });
  await t.ctx.db.updateTable('users').set({ supervisor_id: almighty.userId }).where('id', '=', almighty.userId!).execute();
  // Every policy knob at its most permissive: every role, the supervisor.
  await setPolicy('general', { eligibleRoles: [...ROLES], requesterSupervisor: true } as never);
  const r = await file(almighty);
  await rejects(approvals.decide(t.ctx, almighty, r.id, 'approve', 'ok'), 'policy.denied', 'approval.self');
  await rejects(approvals.decide(t.ctx, almighty, r.id, 'reject', 'no'), 'policy.denied', 'approval.self');
  const audit = await auditOf(r.id);
  assert.deepEqual(audit.filter((e) => e.action === 'approval.decide').map((e) => [e.decision, e.rule]), [['deny', 'approval.self'], ['deny', 'approval.self']]);
  assert.equal((await approvals.getRequest(t.ctx, almighty, r.id)).state, 'pending');
  // Defence in depth: even a direct insert is refused by the database.
  await assert.rejects(t.ctx.db.insertInto('approval_decisions').values({ request_id: r.id, approver_id: almighty.userId!, decision: 'approve', reason: '', decided_at: new Date(), withdrawn_at: null, withdrawn_reason: null }).execute(), /cannot decide their own/);
  await setPolicy('general', { eligibleRoles: ['cpo', 'security_center'], requesterSupervisor: true } as never);
});

void test('only eligible people decide; one person counts once; N approvals approve; the validity window counts from approval', async () => {
  await setPolicy('general', { requiredApprovals: 2 } as never);
  const handler = await actorOf('handler');
  const r = await file(handler);
  assert.equal(r.requiredApprovals, 2);
  // Not eligible: another handler-ish user, the auditor, the administrator.
  for (const login of ['haken', 'auditor', 'admin']) await rejects(approvals.decide(t.ctx, await actorOf(login), r.id, 'approve', ''), 'policy.denied', 'approval.not_eligible');
  const cpo = await actorOf('cpo');
  const first = await approvals.decide(t.ctx, cpo, r.id, 'approve', '内容を確認しました');
  assert.equal(first.state, 'pending');
  assert.equal(first.approvals, 1);
  await rejects(approvals.decide(t.ctx, cpo, r.id, 'approve', 'again'), 'approval.already_decided');
  await rejects(approvals.decide(t.ctx, cpo, r.id, 'reject', 'changed my mind'), 'approval.already_decided');
  assert.equal((await approvals.getRequest(t.ctx, cpo, r.id)).approvals, 1);
  t.clock.advance(60_000);
  // The supervisor of the handler (owner) is eligible through the policy's supervisor rule.
  const done = await approvals.decide(t.ctx, await actorOf('owner'), r.id, 'approve', '');
  assert.equal(done.state, 'approved');
  assert.equal(done.approvals, 2);
  assert.equal(new Date(done.validUntil!).getTime() - new Date(done.approvedAt!).getTime(), 1440 * 60_000);
  assert.equal(done.approvedAt, t.clock.now().toISOString());
  await rejects(approvals.decide(t.ctx, await actorOf('secops'), r.id, 'approve', ''), 'approval.closed');
  await setPolicy('general', { requiredApprovals: 1 } as never);
});

void test('an approver retired or suspended in the console is a leaver: their approval is withdrawn at once and the request waits again; an approver no longer eligible stops counting at use time', async () => {
  const handler = await actorOf('handler');
  const approver = await createUser('sc-temp', { roles: ['security_center'] });
  const r = await file(handler);
  assert.equal((await approvals.decide(t.ctx, approver, r.id, 'approve', 'ok')).state, 'approved');
  // Retiring goes through the lifecycle, as a SCIM leaver does: the approval is withdrawn in the
  // retirement's own transaction, so the request is pending before anyone tries to use it.
  await lifecycle.setUserStatus(t.ctx, system, approver.userId!, 'retired', 'left the company');
  const after = await approvals.getRequest(t.ctx, handler, r.id);
  assert.equal(after.state, 'pending');
  assert.equal(after.approvals, 0);
  assert.equal(after.decisions[0]!.counts, false);
  await rejects(use(handler, r.id), 'approval.not_usable', 'approval.not_approved');
  const audit = await auditOf(r.id);
  assert.ok(audit.some((e) => e.action === 'approval.decide' && e.rule === 'approval.leaver'), JSON.stringify(audit));
  // A suspended approver is a leaver too.
  const second = await createUser('sc-temp2', { roles: ['security_center'] });
  assert.equal((await approvals.decide(t.ctx, second, r.id, 'approve', 'ok')).state, 'approved');
  await lifecycle.setUserStatus(t.ctx, system, second.userId!, 'suspended', 'investigation');
  assert.equal((await approvals.getRequest(t.ctx, handler, r.id)).state, 'pending');
  await rejects(use(handler, r.id), 'approval.not_usable', 'approval.not_approved');
  // At use time the approvals are counted again with each approver as they are now: one who lost
  // the eligible role no longer counts; the use is refused and the request goes back to pending.
  const third = await createUser('sc-temp3', { roles: ['security_center'] });
  assert.equal((await approvals.decide(t.ctx, third, r.id, 'approve', 'ok')).state, 'approved');
  await lifecycle.updateUser(t.ctx, system, third.userId!, { roles: [] });
  await rejects(use(handler, r.id), 'approval.not_usable', 'approval.lapsed');
  assert.equal((await approvals.getRequest(t.ctx, handler, r.id)).state, 'pending');
  const audit2 = await auditOf(r.id);
  assert.ok(audit2.some((e) => e.action === 'approval.consume' && e.decision === 'deny' && e.rule === 'approval.lapsed'), JSON.stringify(audit2));
  assert.ok(audit2.some((e) => e.action === 'approval.decide' && e.rule === 'approval.lapsed' && e.to === 'pending'));
  await approvals.decide(t.ctx, await actorOf('secops'), r.id, 'approve', 'ok');
  assert.equal((await use(handler, r.id)).state, 'consumed');
});

void test('single use: a second use is refused; a use by someone else is refused; another kind cannot use it', async () => {
  const handler = await actorOf('handler');
  const r = await file(handler);
  await approvals.decide(t.ctx, await actorOf('cpo'), r.id, 'approve', '');
  await rejects(use(await actorOf('owner'), r.id), 'policy.denied', 'approval.not_requester');
  await rejects(use(handler, r.id, 'extraction'), 'approval.not_usable', 'approval.wrong_kind');
  const used = await use(handler, r.id);
  assert.equal(used.state, 'consumed');
  await rejects(use(handler, r.id), 'approval.not_usable', 'approval.used');
  // The using module's writes and the use commit together: a failing effect leaves it unused.
  const r2 = await file(handler);
  await approvals.decide(t.ctx, await actorOf('cpo'), r2.id, 'approve', '');
  await assert.rejects(approvals.withApproval(t.ctx, handler, r2.id, { kind: 'general' }, async () => { throw new Error('effect failed'); }), /effect failed/);
  assert.equal((await approvals.getRequest(t.ctx, handler, r2.id)).state, 'approved');
  const audit = await auditOf(r.id);
  assert.deepEqual(audit.filter((e) => e.action === 'approval.consume').map((e) => [e.decision, e.rule]), [
    ['deny', 'approval.not_requester'], ['deny', 'approval.wrong_kind'], ['allow', 'approval.requester'], ['deny', 'approval.used'],
  ]);
});

void test('expiry: past its time-to-live a request cannot be decided (recorded expired, requester told); past its validity window an approval cannot be used; the job expires the rest', async () => {
  const handler = await actorOf('handler');
  const cpo = await actorOf('cpo');
  const a = await file(handler);
  t.clock.advance(4320 * 60_000);
  assert.equal((await approvals.getRequest(t.ctx, handler, a.id)).state, 'expired', 'read lazily as expired');
  await rejects(approvals.decide(t.ctx, cpo, a.id, 'approve', ''), 'approval.closed');
  const stored = await t.ctx.db.selectFrom('approval_requests').select('state').where('id', '=', a.id).executeTakeFirstOrThrow();
  assert.equal(stored.state, 'expired');
  const b = await file(handler);
  await approvals.decide(t.ctx, cpo, b.id, 'approve', '');
  t.clock.advance(1440 * 60_000);
  await rejects(use(handler, b.id), 'approval.not_usable', 'approval.expired');
  await approvals.expireDue(t.ctx); // what earlier tests left pending
  const c = await file(handler);
  t.clock.advance(4320 * 60_000 - 1);
  assert.equal(await approvals.expireDue(t.ctx), 0, 'not a millisecond early');
  t.clock.advance(1);
  assert.ok((await approvals.expireDue(t.ctx)) >= 1);
  assert.equal((await approvals.getRequest(t.ctx, handler, c.id)).state, 'expired');
  assert.equal(await approvals.expireDue(t.ctx), 0, 'once');
  for (const id of [a.id, b.id, c.id]) {
    const audit = await auditOf(id);
    assert.equal(audit.filter((e) => e.action === 'approval.expire' && e.to === null).length, 1, JSON.stringify(audit));
  }
  const inbox = await listNotifications(t.ctx, handler, { limit: 200 });
  for (const id of [a.id, b.id, c.id]) assert.ok(inbox.notifications.some((n) => n.kind === 'approval.expired' && n.link?.endsWith(id)));
  // History keeps them after expiry.
  const hist = await approvals.history(t.ctx, await actorOf('auditor'), { state: 'expired' });
  for (const id of [a.id, b.id, c.id]) assert.ok(hist.some((v) => v.id === id));
});

void test('cancellation by the requester only; decisions on cancelled or rejected requests are refused; rejections end it', async () => {
  const handler = await actorOf('handler');
  const cpo = await actorOf('cpo');
  const a = await file(handler);
  await rejects(approvals.cancel(t.ctx, cpo, a.id), 'policy.denied', 'approval.not_requester');
  assert.equal((await approvals.cancel(t.ctx, handler, a.id, 'no longer needed')).state, 'cancelled');
  await rejects(approvals.decide(t.ctx, cpo, a.id, 'approve', ''), 'approval.closed');
  await rejects(approvals.cancel(t.ctx, handler, a.id), 'approval.closed');
  const b = await file(handler);
  await rejects(approvals.decide(t.ctx, cpo, b.id, 'reject', '  '), 'approval.invalid');
  const rejected = await approvals.decide(t.ctx, cpo, b.id, 'reject', '目的が不明確です');
  assert.equal(rejected.state, 'rejected');
  await rejects(approvals.decide(t.ctx, await actorOf('secops'), b.id, 'approve', ''), 'approval.closed');
  await rejects(use(handler, b.id), 'approval.not_usable', 'approval.not_approved');
  const audit = await auditOf(b.id);
  assert.deepEqual(audit.filter((e) => e.decision === 'allow').map((e) => [e.action, e.to]), [['approval.request', null], ['approval.decide', 'rejected']]);
});

void test('notifications: eligible approvers on filing (not the requester, not the ineligible), the requester on each decision; unread count and mark read are per person', async () => {
  const handler = await actorOf('handler');
  const before = new Map<string, number>();
  for (const login of ['cpo', 'secops', 'owner', 'handler', 'auditor', 'admin']) before.set(login, (await listNotifications(t.ctx, await actorOf(login))).unread);
  const r = await file(handler, 'general', { summary: '書類の持ち出し' });
  for (const [login, n] of before) {
    const now = (await listNotifications(t.ctx, await actorOf(login))).unread;
    assert.equal(now - n, ['cpo', 'secops', 'owner'].includes(login) ? 1 : 0, login);
  }
  const cpoInbox = await listNotifications(t.ctx, await actorOf('cpo'), { unreadOnly: true });
  const mine = cpoInbox.notifications.find((n) => n.link?.endsWith(r.id))!;
  assert.equal(mine.kind, 'approval.requested');
  assert.match(mine.title.ja, /承認依頼/);
  assert.match(mine.body.en, /書類の持ち出し/);
  await approvals.decide(t.ctx, await actorOf('cpo'), r.id, 'approve', '確認済み');
  const h = await listNotifications(t.ctx, handler, { unreadOnly: true });
  const decided = h.notifications.find((n) => n.link?.endsWith(r.id))!;
  assert.equal(decided.kind, 'approval.approved');
  assert.match(decided.body.ja, /確認済み/);
  // Marking someone else's notification read changes nothing.
  assert.equal(await markRead(t.ctx, handler, [mine.id]), 0);
  assert.equal(await markRead(t.ctx, await actorOf('cpo'), [mine.id]), 1);
  assert.equal(await markRead(t.ctx, handler, 'all'), h.unread);
  assert.equal((await listNotifications(t.ctx, handler)).unread, 0);
});

void test('break-glass: refused unless configured; a configured requester bypasses with a reason; the security center is alerted at once; the review stays open until closed by someone else with a note', async () => {
  const handler = await actorOf('handler');
  const r = await file(handler);
  await rejects(approvals.breakGlass(t.ctx, handler, r.id, 'urgent customer request from legal'), 'policy.denied', 'approval.break_glass_not_allowed');
  await setPolicy('general', { breakGlassUserIds: [handler.userId!] } as never);
  await rejects(approvals.breakGlass(t.ctx, await actorOf('cpo'), r.id, 'not mine to bypass at all'), 'policy.denied', 'approval.not_requester');
  await rejects(approvals.breakGlass(t.ctx, handler, r.id, 'short'), 'approval.invalid');
  const secBefore = (await listNotifications(t.ctx, await actorOf('secops'))).notifications.filter((n) => n.kind === 'approval.break_glass').length;
  const v = await approvals.breakGlass(t.ctx, handler, r.id, '障害対応のため至急必要（顧客との契約上の期限）');
  assert.equal(v.state, 'approved');
  assert.equal(v.approvals, 0);
  assert.ok(v.breakGlass?.reviewId);
  const sec = (await listNotifications(t.ctx, await actorOf('secops'))).notifications.filter((n) => n.kind === 'approval.break_glass');
  assert.equal(sec.length - secBefore, 1);
  const open = await approvals.listReviews(t.ctx, await actorOf('auditor'), true);
  assert.ok(open.some((x) => x.requestId === r.id));
  // Usable without approvers, once.
  assert.equal((await use(handler, r.id)).state, 'consumed');
  await rejects(approvals.closeReview(t.ctx, await actorOf('auditor'), v.breakGlass!.reviewId!, 'fine'), 'policy.denied', 'role.missing');
  await rejects(approvals.closeReview(t.ctx, await actorOf('secops'), v.breakGlass!.reviewId!, ' '), 'approval.invalid');
  await approvals.closeReview(t.ctx, await actorOf('secops'), v.breakGlass!.reviewId!, '事後確認: 正当な理由を確認');
  await rejects(approvals.closeReview(t.ctx, await actorOf('cpo'), v.breakGlass!.reviewId!, 'again'), 'conflict');
  assert.ok(!(await approvals.listReviews(t.ctx, await actorOf('auditor'), true)).some((x) => x.requestId === r.id));
  const audit = await auditOf(r.id);
  assert.deepEqual(audit.filter((e) => e.decision === 'allow').map((e) => e.action), ['approval.request', 'approval.break_glass', 'approval.consume', 'approval.review.close']);
  await setPolicy('general', { breakGlassUserIds: [] } as never);
});

void test('a break-glass user cannot close the review of their own break-glass, even as security center', async () => {
  const sc = await createUser('sc-breaker', { roles: ['security_center'] });
  await setPolicy('general', { breakGlassUserIds: [sc.userId!] } as never);
  const r = await file(sc);
  const v = await approvals.breakGlass(t.ctx, sc, r.id, 'incident response needs this right now');
  await rejects(approvals.closeReview(t.ctx, sc, v.breakGlass!.reviewId!, 'looks fine to me'), 'policy.denied', 'approval.self_review');
  await setPolicy('general', { breakGlassUserIds: [] } as never);
});

void test('leavers: withdrawForLeaver cancels their open requests and withdraws the approvals they gave, reopening what no longer has enough', async () => {
  const leaver = await createUser('leaver', { roles: ['security_center'] });
  const handler = await actorOf('handler');
  const mine = await file(leaver);
  const theirs = await file(handler);
  await approvals.decide(t.ctx, leaver, theirs.id, 'approve', '');
  const res = await t.ctx.db.transaction().execute((tx) => approvals.withdrawForLeaver(t.ctx, tx, system, leaver.userId!));
  assert.deepEqual(res, { cancelled: 1, withdrawn: 1, reopened: 1 });
  assert.equal((await approvals.getRequest(t.ctx, leaver, mine.id, { skipAuth: true })).state, 'cancelled');
  const v = await approvals.getRequest(t.ctx, handler, theirs.id);
  assert.equal(v.state, 'pending');
  assert.ok(v.decisions[0]!.withdrawnAt);
});

void test('filing: the scope is kept exactly as filed; bad input is refused with nothing written; nobody-eligible is refused', async () => {
  const handler = await actorOf('handler');
  const scope = { dataset: 'contacts', fields: ['company_name', 'person_name'], rowCount: 1234, purpose: '営業活動', recipient: '社内利用', filter: 'prefecture = 東京都' };
  const r = await file(handler, 'extraction', { scope, summary: 'contacts 抽出' });
  assert.equal(JSON.stringify(r.scope), JSON.stringify(scope));
  const count = async () => Number((await t.ctx.db.selectFrom('approval_requests').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  const n = await count();
  await rejects(file(handler, 'general', { summary: ' ' }), 'approval.invalid');
  await rejects(file(handler, 'general', { scope: {} }), 'approval.invalid');
  await rejects(file(handler, 'general', { scope: { 'bad key': 'x' } }), 'approval.invalid');
  await rejects(file(handler, 'general', { scope: { nested: { a: 1 } as never } }), 'approval.invalid');
  await rejects(file(handler, 'nope' as ApprovalKind), 'approval.invalid');
  await setPolicy('custody_return', { eligibleRoles: ['cio'], requiredApprovals: 5 } as never);
  await rejects(file(handler, 'custody_return'), 'approval.invalid');
  assert.equal(await count(), n);
});

// ---------------------------------------------------------------- over HTTP

let admin: Session;
let cpoS: Session;
let handlerS: Session;
let auditorS: Session;

void test('HTTP: policies — zero approvals refused with a clear 400 and nothing written; the CPO updates (audited); a handler is refused (audited)', async () => {
  admin = await signIn(t, 'admin');
  cpoS = await signIn(t, 'cpo');
  handlerS = await signIn(t, 'handler');
  auditorS = await signIn(t, 'auditor');
  const list = await admin.request('GET', '/api/approvals/policies');
  assert.equal(list.status, 200);
  assert.deepEqual(list.json.policies.map((p: { kind: string }) => p.kind).sort(), ['custody_return', 'device_takeout', 'extraction', 'general', 'transmission']);
  const ex = list.json.policies.find((p: { kind: string }) => p.kind === 'extraction');
  const body = { requiredApprovals: 0, rejectionsToEnd: 1, eligibleRoles: ['cpo'], eligibleGroupIds: [], requesterSupervisor: true, requestTtlMinutes: 60, grantMaxMinutes: 60, breakGlassUserIds: [] };
  const zero = await admin.request('PATCH', '/api/approvals/policies/extraction', body);
  assert.equal(zero.status, 404, 'PUT, not PATCH');
  const bad = await t.app.inject({ method: 'PUT', url: '/api/approvals/policies/extraction', headers: { cookie: `mamori_session=${admin.cookie}`, 'x-csrf-token': admin.csrf }, payload: body });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().error.code, 'approval.invalid_policy');
  assert.equal(bad.json().error.details.field, 'requiredApprovals');
  const same = (await admin.request('GET', '/api/approvals/policies')).json.policies.find((p: { kind: string }) => p.kind === 'extraction');
  assert.equal(same.version, ex.version);
  const put = (s: Session, b: unknown) => t.app.inject({ method: 'PUT', url: '/api/approvals/policies/extraction', headers: { cookie: `mamori_session=${s.cookie}`, 'x-csrf-token': s.csrf }, payload: b as object });
  const ok = await put(cpoS, { ...body, requiredApprovals: 2, version: ex.version });
  assert.equal(ok.statusCode, 200, ok.body);
  assert.equal(ok.json().policy.requiredApprovals, 2);
  const stale = await put(cpoS, { ...body, requiredApprovals: 1, version: ex.version });
  assert.equal(stale.json().error.code, 'conflict');
  const denied = await put(handlerS, { ...body, requiredApprovals: 1 });
  assert.equal(denied.statusCode, 403);
  const events = (await allEvents()).map((r) => JSON.parse(r.payload) as { action: string; decision: string });
  assert.ok(events.some((e) => e.action === 'approval.policy.update' && e.decision === 'allow'));
  assert.ok(events.some((e) => e.action === 'approval.policy.update' && e.decision === 'deny'));
  await put(cpoS, { ...body, requiredApprovals: 1, requestTtlMinutes: 4320, grantMaxMinutes: 1440, eligibleRoles: ['data_owner', 'cpo'] });
});

void test('HTTP: file a general request, see it waiting for the approver, approve it, the requester sees the decision; use it once', async () => {
  const filed = await handlerS.request('POST', '/api/approvals/requests', { kind: 'general', summary: 'USBメモリの一時利用', purpose: '展示会のデモ', details: '貸与PCで1日のみ' });
  assert.equal(filed.status, 201, JSON.stringify(filed.json));
  const id = filed.json.request.id;
  assert.deepEqual(filed.json.request.scope, { purpose: '展示会のデモ', details: '貸与PCで1日のみ' });
  assert.equal((await handlerS.request('POST', '/api/approvals/requests', { kind: 'extraction', summary: 'x', purpose: 'y' })).status, 400, 'only general through this route');
  const inbox = await cpoS.request('GET', '/api/approvals/inbox');
  assert.ok(inbox.json.requests.some((r: { id: string }) => r.id === id));
  assert.ok(!(await handlerS.request('GET', '/api/approvals/inbox')).json.requests.some((r: { id: string }) => r.id === id), 'never one\'s own');
  assert.equal((await handlerS.request('POST', `/api/approvals/requests/${id}/approve`, {})).status, 403);
  assert.equal((await cpoS.request('POST', `/api/approvals/requests/${id}/reject`, {})).status, 400);
  const ok = await cpoS.request('POST', `/api/approvals/requests/${id}/approve`, { reason: 'OK' });
  assert.equal(ok.status, 200);
  assert.equal(ok.json.request.state, 'approved');
  const mine = await handlerS.request('GET', '/api/approvals/requests');
  assert.equal(mine.json.requests.find((r: { id: string }) => r.id === id).state, 'approved');
  const count = await handlerS.request('GET', '/api/notifications/unread-count');
  assert.ok(count.json.unread >= 1);
  const notes = await handlerS.request('GET', '/api/notifications?unread=true');
  assert.ok(notes.json.notifications.some((n: { kind: string; link: string }) => n.kind === 'approval.approved' && n.link.endsWith(id)));
  assert.equal((await handlerS.request('POST', '/api/notifications/read', { all: true })).status, 200);
  assert.equal((await handlerS.request('GET', '/api/notifications/unread-count')).json.unread, 0);
  assert.equal((await auditorS.request('GET', `/api/approvals/requests/${id}`)).status, 200, 'overseers read');
  assert.equal((await (await signIn(t, 'hr')).request('GET', `/api/approvals/requests/${id}`)).status, 403, 'others do not');
  assert.equal((await handlerS.request('POST', `/api/approvals/requests/${id}/use`)).json.request.state, 'consumed');
  const again = await handlerS.request('POST', `/api/approvals/requests/${id}/use`);
  assert.equal(again.status, 409);
  assert.equal(again.json.error.code, 'approval.not_usable');
});

void test('HTTP: history CSV — UTF-8 BOM, CRLF, one row per request, filters, formula-safe cells; only CPO, auditor and security center', async () => {
  const filed = await handlerS.request('POST', '/api/approvals/requests', { kind: 'general', summary: '=HYPERLINK("http://x")', purpose: '検証' });
  assert.equal(filed.status, 201);
  const res = await t.app.inject({ method: 'GET', url: '/api/approvals/history.csv?kind=general', headers: { cookie: `mamori_session=${auditorS.cookie}` } });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /text\/csv; charset=utf-8/);
  assert.match(String(res.headers['content-disposition']), /attachment; filename="approvals-\d{4}-\d{2}-\d{2}\.csv"/);
  const raw = res.rawPayload;
  assert.deepEqual([...raw.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
  const text = raw.toString('utf8').slice(1);
  const lines = text.split('\r\n');
  assert.equal(lines.at(-1), '');
  assert.match(lines[0]!, /^id,kind,state,requester_login/);
  assert.ok(lines.slice(1, -1).every((l) => l.includes(',general,')));
  assert.ok(text.includes(`"'=HYPERLINK(""http://x"")"`), 'a formula is neutralised');
  const json = await auditorS.request('GET', '/api/approvals/history?kind=general&state=pending');
  assert.ok(json.json.requests.length >= 1);
  assert.ok(json.json.requests.every((r: { kind: string; state: string }) => r.kind === 'general' && r.state === 'pending'));
  const future = await auditorS.request('GET', `/api/approvals/history?from=${encodeURIComponent(new Date(t.clock.now().getTime() + 86_400_000).toISOString())}`);
  assert.equal(future.json.requests.length, 0);
  assert.equal((await handlerS.request('GET', '/api/approvals/history')).status, 403);
  assert.equal((await admin.request('GET', '/api/approvals/history.csv')).status, 403);
});
