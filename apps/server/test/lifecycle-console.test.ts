/**
 * The console's user routes go through the lifecycle: suspending or retiring someone in the console
 * is the same one-transaction leaver as a SCIM deactivation (sessions, API tokens, grants, their
 * requests, the approvals they gave, door cards, the security center's alert); editing a department
 * is a mover; making someone a dispatch worker suspends their personal grants. The joiners / movers
 * / leavers timeline reads them back, per user and overall, by kind and date.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PURPOSE, signIn, startTestApp, type Session, type TestApp } from './support/app.ts';
import { identity, type Actor } from '../src/modules/identity/index.ts';
import * as approvals from '../src/modules/approvals/index.ts';
import { createGrant } from '../src/modules/vault/index.ts';
import type { UserId } from '../src/platform/ids.ts';
import { ownerActor, system, userId } from './scim-support.ts';

let t: TestApp;
let hr: Session;
let owner: Actor;

before(async () => {
  t = await startTestApp({ demoContacts: 20 });
  hr = await signIn(t, 'hr');
  owner = await ownerActor(t.ctx);
});
after(async () => {
  await t?.close();
});

const until = () => new Date(t.clock.now().getTime() + 30 * 86_400_000);
const personAsActor = async (login: string, roles: Actor['roles'] = []): Promise<Actor> => ({ ...system, kind: 'user', userId: (await userId(t.ctx, login)) as UserId, login, employmentType: 'employee', roles, mfa: true });
const count = async (table: 'notifications', login: string, kind: string) =>
  (await t.ctx.db.selectFrom(table).select('id').where('user_id', '=', await userId(t.ctx, login)).where('kind', '=', kind).execute()).length;

test('retiring in the console is the whole leaver, in one transaction, like a SCIM deactivation', async () => {
  const handlerId = await userId(t.ctx, 'handler');
  await t.ctx.db.insertInto('user_roles').values({ user_id: handlerId, role: 'security_center', granted_at: t.clock.now() }).execute();
  const session = await signIn(t, 'handler');
  assert.equal((await session.request('POST', '/api/datasets/contacts/records/search', { purpose: PURPOSE, criteria: [], limit: 3 })).status, 200);
  const apiToken = await identity.createApiToken(t.ctx, system, { userId: handlerId, name: 'script' });
  const handler = await personAsActor('handler', ['handler', 'security_center']);
  const own = await t.ctx.db.transaction().execute((tx) => approvals.fileRequest(t.ctx, tx, handler, { kind: 'general', summary: 'console leaver', scope: { n: 1 } }));
  const colleague = await personAsActor('arubaito');
  const theirs = await t.ctx.db.transaction().execute((tx) => approvals.fileRequest(t.ctx, tx, colleague, { kind: 'general', summary: 'approved by the leaver', scope: { n: 2 } }));
  await approvals.decide(t.ctx, handler, theirs.id, 'approve', 'ok');
  const grants = await t.ctx.db.selectFrom('grants').select('id').where('subject_id', '=', handlerId).where('status', '=', 'active').execute();
  assert.ok(grants.length > 0);
  const alerts = await count('notifications', 'secops', 'identity.leaver_alert');

  const r = await hr.request('POST', `/api/users/${handlerId}/status`, { status: 'retired', reason: '退職' });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(r.json.user.status, 'retired');
  assert.equal((await session.request('GET', '/api/auth/me')).status, 401, 'the live session is refused at once');
  assert.equal((await t.app.inject({ method: 'GET', url: '/api/auth/me', headers: { authorization: `Bearer ${apiToken.token}` } })).statusCode, 401);
  for (const g of grants) {
    assert.deepEqual(await t.ctx.db.selectFrom('grants').select(['status', 'suspended_reason']).where('id', '=', g.id).executeTakeFirstOrThrow(), { status: 'suspended', suspended_reason: 'leaver' });
  }
  assert.equal((await approvals.getRequest(t.ctx, system, own.id, { skipAuth: true })).state, 'cancelled');
  assert.equal((await approvals.getRequest(t.ctx, system, theirs.id, { skipAuth: true })).state, 'pending');
  const door = await t.ctx.db.selectFrom('outbox').select(['kind', 'payload']).where('category', '=', 'door').where('related_id', '=', handlerId).execute();
  assert.equal(door.length, 1);
  assert.equal(door[0]!.kind, 'webhook');
  assert.equal(await count('notifications', 'secops', 'identity.leaver_alert'), alerts + 1, 'the security center is told about the recent reads');
  const events = (await t.ctx.db.selectFrom('audit_pending').select('payload').orderBy('id').execute()).map((e) => JSON.parse(e.payload));
  const leaver = events.filter((e) => e.rule === 'lifecycle.leaver' && e.subject === handlerId);
  assert.equal(leaver.length, 1);
  assert.equal(leaver[0].details.cause, 'console.retire');
  assert.equal(leaver[0].details.note, '退職');
  // A retired user is not brought back from the console either.
  const back = await hr.request('POST', `/api/users/${handlerId}/status`, { status: 'active', reason: '' });
  assert.equal(back.status, 409);
});

test('a department change in the console is a mover; becoming a dispatch worker suspends personal grants; suspended → active restores the status only', async () => {
  const created = await hr.request('POST', '/api/users', { login: 'mover.console', displayName: '異動 太郎', employmentType: 'employee' });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const id = created.json.user.id as string;
  const depts = (await hr.request('GET', '/api/departments')).json.departments as { id: string; name: string }[];
  const contactsDept = (await t.ctx.db.selectFrom('datasets').select('department_id').where('name', '=', 'contacts').executeTakeFirstOrThrow()).department_id;
  assert.ok(contactsDept);
  assert.equal((await hr.request('PATCH', `/api/users/${id}`, { departmentId: contactsDept })).status, 200);
  const g1 = await createGrant(t.ctx, owner, 'contacts', { subjectType: 'user', subjectId: id, fields: ['company_name', 'person_name'], purposes: [PURPOSE], validUntil: until(), reason: 't' });
  const other = depts.find((d) => d.id !== contactsDept)!;
  assert.equal((await hr.request('PATCH', `/api/users/${id}`, { departmentId: other.id })).status, 200);
  assert.equal((await t.ctx.db.selectFrom('grants').select('suspended_reason').where('id', '=', g1.id).executeTakeFirstOrThrow()).suspended_reason, 'mover');

  const g2 = await createGrant(t.ctx, owner, 'contacts', { subjectType: 'user', subjectId: id, fields: ['company_name', 'email'], purposes: [PURPOSE], validUntil: until(), reason: 't' });
  const g3 = await createGrant(t.ctx, owner, 'contacts', { subjectType: 'user', subjectId: id, fields: ['company_name'], purposes: [PURPOSE], validUntil: until(), reason: 't' });
  assert.equal((await hr.request('PATCH', `/api/users/${id}`, { employmentType: 'dispatch' })).status, 200);
  assert.equal((await t.ctx.db.selectFrom('grants').select('suspended_reason').where('id', '=', g2.id).executeTakeFirstOrThrow()).suspended_reason, 'dispatch');
  assert.equal((await t.ctx.db.selectFrom('grants').select('status').where('id', '=', g3.id).executeTakeFirstOrThrow()).status, 'active', 'no personal field: kept');

  assert.equal((await hr.request('POST', `/api/users/${id}/status`, { status: 'suspended', reason: '' })).status, 200);
  assert.equal((await t.ctx.db.selectFrom('grants').select('status').where('id', '=', g3.id).executeTakeFirstOrThrow()).status, 'suspended');
  const back = await hr.request('POST', `/api/users/${id}/status`, { status: 'active', reason: '復職' });
  assert.equal(back.status, 200);
  assert.equal(back.json.user.status, 'active');
  assert.equal((await t.ctx.db.selectFrom('grants').select('status').where('id', '=', g3.id).executeTakeFirstOrThrow()).status, 'suspended', 'grants wait for the owner');

  // The timeline, for this user: newest first; filters by kind and date.
  const tl = await hr.request('GET', `/api/lifecycle/timeline?userId=${id}`);
  assert.equal(tl.status, 200, JSON.stringify(tl.json));
  assert.deepEqual(tl.json.events.map((e: { kind: string }) => e.kind), ['reactivated', 'leaver', 'dispatch', 'mover', 'mover', 'joiner']);
  assert.equal(tl.json.events[1].cause, 'console.suspend');
  assert.equal(tl.json.events[3].departmentChanged, true);
  const leavers = await hr.request('GET', '/api/lifecycle/timeline?kind=leaver');
  assert.ok(leavers.json.events.length >= 2 && leavers.json.events.every((e: { kind: string }) => e.kind === 'leaver'));
  const joinersAndMovers = await hr.request('GET', `/api/lifecycle/timeline?kind=joiner&kind=mover&userId=${id}`);
  assert.deepEqual(joinersAndMovers.json.events.map((e: { kind: string }) => e.kind), ['mover', 'mover', 'joiner']);
  const future = await hr.request('GET', `/api/lifecycle/timeline?from=${encodeURIComponent(new Date(t.clock.now().getTime() + 60_000).toISOString())}`);
  assert.deepEqual(future.json.events, []);
  const handler = await signIn(t, 'owner');
  assert.equal((await handler.request('GET', '/api/lifecycle/timeline')).status, 403, 'a data owner does not read the timeline');
});
