/**
 * `npm run bench -- audit-verify [events]`: events/s verified end to end — read from PostgreSQL,
 * re-hashed from their stored bytes (on a worker per core), the tree rebuilt, every checkpoint's
 * signature and root checked — against bare SHA-256 leaf hashing of the same bytes on one core in
 * the same run. Target: ≥ 500,000 events/s.
 */
import { createHash } from 'node:crypto';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import { integrateAll } from '../apps/server/src/modules/audit/index.ts';
import { verifyAuditLog } from '../apps/server/src/modules/audit/audit.verify.ts';
import { printResult } from './lib.ts';
import { cpuDelta, intArg, log, openBenchContext, postgresCpuMs, round } from './support.ts';

const N = intArg(process.argv[2], 300_000, 'events');
const bench = await openBenchContext({ poolSize: 4 });
const { ctx } = bench;
try {
  log(`audit-verify: writing ${N} events`);
  // Realistic event bytes (~450 bytes), as record reads write them.
  for (let done = 0; done < N; done += 50_000) {
    const n = Math.min(50_000, N - done);
    await sql`
      INSERT INTO audit_pending (payload)
      SELECT json_build_object('v', 1, 'at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'actor', json_build_object('kind', 'user', 'user', gen_random_uuid(), 'employment', 'employee', 'session', substr(md5(i::text), 1, 12), 'token', null, 'mfa', true),
        'action', 'record.read', 'dataset', gen_random_uuid(), 'records', json_build_array(gen_random_uuid()), 'fields', json_build_array('company_name', 'person_name', 'email'),
        'purpose', '営業活動', 'subject', null, 'decision', 'allow', 'rule', 'grant.read', 'reason', 'Allowed by your handler grant for this purpose.',
        'grants', json_build_array(gen_random_uuid()), 'result', 'ok', 'terminal', json_build_object('ip', '127.0.0.1', 'ua', 'bench', 'device', null),
        'request', gen_random_uuid(), 'details', '{}'::json)::text
      FROM generate_series(${done + 1}::int, ${done + n}::int) AS i`.execute(ctx.db);
    // Checkpoints every 50,000 events, as a busy server would leave them.
    await integrateAll(ctx);
    log(`  ${done + n}`);
  }

  const payloads = (await sql<{ payload: string }>`SELECT payload FROM audit_events ORDER BY log_index`.execute(ctx.db)).rows.map((r) => r.payload);
  const bytes = payloads.reduce((a, p) => a + Buffer.byteLength(p), 0);
  let t = performance.now();
  const leaf = Buffer.from([0]);
  for (const p of payloads) createHash('sha256').update(leaf).update(p, 'utf8').digest();
  const baseline = payloads.length / ((performance.now() - t) / 1000);

  t = performance.now();
  for (let from = 0; from < payloads.length; from += 50_000) {
    await sql`SELECT id, log_index, payload, leaf_hash FROM audit_events WHERE log_index >= ${from} ORDER BY log_index LIMIT 50000`.execute(ctx.db);
  }
  log(`reading alone: ${((performance.now() - t) / 1000).toFixed(2)} s`);
  const pg0 = await postgresCpuMs(ctx.db);
  const cpu0 = process.cpuUsage();
  t = performance.now();
  const report = await verifyAuditLog(ctx.db, { key: ctx.auditLog.key, witnesses: ctx.auditLog.witnesses });
  const secs = (performance.now() - t) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const pgMs = cpuDelta(pg0, await postgresCpuMs(ctx.db));
  if (!report.ok) throw new Error(`verification failed: ${JSON.stringify(report.problem)}`);
  const value = report.treeSize / secs;
  log(`verified ${report.treeSize} events (${(bytes / payloads.length).toFixed(0)} bytes each), ${report.checkpoints} checkpoints in ${secs.toFixed(2)} s`);
  printResult({ bench: 'audit-verify', value: Math.round(value), unit: 'events/s', baseline: Math.round(baseline), ratio: Number((value / baseline).toFixed(3)), extra: {
    events: report.treeSize, checkpoints: report.checkpoints, seconds: Number(secs.toFixed(2)),
    cpu_us_per_event: { node: round((cpu.user + cpu.system) / report.treeSize, 2), postgres: pgMs === null ? null : round((pgMs * 1000) / report.treeSize, 2) },
    load_avg_1m: round(loadavg()[0] ?? 0, 2),
  } });
} finally {
  await bench.close();
}
