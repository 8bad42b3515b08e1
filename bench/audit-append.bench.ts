/**
 * `npm run bench -- audit-append [seconds] [concurrency] [backlog]`: sustained audit events/s from
 * business transactions to integrated by the sequencer (and checkpointed at most once a second),
 * with ≤ 1 s integration latency, on PostgreSQL, against bare INSERTs of the same rows in the same
 * run. Target: ≥ 20,000 events/s integrated with ≤ 1 s latency.
 *
 * The headline (`value`) is the highest offered rate the log sustains: producers append events the
 * way the gate's batched audited reads do under load (ADR 0004: one prepared statement per batch of
 * the events due, payloads joined by U+001E, searchable columns as arrays, each payload built with
 * its own time; 4 statements in flight, ≤ 64 events each), paced open-loop at a rate R for
 * `seconds`, the sequencer integrating beside them. A step is sustained when the producers kept the
 * pace (≥ 98 % of R appended) and no event waited more than 1 s to be integrated (the oldest pending
 * event's age, sampled every 100 ms, until the step's last event is integrated). Rates step up from
 * 10,000/s until a step fails. The baseline is the same statement into a plain table with no
 * sequencer, as fast as the same producers go (full statements of 64).
 *
 * Then, each with CPU per event of this process (the load generator included) and of PostgreSQL:
 *   - `single`: one event per business transaction (BEGIN, appendAudit, COMMIT) at `concurrency`,
 *     the sequencer running, against bare single-row INSERTs (`single.baseline`): the bound of
 *     one-event transactions on this machine whatever the log does (ADR 0010);
 *   - `capacity`: a backlog of events already pending, drained by the sequencer alone: what the
 *     audit log itself can integrate and checkpoint per second, whatever the producers manage;
 *   - `monitor`: the monitoring rules evaluating a backlog of integrated events from 200 users.
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
/**
 * The paced producers batch as the gate does (ADR 0004): at most PRODUCERS statements in flight, each
 * taking every event due so far, up to MAX_PER_STATEMENT. The baseline's producers never wait: every
 * statement is full.
 */
const PRODUCERS = 4;
const MAX_PER_STATEMENT = 64;
/** Offered rates (events/s) of the sustained steps, tried in order until one fails. */
const RATES = (process.env.BENCH_AUDIT_RATES ?? '10000,15000,20000,25000,30000,35000,40000,45000,50000').split(',').map((r) => intArg(r, 0, 'rate'));
const MAX_LATENCY_MS = 1000;
const MONITORED = 50_000;
const bench = await openBenchContext({ poolSize: CONCURRENCY + 4 });
const { ctx } = bench;
const actor = systemActor({ ip: '127.0.0.1', userAgent: 'bench', deviceId: null });
const event = { action: 'record.read', decision: 'allow', rule: 'grant.read', reason: 'Allowed by your handler grant for this purpose.', result: 'ok', datasetId: '0190a4c8-0000-7000-8000-000000000001', recordIds: ['0190a4c8-0000-7000-8000-000000000002'], fields: ['company_name', 'person_name', 'email'], purpose: '営業活動' } as const;

/**
 * The gate's append (vault.read-batch.ts, READ_AUDITED_BATCH's `a`) without the reads: one prepared
 * statement per batch, the payloads as one text joined by U+001E, the columns as arrays.
 */
const appendBatchSql = (table: string) => `
  INSERT INTO ${table} (payload, at, actor_user_id, action, dataset_id, record_ids, decision)
  SELECT q.payload, q.at, q.actor_user_id, q.action, q.dataset_id, ARRAY[q.record_id], q.decision
  FROM unnest(string_to_array($1::text, chr(30)), $2::timestamptz[], $3::uuid[], $4::text[], $5::uuid[], $6::uuid[], $7::text[])
    AS q(payload, at, actor_user_id, action, dataset_id, record_id, decision)`;
const APPEND_BATCH = appendBatchSql('audit_pending');
const BASELINE_BATCH = appendBatchSql('audit_baseline');

/** A batch of `n` events built now, as requests would build them: own time, own record. */
let serial = 0;
function batchValues(n: number): unknown[] {
  const at = new Date();
  const payloads: string[] = [];
  const records: string[] = [];
  for (let i = 0; i < n; i++) {
    const record = `0190a4c8-0000-7000-8000-${String(++serial).padStart(12, '0')}`;
    payloads.push(buildAuditPayload(actor, at, { ...event, recordIds: [record] }));
    records.push(record);
  }
  const c = auditColumns(actor, at, event);
  const column = <T>(v: T) => Array.from({ length: n }, () => v);
  return [payloads.join('\u001e'), column(c.at), column(c.actorUserId), column(c.action), column(c.datasetId), records, column(c.decision)];
}

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

/**
 * Open-loop producers: event k is due at k / rate seconds. Each of PRODUCERS loops sends one
 * statement with every event due and not yet taken (at most MAX_PER_STATEMENT), or waits for the
 * next one to fall due. Returns the events appended and the statements used; events still untaken
 * a second after the step's end were not offered in time and are not appended.
 */
async function paced(rate: number, seconds: number, op: (n: number) => Promise<unknown>): Promise<{ events: number; statements: number }> {
  const total = Math.floor(rate * seconds);
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let taken = 0;
  let events = 0;
  let statements = 0;
  await Promise.all(Array.from({ length: PRODUCERS }, async () => {
    while (taken < total) {
      const now = performance.now();
      if (now > end + 1000) return;
      const due = Math.min(total, Math.floor(((now - t0) / 1000) * rate));
      if (due <= taken) {
        await new Promise((r) => setTimeout(r, Math.max(1, ((taken + 1) / rate) * 1000 - (now - t0))));
        continue;
      }
      const n = Math.min(MAX_PER_STATEMENT, due - taken);
      taken += n;
      await op(n);
      events += n;
      statements++;
    }
  }));
  return { events, statements };
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
 * a count would read the whole table under load) and how old the oldest waiting one is (its `at`).
 */
function sampleLag() {
  const s = { maxPending: 0, maxAgeMs: 0 };
  const timer = setInterval(() => {
    void sql<{ pending: number | null; oldest: Date | null }>`
      SELECT ((SELECT max(id) FROM audit_pending) - (SELECT min(id) FROM audit_pending) + 1)::int AS pending,
        (SELECT coalesce(at, now()) FROM audit_pending ORDER BY id LIMIT 1) AS oldest`.execute(ctx.db).then((r) => {
      const row = r.rows[0];
      s.maxPending = Math.max(s.maxPending, row?.pending ?? 0);
      if (row?.oldest) s.maxAgeMs = Math.max(s.maxAgeMs, Date.now() - new Date(row.oldest).getTime());
    }, () => undefined);
  }, 100);
  return { stats: s, stop: () => clearInterval(timer) };
}

const treeSize = async () => (await sql<{ n: number }>`SELECT coalesce((SELECT tree_size::int FROM audit_tree_state), 0) AS n`.execute(ctx.db)).rows[0]!.n;
const checkpointCount = async () => (await sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_checkpoints`.execute(ctx.db)).rows[0]!.n;
const pendingCount = async () => (await sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_pending`.execute(ctx.db)).rows[0]!.n;

try {
  await sql`CREATE TABLE audit_baseline (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, payload text NOT NULL,
    at timestamptz, actor_user_id uuid, action text, dataset_id uuid, record_ids uuid[], decision text)`.execute(ctx.db);
  const at = new Date();
  const payload = buildAuditPayload(actor, at, event);
  // The searchable columns travel beside the bytes, as every appender in src/ supplies them (migration 0018).
  const c = auditColumns(actor, at, event);

  // 1. Baseline: the producers' statement into a plain table, as fast as they go.
  log(`audit-append: baseline, ${SECONDS} s of bare ${MAX_PER_STATEMENT}-row INSERT statements, ${PRODUCERS} in flight`);
  const base = await measure(() => loop(SECONDS, PRODUCERS, () => ctx.database.prepared('bench_baseline_batch', BASELINE_BATCH, batchValues(MAX_PER_STATEMENT))), (n) => n * MAX_PER_STATEMENT);
  const baseline = base.n / base.secs;
  await sql`TRUNCATE audit_baseline`.execute(ctx.db);

  // 2. The headline: paced producers at rising rates, the sequencer integrating beside them.
  const steps: { offered: number; appended_per_s: number; events_per_statement: number; max_pending: number; max_pending_age_ms: number; sustained: boolean; cpu_us_per_event: { node: number; postgres: number | null } }[] = [];
  let value = 0;
  let integratedTotal = 0;
  const sizeH = await treeSize();
  for (const rate of RATES) {
    log(`audit-append: ${SECONDS} s offered at ${rate} events/s, sequencer running`);
    await sql`VACUUM audit_pending`.execute(ctx.db);
    const sequencer = startSequencer(ctx);
    const lag = sampleLag();
    const step = await measure(async () => {
      const p = await paced(rate, SECONDS, (n) => ctx.database.prepared('bench_append_batch', APPEND_BATCH, batchValues(n)));
      // The age samples count until everything appended in the step is integrated.
      while ((await pendingCount()) > 0) await new Promise((r) => setTimeout(r, 50));
      lag.stop();
      await sequencer.stop();
      return p;
    }, (p) => p.events);
    integratedTotal += step.n;
    const appendedPerS = step.n / SECONDS;
    const sustained = step.n >= 0.98 * rate * SECONDS && lag.stats.maxAgeMs <= MAX_LATENCY_MS;
    steps.push({ offered: rate, appended_per_s: Math.round(appendedPerS), events_per_statement: round(step.n / step.result.statements, 1), max_pending: lag.stats.maxPending, max_pending_age_ms: lag.stats.maxAgeMs, sustained, cpu_us_per_event: step.cpu });
    log(`audit-append:   ${JSON.stringify(steps.at(-1))}`);
    if (!sustained) break;
    value = rate;
  }
  if ((await treeSize()) - sizeH !== integratedTotal) throw new Error(`sustained: integrated ${(await treeSize()) - sizeH} of ${integratedTotal}`);

  // 3. One event per business transaction, against bare single-row INSERTs.
  log(`audit-append: single, ${SECONDS} s of bare single-row INSERTs at concurrency ${CONCURRENCY}`);
  const singleBase = await measure(() => loop(SECONDS, CONCURRENCY, () => sql`INSERT INTO audit_baseline (payload) VALUES (${payload})`.execute(ctx.db)), (n) => n);
  log(`audit-append: single, ${SECONDS} s of audited transactions with the sequencer running`);
  const size0 = await treeSize();
  const sequencer = startSequencer(ctx);
  const lag = sampleLag();
  const tx = await measure(async () => {
    const n = await loop(SECONDS, CONCURRENCY, () => ctx.db.transaction().execute((t) => appendAudit(t, ctx.clock, actor, event)));
    lag.stop();
    await sequencer.stop(); // integrates the rest and signs the last checkpoint
    return n;
  }, (n) => n);
  if ((await treeSize()) - size0 !== tx.n) throw new Error(`single: tree grew by ${(await treeSize()) - size0}, appended ${tx.n}`);

  // 4. Capacity: a backlog the sequencer drains alone.
  log(`audit-append: capacity, a backlog of ${BACKLOG} pending events drained by the sequencer`);
  for (let done = 0; done < BACKLOG; done += 50_000) {
    const n = Math.min(50_000, BACKLOG - done);
    await sql`INSERT INTO audit_pending (payload, at, actor_user_id, action, dataset_id, record_ids, decision)
      SELECT replace(${payload}::text, '"details":{}', '"details":{"i":' || i || '}'), ${c.at}, ${c.actorUserId}::uuid, ${c.action}, ${c.datasetId}::uuid, ${[...c.recordIds]}::uuid[], ${c.decision}
      FROM generate_series(${done + 1}::int, ${done + n}::int) AS i`.execute(ctx.db);
  }
  await sql`VACUUM ANALYZE audit_pending`.execute(ctx.db);
  const size1 = await treeSize();
  const cps0 = await checkpointCount();
  const cap = await measure(async () => {
    const s = startSequencer(ctx);
    while ((await pendingCount()) > 0) await new Promise((r) => setTimeout(r, 20));
    await s.stop();
    return (await treeSize()) - size1;
  }, (n) => n);
  if (cap.n !== BACKLOG) throw new Error(`capacity: integrated ${cap.n} of ${BACKLOG}`);
  const capCheckpoints = (await checkpointCount()) - cps0;
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

  const last = steps.at(-1)!;
  printResult({
    bench: 'audit-append', value, unit: 'events/s', baseline: Math.round(baseline), ratio: Number((value / baseline).toFixed(3)),
    extra: {
      producers: PRODUCERS, max_events_per_statement: MAX_PER_STATEMENT, max_latency_ms: MAX_LATENCY_MS,
      steps, baseline_cpu_us_per_event: base.cpu,
      // The first failing step: what gave out (pace or latency) and at what cost.
      ...(last.sustained ? {} : { first_unsustained: last.offered }),
      single: {
        events_per_s: Math.round(tx.n / tx.secs), baseline: Math.round(singleBase.n / singleBase.secs), events: tx.n,
        max_pending: lag.stats.maxPending, max_pending_age_ms: lag.stats.maxAgeMs,
        cpu_us_per_event: tx.cpu, baseline_cpu_us_per_insert: singleBase.cpu, concurrency: CONCURRENCY,
      },
      capacity: { events_per_s: Math.round(cap.n / cap.secs), events: cap.n, checkpoints: capCheckpoints, cpu_us_per_event: cap.cpu },
      monitor: { events_per_s: Math.round(mon.n / mon.secs), events: mon.n, alerts, cpu_us_per_event: mon.cpu },
      checkpoints: await checkpointCount(), load_avg_1m: round(loadavg()[0] ?? 0, 2), seconds: SECONDS,
    },
  });
} finally {
  await bench.close();
}
