/**
 * Audited reads batched into one statement (ADR 0004): every read in a batch gets its own answer
 * and exactly one audit event with its own result, whatever the other reads in the same statement
 * are (found, not found, a revoked credential); a statement that fails fails every read in it and
 * leaves none of their events. The statement's executed plan re-checks each distinct credential once,
 * not once per read (ADR 0004 amendment: the checks are a materialized step of their own).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CompiledQuery, sql } from 'kysely';
import { identity, systemActor } from '../src/modules/identity/index.ts';
import { auditRepository, buildAuditPayload, integrateAll } from '../src/modules/audit/index.ts';
import { AuditedReadBatcher, MAX_READS_PER_STATEMENT, READ_AUDITED_BATCH } from '../src/modules/vault/vault.read-batch.ts';
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

  // Reads asked for in the same turn of the event loop go to the database together: all 30 share
  // one statement.
  const b = new AuditedReadBatcher(t.ctx.database, 1);
  // A second live token and reads without a credential (the system worker's) in the same statement:
  // each distinct credential is checked once and its answer goes to its own reads only.
  const live2 = await identity.createApiToken(t.ctx, sys, { userId: byLogin.get('handler')!, name: 'live-2' });
  const live2Cred = { kind: 'token' as const, hash: hashToken(live2.token) };
  const plan = Array.from({ length: 30 }, (_, i) => {
    const kind = i % 5 === 3 ? 'missing' : i % 5 === 4 ? 'revoked' : 'ok';
    const cred = kind === 'revoked' ? deadCred : i % 5 === 1 ? live2Cred : i % 5 === 2 && i > 20 ? undefined : liveCred;
    return { tag: `mix-${i}`, kind, recordId: kind === 'missing' ? missing : recordIds[i % recordIds.length]!, cred };
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
  const alone = b.read(datasetId, recordIds[0]!, payload('alone'), undefined);
  // The first statement leaves on the next turn of the event loop, alone; the next two reads queue
  // behind it (one statement in flight) and share the second, which the malformed record id breaks
  // (services check ids before they queue a read; this one goes straight to the batcher).
  await new Promise((resolve) => setImmediate(resolve));
  const reads = [
    alone,
    b.read(datasetId, recordIds[1]!, payload('doomed-1'), undefined),
    b.read(datasetId, 'not-a-uuid', payload('doomed-2'), undefined),
  ];
  const [first, doomed, broken] = await Promise.allSettled(reads);
  assert.equal(first?.status, 'fulfilled');
  assert.equal(doomed?.status, 'rejected', 'a read sharing the failed statement fails too');
  assert.equal(broken?.status, 'rejected');
  assert.equal(await auditRepository(t.ctx.db).countAll(), before + 1, 'only the statement that succeeded left its event');
  assert.equal((await pendingByTag()).has('doomed-1'), false);
});

test('event bytes arrive exactly as built, whatever they hold; a payload that is not canonical JSON is refused', async () => {
  const b = new AuditedReadBatcher(t.ctx.database, 1);
  // Quotes, backslashes, control characters (escaped by JSON, U+001E among them), line separators,
  // Japanese and an emoji: the payloads travel joined by U+001E and must come back split exactly.
  const tricky = ['"quoted" \\ back\\slash', 'rec\u001esep and \u0007 bell', '行\u2028区切り 😀', '{"fake":"__MAMORI_RESULT__"}', ''];
  const sent = tricky.map((s, i) =>
    buildAuditPayload(systemActor({ ip: null, userAgent: s, deviceId: null }), new Date(), {
      action: 'record.read', decision: 'allow', rule: 'test', reason: s, result: 'ok', datasetId, details: { tag: `exact-${i}`, s },
    }, { result: true }),
  );
  await Promise.all(sent.map((p, i) => b.read(datasetId, recordIds[i]!, p, undefined)));
  const rows = (await sql<{ payload: string }>`SELECT payload FROM audit_pending`.execute(t.ctx.db)).rows.map((r) => r.payload);
  for (const [i, p] of sent.entries()) {
    assert.ok(rows.includes(p.replace('"__MAMORI_RESULT__"', '"ok"')), `payload ${i} stored byte for byte`);
  }
  const before = await auditRepository(t.ctx.db).countAll();
  await assert.rejects(b.read(datasetId, recordIds[0]!, '{"a":1}\x1e{"b":2}', undefined), /not canonical JSON/);
  assert.equal(await auditRepository(t.ctx.db).countAll(), before, 'nothing written for a refused payload');
});

test('reads of one turn share statements of at most 64 reads, with at most the configured number in flight', async () => {
  // The real database underneath, watched: how many reads each statement carries, how many run at once.
  const sizes: number[] = [];
  let running = 0;
  let maxRunning = 0;
  const watched = {
    ...t.ctx.database,
    async prepared<R>(name: string, text: string, values: unknown[]): Promise<R[]> {
      sizes.push((values[0] as unknown[]).length);
      maxRunning = Math.max(maxRunning, ++running);
      try {
        return await t.ctx.database.prepared<R>(name, text, values);
      } finally {
        running--;
      }
    },
  };
  const b = new AuditedReadBatcher(watched, 2);
  const n = 3 * MAX_READS_PER_STATEMENT + 10;
  const results = await Promise.all(Array.from({ length: n }, (_, i) => b.read(datasetId, recordIds[i % recordIds.length]!, payload(`cap-${i}`), undefined)));
  results.forEach((r, i) => assert.equal(r.row?.id, recordIds[i % recordIds.length], `read ${i} got its own record`));
  assert.deepEqual(sizes, [MAX_READS_PER_STATEMENT, MAX_READS_PER_STATEMENT, MAX_READS_PER_STATEMENT, 10], 'full statements first, none above the cap');
  assert.equal(maxRunning, 2, 'two statements in flight, never more');
  const events = await pendingByTag();
  for (let i = 0; i < n; i++) assert.equal(events.get(`cap-${i}`), 'ok');
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

type PlanNode = { 'Node Type': string; 'Subplan Name'?: string; 'Parent Relationship'?: string; 'Relation Name'?: string; 'Actual Loops': number; Plans?: PlanNode[] };

/** The plan node (and its subtree) named `name` (a CTE is "CTE <name>"), or null. */
function nodeNamed(n: PlanNode, name: string): PlanNode | null {
  if (n['Subplan Name'] === name) return n;
  for (const c of n.Plans ?? []) {
    const f = nodeNamed(c, name);
    if (f) return f;
  }
  return null;
}

function all(n: PlanNode, keep: (n: PlanNode) => boolean, out: PlanNode[] = []): PlanNode[] {
  if (keep(n)) out.push(n);
  for (const c of n.Plans ?? []) all(c, keep, out);
  return out;
}

test('a batch re-checks each distinct credential once, not once per read (the plan, as executed)', async () => {
  const handler = (await t.ctx.db.selectFrom('users').select('id').where('login', '=', 'handler').executeTakeFirstOrThrow()).id;
  const token = await identity.createApiToken(t.ctx, systemActor({ ip: null, userAgent: null, deviceId: null }), { userId: handler, name: 'plan' });
  const hash = hashToken(token.token).toString('hex');
  const n = 16;
  const ids = Array.from({ length: n }, (_, i) => recordIds[i % recordIds.length]!);
  const params = [
    ids, ids.map(() => datasetId), ids.map((_, i) => payload(`plan-${i}`)).join('\x1e'), ids.map(() => 'token'), ids.map(() => hash),
    ids.map(() => null), ids.map(() => null), ids.map(() => null), ids.map(() => null),
  ];
  // Executed (ANALYZE) inside a transaction that is rolled back: the plan as it ran, no events left.
  let root: PlanNode | null = null;
  await t.ctx.db.transaction().execute(async (tx) => {
    const r = await tx.executeQuery<{ 'QUERY PLAN': unknown }>(CompiledQuery.raw(`EXPLAIN (ANALYZE, FORMAT JSON) ${READ_AUDITED_BATCH}`, params));
    const cell = r.rows[0]!['QUERY PLAN'];
    root = ((typeof cell === 'string' ? JSON.parse(cell) : cell) as { Plan: PlanNode }[])[0]!.Plan;
    throw new Error('rollback');
  }).catch((e: unknown) => {
    if ((e as Error).message !== 'rollback') throw e;
  });
  assert.ok(root);
  // The credential checks are computed once, as their own step (not inlined into each read's row) …
  const checks = nodeNamed(root, 'CTE c');
  assert.ok(checks, 'the credential checks are a step of their own');
  assert.equal(checks['Actual Loops'], 1);
  // … and within it, the check of a token ran once for the one token of the 16 reads.
  const subplans = all(checks, (x) => x['Parent Relationship'] === 'SubPlan');
  assert.ok(subplans.length > 0, 'the checks are subplans');
  const runs = subplans.reduce((a, x) => a + x['Actual Loops'], 0);
  assert.equal(runs, 1, `credential checks ran ${runs} times for ${n} reads of one credential`);
  // Nowhere else in the statement is a credential looked up.
  const inChecks = new Set(all(checks, () => true));
  const elsewhere = all(root, (x) => (x['Relation Name'] === 'api_tokens' || x['Relation Name'] === 'sessions') && !inChecks.has(x));
  assert.deepEqual(elsewhere, [], 'no credential lookup outside the checks');
  assert.ok(all(root, (x) => x['Relation Name'] === 'records').length > 0, 'the records are read');
});
