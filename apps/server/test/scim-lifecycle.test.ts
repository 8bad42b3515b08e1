/**
 * Joiners, movers, leavers and dispatch workers through SCIM (requirements T3, H5): a leaver's
 * sessions, tokens, grants, requests, approvals and door cards go in one transaction (a failure
 * anywhere leaves everything as it was), the security center hears of recent exits, the retirement
 * date retires by itself, a mover's grants from the old post are suspended, and a dispatch worker
 * can never hold personal-level fields.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { PURPOSE, signIn, startTestApp, type TestApp } from './support/app.ts';
import { identity, type Actor } from '../src/modules/identity/index.ts';
import * as approvals from '../src/modules/approvals/index.ts';
import { createGrant } from '../src/modules/vault/index.ts';
import { retireDue } from '../src/modules/lifecycle/index.ts';
import { isAppError } from '../src/platform/errors.ts';
import type { UserId } from '../src/platform/ids.ts';
import { CORE_USER, ENTERPRISE, MAMORI, PATCH_OP, ownerActor, scimClient, system, userId, type ScimClient } from './scim-support.ts';

let t: TestApp;
let scim: ScimClient;
let owner: Actor;

before(async () => {
  t = await startTestApp({ demoContacts: 20 });
  ({ request: scim } = await scimClient(t.ctx, t.app, 'hr-system'));
  owner = await ownerActor(t.ctx);
});
after(async () => {
  await t?.close();
});

const until = () => new Date(t.clock.now().getTime() + 30 * 86_400_000);
const personAsActor = async (login: string, roles: Actor['roles'] = []): Promise<Actor> => ({ ...system, kind: 'user', userId: (await userId(t.ctx, login)) as UserId, login, employmentType: 'employee', roles, mfa: true });

async function grantOf(id: string): Promise<{ status: string; suspended_reason: string | null }> {
  return t.ctx.db.selectFrom('grants').select(['status', 'suspended_reason']).where('id', '=', id).executeTakeFirstOrThrow();
}

async function notificationsOf(login: string, kind: string): Promise<number> {
  const r = await t.ctx.db.selectFrom('notifications').select('id').where('user_id', '=', await userId(t.ctx, login)).where('kind', '=', kind).execute();
  return r.length;
}

/** The door-controller events (outbox, kind webhook, category door) about a user, oldest first. */
async function doorEvents(id: string): Promise<{ id: string; type: string; userId: string; cause: string }[]> {
  const rows = await t.ctx.db.selectFrom('outbox').select(['payload', 'kind']).where('category', '=', 'door').where('related_id', '=', id).orderBy('created_at').orderBy('id').execute();
  return rows.map((r) => {
    assert.equal(r.kind, 'webhook');
    const p = (typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload) as { event: { id: string; type: string; userId: string; cause: string } };
    assert.equal(p.event.userId, id);
    return p.event;
  });
}

async function createScimUser(userName: string, extra: Record<string, unknown> = {}): Promise<string> {
  const r = await scim('POST', '/Users', { schemas: [CORE_USER, ENTERPRISE], userName, active: true, ...extra });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  return r.json.id as string;
}

void test('leaver: active "False" revokes sessions and tokens, suspends grants, cancels requests, withdraws approvals, revokes door cards and alerts — in one transaction', async () => {
  const handlerId = await userId(t.ctx, 'handler');
  // The handler also sits in the security center, so they can approve a colleague's general request.
  await t.ctx.db.insertInto('user_roles').values({ user_id: handlerId, role: 'security_center', granted_at: t.clock.now() }).execute();
  const session = await signIn(t, 'handler');
  const search = await session.request('POST', '/api/datasets/contacts/records/search', { purpose: PURPOSE, criteria: [], limit: 3 });
  assert.equal(search.status, 200, 'a recent personal-data read by the leaver');
  const apiToken = await identity.createApiToken(t.ctx, system, { userId: handlerId, name: 'script' });
  const handler = await personAsActor('handler', ['handler', 'security_center']);
  const own = await t.ctx.db.transaction().execute((tx) => approvals.fileRequest(t.ctx, tx, handler, { kind: 'general', summary: 'leaver test', scope: { n: 1 } }));
  const colleague = await personAsActor('arubaito');
  const theirs = await t.ctx.db.transaction().execute((tx) => approvals.fileRequest(t.ctx, tx, colleague, { kind: 'general', summary: 'approved by the leaver', scope: { n: 2 } }));
  await approvals.decide(t.ctx, handler, theirs.id, 'approve', 'ok');
  const grants = await t.ctx.db.selectFrom('grants').select('id').where('subject_id', '=', handlerId).where('status', '=', 'active').execute();
  assert.ok(grants.length > 0);
  const disable = { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] };

  // One transaction: a failure at one of its last writes (the door-card event in the outbox) leaves everything as it was.
  await sql`CREATE FUNCTION mamori_test_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected'; END $$`.execute(t.ctx.db);
  await sql`CREATE TRIGGER mamori_test_fail BEFORE INSERT ON outbox FOR EACH ROW WHEN (NEW.kind = 'webhook') EXECUTE FUNCTION mamori_test_fail()`.execute(t.ctx.db);
  const failed = await scim('PATCH', `/Users/${handlerId}`, disable);
  assert.equal(failed.status, 500);
  await sql`DROP TRIGGER mamori_test_fail ON outbox`.execute(t.ctx.db);
  await sql`DROP FUNCTION mamori_test_fail()`.execute(t.ctx.db);
  assert.equal((await session.request('GET', '/api/auth/me')).json.user.status, 'active', 'the session still works');
  assert.equal((await t.ctx.db.selectFrom('users').select('status').where('id', '=', handlerId).executeTakeFirstOrThrow()).status, 'active');
  for (const g of grants) assert.equal((await grantOf(g.id)).status, 'active');
  assert.equal((await approvals.getRequest(t.ctx, system, own.id, { skipAuth: true })).state, 'pending');
  assert.equal((await approvals.getRequest(t.ctx, system, theirs.id, { skipAuth: true })).state, 'approved');

  const doorBefore = (await doorEvents(handlerId)).length;
  const alertsBefore = await notificationsOf('secops', 'identity.leaver_alert');
  const ownerNoticesBefore = await notificationsOf('owner', 'grant.suspended');
  const r = await scim('PATCH', `/Users/${handlerId}`, disable);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(r.json.active, false);

  const refused = await session.request('GET', '/api/auth/me');
  assert.equal(refused.status, 401, 'the very next request of the live session is refused');
  assert.equal((await session.request('POST', '/api/datasets/contacts/records/search', { purpose: PURPOSE, criteria: [], limit: 3 })).status, 401);
  assert.equal((await t.app.inject({ method: 'GET', url: '/api/auth/me', headers: { authorization: `Bearer ${apiToken.token}` } })).statusCode, 401, 'API tokens are revoked');
  for (const g of grants) assert.deepEqual(await grantOf(g.id), { status: 'suspended', suspended_reason: 'leaver' });
  assert.equal((await approvals.getRequest(t.ctx, system, own.id, { skipAuth: true })).state, 'cancelled', 'their pending request is cancelled');
  assert.equal((await approvals.getRequest(t.ctx, system, theirs.id, { skipAuth: true })).state, 'pending', 'the approval they gave is withdrawn; the request waits again');
  const door = await doorEvents(handlerId);
  assert.equal(door.length, doorBefore + 1);
  assert.equal(door.at(-1)!.type, 'door.revoke');
  assert.equal(door.at(-1)!.cause, 'scim.deactivate');
  assert.equal(await notificationsOf('secops', 'identity.leaver_alert'), alertsBefore + 1, 'the security center is told about the recent reads');
  assert.equal(await notificationsOf('owner', 'grant.suspended'), ownerNoticesBefore + 1, 'the data owner is told');
  const events = (await t.ctx.db.selectFrom('audit_pending').select('payload').execute()).map((e) => JSON.parse(e.payload) as { action: string; rule: string; details?: { sessionsRevoked?: number } });
  const leaverEvent = events.find((e) => e.action === 'user.status.change' && e.rule === 'lifecycle.leaver');
  assert.ok(leaverEvent && leaverEvent.details!.sessionsRevoked! >= 1);
});

void test('leaver: a retirement date sent by HR retires the user when it is reached (the job), with the whole leaver path', async () => {
  const when = new Date(t.clock.now().getTime() + 2 * 86_400_000);
  const id = await createScimUser('retiring@example.jp', { [MAMORI]: { retirementDate: when.toISOString() } });
  assert.equal(await retireDue(t.ctx, system), 0, 'not yet');
  t.clock.advance(2 * 86_400_000 + 1000);
  assert.equal(await retireDue(t.ctx, system), 1);
  assert.equal((await t.ctx.db.selectFrom('users').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status, 'retired');
  assert.deepEqual((await doorEvents(id)).map((e) => [e.type, e.cause]), [['door.revoke', 'retirement_date']]);
  assert.equal(await retireDue(t.ctx, system), 0, 'once');
  const again = await scim('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: true }] });
  assert.equal(again.status, 400);
  assert.equal(again.json.scimType, 'mutability', 'a retired user is not brought back');
});

void test('mover: a new department suspends grants on the old department’s datasets; a new manager suspends grants the old chain gave; the supervisor changes at once', async () => {
  const ownerId = await userId(t.ctx, 'owner');
  const cpoId = await userId(t.ctx, 'cpo');
  const a = await createScimUser('mover.dept@example.jp', { [ENTERPRISE]: { department: 'データ本部', manager: { value: cpoId } } });
  const g1 = await createGrant(t.ctx, owner, 'contacts', { subjectType: 'user', subjectId: a, fields: ['company_name', 'person_name'], purposes: [PURPOSE], validUntil: until(), reason: 't' });
  const moved = await scim('PATCH', `/Users/${a}`, { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: `${ENTERPRISE}:department`, value: '営業部' }] });
  assert.equal(moved.status, 200, JSON.stringify(moved.json));
  assert.deepEqual(await grantOf(g1.id), { status: 'suspended', suspended_reason: 'mover' }, 'the contacts dataset belongs to the old department');

  const b = await createScimUser('mover.chain@example.jp', { [ENTERPRISE]: { department: '営業部', manager: { value: ownerId } } });
  const g2 = await createGrant(t.ctx, owner, 'contacts', { subjectType: 'user', subjectId: b, fields: ['company_name'], purposes: [PURPOSE], validUntil: until(), reason: 't' });
  const same = await scim('PATCH', `/Users/${b}`, { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'title', value: 'Lead' }] });
  assert.equal(same.status, 200);
  assert.equal((await grantOf(g2.id)).status, 'active', 'an unrelated change suspends nothing');
  const noticesBefore = await notificationsOf('owner', 'grant.suspended');
  await scim('PATCH', `/Users/${b}`, { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: `${ENTERPRISE}:manager`, value: cpoId }] });
  assert.deepEqual(await grantOf(g2.id), { status: 'suspended', suspended_reason: 'mover' }, 'the grant was given by the old manager');
  assert.equal((await t.ctx.db.selectFrom('users').select('supervisor_id').where('id', '=', b).executeTakeFirstOrThrow()).supervisor_id, cpoId);
  assert.equal(await notificationsOf('owner', 'grant.suspended'), noticesBefore + 1);
});

void test('dispatch: a dispatch worker created through SCIM cannot be granted personal fields; one who becomes dispatch loses them at once and the owner is told', async () => {
  const d = await createScimUser('haken.scim@example.jp', { userType: 'Dispatch' });
  assert.equal((await t.ctx.db.selectFrom('users').select('employment_type').where('id', '=', d).executeTakeFirstOrThrow()).employment_type, 'dispatch');
  await assert.rejects(
    createGrant(t.ctx, owner, 'contacts', { subjectType: 'user', subjectId: d, fields: ['company_name', 'person_name'], purposes: [PURPOSE], validUntil: until(), reason: 't' }),
    (e: unknown) => isAppError(e) && e.code === 'grant.dispatch_worker',
  );
  const ok = await createGrant(t.ctx, owner, 'contacts', { subjectType: 'user', subjectId: d, fields: ['company_name'], purposes: [PURPOSE], validUntil: until(), reason: 'company data only' });
  assert.equal(ok.status, 'active');

  const e = await createScimUser('becomes.haken@example.jp', { userType: 'Employee' });
  const personal = await createGrant(t.ctx, owner, 'contacts', { subjectType: 'user', subjectId: e, fields: ['company_name', 'email'], unmaskFields: ['email'], purposes: [PURPOSE], validUntil: until(), reason: 't' });
  const companyOnly = await createGrant(t.ctx, owner, 'contacts', { subjectType: 'user', subjectId: e, fields: ['company_name', 'prefecture'], purposes: [PURPOSE], validUntil: until(), reason: 't' });
  const noticesBefore = await notificationsOf('owner', 'grant.suspended');
  const r = await scim('PATCH', `/Users/${e}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { userType: '派遣社員' } }] });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(r.json[MAMORI].employmentType, 'dispatch');
  assert.deepEqual(await grantOf(personal.id), { status: 'suspended', suspended_reason: 'dispatch' });
  assert.equal((await grantOf(companyOnly.id)).status, 'active', 'grants without personal fields stay');
  assert.equal(await notificationsOf('owner', 'grant.suspended'), noticesBefore + 1);
  // A dispatch worker registered in the console, patched by an IdP that sends no userType, stays one.
  const haken = await userId(t.ctx, 'haken');
  const patched = await scim('PATCH', `/Users/${haken}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'Assistant' }] });
  assert.equal(patched.status, 200);
  assert.equal(patched.json[MAMORI].employmentType, 'dispatch');
  const put = await scim('PUT', `/Users/${haken}`, { schemas: [CORE_USER], userName: 'haken', active: true });
  assert.equal(put.json[MAMORI].employmentType, 'dispatch');
});
