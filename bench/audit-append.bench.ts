/**
 * `npm run bench -- audit-append [seconds] [concurrency]`: sustained audit events/s from business
 * transactions (BEGIN, append, COMMIT) to integrated-and-checkpointed by the sequencer, against bare
 * INSERTs of the same bytes into a plain table with the same concurrency, in the same run. The
 * sequencer's lag is sampled every 100 ms: its maximum, divided by the rate, estimates the worst
 * integration latency. Target: ≥ 20,000 events/s integrated with ≤ 1 s latency.
 */
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import { appendAudit } from '../apps/server/src/modules/audit/index.ts';
import { buildAuditPayload } from '../apps/server/src/modules/audit/audit.payload.ts';
import { systemActor } from '../apps/server/src/modules/identity/index.ts';
import { startSequencer } from '../apps/server/src/jobs/sequencer.ts';
import { printResult } from './lib.ts';
import { intArg, log, openBenchContext } from './support.ts';

const SECONDS = intArg(process.argv[2], 10, 'seconds');
const CONCURRENCY = intArg(process.argv[3], 32, 'concurrency');
const bench = await openBenchContext({ poolSize: CONCURRENCY + 4 });
const { ctx } = bench;
const actor = systemActor({ ip: '127.0.0.1', userAgent: 'bench', deviceId: null });
const event = { action: 'record.read', decision: 'allow', rule: 'grant.read', reason: 'Allowed by your handler grant for this purpose.', result: 'ok', datasetId: '0190a4c8-0000-7000-8000-000000000001', recordIds: ['0190a4c8-0000-7000-8000-000000000002'], fields: ['company_name', 'person_name', 'email'], purpose: '営業活動' } as const;

async function loop(seconds: number, op: () => Promise<unknown>): Promise<number> {
  let count = 0;
  const end = performance.now() + seconds * 1000;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (performance.now() < end) {
      await op();
      count++;
    }
  }));
  return count;
}

try {
  await sql`CREATE TABLE audit_baseline (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, payload text NOT NULL)`.execute(ctx.db);
  const payload = buildAuditPayload(actor, new Date(), event);
  log(`audit-append: baseline, ${SECONDS} s of bare INSERTs at concurrency ${CONCURRENCY}`);
  let t = performance.now();
  const base = await loop(SECONDS, () => sql`INSERT INTO audit_baseline (payload) VALUES (${payload})`.execute(ctx.db));
  const baseline = base / ((performance.now() - t) / 1000);

  log(`audit-append: ${SECONDS} s of audited transactions with the sequencer running`);
  const sequencer = startSequencer(ctx);
  let maxLag = 0;
  const sampler = setInterval(() => {
    void sql<{ pending: number }>`SELECT count(*)::int AS pending FROM audit_pending`.execute(ctx.db).then((r) => {
      maxLag = Math.max(maxLag, r.rows[0]?.pending ?? 0);
    });
  }, 100);
  t = performance.now();
  const appended = await loop(SECONDS, () => ctx.db.transaction().execute((tx) => appendAudit(tx, ctx.clock, actor, event)));
  await sequencer.stop(); // integrates the rest and signs the last checkpoint
  const secs = (performance.now() - t) / 1000;
  clearInterval(sampler);
  const tree = (await sql<{ n: number }>`SELECT tree_size::int AS n FROM audit_tree_state`.execute(ctx.db)).rows[0]?.n ?? 0;
  const checkpoints = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_checkpoints`.execute(ctx.db)).rows[0]?.n ?? 0;
  if (tree !== appended) throw new Error(`tree size ${tree} != appended ${appended}`);
  const value = appended / secs;
  printResult({
    bench: 'audit-append', value: Math.round(value), unit: 'events/s', baseline: Math.round(baseline), ratio: Number((value / baseline).toFixed(3)),
    extra: { events: appended, checkpoints, max_pending: maxLag, est_max_latency_ms: Math.round((maxLag / value) * 1000), concurrency: CONCURRENCY, seconds: SECONDS },
  });
} finally {
  await bench.close();
}
