import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import { seed } from '../apps/server/src/platform/seed.ts';
import { hashToken, newOpaqueToken } from '../apps/server/src/platform/crypto/tokens.ts';
import { newId } from '../apps/server/src/platform/ids.ts';
import { identity } from '../apps/server/src/modules/identity/index.ts';
import { readRecord } from '../apps/server/src/modules/vault/index.ts';
import { identityRepository } from '../apps/server/src/modules/identity/identity.repository.ts';
import { openBenchContext } from './support.ts';

const bench = await openBenchContext({ poolSize: 20 });
const { ctx } = bench;
try {
  await seed(ctx, { demo: true, demoContacts: 20000 });
  const handler = await ctx.db.selectFrom('users').select('id').where('login', '=', 'handler').executeTakeFirstOrThrow();
  await ctx.db.updateTable('users').set({ password_change_required: false }).where('id', '=', handler.id).execute();
  const token = newOpaqueToken('mmt');
  await ctx.db.insertInto('api_tokens').values({ id: newId<'TokenId'>(), user_id: handler.id, name: 'b', token_hash: hashToken(token), created_at: new Date(), created_by: null, expires_at: null, revoked_at: null, last_used_at: null }).execute();
  const ids = (await ctx.db.selectFrom('records').select('id').execute()).map((r) => r.id);
  const term = { ip: '127.0.0.1', userAgent: 'x', deviceId: null };
  const t = async (name: string, n: number, fn: (i: number) => Promise<unknown>) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await fn(i);
    console.error(`${name}: ${((performance.now() - t0) / n).toFixed(3)} ms/op`);
  };
  await t('select 1', 300, () => sql`SELECT 1`.execute(ctx.db));
  await t('tokenActor', 300, () => identityRepository(ctx.db).tokenActor(hashToken(token)));
  const actor = await identity.resolveApiToken(ctx, token, term, 'r');
  await t('readRecord', 300, (i) => readRecord(ctx, actor, 'contacts', ids[i]!, '営業活動'));
  await t('raw select', 300, (i) => sql`SELECT * FROM records WHERE id = ${ids[i]!}`.execute(ctx.db));
  await t('insert audit', 300, () => sql`INSERT INTO audit_events (payload) VALUES (${JSON.stringify({ v: 1, at: new Date().toISOString(), actor: { user: handler.id }, action: 'x', dataset: null, records: [], decision: 'allow' })})`.execute(ctx.db));
  const ex = async (q: ReturnType<typeof sql>) => console.error((await q.execute(ctx.db)).rows.map((r) => Object.values(r as object)[0]).join('\n'));
  await ex(sql`EXPLAIN ANALYZE SELECT t.user_id FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ${hashToken(token)}`);
  const tpl = JSON.stringify({ v: 1, at: new Date().toISOString(), actor: { user: handler.id }, action: 'record.read', dataset: null, records: [ids[5]], decision: 'allow', result: '__MAMORI_RESULT__' });
  await ex(sql`EXPLAIN (ANALYZE, BUFFERS) WITH r AS (SELECT id, public, sealed, key_id, version, updated_at FROM records WHERE id = ${ids[5]!}), a AS (INSERT INTO audit_events (payload) SELECT replace(${tpl}::text, '"__MAMORI_RESULT__"', CASE WHEN EXISTS (SELECT 1 FROM r) THEN '"ok"' ELSE '"not_found"' END) RETURNING id) SELECT r.* FROM r, (SELECT count(*) FROM a) AS audited`);
} finally {
  await bench.close();
}
