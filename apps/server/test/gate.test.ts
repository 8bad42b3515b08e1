/**
 * The personal-data gate end to end through HTTP: login, forced password change, MFA before any
 * personal data, masking, unmasking with a purpose, dispatch exclusion, retirement, and one audit
 * event per read — on PGlite, and on PostgreSQL when DATABASE_URL is set.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { auditRepository } from '../src/modules/audit/index.ts';
import { PURPOSE, signIn, startTestApp, type Session, type TestApp } from './support/app.ts';

let t: TestApp;
let handler: Session;
let cpo: Session;
let hr: Session;
let firstId: string;

async function auditCount(): Promise<number> {
  return auditRepository(t.ctx.db).countAll();
}

async function lastEvent(): Promise<any> {
  const [last] = await auditRepository(t.ctx.db).list({ limit: 1 });
  return JSON.parse(last!.payload);
}

before(async () => {
  t = await startTestApp({ demoContacts: 300 });
  handler = await signIn(t, 'handler');
  cpo = await signIn(t, 'cpo');
  hr = await signIn(t, 'hr');
  const r = await handler.request('POST', '/api/datasets/contacts/records/search', { purpose: PURPOSE, criteria: [], limit: 5 });
  firstId = r.json.records[0].id;
});
after(async () => t.close());

describe('login and MFA', () => {
  test('the one-time password must be changed before anything else', async () => {
    const s = await signIn(t, 'owner', { changePassword: false, mfa: false });
    const r = await s.request('GET', '/api/datasets');
    assert.equal(r.status, 403);
    assert.equal(r.json.error.code, 'auth.password_change_required');
  });

  test('personal data needs TOTP: without it the read is refused with auth.mfa_required', async () => {
    const s = await signIn(t, 'arubaito', { changePassword: true, mfa: false });
    // arubaito has no grant: give one so that only MFA stands in the way.
    const users = await cpo.request('GET', '/api/users?limit=100');
    assert.equal(users.status, 200);
    const u = users.json.users.find((x: any) => x.login === 'arubaito');
    const g = await cpo.request('POST', '/api/datasets/contacts/grants', {
      subjectType: 'user', subjectId: u.id, fields: ['company_name', 'person_name'], purposes: [PURPOSE], validUntil: '2027-01-31T00:00:00Z', reason: 'test',
    });
    assert.equal(g.status, 201, JSON.stringify(g.json));
    const r = await s.request('GET', `/api/datasets/contacts/records/${firstId}?purpose=${encodeURIComponent(PURPOSE)}`);
    assert.equal(r.status, 403);
    assert.equal(r.json.error.code, 'auth.mfa_required');
  });

  test('wrong passwords lock the account with growing back-off', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { login: 'komon', password: 'wrong password!!' } });
      assert.equal(r.statusCode, 401);
    }
    const locked = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { login: 'komon', password: t.passwords.get('komon') } });
    assert.equal(locked.statusCode, 429);
    assert.equal(locked.json().error.code, 'auth.locked');
    assert.ok(Number(locked.headers['retry-after']) > 0);
    t.clock.advance(61_000);
    const ok = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { login: 'komon', password: t.passwords.get('komon') } });
    assert.equal(ok.statusCode, 200);
  });

  test('unknown logins and SQL-looking input get the same 401', async () => {
    const r = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { login: "admin'--", password: "' OR 1=1 --" } });
    assert.equal(r.statusCode, 400); // the login pattern refuses quotes outright
    const r2 = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { login: 'nobody', password: "' OR 1=1 --" } });
    assert.equal(r2.statusCode, 401);
    assert.equal(r2.json().error.code, 'auth.invalid_credentials');
  });
});

describe('masked reads and unmasking', () => {
  test('a record comes back masked; public fields in clear', async () => {
    const r = await handler.request('GET', `/api/datasets/contacts/records/${firstId}?purpose=${encodeURIComponent(PURPOSE)}`);
    assert.equal(r.status, 200);
    const rec = r.json.record;
    assert.ok(rec.masked.includes('person_name'));
    assert.match(rec.values.person_name, /＊/);
    assert.match(rec.values.email, /^.＊＊＊@/);
    assert.ok(!rec.masked.includes('company_name'));
    assert.doesNotMatch(rec.values.company_name, /＊/);
  });

  test('a purpose is mandatory and must be one the grant names', async () => {
    const none = await handler.request('GET', `/api/datasets/contacts/records/${firstId}`);
    assert.equal(none.status, 400);
    assert.equal(none.json.error.code, 'policy.purpose_required');
    const other = await handler.request('GET', `/api/datasets/contacts/records/${firstId}?purpose=${encodeURIComponent('データ整備')}`);
    assert.equal(other.status, 403);
    assert.equal(other.json.error.details.rule, 'grant.none');
    assert.ok(other.json.error.details.reason.ja.length > 0);
  });

  test('unmasking a granted field returns the value and is audited on its own', async () => {
    const masked = await handler.request('GET', `/api/datasets/contacts/records/${firstId}?purpose=${encodeURIComponent(PURPOSE)}`);
    const r = await handler.request('POST', `/api/datasets/contacts/records/${firstId}/unmask`, { field: 'email', purpose: PURPOSE });
    assert.equal(r.status, 200);
    assert.match(r.json.value, /^[^＊]+@/);
    assert.equal(r.json.value[0], masked.json.record.values.email[0]);
    const e = await lastEvent();
    assert.equal(e.action, 'record.unmask');
    assert.deepEqual(e.records, [firstId]);
    assert.deepEqual(e.fields, ['email']);
    assert.equal(e.purpose, PURPOSE);
    assert.equal(e.result, 'ok');
  });

  test('unmasking a field outside the unmask grant is denied (mobile phone is confidential, not granted to unmask)', async () => {
    const r = await handler.request('POST', `/api/datasets/contacts/records/${firstId}/unmask`, { field: 'mobile_phone', purpose: PURPOSE });
    assert.equal(r.status, 403);
    assert.equal(r.json.error.details.rule, 'grant.no_unmask');
    const e = await lastEvent();
    assert.equal(e.decision, 'deny');
    assert.equal(e.action, 'record.unmask');
  });

  test('exact search through the blind index finds a person by e-mail typed in full-width', async () => {
    const plain = await handler.request('POST', `/api/datasets/contacts/records/${firstId}/unmask`, { field: 'email', purpose: PURPOSE });
    const fullWidth = [...plain.json.value].map((c: string) => (c >= '!' && c <= '~' ? String.fromCharCode(c.charCodeAt(0) + 0xfee0) : c)).join('').toUpperCase();
    const r = await handler.request('POST', '/api/datasets/contacts/records/search', { purpose: PURPOSE, criteria: [{ field: 'email', op: 'exact', value: fullWidth }] });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.records.map((x: any) => x.id), [firstId]);
    const e = await lastEvent();
    assert.equal(e.action, 'record.search');
    assert.deepEqual(e.records, [firstId]);
    assert.ok(!JSON.stringify(e).includes(plain.json.value), 'the searched value is not in the audit log');
  });

  test('company-name prefix search pages with a cursor and audits exactly the ids returned', async () => {
    const first = await handler.request('POST', '/api/datasets/contacts/records/search', { purpose: PURPOSE, criteria: [], limit: 7 });
    assert.equal(first.json.records.length, 7);
    assert.ok(first.json.next);
    const e = await lastEvent();
    assert.deepEqual(e.records, first.json.records.map((x: any) => x.id));
    const second = await handler.request('POST', '/api/datasets/contacts/records/search', { purpose: PURPOSE, criteria: [], limit: 7, after: first.json.next });
    assert.ok(second.json.records[0].id > first.json.records[6].id);
    const name = first.json.records[0].values.company_name as string;
    const prefix = await handler.request('POST', '/api/datasets/contacts/records/search', { purpose: PURPOSE, criteria: [{ field: 'company_name', op: 'prefix', value: name.slice(0, 3) }], limit: 100 });
    assert.ok(prefix.json.records.length >= 1);
    for (const rec of prefix.json.records) assert.ok((rec.values.company_name as string).replace(/\s/g, '').startsWith(name.slice(0, 3).replace(/\s/g, '')));
  });

  test('every personal-data read, allowed or denied, leaves exactly one audit event', async () => {
    const url = `/api/datasets/contacts/records/${firstId}?purpose=${encodeURIComponent(PURPOSE)}`;
    for (const [req, status] of [
      [() => handler.request('GET', url), 200],
      [() => handler.request('GET', `/api/datasets/contacts/records/${firstId}?purpose=${encodeURIComponent('本人対応')}`), 200],
      [() => handler.request('GET', `/api/datasets/contacts/records/${firstId}?purpose=${encodeURIComponent('データ整備')}`), 403],
      [() => handler.request('GET', '/api/datasets/contacts/records/00000000-0000-7000-8000-000000000000?purpose=' + encodeURIComponent(PURPOSE)), 404],
      [() => handler.request('POST', `/api/datasets/contacts/records/${firstId}/unmask`, { field: 'person_name', purpose: PURPOSE }), 200],
      [() => handler.request('POST', '/api/datasets/contacts/records/search', { purpose: PURPOSE, criteria: [], limit: 3 }), 200],
    ] as const) {
      const before = await auditCount();
      const r = await req();
      assert.equal(r.status, status, JSON.stringify(r.json));
      assert.equal(await auditCount(), before + 1);
    }
  });

  test('a write that fails inside its transaction leaves neither the record nor the audit event', async () => {
    const beforeEvents = await auditCount();
    const beforeRecords = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM records`.execute(t.ctx.db)).rows[0]!.n;
    const { appendAudit } = await import('../src/modules/audit/index.ts');
    await assert.rejects(
      t.ctx.db.transaction().execute(async (tx) => {
        await sql`INSERT INTO records (id, dataset_id, public, created_at, updated_at) SELECT ${'00000000-0000-7000-8000-0000000000aa'}, id, '{}'::jsonb, now(), now() FROM datasets LIMIT 1`.execute(tx);
        await appendAudit(tx, t.clock, { ...(await import('../src/modules/identity/index.ts')).systemActor({ ip: null, userAgent: null, deviceId: null }) }, {
          action: 'record.create', decision: 'allow', rule: 'test', reason: 'test', result: 'ok',
        });
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(await auditCount(), beforeEvents);
    assert.equal((await sql<{ n: number }>`SELECT count(*)::int AS n FROM records`.execute(t.ctx.db)).rows[0]!.n, beforeRecords);
  });
});

describe('dispatch workers', () => {
  test('a grant of personal fields to a dispatch worker is refused when made', async () => {
    const users = await cpo.request('GET', '/api/users?limit=100');
    const haken = users.json.users.find((x: any) => x.login === 'haken');
    const body = { subjectType: 'user', subjectId: haken.id, fields: ['company_name', 'person_name'], purposes: [PURPOSE], validUntil: '2027-01-31T00:00:00Z', reason: 'test' };
    // Even the CPO, who may grant, cannot grant a dispatch worker a personal field.
    const refused = await cpo.request('POST', '/api/datasets/contacts/grants', body);
    assert.equal(refused.status, 403);
    assert.equal(refused.json.error.code, 'grant.dispatch_worker');
    const e = await lastEvent();
    assert.equal(e.action, 'grant.create');
    assert.equal(e.decision, 'deny');
    assert.equal(e.rule, 'dispatch.no_personal');
    // Company fields alone are fine.
    const ok = await cpo.request('POST', '/api/datasets/contacts/grants', { ...body, fields: ['company_name', 'prefecture'] });
    assert.equal(ok.status, 201);
    // Someone without grant rights (security center) is refused before the dispatch check.
    const secops = await signIn(t, 'secops');
    const noRights = await secops.request('POST', '/api/datasets/contacts/grants', { ...body, fields: ['company_name'] });
    assert.equal(noRights.status, 403);
    assert.equal(noRights.json.error.details.rule, 'grant.not_owner');
  });

  test('a dispatch worker sees company fields and no personal field, even through a group grant', async () => {
    const haken = await signIn(t, 'haken');
    const r = await haken.request('POST', '/api/datasets/contacts/records/search', { purpose: PURPOSE, criteria: [], limit: 5 });
    assert.equal(r.status, 200);
    for (const rec of r.json.records) {
      assert.ok('company_name' in rec.values);
      for (const f of ['person_name', 'person_name_kana', 'email', 'direct_phone', 'mobile_phone']) assert.ok(!(f in rec.values), f);
    }
    // A group grant naming every personal field, with the dispatch worker as a member, changes nothing.
    const users = await cpo.request('GET', '/api/users?limit=100');
    const hakenUser = users.json.users.find((x: any) => x.login === 'haken');
    const group = await hr.request('POST', '/api/groups', { name: '営業二課', memberIds: [hakenUser.id] });
    assert.equal(group.status, 201, JSON.stringify(group.json));
    const g = await cpo.request('POST', '/api/datasets/contacts/grants', {
      subjectType: 'group', subjectId: group.json.group.id, fields: ['company_name', 'person_name', 'email', 'mobile_phone'], unmaskFields: ['person_name'],
      purposes: [PURPOSE], validUntil: '2027-01-31T00:00:00Z', reason: 'group grant',
    });
    assert.equal(g.status, 201, JSON.stringify(g.json));
    const again = await haken.request('POST', '/api/datasets/contacts/records/search', { purpose: PURPOSE, criteria: [], limit: 5 });
    for (const rec of again.json.records) for (const f of ['person_name', 'email', 'mobile_phone']) assert.ok(!(f in rec.values), f);
    const u = await haken.request('POST', `/api/datasets/contacts/records/${firstId}/unmask`, { field: 'person_name', purpose: PURPOSE });
    assert.equal(u.status, 403);
    assert.equal(u.json.error.code, 'policy.dispatch_worker');
    // Deleting a record touches its personal fields too.
    const d = await haken.request('DELETE', `/api/datasets/contacts/records/${firstId}`);
    assert.equal(d.status, 403);
    assert.equal(d.json.error.code, 'policy.dispatch_worker');
  });
});

describe('retirement', () => {
  test("a retired user's live session and API token are refused on the very next request", async () => {
    const victim = await signIn(t, 'itaku');
    const admin = await signIn(t, 'admin');
    const users = await admin.request('GET', '/api/users?limit=100');
    const itaku = users.json.users.find((x: any) => x.login === 'itaku');
    const tok = await admin.request('POST', '/api/tokens', { userId: itaku.id, name: 'integration' });
    assert.equal(tok.status, 201);
    const viaToken = () => t.app.inject({ method: 'GET', url: '/api/auth/me', headers: { authorization: `Bearer ${tok.json.token}` } });
    assert.equal((await viaToken()).statusCode, 200);
    assert.equal((await victim.request('GET', '/api/auth/me')).status, 200);
    const r = await hr.request('POST', `/api/users/${itaku.id}/status`, { status: 'retired', reason: '退職' });
    assert.equal(r.status, 200);
    const after = await victim.request('GET', '/api/auth/me');
    assert.equal(after.status, 401);
    assert.equal(after.json.error.code, 'auth.session_revoked');
    assert.equal((await viaToken()).statusCode, 401);
    const [e] = await auditRepository(t.ctx.db).list({ action: 'user.status.change', limit: 1 });
    const ev = JSON.parse(e!.payload);
    assert.equal(ev.details.to, 'retired');
    assert.ok(ev.details.sessionsRevoked >= 1);
    assert.equal(ev.details.tokensRevoked, 1);
  });
});

describe('import through the API', () => {
  test('a CSV upload is all or nothing: a bad line is named with 422 and nothing is written; a good file is imported', async () => {
    const users = await cpo.request('GET', '/api/users?limit=100');
    const h = users.json.users.find((x: any) => x.login === 'handler');
    const g = await cpo.request('POST', '/api/datasets/contacts/grants', {
      subjectType: 'user', subjectId: h.id, fields: ['company_name', 'prefecture', 'person_name', 'email'], purposes: ['データ整備'], canWrite: true,
      validUntil: '2027-01-31T00:00:00Z', reason: 'import test',
    });
    assert.equal(g.status, 201, JSON.stringify(g.json));
    const upload = (csv: string) => t.app.inject({
      method: 'POST', url: '/api/datasets/contacts/import?format=csv',
      headers: { cookie: `mamori_session=${handler.cookie}`, 'x-csrf-token': handler.csrf, 'content-type': 'text/csv' }, payload: csv,
    });
    const count = async () => (await sql<{ n: number }>`SELECT count(*)::int AS n FROM records`.execute(t.ctx.db)).rows[0]!.n;
    const before = await count();
    const bad = await upload('company_name,prefecture,person_name,email\n守り商事,東京都,山田 太郎,taro@example.jp\n守り商事,東京都,山田 花子,hanako-at-example\n');
    assert.equal(bad.statusCode, 422);
    assert.equal(bad.json().error.code, 'import.invalid');
    assert.deepEqual(bad.json().error.details.problems.map((p: any) => [p.line, p.field]), [[3, 'email']]);
    assert.equal(await count(), before);
    const denied = await upload('company_name,mobile_phone\n守り商事,090-1234-5678\n');
    assert.equal(denied.statusCode, 403, 'mobile_phone is not in the write grant');
    assert.equal(await count(), before);
    const ok = await upload('company_name,prefecture,person_name,email\n守り商事,東京都,山田 太郎,taro@example.jp\n守り物産,大阪府,佐藤 花子,hanako@example.jp\n');
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(ok.json().imported, 2);
    assert.equal(await count(), before + 2);
  });

  test('with Accept: application/x-ndjson the import streams its progress, then its outcome as the last line (a result, or the error the plain answer would have had)', async () => {
    const upload = (csv: string) => t.app.inject({
      method: 'POST', url: '/api/datasets/contacts/import?format=csv',
      headers: { cookie: `mamori_session=${handler.cookie}`, 'x-csrf-token': handler.csrf, 'content-type': 'text/csv', accept: 'application/x-ndjson' }, payload: csv,
    });
    const linesOf = (body: string) => body.trim().split('\n').map((l) => JSON.parse(l));
    const count = async () => (await sql<{ n: number }>`SELECT count(*)::int AS n FROM records`.execute(t.ctx.db)).rows[0]!.n;
    const before = await count();

    const good = 'company_name,prefecture,person_name,email\n守り工業,京都府,鈴木 一郎,ichiro@example.jp\n';
    const ok = await upload(good);
    assert.equal(ok.statusCode, 200);
    assert.match(String(ok.headers['content-type']), /^application\/x-ndjson/);
    const lines = linesOf(ok.body);
    const size = Buffer.byteLength(good);
    assert.deepEqual(lines[0], { progress: { phase: 'write', rows: 0, bytes: 0, totalBytes: size } });
    const progress = lines.slice(0, -1).map((l) => l.progress);
    assert.ok(progress.every((p) => p !== undefined), 'every line but the last is progress');
    assert.deepEqual(progress.slice(-2).map((p) => [p.phase, p.rows, p.bytes]), [['commit', 1, size], ['done', 1, size]]);
    assert.equal(lines.at(-1).result.imported, 1);
    assert.equal(await count(), before + 1);

    // A bad line: the outcome is the 422 body the plain answer gives, with its status; nothing is written and no value is echoed.
    const bad = await upload('company_name,prefecture,person_name,email\n守り工業,京都府,鈴木 二郎,jiro-at-example\n');
    assert.equal(bad.statusCode, 200, 'the answer had begun');
    const last = linesOf(bad.body).at(-1);
    assert.equal(last.status, 422);
    assert.equal(last.error.code, 'import.invalid');
    assert.deepEqual(last.error.details.problems.map((p: any) => [p.line, p.field]), [[2, 'email']]);
    assert.equal(typeof last.error.requestId, 'string');
    assert.doesNotMatch(bad.body, /jiro-at-example/);
    assert.equal(await count(), before + 1);

    const denied = await upload('company_name,mobile_phone\n守り工業,090-1234-5678\n');
    assert.equal(linesOf(denied.body).at(-1).status, 403, 'mobile_phone is not in the write grant');
    assert.equal(await count(), before + 1);
  });

  test('the CLI\'s client of that stream (apiProgress) passes on each progress line and returns the result, or throws the error with its details', async () => {
    const { identity, systemActor } = await import('../src/modules/identity/index.ts');
    const { apiProgress } = await import('../src/cli/target.ts');
    const users = await cpo.request('GET', '/api/users?limit=100');
    const h = users.json.users.find((x: any) => x.login === 'handler');
    const { token } = await identity.createApiToken(t.ctx, systemActor({ ip: null, userAgent: null, deviceId: null }), { userId: h.id, name: 'cli-import' });
    const address = await t.app.listen({ host: '127.0.0.1', port: 0 });
    const target = { url: address, token };
    const route = '/api/datasets/contacts/import?format=csv';
    const headers = { 'content-type': 'application/octet-stream' };
    const seen: string[] = [];
    const r = await apiProgress<{ phase: string }, { imported: number }>(target, 'POST', route, 'company_name,prefecture,email\n守り電機,愛知県,cli@example.jp\n', headers, (p) => seen.push(p.phase));
    assert.equal(r.imported, 1);
    assert.deepEqual([seen[0], ...seen.slice(-2)], ['write', 'commit', 'done']);
    await assert.rejects(
      apiProgress(target, 'POST', route, 'company_name,prefecture,email\n守り電機,愛知県,cli-at-example\n', headers, () => undefined),
      (e: Error & { details?: { problems: { line: number; field: string }[] } }) => /^import\.invalid: /.test(e.message) && e.details?.problems[0]?.line === 2 && e.details.problems[0].field === 'email',
    );
    // Refused before the import begins (no CSRF token needed with a bearer token, but a bad one): an ordinary error answer.
    await assert.rejects(apiProgress({ url: address, token: 'mmt_nosuchtoken' }, 'POST', route, 'company_name\nx\n', headers, () => undefined), /^Error: auth\.required: /);
  });
});

describe('revocation by another node', () => {
  test('a cached token revoked directly in the database is refused on its very next read, and the attempt is audited', async () => {
    const { identity, systemActor } = await import('../src/modules/identity/index.ts');
    const users = await cpo.request('GET', '/api/users?limit=100');
    const h = users.json.users.find((x: any) => x.login === 'handler');
    const { token, id } = await identity.createApiToken(t.ctx, systemActor({ ip: null, userAgent: null, deviceId: null }), { userId: h.id, name: 'node-b' });
    const read = () => t.app.inject({ method: 'GET', url: `/api/datasets/contacts/records/${firstId}?purpose=${encodeURIComponent(PURPOSE)}`, headers: { authorization: `Bearer ${token}` } });
    assert.equal((await read()).statusCode, 200);
    assert.equal((await read()).statusCode, 200); // now served from the actor cache
    // Another node revokes it: this process hears nothing.
    await sql`UPDATE api_tokens SET revoked_at = now() WHERE id = ${id}`.execute(t.ctx.db);
    const refused = await read();
    assert.equal(refused.statusCode, 401);
    assert.equal(refused.json().error.code, 'auth.session_revoked');
    const e = await lastEvent();
    assert.equal(e.action, 'record.read');
    assert.equal(e.result, 'revoked');
    assert.equal((await read()).statusCode, 401);
  });
});

describe('bad input', () => {
  test("every route's input schemas compile (they are compiled at each route's first request, not at start-up)", () => {
    // Params, query strings and bodies of well over a hundred routes: a schema Ajv rejects throws here.
    assert.ok(t.app.compileAllValidators() > 100);
  });

  test('malformed JSON, unknown fields, wrong types and oversize bodies get stable 4xx codes', async () => {
    const headers = { cookie: `mamori_session=${handler.cookie}`, 'x-csrf-token': handler.csrf, 'content-type': 'application/json' };
    const url = '/api/datasets/contacts/records/search';
    const bad = await t.app.inject({ method: 'POST', url, headers, payload: '{"purpose": ' });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error.code, 'request.malformed_json');
    const unknown = await handler.request('POST', url, { purpose: PURPOSE, criteria: [], sneaky: 1 });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.json.error.code, 'request.invalid');
    const wrongType = await handler.request('POST', url, { purpose: PURPOSE, criteria: 'all' });
    assert.equal(wrongType.json.error.code, 'request.invalid');
    const huge = await t.app.inject({ method: 'POST', url, headers, payload: JSON.stringify({ purpose: PURPOSE, criteria: [], pad: 'x'.repeat(2 * 1024 * 1024) }) });
    assert.equal(huge.statusCode, 413);
    assert.equal(huge.json().error.code, 'request.too_large');
    const oversize = await handler.request('POST', url, { purpose: PURPOSE, criteria: [{ field: 'company_name', op: 'prefix', value: '株'.repeat(1001) }] });
    assert.equal(oversize.status, 400);
    assert.equal(oversize.json.error.code, 'request.invalid');
    assert.ok(!JSON.stringify(oversize.json).includes('株株株'), 'the value is not echoed');
    const inj = await handler.request('POST', url, { purpose: PURPOSE, criteria: [{ field: 'company_name', op: 'prefix', value: "'; DROP TABLE records; --" }] });
    assert.equal(inj.status, 200);
    assert.deepEqual(inj.json.records, []);
  });

  test('a state-changing call with the session cookie but without the CSRF token is refused', async () => {
    const r = await t.app.inject({
      method: 'POST', url: '/api/datasets/contacts/records/search', headers: { cookie: `mamori_session=${handler.cookie}` },
      payload: { purpose: PURPOSE, criteria: [] },
    });
    assert.equal(r.statusCode, 403);
    assert.equal(r.json().error.code, 'auth.csrf');
  });

  test('invalid record values are named by field, never echoed, and nothing is written', async () => {
    // (the import test above gave the handler a write grant on company_name, prefecture, person_name, email)
    const before = await auditCount();
    const records = async () => (await sql<{ n: number }>`SELECT count(*)::int AS n FROM records`.execute(t.ctx.db)).rows[0]!.n;
    const beforeRecords = await records();
    const r = await handler.request('POST', '/api/datasets/contacts/records', { values: { company_name: '守り商事', email: 'secret-value-not-an-email' } });
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, 'record.invalid');
    assert.deepEqual(r.json.error.details.problems.map((p: any) => p.field), ['email']);
    assert.ok(!JSON.stringify(r.json).includes('secret-value'));
    assert.equal(await auditCount(), before);
    assert.equal(await records(), beforeRecords);
    const ok = await handler.request('POST', '/api/datasets/contacts/records', { values: { company_name: '守り商事', email: 'valid@example.jp' } });
    assert.equal(ok.status, 201);
    assert.equal(await auditCount(), before + 1);
    const denied = await handler.request('POST', '/api/datasets/contacts/records', { values: { mobile_phone: '090-1111-2222' } });
    assert.equal(denied.status, 403);
    assert.equal(denied.json.error.details.rule, 'grant.field_missing');
  });
});

describe('session check', () => {
  test('GET /api/auth/me without any credential answers "not signed in" (200, user null); a revoked cookie still gets 401', async () => {
    const anon = await t.app.inject({ method: 'GET', url: '/api/auth/me' });
    assert.equal(anon.statusCode, 200);
    assert.deepEqual(anon.json(), { user: null, mfa: false, grants: [], csrfToken: null });
    const bogus = await t.app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie: 'mamori_session=mms_not-a-session' } });
    assert.equal(bogus.statusCode, 401);
    const other = await t.app.inject({ method: 'GET', url: '/api/users' });
    assert.equal(other.statusCode, 401);
  });
});

describe('cached credentials', () => {
  test('a grant revoked through the API denies the very next read of a token served from the actor cache', async () => {
    const { identity, systemActor } = await import('../src/modules/identity/index.ts');
    const users = await cpo.request('GET', '/api/users?limit=100');
    const owner = users.json.users.find((x: any) => x.login === 'owner');
    const g = await cpo.request('POST', '/api/datasets/contacts/grants', {
      subjectType: 'user', subjectId: owner.id, fields: ['company_name', 'person_name'], purposes: ['データ整備'],
      validUntil: '2027-01-31T00:00:00Z', reason: 'cache test',
    });
    assert.equal(g.status, 201, JSON.stringify(g.json));
    const { token } = await identity.createApiToken(t.ctx, systemActor({ ip: null, userAgent: null, deviceId: null }), { userId: owner.id, name: 'cache-test' });
    const read = () => t.app.inject({ method: 'GET', url: `/api/datasets/contacts/records/${firstId}?purpose=${encodeURIComponent('データ整備')}`, headers: { authorization: `Bearer ${token}` } });
    const first = await read();
    assert.equal(first.statusCode, 200, first.body);
    assert.deepEqual(Object.keys(first.json().record.values).sort(), ['company_name', 'person_name']);
    assert.deepEqual(first.json().record.masked, ['person_name']);
    assert.equal((await read()).statusCode, 200); // the actor (and its grants) now come from the cache
    const revoked = await cpo.request('POST', `/api/grants/${g.json.grant.id}/revoke`, { reason: 'キャッシュ試験' });
    assert.equal(revoked.status, 200, JSON.stringify(revoked.json));
    const denied = await read();
    assert.equal(denied.statusCode, 403, 'the revoked grant no longer allows the read');
    assert.equal(denied.json().error.details.rule, 'grant.none');
    const e = await lastEvent();
    assert.equal(e.action, 'record.read');
    assert.equal(e.decision, 'deny');
  });
});

describe('grant expiry', () => {
  test('a grant can be shortened (not extended, not into the past), and a passed end denies at once', async () => {
    const users = await cpo.request('GET', '/api/users?limit=100');
    const h = users.json.users.find((x: any) => x.login === 'handler');
    const grants = await cpo.request('GET', '/api/datasets/contacts/grants');
    const g = grants.json.grants.find((x: any) => x.subjectId === h.id && x.purposes.includes('営業活動') && x.status === 'active');
    const later = await cpo.request('POST', `/api/grants/${g.id}/expire`, { validUntil: '2030-01-01T00:00:00Z', reason: 'x' });
    assert.equal(later.status, 400);
    const past = await cpo.request('POST', `/api/grants/${g.id}/expire`, { validUntil: '2020-01-01T00:00:00Z', reason: 'x' });
    assert.equal(past.status, 400);
    const soon = new Date(t.clock.now().getTime() + 60_000).toISOString();
    const ok = await cpo.request('POST', `/api/grants/${g.id}/expire`, { validUntil: soon, reason: '異動のため' });
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    assert.equal(ok.json.grant.validUntil, soon);
    const url = `/api/datasets/contacts/records/${firstId}?purpose=${encodeURIComponent(PURPOSE)}`;
    assert.equal((await handler.request('GET', url)).status, 200);
    t.clock.advance(61_000);
    const after = await handler.request('GET', url);
    assert.equal(after.status, 403);
    assert.equal(after.json.error.details.rule, 'grant.none');
  });
});
