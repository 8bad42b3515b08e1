/**
 * `npm run bench -- audit-verify [events]`: events/s verified end to end — read from PostgreSQL,
 * re-hashed from their stored bytes (on a worker per core), the tree rebuilt, every checkpoint's
 * signature and root checked — against bare SHA-256 of the same leaf bytes on one core in the same
 * run. Target: ≥ 500,000 events/s.
 *
 * The baseline is the leaf hashing alone, done as cheaply as node:crypto allows: each event's leaf
 * bytes (0x00 ‖ payload) already in memory as a Buffer (read before the clock starts), one one-shot
 * `crypto.hash('sha256', bytes)` per leaf, the digest written into one output buffer. No database,
 * no tree, no worker. `baseline_createhash` is the former baseline (a `createHash` object per leaf,
 * fed the prefix and the payload as a JS string), kept to compare with earlier lines.
 *
 * `floor` is the least any verifier must do on this machine — every payload read by binary COPY and
 * each leaf hashed once — and the ceiling that sets on its cores (`readingFloor`).
 */
import * as nodeCrypto from 'node:crypto';
import { createHash } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import { copyOutAll } from '../apps/server/src/platform/db/copy-out.ts';
import { integrateAll } from '../apps/server/src/modules/audit/index.ts';
import { VERIFY_CHUNK, verifyAuditLog } from '../apps/server/src/modules/audit/audit.verify.ts';
import { printResult } from './lib.ts';
import { intArg, log, openBenchContext, postgresCpuSampler, round, threadCpu } from './support.ts';

/** `crypto.hash` returning a latin1 string (no Buffer per digest), as audit.tree.mjs calls it; @types/node omits that encoding. */
const oneShot = nodeCrypto.hash as unknown as (algorithm: string, data: Uint8Array, encoding: 'latin1') => string;
const N = intArg(process.argv[2], 300_000, 'events');
const bench = await openBenchContext({ poolSize: 4 });
const { ctx } = bench;
try {
  log(`audit-verify: writing ${N} events`);
  // Realistic event bytes (~750 bytes, as the JSON line reports), as record reads write them.
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
  // A log is verified long after most of it was written: settled, vacuumed. Without this, the
  // autovacuum of the rows just written runs beside the timed phases (PostgreSQL's CPU per event
  // 2.0–2.2 µs instead of 1.1 in four runs of 2026-11-27 night).
  await sql`VACUUM (ANALYZE) audit_events, audit_tree_tiles, audit_pending`.execute(ctx.db);

  // The baselines, in a function: the payloads and leaves are garbage before verification starts (a
  // heap of 600,000 objects would make every full GC of the verification's main thread dearer).
  const { baseline, baselineCreateHash, bytesPerEvent } = await baselines();
  const floor = await readingFloor(N, baseline);
  log(`floor: the payloads alone by binary COPY in ${floor.seconds} s, PostgreSQL ${floor.postgres_cpu_us_per_event} µs and this process ${floor.node_cpu_us_per_event} µs of CPU per event; with one bare leaf hash each (${floor.leaf_hash_us_per_event} µs) no verifier on ${floor.cores} cores passes ${floor.ceiling_events_per_s} events/s`);
  const pgSampler = await postgresCpuSampler(ctx.db);
  const threads = threadCpu();
  const cpu0 = process.cpuUsage();
  const t = performance.now();
  const report = await verifyAuditLog(ctx.db, { key: ctx.auditLog.key, witnesses: ctx.auditLog.witnesses });
  const secs = (performance.now() - t) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const byThread = threads.stop();
  const pgCpu = pgSampler?.stop() ?? null;
  if (!report.ok) throw new Error(`verification failed: ${JSON.stringify(report.problem)}`);
  if (report.treeSize !== N) throw new Error(`verification covered ${report.treeSize} events, not ${N}`);
  const value = report.treeSize / secs;
  log(`verified ${report.treeSize} events (${bytesPerEvent} bytes each), ${report.checkpoints} checkpoints in ${secs.toFixed(2)} s`);
  printResult({ bench: 'audit-verify', value: Math.round(value), unit: 'events/s', baseline: Math.round(baseline), ratio: Number((value / baseline).toFixed(3)), extra: {
    events: report.treeSize, checkpoints: report.checkpoints, seconds: Number(secs.toFixed(2)), bytes_per_event: bytesPerEvent,
    baseline_is: 'one-shot crypto.hash(sha256) per leaf (0x00 ‖ payload, Buffers in memory), one core',
    baseline_createhash: Math.round(baselineCreateHash),
    floor,
    // The main thread (COPY reading, joining the chunk roots, checkpoints), the verification's worker
    // threads, Node's other threads (V8's compiler and collector helpers, libuv) and PostgreSQL.
    cpu_us_per_event: {
      node: round((cpu.user + cpu.system) / report.treeSize, 2),
      node_main_thread: byThread ? round((byThread.main * 1000) / report.treeSize, 2) : null,
      node_workers: byThread ? round((byThread.started * 1000) / report.treeSize, 2) : null,
      node_other: byThread ? round((byThread.others * 1000) / report.treeSize, 2) : null,
      postgres: pgCpu ? round((pgCpu.total * 1000) / report.treeSize, 2) : null,
    },
    postgres_cpu_us_per_event_by_kind: pgCpu ? Object.fromEntries(Object.entries(pgCpu.byKind).map(([k, ms]) => [k, round((ms * 1000) / report.treeSize, 2)])) : null,
    load_avg_1m: round(loadavg()[0] ?? 0, 2),
  } });
} finally {
  await bench.close();
}

/** Bare SHA-256 of every leaf's bytes, one-shot (the baseline) and with a Hash object per leaf (the former baseline). */
async function baselines(): Promise<{ baseline: number; baselineCreateHash: number; bytesPerEvent: number }> {
  const payloads = (await sql<{ payload: string }>`SELECT payload FROM audit_events ORDER BY log_index`.execute(ctx.db)).rows.map((r) => r.payload);
  const bytes = payloads.reduce((a, p) => a + Buffer.byteLength(p), 0);
  const leaves = payloads.map((p) => Buffer.concat([Buffer.from([0]), Buffer.from(p, 'utf8')]));
  const digests = Buffer.allocUnsafe(32 * leaves.length);
  let t = performance.now();
  for (let i = 0; i < leaves.length; i++) digests.write(oneShot('sha256', leaves[i]!, 'latin1'), 32 * i, 32, 'latin1');
  const baseline = leaves.length / ((performance.now() - t) / 1000);
  t = performance.now();
  const leaf = Buffer.from([0]);
  for (const p of payloads) createHash('sha256').update(leaf).update(p, 'utf8').digest();
  const baselineCreateHash = payloads.length / ((performance.now() - t) / 1000);
  return { baseline, baselineCreateHash, bytesPerEvent: Math.round(bytes / payloads.length) };
}

/**
 * The least any verifier must do, measured: read every stored payload from PostgreSQL (binary COPY of
 * the payload column alone, in verification's chunks of 16,384, read to the end by the same COPY
 * reader) and hash each leaf once (the baseline). CPU per event of PostgreSQL and of this process for
 * the reading; `ceiling_events_per_s` is what the machine's cores could verify if they did nothing but
 * that reading and the bare leaf hashes, with no interior node, column check or checkpoint — an upper
 * bound for the value on this machine.
 */
async function readingFloor(n: number, leafHashesPerS: number) {
  // Twice, the second measured: the first grows the COPY reader's buffer and meets the collection of
  // the baselines' garbage.
  await readPayloads(n);
  const pgSampler = await postgresCpuSampler(ctx.db);
  const cpu0 = process.cpuUsage();
  const t = performance.now();
  const bytes = await readPayloads(n);
  const seconds = (performance.now() - t) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const pgMs = pgSampler?.stop().total ?? null;
  if (bytes < n * 100) throw new Error(`floor: read only ${bytes} bytes for ${n} events`);
  const postgresUs = pgMs === null ? null : (pgMs * 1000) / n;
  const nodeUs = (cpu.user + cpu.system) / n;
  const leafUs = 1e6 / leafHashesPerS;
  const cores = availableParallelism();
  return {
    seconds: round(seconds, 2),
    postgres_cpu_us_per_event: postgresUs === null ? null : round(postgresUs, 2),
    node_cpu_us_per_event: round(nodeUs, 2),
    leaf_hash_us_per_event: round(leafUs, 2),
    cores,
    ceiling_events_per_s: postgresUs === null ? null : Math.round((cores * 1e6) / (postgresUs + nodeUs + leafUs)),
  };
}

/** Every stored payload by binary COPY, in verification's chunks; the bytes read. */
async function readPayloads(n: number): Promise<number> {
  let bytes = 0;
  for (let from = 0; from < n; from += VERIFY_CHUNK) {
    const b = await copyOutAll(ctx.db, `COPY (SELECT payload FROM audit_events WHERE log_index >= ${from} AND log_index < ${Math.min(n, from + VERIFY_CHUNK)} ORDER BY log_index) TO STDOUT (FORMAT binary)`);
    bytes += b.length;
  }
  return bytes;
}
