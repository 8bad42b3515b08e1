/**
 * The periodic review: when a period ends the reviewers get its delivered transmissions; each mark is
 * audited; a reviewer never marks a transmission they sent or approved; a review still open past its
 * due date alerts the security center once; the record is exportable.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { startTestApp, signIn, type TestApp, actorOf as actorOfUser } from './support/app.ts';
import { startSmtpPeer, type SmtpPeer } from './support/smtp.ts';
import { testPki } from './support/tls.ts';
import { identity, type Actor } from '../src/modules/identity/index.ts';
import * as approvals from '../src/modules/approvals/index.ts';
import { advanceApprovals, compose, DEFAULT_RULES, deliverQueued, getRules, getReview, listReviews, markItem, runReviews, updateRules, type RelaySettings } from '../src/modules/transmissions/index.ts';

let t: TestApp;
let peer: SmtpPeer;
let relay: RelaySettings;
const ids: string[] = [];

before(async () => {
  t = await startTestApp({ demoContacts: 0 });
  // Wednesday 2026-11-25 10:00 JST: inside the week that starts on Monday the 23rd.
  t.clock.set(new Date('2026-11-25T01:00:00Z'));
  peer = await startSmtpPeer('starttls');
  relay = { url: peer.url, ca: (await testPki()).ca, auth: null };
  for (const [login, email] of [['handler', 'ito@mamori.test'], ['owner', 'tanaka@mamori.test'], ['approver', 'kato@mamori.test'], ['secops', 'suzuki@mamori.test']]) {
    await t.ctx.db.updateTable('users').set({ email }).where('login', '=', login!).execute();
  }
  const rules = await getRules(t.ctx, await actorOf('secops'));
  await updateRules(t.ctx, await actorOf('secops'), { ...DEFAULT_RULES, internalDomains: ['mamori.test'], review: { ...DEFAULT_RULES.review, periodDays: 7, graceDays: 2 } }, rules.version);
  // Nothing to review yet: the first period is the current one.
  assert.deepEqual(await runReviews(t.ctx), { opened: 0, alerted: 0 });
  for (const subject of ['見積の送付', '請求書の送付']) {
    const held = await compose(t.ctx, await actorOf('handler'), { relay, maxBytes: 1 << 20, messageIdDomain: 'mamori.test' }, { to: ['buyer@client.example'], cc: [], subject, body: 'よろしくお願いします。', attachments: [] });
    await approvals.decide(t.ctx, await actorOf('approver'), held.approvalRequestId!, 'approve', 'OK');
    ids.push(held.id);
  }
  await advanceApprovals(t.ctx);
  assert.equal((await deliverQueued(t.ctx, relay)).delivered, 2);
});
after(async () => {
  await peer?.close();
  await t?.close();
});

const actorOf = (login: string): Promise<Actor> => actorOfUser(t, login);

async function events(action: string): Promise<{ decision: string; rule: string; details: Record<string, unknown> }[]> {
  const rows = (await sql<{ payload: string }>`SELECT payload FROM audit_events UNION ALL SELECT payload FROM audit_pending`.execute(t.ctx.db)).rows;
  return rows.map((r) => JSON.parse(r.payload) as { action: string; decision: string; rule: string; details: Record<string, unknown> }).filter((e) => e.action === action);
}

async function notified(kind: string): Promise<string[]> {
  const rows = await t.ctx.db.selectFrom('notifications').innerJoin('users', 'users.id', 'notifications.user_id').select('users.login').where('notifications.kind', '=', kind).execute();
  return rows.map((r) => r.login).sort();
}

test('the week ends: one review with the week\'s delivered transmissions, the reviewers told; overdue alerts the security center once', async () => {
  t.clock.set(new Date('2026-11-30T00:00:00+09:00')); // Monday: the week of the 23rd has ended
  assert.deepEqual(await runReviews(t.ctx), { opened: 1, alerted: 0 });
  assert.deepEqual(await runReviews(t.ctx), { opened: 0, alerted: 0 }, 'a period is opened once');
  const [review] = await listReviews(t.ctx, await actorOf('secops'));
  assert.equal(review!.periodStart, new Date('2026-11-23T00:00:00+09:00').toISOString());
  assert.equal(review!.items, 2);
  assert.equal(review!.state, 'open');
  assert.deepEqual(await notified('transmission.review_due'), ['secops']);

  // Past the due date (period end + 2 days) with nothing marked: the security center is alerted, once.
  t.clock.set(new Date('2026-12-02T00:00:01+09:00'));
  assert.deepEqual(await runReviews(t.ctx), { opened: 0, alerted: 1 });
  assert.deepEqual(await runReviews(t.ctx), { opened: 0, alerted: 0 });
  assert.deepEqual(await notified('transmission.review_overdue'), ['secops']);
  const alert = (await events('alert.raise')).find((e) => e.details.alert === 'transmission_review_overdue')!;
  assert.equal(alert.details.reviewId, review!.id);
  assert.equal(alert.details.unmarked, 2);
  assert.equal((await listReviews(t.ctx, await actorOf('secops')))[0]!.overdue, true);
});

test('marks are audited; the approver of a transmission cannot review it; the last mark closes the review; the record exports as CSV', async () => {
  const [review] = await listReviews(t.ctx, await actorOf('secops'));
  // The approver given the reviewer role still cannot judge what they approved.
  const approver = (await identity.findUserByLogin(t.ctx, 'approver'))!;
  await t.ctx.db.insertInto('user_roles').values({ user_id: approver.id, role: 'security_center', granted_at: new Date() }).execute();
  await assert.rejects(markItem(t.ctx, await actorOf('approver'), review!.id, ids[0]!, 'appropriate', ''), (e: { details?: { rule?: string } }) => e.details?.rule === 'transmission.review_own');
  // A handler is no reviewer.
  await assert.rejects(markItem(t.ctx, await actorOf('handler'), review!.id, ids[0]!, 'appropriate', ''), (e: { details?: { rule?: string } }) => e.details?.rule === 'transmission.not_reviewer');
  // "Not appropriate" needs a reason.
  await assert.rejects(markItem(t.ctx, await actorOf('secops'), review!.id, ids[1]!, 'inappropriate', ' '), (e: { code?: string }) => e.code === 'transmission.invalid');

  const first = await markItem(t.ctx, await actorOf('secops'), review!.id, ids[0]!, 'appropriate', '');
  assert.equal(first.verdict, 'appropriate');
  assert.equal(first.markedBy?.login, 'secops');
  assert.equal((await listReviews(t.ctx, await actorOf('secops')))[0]!.state, 'open');
  await markItem(t.ctx, await actorOf('secops'), review!.id, ids[1]!, 'inappropriate', '請求書は経理部から送付すること');

  const marks = (await events('transmission.review.mark')).filter((e) => e.decision === 'allow');
  assert.deepEqual(marks.filter((e) => e.details.transmissionId).map((e) => e.details.verdict), ['appropriate', 'inappropriate']);
  assert.ok(marks.some((e) => e.details.phase === 'closed'), 'closing is audited');
  const denied = (await events('transmission.review.mark')).filter((e) => e.decision === 'deny').map((e) => e.rule);
  assert.deepEqual(denied.sort(), ['transmission.not_reviewer', 'transmission.review_own']);
  const after = (await listReviews(t.ctx, await actorOf('secops')))[0]!;
  assert.equal(after.state, 'closed');
  assert.equal(after.inappropriate, 1);
  const { items } = await getReview(t.ctx, await actorOf('secops'), review!.id);
  assert.equal(items.find((i) => i.transmission.id === ids[1])!.note, '請求書は経理部から送付すること');

  const auditor = await signIn(t, 'auditor');
  const csv = await t.app.inject({ method: 'GET', url: `/api/transmissions/reviews/${review!.id}/csv`, headers: { cookie: `mamori_session=${auditor.cookie}` } });
  assert.equal(csv.statusCode, 200);
  const lines = csv.body.trim().split('\r\n');
  assert.equal(lines.length, 3);
  assert.match(lines.find((l) => l.includes(ids[1]!))!, /,請求書の送付,.*,inappropriate,請求書は経理部から送付すること,secops,/);
  assert.match(lines.find((l) => l.includes(ids[0]!))!, /,見積の送付,.*,appropriate,,secops,/);
  assert.ok((await events('transmission.review.read')).some((e) => e.details.format === 'csv'), 'the export is audited');
  await assert.rejects(markItem(t.ctx, await actorOf('secops'), review!.id, ids[0]!, 'inappropriate', 'x'), (e: { code?: string }) => e.code === 'transmission.closed');
});
