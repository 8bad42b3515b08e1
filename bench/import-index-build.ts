// `DATABASE_URL=<admin url> npx tsx bench/import-index-build.ts [rows]`   (default 1,000,000 rows; e.g.
// the URL printed by `node scripts/pg-temp.mjs`)
//
// The term index's build after an import, by `maintenance_work_mem` and parallel workers: the demo
// contacts are imported by `importRecords` (which builds the index with the size it sets), then the
// index is dropped and built again with each size and worker limit in turn, in a transaction rolled
// back, `INDEX_ROUNDS` times; the wall time of each build is reported. PostgreSQL plans one parallel
// worker beside the leader for each 32 MB of `maintenance_work_mem`, at most
// `max_parallel_maintenance_workers` (ADR 0013, amendment of 2026-11-27). Not a bench of the import
// (that is `import`). INDEX_MEMORY=<sizes> (default 48MB,64MB,96MB,256MB), INDEX_WORKERS=<limits>
// (default 2), INDEX_ROUNDS=<n> (default 3). Prints one JSON line last.
import { createReadStream } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { systemActor } from '../apps/server/src/modules/identity/index.ts';
import { importRecords } from '../apps/server/src/modules/vault/index.ts';
import { writeDemoCsv } from '../apps/server/src/modules/vault/vault.demo-data.ts';
import { splitImportBatches } from '../apps/server/src/modules/vault/vault.import-parse.ts';
import { seed } from '../apps/server/src/platform/seed.ts';
import { intArg, log, openBenchContext, round } from './support.ts';

const ROWS = intArg(process.argv[2], 1_000_000, 'rows');
const ROUNDS = intArg(process.env.INDEX_ROUNDS, 3, 'INDEX_ROUNDS');
const SIZES = (process.env.INDEX_MEMORY ?? '48MB,64MB,96MB,256MB').split(',');
// 0 workers: the leader sorts alone.
const WORKERS = (process.env.INDEX_WORKERS ?? '2').split(',').map((w) => (w.trim() === '0' ? 0 : intArg(w, 2, 'INDEX_WORKERS')));
for (const s of SIZES) if (!/^\d+(kB|MB|GB)$/.test(s)) throw new Error(`INDEX_MEMORY: ${s} is not a size such as 64MB`);

async function main(): Promise<void> {
  const bench = await openBenchContext({ poolSize: 4 });
  const { ctx } = bench;
  try {
    const file = path.join(bench.dataDir, 'contacts.csv');
    await writeDemoCsv(file, ROWS, 42);
    await seed(ctx, { demo: true, demoContacts: 0 });
    const t0 = performance.now();
    const actor = systemActor({ ip: null, userAgent: 'mamori-bench', deviceId: null });
    await importRecords(ctx, actor, 'contacts', () => splitImportBatches(createReadStream(file), 'csv', {}), () => undefined, {});
    log(`imported ${ROWS} rows in ${round((performance.now() - t0) / 1000, 1)} s`);

    const client = new pg.Client({ connectionString: bench.url });
    await client.connect();
    try {
      // On the partitioned table (migration 0022) this builds the index of the one partition that holds terms.
      const def = 'CREATE INDEX record_terms_lookup_idx ON record_terms (term, record_id)';
      const terms = Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM record_terms')).rows[0]!.n);
      // Hint bits and the page cache: the first scan after the import's commit is not one of the measured builds.
      await client.query('SELECT count(*) FROM record_terms');
      await client.query('CHECKPOINT');
      const seconds = new Map<string, number[]>();
      for (let r = 0; r < ROUNDS; r++) {
        for (const w of WORKERS) {
          for (const size of SIZES) {
            await client.query('BEGIN');
            try {
              await client.query('DROP INDEX record_terms_lookup_idx');
              await client.query(`SET LOCAL maintenance_work_mem = '${size}'`);
              await client.query(`SET LOCAL max_parallel_maintenance_workers = ${w}`);
              const t = performance.now();
              await client.query(def);
              const s = round((performance.now() - t) / 1000, 2);
              const key = `${size}/${w}`;
              seconds.set(key, [...(seconds.get(key) ?? []), s]);
              log(`round ${r + 1}: ${terms} terms, maintenance_work_mem ${size}, at most ${w} workers: ${s} s`);
            } finally {
              await client.query('ROLLBACK');
            }
          }
        }
      }
      const builds = Object.fromEntries([...seconds].map(([k, v]) => [k, { min_s: Math.min(...v), all_s: v }]));
      process.stdout.write(`${JSON.stringify({ bench: 'import-index-build', unit: 's per build (maintenance_work_mem/max workers)', rows: ROWS, terms, builds, load_avg_1m: round(loadavg()[0] ?? 0, 2) })}\n`);
    } finally {
      await client.end();
    }
  } finally {
    await bench.close();
  }
}

await main();
