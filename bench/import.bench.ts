// `npm run bench -- import [rows]`   (default 1,000,000; "200000", "200_000" and "200,000" all work)
//
// Imports a synthetic contacts CSV (writeDemoCsv) two ways on the same PostgreSQL, same run:
//   baseline  bare `COPY records_baseline FROM STDIN (FORMAT csv, HEADER)` into a plain table with
//             one text column per CSV column (no keys, no indexes, no encryption);
//   Mamori    importRecords() as the local operator (system actor) into the seeded `contacts`
//             dataset: one pass that parses and validates every row, seals personal fields,
//             computes blind indexes and streams records + search terms into one transaction,
//             audited.
// Both are timed end to end from the same file on disk (already in the page cache for both).
// CPU time per row is reported for Node (this process) and PostgreSQL (every server process, from
// /proc): on a shared machine it is steadier than the rates.
//
// Node's CPU is split by thread (main, the import's worker threads, V8/libuv helpers) and
// PostgreSQL's by process kind (client backend, parallel workers of the index build, walwriter, …),
// both sampled from /proc every 100 ms so that threads and processes that end early are counted.
//
// Environment knobs: BENCH_POOL (default 20 as in production); BENCH_IMPORT_WORKERS (the import's
// `workers` option; unset: its default, one worker on two cores, ADR 0013); BENCH_PRELOAD=1|other and
// BENCH_REBUILD_RATIO (below).
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { loadavg } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import { sql } from 'kysely';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { sequenceAll } from '../apps/server/src/modules/audit/index.ts';
import { systemActor } from '../apps/server/src/modules/identity/index.ts';
import { createDataset, importRecords, type ImportProgress } from '../apps/server/src/modules/vault/index.ts';
import { DEMO_CONTACT_FIELDS, writeDemoCsv } from '../apps/server/src/modules/vault/vault.demo-data.ts';
import { splitImportBatches } from '../apps/server/src/modules/vault/vault.import-parse.ts';
import { seed } from '../apps/server/src/platform/seed.ts';
import { printResult } from './lib.ts';
import { cpuDelta, intArg, log, openBenchContext, postgresCpuMs, postgresCpuSampler, round, threadCpu } from './support.ts';

const ROWS = intArg(process.argv[2], 1_000_000, 'rows');
const POOL = intArg(process.env.BENCH_POOL, 20, 'BENCH_POOL');
const SEED = 42;
const WORKERS = process.env.BENCH_IMPORT_WORKERS === undefined || process.env.BENCH_IMPORT_WORKERS === '' ? undefined : Number(process.env.BENCH_IMPORT_WORKERS);
// BENCH_PRELOAD=1: the same file imported once before the timed import (not timed), so that the timed
// one meets a dataset that already holds as many search terms: its partition is at most twice the
// import's, so it is rebuilt (ADR 0021); with BENCH_REBUILD_RATIO=0 it is maintained instead (one
// sorted insert of the import's terms, the path of any import into a much larger dataset).
// BENCH_PRELOAD=other: the untimed import goes into another dataset with the same fields, so the timed
// one is a first import into its dataset beside a database that holds as many rows.
const PRELOAD_INTO = process.env.BENCH_PRELOAD === '1' ? 'contacts' : process.env.BENCH_PRELOAD === 'other' ? 'contacts_preload' : null;
const PRELOAD = PRELOAD_INTO !== null;
// BENCH_REBUILD_RATIO=<n>: the timed import's `rebuildRatio` (unset: its default; 0: rebuilt only under `rebuildIndexUpTo`).
const REBUILD_RATIO = process.env.BENCH_REBUILD_RATIO ? Number(process.env.BENCH_REBUILD_RATIO) : undefined;
if (REBUILD_RATIO !== undefined && !(REBUILD_RATIO >= 0)) throw new Error(`BENCH_REBUILD_RATIO must be a number ≥ 0, got ${process.env.BENCH_REBUILD_RATIO}`);

function rate(rows: number, ms: number): number {
  return (rows / ms) * 1000;
}

async function main(): Promise<void> {
  log(`import: ${ROWS} rows`);
  const bench = await openBenchContext({ poolSize: POOL });
  const { ctx } = bench;
  try {
    const file = path.join(bench.dataDir, 'contacts.csv');
    let t0 = performance.now();
    await writeDemoCsv(file, ROWS, SEED);
    const size = (await stat(file)).size;
    log(`wrote ${file}: ${round(size / 1024 / 1024)} MiB in ${round((performance.now() - t0) / 1000, 1)} s`);
    await seed(ctx, { demo: true, demoContacts: 0 });

    // ------------------------------------------------------------------ baseline: bare COPY
    const columns = DEMO_CONTACT_FIELDS.map((f) => f.name);
    const client = new pg.Client({ connectionString: bench.url });
    await client.connect();
    let copyMs: number;
    let copyPgMs: number | null;
    let copyNodeUs: number;
    try {
      await client.query(`CREATE TABLE records_baseline (${columns.map((c) => `${c} text`).join(', ')})`);
      const pg0 = await postgresCpuMs(ctx.db);
      const copyCpu0 = process.cpuUsage();
      t0 = performance.now();
      await pipeline(createReadStream(file), client.query(copyFrom('COPY records_baseline FROM STDIN (FORMAT csv, HEADER)')));
      copyMs = performance.now() - t0;
      const copyCpu = process.cpuUsage(copyCpu0);
      copyNodeUs = (copyCpu.user + copyCpu.system) / ROWS;
      copyPgMs = cpuDelta(pg0, await postgresCpuMs(ctx.db));
      const n = Number((await client.query('SELECT count(*) AS n FROM records_baseline')).rows[0].n);
      if (n !== ROWS) throw new Error(`COPY loaded ${n} rows, expected ${ROWS}`);
      log(`baseline COPY: ${ROWS} rows in ${round(copyMs / 1000, 2)} s = ${Math.round(rate(ROWS, copyMs))} rows/s (postgres CPU ${copyPgMs === null ? '?' : round(copyPgMs / 1000, 1)} s)`);
      await client.query('DROP TABLE records_baseline');
      await client.query('CHECKPOINT');
    } finally {
      await client.end();
    }

    // ------------------------------------------------------------------ Mamori importRecords
    const actor = systemActor({ ip: null, userAgent: 'mamori-bench', deviceId: null });
    const marks: { phase: ImportProgress['phase']; rows: number; at: number }[] = [];
    let lastLog = 0;
    let lastPhase = '';
    let workerRows = 0;
    const onProgress = (p: ImportProgress) => {
      const at = performance.now();
      workerRows = p.workerRows;
      marks.push({ ...p, at });
      if (at - lastLog > 5000 || p.phase !== lastPhase) {
        lastLog = at;
        lastPhase = p.phase;
        log(`  ${p.phase}: ${p.rows} rows (${round((at - t0) / 1000, 1)} s)`);
      }
    };
    const load = () => splitImportBatches(createReadStream(file), 'csv', {});
    if (PRELOAD_INTO) {
      t0 = performance.now();
      if (PRELOAD_INTO !== 'contacts') {
        const owner = await ctx.db.selectFrom('users').select('id').where('login', '=', 'owner').executeTakeFirstOrThrow();
        await createDataset(ctx, actor, {
          name: PRELOAD_INTO, labelJa: '事前読込', labelEn: 'Preloaded', ownerUserId: owner.id, purposes: ['営業活動'], fields: DEMO_CONTACT_FIELDS.map((f) => ({ ...f })),
        });
      }
      const pre = await importRecords(ctx, actor, PRELOAD_INTO, load, () => undefined, { sourceBytes: size });
      log(`preloaded ${pre.imported} rows in ${round((performance.now() - t0) / 1000, 1)} s (not timed)`);
      await sql`CHECKPOINT`.execute(ctx.db);
    }
    const pgSampler = await postgresCpuSampler(ctx.db);
    const threads = threadCpu();
    const cpu0 = process.cpuUsage();
    t0 = performance.now();
    const result = await importRecords(ctx, actor, 'contacts', load, onProgress, {
      sourceBytes: size, ...(WORKERS === undefined ? {} : { workers: WORKERS }), ...(REBUILD_RATIO === undefined ? {} : { rebuildRatio: REBUILD_RATIO }),
    });
    const mamoriMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const byThread = threads.stop();
    const pgCpu = pgSampler?.stop() ?? null;
    const mamoriPgMs = pgCpu?.total ?? null;
    if (result.imported !== ROWS) throw new Error(`imported ${result.imported} rows, expected ${ROWS}`);
    // The first mark with every row read: what follows is the last batch, the index build and the commit.
    const streamedMs = (marks.find((m) => m.rows >= ROWS)?.at ?? t0) - t0;
    const nodeUs = (cpu.user + cpu.system) / ROWS;
    log(
      `Mamori import: ${ROWS} rows in ${round(mamoriMs / 1000, 2)} s = ${Math.round(rate(ROWS, mamoriMs))} rows/s ` +
        `(rows streamed by ${round(streamedMs / 1000, 2)} s; CPU: node ${round((cpu.user + cpu.system) / 1e6, 1)} s = ${round(nodeUs)} µs/row, ` +
        `postgres ${mamoriPgMs === null ? '?' : `${round(mamoriPgMs / 1000, 1)} s = ${round((mamoriPgMs * 1000) / ROWS)} µs/row`})`,
    );

    await sequenceAll(ctx.db, ctx.clock, ctx.auditLog);
    // Sanity: everything landed, with search terms, and the import is on the audit record.
    const counts = await sql<{ records: number; terms: number; audited: number }>`
      SELECT (SELECT count(*)::int FROM records) AS records, (SELECT count(*)::int FROM record_terms) AS terms,
             (SELECT count(*)::int FROM audit_events WHERE action = 'record.import' AND decision = 'allow') AS audited`.execute(ctx.db);
    const c = counts.rows[0]!;
    log(`stored: ${c.records} records, ${c.terms} search terms, ${c.audited} import audit event(s)`);
    const imports = PRELOAD ? 2 : 1;
    if (c.records !== ROWS * imports || c.audited !== imports) throw new Error('the import did not store what it reported');

    const value = rate(ROWS, mamoriMs);
    const baseline = rate(ROWS, copyMs);
    printResult({
      bench: 'import',
      value: Math.round(value),
      unit: 'rows/s',
      baseline: Math.round(baseline),
      ratio: round(value / baseline, 3),
      extra: {
        rows: ROWS,
        mamori_s: round(mamoriMs / 1000, 2),
        streamed_s: round(streamedMs / 1000, 2),
        copy_s: round(copyMs / 1000, 2),
        cpu_us_per_row: {
          node: round(nodeUs),
          ...(byThread ? { node_main: round((byThread.main * 1000) / ROWS), node_workers: round((byThread.started * 1000) / ROWS), node_other: round((byThread.others * 1000) / ROWS) } : {}),
          postgres: mamoriPgMs === null ? null : round((mamoriPgMs * 1000) / ROWS),
        },
        postgres_cpu_us_per_row_by_kind: pgCpu ? Object.fromEntries(Object.entries(pgCpu.byKind).map(([k, ms]) => [k, round((ms * 1000) / ROWS)])) : null,
        preloaded_rows: PRELOAD ? ROWS : 0,
        preloaded_into: PRELOAD_INTO,
        rebuild_ratio: REBUILD_RATIO ?? 'default',
        workers: WORKERS ?? 'default',
        worker_rows: workerRows,
        copy_cpu_us_per_row: { node: round(copyNodeUs), postgres: copyPgMs === null ? null : round((copyPgMs * 1000) / ROWS) },
        node_cpu_s: round((cpu.user + cpu.system) / 1e6, 1),
        postgres_cpu_s: mamoriPgMs === null ? null : round(mamoriPgMs / 1000, 1),
        copy_postgres_cpu_s: copyPgMs === null ? null : round(copyPgMs / 1000, 1),
        load_avg_1m: round(loadavg()[0] ?? 0, 2),
        file_mib: round(size / 1024 / 1024, 1),
      },
    });
  } finally {
    await bench.close();
  }
}

await main();
