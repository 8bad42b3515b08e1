/**
 * Audited reads batched into one statement (ADR 0004): every read in a batch gets its own answer
 * and exactly one audit event with its own result, whatever the other reads in the same statement
 * are (found, not found, a revoked credential); a statement that fails fails every read in it and
 * leaves none of their events.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { identity, systemActor } from '../src/modules/identity/index.ts';
import { auditRepository, buildAuditPayload, integrateAll } from '../src/modules/audit/index.ts';
import { AuditedReadBatcher } from '../src/modules/vault/vault.read-batch.ts';
import { hashToken } from '../src/platform/crypto/tokens.ts';
import { PURPOSE, signIn, startTestApp, type TestApp } from './support/app.ts';

let t: TestApp;
let datasetId: string;
let recordIds: string[];

before(async () => {
  t = await startTestApp({ demoContacts: 40 });
  datasetId = (await t.ctx.db.selectFrom('datasets').select('id').where('name', '=', 'contacts').executeTakeFirstOrThrow()).id;
  recordIds = (await t.ctx.db.selectFrom('records').select('id').where('dataset_id', '=', datasetId).orderBy('id').execute()).map((r) => r.id);
  await integrateAll(t.ctx);
});
after(async () => t.close());

const payload = (tag: string) =>
  buildAuditPayload(systemActor({ ip: null, userAgent: null, deviceId: null }), new Date(), {
    action: 'record.read', decision: 'allow', rule: 'test', reason: 'batched read', result: 'ok', datasetId, details: { tag },
  }, { result: true });

async function pendingByTag(): Promise<Map<string, string>> {
  const rows = (await sql<{ payload: string }>`SELECT payload FROM audit_pending`.execute(t.ctx.db)).rows;
  const out = new Map<string, string>();
  for (const r of rows) {
    const e = JSON.parse(r.payload);
    const tag = e.details?.tag;
    if (tag) {
      assert.ok(!out.has(tag), `one event per read (${tag})`);
      out.set(tag, e.result);
    }
  }
  return out;
}

test('mixed reads in one statement each get their own row, liveness and audit result', async () => {
  const users = await t.ctx.db.selectFrom('users').select(['id', 'login']).where('login', 'in', ['handler', 'owner']).execute();
  const byLogin = new Map(users.map((u) => [u.login, u.id]));
  const sys = systemActor({ ip: null, userAgent: null, deviceId: null });
  const live = await identity.createApiToken(t.ctx, sys, { userId: byLogin.get('handler')!, name: 'live' });
  const dead = await identity.createApiToken(t.ctx, sys, { userId: byLogin.get('owner')!, name: 'dead' });
  await sql`UPDATE api_tokens SET revoked_at = now() WHERE id = ${dead.id}`.execute(t.ctx.db);
  const liveCred = { kind: 'token' as const, hash: hashToken(live.token) };
  const deadCred = { kind: 'token' as const, hash: hashToken(dead.token) };
  const missing = '01900000-0000-7000-8000-000000000000';

  // A batcher with one statement in flight: the first read goes alone, the other 29 queue behind it
  // and go together in the second statement.
  const b = new AuditedReadBatcher(t.ctx.database, 1);
  const plan = Array.from({ length: 30 }, (_, i) => {
    const kind = i % 5 === 3 ? 'missing' : i % 5 === 4 ? 'revoked' : 'ok';
    return { tag: `mix-${i}`, kind, recordId: kind === 'missing' ? missing : recordIds[i % recordIds.length]!, cred: kind === 'revoked' ? deadCred : liveCred };
  });
  const results = await Promise.all(plan.map((p) => b.read(datasetId, p.recordId, payload(p.tag), p.cred)));
  results.forEach((r, i) => {
    const p = plan[i]!;
    if (p.kind === 'ok') {
      assert.equal(r.live, true);
      assert.equal(r.row?.id, p.recordId, `read ${i} got its own record`);
    } else if (p.kind === 'missing') {
      assert.equal(r.live, true);
      assert.equal(r.row, undefined);
    } else {
      assert.equal(r.live, false, `read ${i} with a revoked token is refused`);
      assert.equal(r.row, undefined, 'and gets no data');
    }
  });
  const events = await pendingByTag();
  for (const p of plan) assert.equal(events.get(p.tag), p.kind === 'ok' ? 'ok' : p.kind === 'missing' ? 'not_found' : 'revoked', p.tag);
});

test('a statement that fails fails every read in it and writes none of their events', async () => {
  const b = new AuditedReadBatcher(t.ctx.database, 1);
  const before = await auditRepository(t.ctx.db).countAll();
  const reads = [
    b.read(datasetId, recordIds[0]!, payload('alone'), undefined),
    // These two share the second statement; the null payload breaks its INSERT (NOT NULL).
    b.read(datasetId, recordIds[1]!, payload('doomed-1'), undefined),
    b.read(datasetId, recordIds[2]!, null as unknown as string, undefined),
  ];
  const [alone, doomed, broken] = await Promise.allSettled(reads);
  assert.equal(alone?.status, 'fulfilled');
  assert.equal(doomed?.status, 'rejected', 'a read sharing the failed statement fails too');
  assert.equal(broken?.status, 'rejected');
  assert.equal(await auditRepository(t.ctx.db).countAll(), before + 1, 'only the statement that succeeded left its event');
  assert.equal((await pendingByTag()).has('doomed-1'), false);
});

test('many concurrent reads over HTTP: every answer right, every read audited once', async () => {
  const handler = await signIn(t, 'handler');
  const before = await auditRepository(t.ctx.db).countAll();
  const missing = '01900000-0000-7000-8000-0000000000ff';
  const ids = Array.from({ length: 60 }, (_, i) => (i % 7 === 6 ? missing : recordIds[i % recordIds.length]!));
  const answers = await Promise.all(ids.map((id) => handler.request('GET', `/api/datasets/contacts/records/${id}?purpose=${encodeURIComponent(PURPOSE)}`)));
  answers.forEach((a, i) => {
    if (ids[i] === missing) assert.equal(a.status, 404);
    else {
      assert.equal(a.status, 200);
      assert.equal(a.json.record.id, ids[i]);
    }
  });
  assert.equal(await auditRepository(t.ctx.db).countAll(), before + ids.length);
  const r = await integrateAll(t.ctx);
  const reads = (await sql<{ result: string; n: number }>`
    SELECT payload::jsonb ->> 'result' AS result, count(*)::int AS n FROM audit_events
    WHERE action = 'record.read' AND log_index >= ${r.treeSize - ids.length} GROUP BY 1`.execute(t.ctx.db)).rows;
  assert.deepEqual(Object.fromEntries(reads.map((x) => [x.result, x.n])), { ok: ids.filter((x) => x !== missing).length, not_found: ids.filter((x) => x === missing).length });
});
