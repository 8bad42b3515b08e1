// `npm run bench -- export [rows]`   (default 1,000,000)
//
// After an extraction of every field of N contacts has been filed and approved, times the export
// job: stream the records, decrypt each sealed blob, apply the fingerprint, insert the canaries and
// write CSV UTF-8 into the encrypted file (runExtraction, as the system worker, consuming the
// approval). Baseline, same run, same rows: a bare `COPY (SELECT id, public, sealed, key_id FROM
// records …) TO STDOUT` read to the end by one client (no decryption, no file).
//
// The export runs twice: first under V8's default settings (`v8_default`), then as Mamori runs
// (ADR 0016, the value).
//
// Environment knobs: BENCH_POOL (default 20 as in production).
import { createReadStream } from 'node:fs';
import { loadavg } from 'node:os';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sql, type Kysely } from 'kysely';
import type { DB } from '../apps/server/src/platform/db/schema.ts';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { decide } from '../apps/server/src/modules/approvals/index.ts';
import { downloadExtraction, requestExtraction, runExtraction } from '../apps/server/src/modules/extraction/index.ts';
import { systemActor, type Actor } from '../apps/server/src/modules/identity/index.ts';
import { importRecords } from '../apps/server/src/modules/vault/index.ts';
import { DEMO_CONTACT_FIELDS, writeDemoCsv } from '../apps/server/src/modules/vault/vault.demo-data.ts';
import { splitImportBatches } from '../apps/server/src/modules/vault/vault.import-parse.ts';
import type { GrantId, UserId } from '../apps/server/src/platform/ids.ts';
import { seed } from '../apps/server/src/platform/seed.ts';
import { tuneRuntime, V8_FLAGS } from '../apps/server/src/platform/runtime.ts';
import { printResult } from './lib.ts';
import { cpuDelta, intArg, log, openBenchContext, postgresCpuMs, round, threadCpu, useV8Defaults } from './support.ts';

const ROWS = intArg(process.argv[2], 1_000_000, 'rows');
const POOL = intArg(process.env.BENCH_POOL, 20, 'BENCH_POOL');

async function userActor(db: Kysely<DB>, login: string): Promise<Actor> {
  const u = await db.selectFrom('users').select(['id', 'login', 'employment_type']).where('login', '=', login).executeTakeFirstOrThrow();
  const roles = (await db.selectFrom('user_roles').select('role').where('user_id', '=', u.id).execute()).map((r) => r.role);
  const grants = await db.selectFrom('grants').selectAll().where('subject_id', '=', u.id).where('status', '=', 'active').execute();
  return {
    kind: 'user', userId: u.id as UserId, login: u.login, employmentType: u.employment_type as 'employee', status: 'active', roles: roles as Actor['roles'], groupIds: [],
    sessionRef: null, tokenId: null, mfa: true, passwordChangeRequired: false, terminal: { ip: null, userAgent: 'mamori-bench', deviceId: null }, requestId: null,
    grants: grants.map((g) => ({
      id: g.id as GrantId, datasetId: g.dataset_id, fields: g.fields, unmaskFields: g.unmask_fields, purposes: g.purposes, canWrite: g.can_write,
      validFrom: new Date(g.valid_from), validUntil: new Date(g.valid_until), status: g.status as 'active',
    })),
  };
}

async function main(): Promise<void> {
  log(`export: ${ROWS} rows`);
  const bench = await openBenchContext({ poolSize: POOL });
  const { ctx } = bench;
  try {
    const file = path.join(bench.dataDir, 'contacts.csv');
    const t0 = performance.now();
    await writeDemoCsv(file, ROWS, 42);
    await seed(ctx, { demo: true, demoContacts: 0 });
    const system = systemActor({ ip: null, userAgent: 'mamori-bench', deviceId: null });
    await importRecords(ctx, system, 'contacts', () => splitImportBatches(createReadStream(file), 'csv', {}));
    // VACUUM too: autovacuum of the freshly loaded table must not run during the timed parts.
    await sql`VACUUM ANALYZE records`.execute(ctx.db);
    log(`setup: ${ROWS} contacts imported in ${round((performance.now() - t0) / 1000, 1)} s`);

    const datasetId = (await ctx.db.selectFrom('datasets').select('id').where('name', '=', 'contacts').executeTakeFirstOrThrow()).id;
    // ------------------------------------------------------------------ baseline: bare COPY TO
    const client = new pg.Client({ connectionString: bench.url });
    await client.connect();
    let copyMs: number;
    let copyBytes = 0;
    try {
      const pg0 = await postgresCpuMs(ctx.db);
      const c0 = performance.now();
      const sink = new Writable({ write(chunk: Buffer, _enc, cb) { copyBytes += chunk.length; cb(); } });
      await pipeline(client.query(copyTo(`COPY (SELECT id, public, sealed, key_id FROM records WHERE dataset_id = '${datasetId}' ORDER BY id) TO STDOUT`)), sink);
      copyMs = performance.now() - c0;
      const copyPg = cpuDelta(pg0, await postgresCpuMs(ctx.db));
      log(`baseline COPY TO: ${ROWS} rows, ${round(copyBytes / 1024 / 1024)} MiB in ${round(copyMs / 1000, 2)} s = ${Math.round((ROWS / copyMs) * 1000)} rows/s (postgres CPU ${copyPg === null ? '?' : round(copyPg / 1000, 1)} s)`);
    } finally {
      await client.end();
    }

    // ------------------------------------------------------------------ Mamori: approved export
    const handler = await userActor(ctx.db, 'handler');
    const owner = await userActor(ctx.db, 'owner');
    /** One approved export of every field, timed and then checked (the file must open and hold every row). */
    const exportOnce = async (label: string) => {
      const ex = await requestExtraction(ctx, handler, {
        dataset: 'contacts', purpose: '営業活動', fields: DEMO_CONTACT_FIELDS.map((f) => f.name), criteria: [], format: 'csv_utf8', recipient: { kind: 'internal' },
      });
      await decide(ctx, owner, ex.approvalRequestId!, 'approve', 'bench');
      const settings = { dir: path.join(bench.dataDir, `exports-${label}`) };
      const load0 = loadavg()[0]!;
      const cpu0 = process.cpuUsage();
      const pg0 = await postgresCpuMs(ctx.db);
      const threads = threadCpu();
      const mono0 = process.hrtime.bigint() / 1000n;
      const t0 = performance.now();
      if (!(await runExtraction(ctx, settings, ex.id))) throw new Error('the export did not run');
      const ms = performance.now() - t0;
      const byThread = threads.stop();
      // For --cpu-prof: profiles time their samples on the same monotonic clock (µs).
      log(`export (${label}) window (monotonic µs): ${mono0}-${process.hrtime.bigint() / 1000n}`);
      const cpu = process.cpuUsage(cpu0);
      const load1 = loadavg()[0]!;
      const pgMs = cpuDelta(pg0, await postgresCpuMs(ctx.db));
      const row = await ctx.db.selectFrom('extractions').select(['state', 'rows_done', 'file_bytes']).where('id', '=', ex.id).executeTakeFirstOrThrow();
      if (row.state !== 'ready' || row.rows_done !== ROWS) throw new Error(`export ended ${row.state} with ${row.rows_done} rows`);
      const files = await readdir(settings.dir);
      const encrypted = (await stat(path.join(settings.dir, files[0]!))).size;
      // Not timed: the file must open (every chunk authenticated, in order, to the last) and hold the
      // header, every row and the canaries, as many bytes as recorded.
      const canaries = (await ctx.db.selectFrom('extraction_canaries').select('position').distinct().where('extraction_id', '=', ex.id).execute()).length;
      let plainBytes = 0;
      let lines = 0;
      for await (const chunk of (await downloadExtraction(ctx, handler, ex.id, settings)).body) {
        plainBytes += chunk.length;
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
      }
      if (plainBytes !== Number(row.file_bytes) || lines !== 1 + ROWS + canaries) throw new Error(`the file opened to ${plainBytes} bytes, ${lines} lines (expected ${row.file_bytes}, ${1 + ROWS + canaries})`);
      const nodeMs = (cpu.user + cpu.system) / 1000;
      log(`Mamori export (${label}): ${ROWS} rows in ${round(ms / 1000, 2)} s = ${Math.round((ROWS / ms) * 1000)} rows/s (CSV ${round(Number(row.file_bytes) / 1024 / 1024)} MiB, encrypted ${round(encrypted / 1024 / 1024)} MiB; CPU node ${round(nodeMs / 1000, 1)} s, postgres ${pgMs === null ? '?' : round(pgMs / 1000, 1)} s)`);
      return {
        ms, nodeMs, pgMs, csvBytes: Number(row.file_bytes), load: { before: round(load0, 2), after: round(load1, 2) },
        // CPU µs per row: the Node main thread, the export's worker threads, Node's other threads (GC helpers, libuv), PostgreSQL.
        cpuPerRow: {
          total: pgMs === null ? null : round((nodeMs + pgMs) * 1000 / ROWS, 1),
          main: byThread ? round((byThread.main * 1000) / ROWS, 1) : null,
          workers: byThread ? round((byThread.started * 1000) / ROWS, 1) : null,
          node_other: byThread ? round((byThread.others * 1000) / ROWS, 1) : null,
          postgres: pgMs === null ? null : round((pgMs * 1000) / ROWS, 1),
        },
      };
    };
    // The same export under V8's default settings first (ADR 0016: array buffers swept on a helper
    // thread), then as Mamori runs (openContext applied V8_FLAGS; put back after the first run).
    useV8Defaults();
    const v8Default = await exportOnce('v8-default');
    tuneRuntime();
    const m = await exportOnce('mamori');

    const value = (ROWS / m.ms) * 1000;
    const baseline = (ROWS / copyMs) * 1000;
    printResult({
      bench: 'export',
      value: Math.round(value),
      unit: 'rows/s',
      baseline: Math.round(baseline),
      ratio: round(value / baseline, 3),
      extra: {
        rows: ROWS, mamori_s: round(m.ms / 1000, 2), copy_s: round(copyMs / 1000, 2), node_cpu_s: round(m.nodeMs / 1000, 1), postgres_cpu_s: m.pgMs === null ? null : round(m.pgMs / 1000, 1),
        cpu_us_per_row: m.cpuPerRow,
        v8_flags: V8_FLAGS,
        v8_default: { rows_per_s: Math.round((ROWS / v8Default.ms) * 1000), cpu_us_per_row: v8Default.cpuPerRow },
        csv_mib: round(m.csvBytes / 1024 / 1024, 1), load_avg_1m: m.load,
      },
    });
  } finally {
    await bench.close();
  }
}

await main();
