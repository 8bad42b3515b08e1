/**
 * `npm run bench -- audit-append [seconds] [concurrency] [backlog]`: sustained audit events/s from
 * business transactions (BEGIN, append, COMMIT) to integrated-and-checkpointed by the sequencer,
 * against bare INSERTs of the same bytes into a plain table with the same concurrency, in the same
 * run. Target: ≥ 20,000 events/s integrated with ≤ 1 s latency.
 *
 * The headline (`value`) is that one-event-per-transaction load, as it always was. Three more phases
 * show where the limit is, each with CPU per event of this process (the load generator included) and
 * of PostgreSQL:
 *   - `capacity`: a backlog of events already pending, drained by the sequencer alone: what the
 *     audit log itself can integrate and checkpoint per second, whatever the producers manage;
 *   - `batched`: producers that append 16 events per statement, as the gate's batched audited reads
 *     do under load (ADR 0004), with the sequencer running beside them;
 *   - `monitor`: the monitoring rules evaluating a backlog of integrated events from 200 users.
 * Latency is sampled every 100 ms as the age of the oldest pending event (its own `at`).
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import { appendAudit, integrateAll } from '../apps/server/src/modules/audit/index.ts';
import { auditColumns, buildAuditPayload } from '../apps/server/src/modules/audit/audit.payload.ts';
import { systemActor, type Actor } from '../apps/server/src/modules/identity/index.ts';
import { monitorAll } from '../apps/server/src/modules/monitor/monitor.engine.ts';
import { startSequencer } from '../apps/server/src/jobs/sequencer.ts';
import { printResult } from './lib.ts';
import { cpuDelta, intArg, log, openBenchContext, postgresCpuMs, round } from './support.ts';

const SECONDS = intArg(process.argv[2], 10, 'seconds');
const CONCURRENCY = intArg(process.argv[3], 32, 'concurrency');
const BACKLOG = intArg(process.argv[4], 200_000, 'backlog');
const PER_STATEMENT = 16;
const MONITORED = 50_000;
const bench = await openBenchContext({ poolSize: CONCURRENCY + 4 });
const { ctx } = bench;
const actor = systemActor({ ip: '127.0.0.1', userAgent: 'bench', deviceId: null });
const event = { action: 'record.read', decision: 'allow', rule: 'grant.read', reason: 'Allowed by your handler grant for this purpose.', result: 'ok', datasetId: '0190a4c8-0000-7000-8000-000000000001', recordIds: ['0190a4c8-0000-7000-8000-000000000002'], fields: ['company_name', 'person_name', 'email'], purpose: '営業活動' } as const;

async function loop(seconds: number, concurrency: number, op: () => Promise<unknown>): Promise<number> {
  let count = 0;
  const end = performance.now() + seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      await op();
      count++;
    }
  }));
  return count;
}

/** CPU of this process and of PostgreSQL over one phase, per event. */
async function measure<T>(fn: () => Promise<T>, events: (r: T) => number) {
  const pg0 = await postgresCpuMs(ctx.db);
  const cpu0 = process.cpuUsage();
  const t = performance.now();
  const result = await fn();
  const secs = (performance.now() - t) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const pgMs = cpuDelta(pg0, await postgresCpuMs(ctx.db));
  const n = events(result);
  return { result, secs, n, cpu: { node: round((cpu.user + cpu.system) / n), postgres: pgMs === null ? null : round((pgMs * 1000) / n) } };
}

/**
 * Every 100 ms: how many events wait (from the lowest and highest pending id: two index probes, where
 * a count would read the whole table under load) and how old the oldest waiting one is.
 */
function sampleLag() {
  const s = { maxPending: 0, maxAgeMs: 0 };
  const timer = setInterval(() => {
    void sql<{ pending: number | null; oldest: string | null }>`
      SELECT ((SELECT max(id) FROM audit_pending) - (SELECT min(id) FROM audit_pending) + 1)::int AS pending,
        (SELECT payload FROM audit_pending ORDER BY id LIMIT 1) AS oldest`.execute(ctx.db).then((r) => {
      const row = r.rows[0];
      s.maxPending = Math.max(s.maxPending, row?.pending ?? 0);
      if (row?.oldest) s.maxAgeMs = Math.max(s.maxAgeMs, Date.now() - Date.parse((JSON.parse(row.oldest) as { at: string }).at));
    }, () => undefined);
  }, 100);
  return { stats: s, stop: () => clearInterval(timer) };
}

const treeSize = async () => (await sql<{ n: number }>`SELECT coalesce((SELECT tree_size::int FROM audit_tree_state), 0) AS n`.execute(ctx.db)).rows[0]!.n;
const checkpointCount = async () => (await sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_checkpoints`.execute(ctx.db)).rows[0]!.n;
const pendingCount = async () => (await sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_pending`.execute(ctx.db)).rows[0]!.n;

try {
  await sql`CREATE TABLE audit_baseline (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, payload text NOT NULL)`.execute(ctx.db);
  const at = new Date();
  const payload = buildAuditPayload(actor, at, event);
  // The searchable columns travel beside the bytes, as every appender in src/ supplies them (migration 0018).
  const c = auditColumns(actor, at, event);

  // 1. Baseline: bare single-row INSERTs.
  log(`audit-append: baseline, ${SECONDS} s of bare INSERTs at concurrency ${CONCURRENCY}`);
  const base = await measure(() => loop(SECONDS, CONCURRENCY, () => sql`INSERT INTO audit_baseline (payload) VALUES (${payload})`.execute(ctx.db)), (n) => n);
  const baseline = base.n / base.secs;

  // 2. The headline: one event per business transaction, the sequencer integrating beside them.
  log(`audit-append: ${SECONDS} s of audited transactions with the sequencer running`);
  let sequencer = startSequencer(ctx);
  let lag = sampleLag();
  const tx = await measure(async () => {
    const n = await loop(SECONDS, CONCURRENCY, () => ctx.db.transaction().execute((t) => appendAudit(t, ctx.clock, actor, event)));
    await sequencer.stop(); // integrates the rest and signs the last checkpoint
    return n;
  }, (n) => n);
  lag.stop();
  const headlineLag = { ...lag.stats };
  const checkpoints = await checkpointCount();
  if ((await treeSize()) !== tx.n) throw new Error(`tree size ${await treeSize()} != appended ${tx.n}`);
  const value = tx.n / tx.secs;

  // 3. Capacity: a backlog the sequencer drains alone.
  log(`audit-append: capacity, a backlog of ${BACKLOG} pending events drained by the sequencer`);
  for (let done = 0; done < BACKLOG; done += 50_000) {
    const n = Math.min(50_000, BACKLOG - done);
    await sql`INSERT INTO audit_pending (payload, at, actor_user_id, action, dataset_id, record_ids, decision)
      SELECT replace(${payload}::text, '"details":{}', '"details":{"i":' || i || '}'), ${c.at}, ${c.actorUserId}::uuid, ${c.action}, ${c.datasetId}::uuid, ${[...c.recordIds]}::uuid[], ${c.decision}
      FROM generate_series(${done + 1}::int, ${done + n}::int) AS i`.execute(ctx.db);
  }
  await sql`VACUUM ANALYZE audit_pending`.execute(ctx.db);
  const size0 = await treeSize();
  const cps0 = await checkpointCount();
  const cap = await measure(async () => {
    const s = startSequencer(ctx);
    while ((await pendingCount()) > 0) await new Promise((r) => setTimeout(r, 20));
    await s.stop();
    return (await treeSize()) - size0;
  }, (n) => n);
  if (cap.n !== BACKLOG) throw new Error(`capacity: integrated ${cap.n} of ${BACKLOG}`);
  const capCheckpoints = (await checkpointCount()) - cps0;

  // 4. Batched producers: 16 events per statement, like the gate's batched audited reads.
  const batchConcurrency = Math.max(1, Math.round(CONCURRENCY / 4));
  log(`audit-append: ${SECONDS} s of statements appending ${PER_STATEMENT} events each at concurrency ${batchConcurrency}, sequencer running`);
  const size1 = await treeSize();
  sequencer = startSequencer(ctx);
  lag = sampleLag();
  const batch = Array.from({ length: PER_STATEMENT }, () => payload);
  const column = <T>(v: T) => Array.from({ length: PER_STATEMENT }, () => v);
  const batched = await measure(async () => {
    // As the gate's batched reads (vault.read-batch.ts): bytes and columns as arrays, the record one uuid each.
    const statements = await loop(SECONDS, batchConcurrency, () => sql`INSERT INTO audit_pending (payload, at, actor_user_id, action, dataset_id, record_ids, decision)
      SELECT q.payload, q.at, q.actor_user_id, q.action, q.dataset_id, ARRAY[q.record_id], q.decision
      FROM unnest(${batch}::text[], ${column(c.at)}::timestamptz[], ${column(c.actorUserId)}::uuid[], ${column(c.action)}::text[], ${column(c.datasetId)}::uuid[], ${column(c.recordIds[0]!)}::uuid[], ${column(c.decision)}::text[])
        AS q(payload, at, actor_user_id, action, dataset_id, record_id, decision)`.execute(ctx.db));
    await sequencer.stop();
    return statements * PER_STATEMENT;
  }, (n) => n);
  lag.stop();
  if ((await treeSize()) - size1 !== batched.n) throw new Error(`batched: integrated ${(await treeSize()) - size1} of ${batched.n}`);

  // 5. Monitoring: record reads and some denials from 200 users over one business hour, evaluated
  //    after integration. The monitor cursor first skips what the phases above wrote.
  await sql`INSERT INTO monitor_cursor (id, next_index, updated_at) VALUES (1, ${await treeSize()}, now())
    ON CONFLICT (id) DO UPDATE SET next_index = EXCLUDED.next_index`.execute(ctx.db);
  const users = Array.from({ length: 200 }, (_, i) => `0190a4c8-0000-7000-8000-${String(100_000 + i).padStart(12, '0')}`);
  const hourStart = Date.UTC(2026, 10, 25, 1, 0, 0); // 10:00 JST on a Wednesday
  const payloads: string[] = [];
  // Every 20th user reads 5 records at a time (bulk-read alerts), the first five are often denied
  // (repeated-denial alerts); the rest read one record at a time.
  const record = (i: number) => `0190a4c8-0000-7000-8000-${String(i).padStart(12, '0')}`;
  for (let i = 0; i < MONITORED; i++) {
    const u = i % users.length;
    const a: Actor = { ...actor, kind: 'user', userId: users[u]! as Actor['userId'], employmentType: 'employee' };
    const denied = i % 97 === 0 || (u < 5 && i % 3 === 0);
    payloads.push(buildAuditPayload(a, new Date(hourStart + Math.floor((i / MONITORED) * 3_600_000)), denied
      ? { ...event, decision: 'deny', rule: 'no_grant', result: 'denied' }
      : { ...event, recordIds: u % 20 === 0 ? [0, 1, 2, 3, 4].map((k) => record(i * 5 + k)) : [record(i)] }));
  }
  for (let i = 0; i < payloads.length; i += 10_000) await sql`INSERT INTO audit_pending (payload) SELECT unnest(${payloads.slice(i, i + 10_000)}::text[])`.execute(ctx.db);
  await integrateAll(ctx);
  log(`audit-append: monitoring ${MONITORED} integrated events`);
  const mon = await measure(() => monitorAll(ctx), (r) => r.evaluated);
  const alerts = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM monitor_alerts`.execute(ctx.db)).rows[0]!.n;

  printResult({
    bench: 'audit-append', value: Math.round(value), unit: 'events/s', baseline: Math.round(baseline), ratio: Number((value / baseline).toFixed(3)),
    extra: {
      events: tx.n, checkpoints, max_pending: headlineLag.maxPending, est_max_latency_ms: Math.round((headlineLag.maxPending / value) * 1000), max_pending_age_ms: headlineLag.maxAgeMs,
      cpu_us_per_event: tx.cpu, baseline_cpu_us_per_insert: base.cpu,
      capacity: { events_per_s: Math.round(cap.n / cap.secs), events: cap.n, checkpoints: capCheckpoints, cpu_us_per_event: cap.cpu },
      batched: { events_per_s: Math.round(batched.n / batched.secs), events_per_statement: PER_STATEMENT, concurrency: batchConcurrency, max_pending_age_ms: lag.stats.maxAgeMs, cpu_us_per_event: batched.cpu },
      monitor: { events_per_s: Math.round(mon.n / mon.secs), events: mon.n, alerts, cpu_us_per_event: mon.cpu },
      load_avg_1m: round(loadavg()[0] ?? 0, 2), concurrency: CONCURRENCY, seconds: SECONDS,
    },
  });
} finally {
  await bench.close();
}
