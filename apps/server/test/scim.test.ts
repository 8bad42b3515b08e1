/**
 * SCIM 2.0 at /scim/v2 on a real database: token scoping (a SCIM token only on /scim, API tokens and
 * sessions never there), the request sequences Microsoft Entra ID and Okta send (from their
 * published SCIM documentation, with their PATCH quirks), filters, paging, projection, ETags,
 * SCIM errors with nothing written, and the audit of every call.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, signIn, type TestApp } from './support/app.ts';
import { identity } from '../src/modules/identity/index.ts';
import { revokeToken } from '../src/modules/scim/index.ts';
import { CORE_GROUP, CORE_USER, ENTERPRISE, PATCH_OP, filter, scimClient, system, userId, type ScimClient } from './scim-support.ts';

let t: TestApp;
let scim: ScimClient;
let token: string;

before(async () => {
  t = await startTestApp({ demoContacts: 0 });
  ({ request: scim, token } = await scimClient(t.ctx, t.app, 'entra'));
});
after(async () => {
  await t?.close();
});

async function countEvents(action: string, decision?: string): Promise<number> {
  // The payload is canonical JSON text: match on it directly (pending and integrated events).
  const pending = await t.ctx.db.selectFrom('audit_pending').select('payload').execute();
  const integrated = await t.ctx.db.selectFrom('audit_events').select('payload').execute();
  return [...pending, ...integrated].map((r) => JSON.parse(r.payload) as { action: string; decision: string })
    .filter((e) => e.action === action && (decision === undefined || e.decision === decision)).length;
}

void test('credentials: SCIM tokens work only on /scim; API tokens and sessions are refused there; every refusal is audited', async () => {
  const ok = await scim('GET', '/ServiceProviderConfig');
  assert.equal(ok.status, 200);
  assert.match(String(ok.headers['content-type']), /^application\/scim\+json/);
  assert.equal(ok.json.patch.supported, true);
  assert.equal(ok.json.etag.supported, true);

  const deniedBefore = await countEvents('scim.read', 'deny');
  const none = await t.app.inject({ method: 'GET', url: '/scim/v2/Users' });
  assert.equal(none.statusCode, 401);
  assert.deepEqual(JSON.parse(none.body).schemas, ['urn:ietf:params:scim:api:messages:2.0:Error']);
  assert.equal(JSON.parse(none.body).status, '401');

  const admin = (await identity.findUserByLogin(t.ctx, 'admin'))!;
  const api = await identity.createApiToken(t.ctx, system, { userId: admin.id, name: 'cli' });
  assert.equal((await t.app.inject({ method: 'GET', url: '/scim/v2/Users', headers: { authorization: `Bearer ${api.token}` } })).statusCode, 401, 'an API token is refused on /scim');
  assert.equal((await t.app.inject({ method: 'GET', url: '/api/users', headers: { authorization: `Bearer ${api.token}` } })).statusCode, 200);
  assert.equal((await t.app.inject({ method: 'GET', url: '/api/users', headers: { authorization: `Bearer ${token}` } })).statusCode, 401, 'a SCIM token is refused on /api');

  const s = await signIn(t, 'hr');
  const viaCookie = await t.app.inject({ method: 'GET', url: '/scim/v2/Users', headers: { cookie: `mamori_session=${s.cookie}` } });
  assert.equal(viaCookie.statusCode, 401, 'a console session is refused on /scim');
  assert.equal(await countEvents('scim.read', 'deny'), deniedBefore + 3, 'the three SCIM refusals (no token, API token, cookie) are on the audit record');

  const other = await scimClient(t.ctx, t.app, 'okta-revoked');
  assert.equal((await other.request('GET', '/Users?count=1')).status, 200);
  await revokeToken(t.ctx, system, other.tokenId);
  assert.equal((await other.request('GET', '/Users?count=1')).status, 401, 'a revoked SCIM token stops at once');
});

void test('discovery: ResourceTypes and Schemas list the User (with the enterprise extension) and Group', async () => {
  const rt = await scim('GET', '/ResourceTypes');
  assert.equal(rt.status, 200);
  assert.deepEqual(rt.json.Resources.map((r: { id: string }) => r.id), ['User', 'Group']);
  assert.ok(rt.json.Resources[0].schemaExtensions.some((e: { schema: string }) => e.schema === ENTERPRISE));
  const sc = await scim('GET', '/Schemas');
  assert.ok(sc.json.Resources.some((s: { id: string }) => s.id === ENTERPRISE));
  assert.equal((await scim('GET', `/Schemas/${CORE_USER}`)).json.name, 'User');
  assert.equal((await scim('GET', '/Schemas/urn:nope')).status, 404);
  assert.equal((await scim('GET', '/Nope')).status, 404);
});

/**
 * Microsoft Entra ID provisioning, in the order its provisioning service sends the requests
 * ("Tutorial: Develop and plan provisioning for a SCIM endpoint", request/response examples):
 * match by userName filter, create, read, update with capitalised ops and string booleans
 * ("False"), the manager through the enterprise extension, disable (active false), groups with
 * excludedAttributes=members, addMember/removeMember, and finally the hard DELETE.
 */
void test('Entra ID: users and groups, provisioning to deletion', async () => {
  const userName = 'Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1';
  const none = await scim('GET', `/Users?filter=${filter(`userName eq "${userName}"`)}`);
  assert.equal(none.status, 200);
  assert.equal(none.json.totalResults, 0);
  assert.deepEqual(none.json.Resources, []);

  const create = await scim('POST', '/Users', {
    schemas: [CORE_USER, ENTERPRISE],
    externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef',
    userName,
    active: true,
    emails: [{ primary: true, type: 'work', value: 'Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com' }],
    meta: { resourceType: 'User' },
    name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
    roles: [],
    [ENTERPRISE]: { department: 'データ本部', employeeNumber: 'E-1001' },
  });
  assert.equal(create.status, 201, JSON.stringify(create.json));
  const id = create.json.id as string;
  assert.equal(create.headers.location, `http://localhost:80/scim/v2/Users/${id}`);
  assert.equal(create.headers.etag, create.json.meta.version);
  assert.equal(create.json.active, true);
  assert.equal(create.json[ENTERPRISE].department, 'データ本部');
  assert.equal(create.json['urn:ietf:params:scim:schemas:extension:mamori:2.0:User'].employmentType, 'employee');

  const dup = await scim('POST', '/Users', { schemas: [CORE_USER], userName: userName.toUpperCase(), active: true });
  assert.equal(dup.status, 409);
  assert.equal(dup.json.scimType, 'uniqueness');

  const read = await scim('GET', `/Users/${id}`);
  assert.equal(read.status, 200);
  assert.equal(read.json.userName, userName);
  const found = await scim('GET', `/Users?filter=${filter(`userName eq "${userName}"`)}`);
  assert.equal(found.json.totalResults, 1);
  assert.equal(found.json.Resources[0].id, id);
  assert.equal((await scim('GET', `/Users?filter=${filter('externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"')}`)).json.totalResults, 1);

  const multi = await scim('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [
    { op: 'Replace', path: 'emails[type eq "work"].value', value: 'updatedEmail@microsoft.com' },
    { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' },
  ] });
  assert.equal(multi.status, 200, JSON.stringify(multi.json));
  assert.equal(multi.json.emails[0].value, 'updatedEmail@microsoft.com');
  assert.equal(multi.json.name.familyName, 'updatedFamilyName');

  const renamed = await scim('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'userName', value: '5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com' }] });
  assert.equal(renamed.json.userName, '5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com');

  const ownerId = await userId(t.ctx, 'owner');
  const manager = await scim('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'Add', path: `${ENTERPRISE}:manager`, value: ownerId }] });
  assert.equal(manager.json[ENTERPRISE].manager.value, ownerId);
  const row = await t.ctx.db.selectFrom('users').select(['supervisor_id', 'status']).where('id', '=', id).executeTakeFirstOrThrow();
  assert.equal(row.supervisor_id, ownerId, 'the supervisor used for approvals is the SCIM manager at once');

  const disabled = await scim('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] });
  assert.equal(disabled.status, 200);
  assert.equal(disabled.json.active, false);
  assert.equal((await t.ctx.db.selectFrom('users').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status, 'suspended');
  const enabled = await scim('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'active', value: 'True' }] });
  assert.equal(enabled.json.active, true);

  // Groups
  const noGroup = await scim('GET', `/Groups?excludedAttributes=members&filter=${filter('displayName eq "Entra Sales"')}`);
  assert.equal(noGroup.json.totalResults, 0);
  const g = await scim('POST', '/Groups', {
    externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159', displayName: 'Entra Sales', meta: { resourceType: 'Group' },
    schemas: [CORE_GROUP, 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/Group'],
  });
  assert.equal(g.status, 201, JSON.stringify(g.json));
  const gid = g.json.id as string;
  const add = await scim('PATCH', `/Groups/${gid}`, { schemas: [PATCH_OP], Operations: [{ name: 'addMember', op: 'Add', path: 'members', value: [{ displayName: 'new member', value: id }] }] });
  assert.equal(add.status, 200, JSON.stringify(add.json));
  assert.deepEqual(add.json.members.map((m: { value: string }) => m.value), [id]);
  const slim = await scim('GET', `/Groups/${gid}?excludedAttributes=members`);
  assert.equal(slim.json.members, undefined);
  assert.equal(slim.json.displayName, 'Entra Sales');
  assert.deepEqual((await scim('GET', `/Users/${id}`)).json.groups.map((x: { value: string }) => x.value), [gid]);
  const badMember = await scim('PATCH', `/Groups/${gid}`, { schemas: [PATCH_OP], Operations: [{ op: 'Add', path: 'members', value: [{ value: '00000000-0000-7000-8000-000000000000' }] }] });
  assert.equal(badMember.status, 400);
  assert.equal(badMember.json.scimType, 'invalidValue');
  const remove = await scim('PATCH', `/Groups/${gid}`, { schemas: [PATCH_OP], Operations: [{ name: 'removeMember', op: 'Remove', path: 'members', value: [{ displayName: 'new member', value: id }] }] });
  assert.deepEqual(remove.json.members ?? [], []);
  assert.equal((await scim('DELETE', `/Groups/${gid}`)).status, 204);
  assert.equal((await scim('GET', `/Groups/${gid}`)).status, 404);

  // Hard delete: retired (the leaver path), gone from SCIM, the row kept for the record.
  const del = await scim('DELETE', `/Users/${id}`);
  assert.equal(del.status, 204);
  assert.equal((await scim('GET', `/Users/${id}`)).status, 404);
  const gone = await t.ctx.db.selectFrom('users').select(['status', 'scim_deleted_at']).where('id', '=', id).executeTakeFirstOrThrow();
  assert.equal(gone.status, 'retired');
  assert.ok(gone.scim_deleted_at);
  assert.ok((await countEvents('scim.provision')) >= 8, 'each change is on the audit record');
});

/**
 * Okta (developer.okta.com "SCIM 2.0 protocol reference"): userName lookup with startIndex/count,
 * create with a password and locale it does not need, PUT of the whole profile, deactivation by a
 * path-less replace `{"active": false}`, groups renamed by a path-less replace repeating the id,
 * members added, removed by a value-path filter `members[value eq "…"]`, and deleted.
 */
void test('Okta: users and groups, including path-less replace and value-path member removal', async () => {
  const userName = 'test.user@okta.local';
  const lookup = await scim('GET', `/Users?filter=${filter(`userName eq "${userName}"`)}&startIndex=1&count=100`);
  assert.equal(lookup.json.totalResults, 0);
  const created = await scim('POST', '/Users', {
    schemas: [CORE_USER], userName, name: { givenName: 'Test', familyName: 'User' },
    emails: [{ primary: true, value: userName, type: 'work' }], displayName: 'Test User', locale: 'en-US',
    externalId: '00ujl29u0le5T6Aj10h7', groups: [], password: '1mz050nq', active: true,
  });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const id = created.json.id as string;
  assert.equal(created.json.password, undefined, 'a password is never kept nor returned');

  const put = await scim('PUT', `/Users/${id}`, {
    schemas: [CORE_USER], id, userName, name: { givenName: 'Another', familyName: 'User' },
    emails: [{ primary: true, value: userName, type: 'work' }], displayName: 'Another User', active: true,
  });
  assert.equal(put.status, 200, JSON.stringify(put.json));
  assert.equal(put.json.name.givenName, 'Another');
  assert.equal(put.json.externalId, undefined, 'PUT replaces: attributes left out are cleared');

  const off = await scim('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: false } }] });
  assert.equal(off.status, 200);
  assert.equal(off.json.active, false);
  const on = await scim('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: true } }] });
  assert.equal(on.json.active, true);

  const group = await scim('POST', '/Groups', { schemas: [CORE_GROUP], displayName: 'Test SCIMv2', members: [] });
  assert.equal(group.status, 201);
  const gid = group.json.id as string;
  const rename = await scim('PATCH', `/Groups/${gid}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { id: gid, displayName: 'Test SCIMv2 renamed' } }] });
  assert.equal(rename.json.displayName, 'Test SCIMv2 renamed');
  const handler = await userId(t.ctx, 'handler');
  const add = await scim('PATCH', `/Groups/${gid}`, { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: id, display: userName }, { value: handler, display: 'handler' }] }] });
  assert.equal(add.json.members.length, 2);
  const rm = await scim('PATCH', `/Groups/${gid}`, { schemas: [PATCH_OP], Operations: [{ op: 'remove', path: `members[value eq "${id}"]` }] });
  assert.deepEqual(rm.json.members.map((m: { value: string }) => m.value), [handler]);
  const byName = await scim('GET', `/Groups?filter=${filter('displayName eq "Test SCIMv2 renamed"')}&startIndex=1&count=100`);
  assert.equal(byName.json.totalResults, 1);
  assert.equal((await scim('DELETE', `/Groups/${gid}`)).status, 204);
});

void test('lists: filters on the server, paging with startIndex/count, attributes and excludedAttributes', async () => {
  for (let i = 0; i < 5; i++) {
    const r = await scim('POST', '/Users', { schemas: [CORE_USER], userName: `page.${i}@example.jp`, title: i % 2 === 0 ? 'even' : 'odd', active: true });
    assert.equal(r.status, 201);
  }
  const all = await scim('GET', `/Users?filter=${filter('userName sw "page."')}`);
  assert.equal(all.json.totalResults, 5);
  const p2 = await scim('GET', `/Users?filter=${filter('userName sw "page."')}&startIndex=3&count=2`);
  assert.equal(p2.json.totalResults, 5);
  assert.equal(p2.json.startIndex, 3);
  assert.equal(p2.json.itemsPerPage, 2);
  assert.deepEqual(p2.json.Resources.map((r: { userName: string }) => r.userName), ['page.2@example.jp', 'page.3@example.jp']);
  const odd = await scim('GET', `/Users?filter=${filter('userName sw "page." and (title eq "odd" or userName eq "page.0@example.jp") and not (userName co ".3@")')}`);
  assert.deepEqual(odd.json.Resources.map((r: { userName: string }) => r.userName).sort(), ['page.0@example.jp', 'page.1@example.jp']);
  const since = new Date(t.clock.now().getTime() - 1000).toISOString();
  assert.equal((await scim('GET', `/Users?filter=${filter(`userName sw "page." and meta.lastModified gt "${since}"`)}`)).json.totalResults, 5);
  assert.equal((await scim('GET', `/Users?filter=${filter(`userName sw "page." and meta.created lt "${since}"`)}`)).json.totalResults, 0);
  const slim = await scim('GET', `/Users?filter=${filter('userName eq "page.4@example.jp"')}&attributes=userName`);
  assert.deepEqual(Object.keys(slim.json.Resources[0]).sort(), ['id', 'schemas', 'userName']);
  const noMeta = await scim('GET', `/Users?filter=${filter('userName eq "page.4@example.jp"')}&excludedAttributes=meta,groups`);
  assert.equal(noMeta.json.Resources[0].meta, undefined);
  assert.equal(noMeta.json.Resources[0].userName, 'page.4@example.jp');

  const bad = await scim('GET', `/Users?filter=${filter('userName eq "secret-value" and')}`);
  assert.equal(bad.status, 400);
  assert.equal(bad.json.scimType, 'invalidFilter');
  assert.ok(!JSON.stringify(bad.json).includes('secret-value'), 'the error does not echo the filter');
});

void test('ETags: If-Match with a stale version is refused (412) and nothing is written; the right one passes', async () => {
  const c = await scim('POST', '/Users', { schemas: [CORE_USER], userName: 'etag@example.jp', title: 'one', active: true });
  const id = c.json.id as string;
  const etag = String(c.headers.etag);
  const ok = await scim('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'two' }] }, { 'if-match': etag });
  assert.equal(ok.status, 200);
  assert.notEqual(ok.headers.etag, etag);
  const stale = await scim('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'three' }] }, { 'if-match': etag });
  assert.equal(stale.status, 412);
  assert.equal((await scim('GET', `/Users/${id}`)).json.title, 'two');
  assert.equal((await scim('DELETE', `/Users/${id}`, undefined, { 'if-match': etag })).status, 412);
  assert.equal((await scim('GET', `/Users/${id}`)).status, 200);
});

void test('bad input: SCIM errors with scimType, values never echoed, nothing written', async () => {
  const before = (await t.ctx.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n;
  const cases: [unknown, number, string][] = [
    [{ schemas: [CORE_USER], userName: 'x1@example.jp', userType: 'Astronaut-Secret' }, 400, 'invalidValue'],
    [{ schemas: [CORE_USER], userName: 'x2@example.jp', emails: [{ value: 'not-an-address-secret' }] }, 400, 'invalidValue'],
    [{ schemas: [CORE_USER], userName: 'x3@example.jp', shoeSize: 'secret' }, 400, 'invalidPath'],
    [{ schemas: [CORE_USER], userName: 'x4@example.jp', [ENTERPRISE]: { manager: { value: '00000000-0000-7000-8000-00000000dead' } } }, 400, 'invalidValue'],
    [{ schemas: [CORE_USER], displayName: 'no userName' }, 400, 'invalidValue'],
  ];
  for (const [body, status, scimType] of cases) {
    const r = await scim('POST', '/Users', body);
    assert.equal(r.status, status, JSON.stringify(r.json));
    assert.equal(r.json.scimType, scimType);
    assert.ok(!JSON.stringify(r.json).includes('secret') && !JSON.stringify(r.json).includes('dead'), 'no value echoed');
  }
  const raw = await t.app.inject({ method: 'POST', url: '/scim/v2/Users', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' }, payload: '{"userName": ' });
  assert.equal(raw.statusCode, 400);
  assert.equal(JSON.parse(raw.body).scimType, 'invalidSyntax');
  const after = (await t.ctx.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n;
  assert.equal(Number(after), Number(before), 'nothing was written');
  assert.equal((await scim('PATCH', '/Users/00000000-0000-7000-8000-000000000000', { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'x' }] })).status, 404);
});

void test('console API: administrators issue and revoke SCIM tokens; the provisioning log shows SCIM changes and refusals; others are refused', async () => {
  const admin = (await identity.findUserByLogin(t.ctx, 'admin'))!;
  const adminToken = (await identity.createApiToken(t.ctx, system, { userId: admin.id, name: 'console' })).token;
  const hrUser = (await identity.findUserByLogin(t.ctx, 'hr'))!;
  const hrToken = (await identity.createApiToken(t.ctx, system, { userId: hrUser.id, name: 'console' })).token;
  const call = (tok: string, method: 'GET' | 'POST', url: string, payload?: object) =>
    t.app.inject({ method, url, headers: { authorization: `Bearer ${tok}` }, ...(payload ? { payload } : {}) });

  const issued = await call(adminToken, 'POST', '/api/scim/clients', { name: 'okta-console' });
  assert.equal(issued.statusCode, 201);
  const { token: newToken, tokenId } = JSON.parse(issued.body) as { token: string; tokenId: string };
  assert.match(newToken, /^mscim_/);
  const listed = JSON.parse((await call(adminToken, 'GET', '/api/scim/clients')).body) as { clients: { name: string; tokens: { id: string }[] }[] };
  const client = listed.clients.find((c) => c.name === 'okta-console')!;
  assert.deepEqual(client.tokens.map((x) => x.id), [tokenId]);
  assert.ok(!JSON.stringify(listed).includes(newToken), 'a token is never shown again');
  assert.equal((await call(hrToken, 'POST', '/api/scim/clients', { name: 'sneaky' })).statusCode, 403, 'HR cannot issue SCIM tokens');

  const use = await t.app.inject({ method: 'POST', url: '/scim/v2/Users', headers: { authorization: `Bearer ${newToken}`, 'content-type': 'application/scim+json' }, payload: JSON.stringify({ schemas: [CORE_USER], userName: 'console.log@example.jp' }) });
  assert.equal(use.statusCode, 201);
  await t.app.inject({ method: 'POST', url: '/scim/v2/Users', headers: { authorization: `Bearer ${newToken}`, 'content-type': 'application/scim+json' }, payload: JSON.stringify({ schemas: [CORE_USER], userName: 'console.log@example.jp' }) });
  assert.equal((await call(adminToken, 'POST', `/api/scim/tokens/${tokenId}/revoke`)).statusCode, 200);
  assert.equal((await t.app.inject({ method: 'GET', url: '/scim/v2/Users', headers: { authorization: `Bearer ${newToken}` } })).statusCode, 401);

  const log = JSON.parse((await call(hrToken, 'GET', '/api/scim/log?limit=20')).body) as { events: { payload: { action: string; decision: string; result: string; subject: string | null; details: { op?: string; error?: string } } }[] };
  const created = log.events.find((e) => e.payload.action === 'scim.provision' && e.payload.details.op === 'create' && e.payload.subject === use.json().id);
  assert.ok(created, 'the creation is in the log');
  assert.ok(log.events.some((e) => e.payload.details.error === 'scim.uniqueness'), 'the refused duplicate is in the log');
  assert.ok(log.events.some((e) => e.payload.action === 'scim.read' && e.payload.decision === 'deny'), 'the revoked token is in the log');
  const handlerUser = (await identity.findUserByLogin(t.ctx, 'handler'))!;
  const handlerToken = (await identity.createApiToken(t.ctx, system, { userId: handlerUser.id, name: 'x' })).token;
  assert.equal((await call(handlerToken, 'GET', '/api/scim/log')).statusCode, 403);
});
