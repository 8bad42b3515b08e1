/**
 * Characters PostgreSQL's jsonb refuses (U+0000, unpaired surrogates) must never stop the audit log:
 * any caller can put one in a purpose, a login name or a reason, and the sequencer and verification
 * read events as jsonb. Such a character is recorded as U+FFFD; the log keeps integrating.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { integrateAll } from '../src/modules/audit/index.ts';
import { verifyAuditLog } from '../src/modules/audit/audit.verify.ts';
import { signIn, startTestApp, type TestApp } from './support/app.ts';

let t: TestApp;
before(async () => {
  t = await startTestApp({ demoContacts: 5 });
  await integrateAll(t.ctx);
});
after(async () => t.close());

test('a NUL or a lone surrogate in a request is audited as U+FFFD and the log keeps integrating and verifies', async () => {
  const s = await signIn(t, 'handler');
  const ds = (await t.ctx.db.selectFrom('datasets').select('id').where('name', '=', 'contacts').executeTakeFirstOrThrow()).id;
  const id = (await t.ctx.db.selectFrom('records').select('id').where('dataset_id', '=', ds).limit(1).executeTakeFirstOrThrow()).id;
  // In the query string (a purpose), and in a JSON body (a login name: the failed login is audited).
  const read = await s.request('GET', `/api/datasets/contacts/records/${id}?purpose=%00x`);
  assert.equal(read.status, 403);
  const login = await t.app.inject({ method: 'POST', url: '/api/auth/login', headers: { 'content-type': 'application/json' }, payload: '{"login":"a\\ud800\\u0000b","password":"wrong-password-1"}' });
  assert.ok(login.statusCode >= 400 && login.statusCode < 500);
  const pending = (await sql<{ payload: string }>`SELECT payload FROM audit_pending`.execute(t.ctx.db)).rows.map((r) => r.payload);
  assert.ok(pending.some((p) => p.includes('\ufffdx')), 'the purpose is recorded with U+FFFD');
  assert.ok(pending.every((p) => !/\\u0000|\\ud[89a-f]/i.test(p)), 'no escape jsonb refuses');
  await integrateAll(t.ctx);
  assert.equal((await sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_pending`.execute(t.ctx.db)).rows[0]!.n, 0, 'every event integrated');
  const v = await verifyAuditLog(t.ctx.db, { key: t.ctx.auditLog.key, witnesses: t.ctx.auditLog.witnesses });
  assert.equal(v.ok, true, JSON.stringify(v).slice(0, 300));
});
