// `DATABASE_URL=<admin url> npx tsx bench/import-pg-split.ts [rows]`   (default 100,000 rows; e.g. the
// URL printed by `node scripts/pg-temp.mjs`)
//
// Where PostgreSQL's CPU goes in an import: the records and search terms an import would write
// (encoded by the real codec into binary COPY, in memory first) are loaded by separate COPYs into
// variants of the real tables, each in its own transaction on one connection, rolled back; the
// backend's CPU time (from /proc, parallel workers off so that the backend does all the work) and
// the WAL written are reported per imported record. Not a bench of the import (that is `import`).
// `index_only_*`: the term index alone, built over the loaded terms as stored (`keyed`, ADR 0017) and
// in the layouts before it (`field_first`, `term_first`). SPLIT_ONLY=<regex> runs only the steps
// whose names match.
import { loadavg } from 'node:os';
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { loadDataset } from '../apps/server/src/modules/vault/vault.datasets.ts';
import { DEMO_CONTACT_FIELDS, generateDemoContacts } from '../apps/server/src/modules/vault/vault.demo-data.ts';
import { BINARY_COPY_HEADER, BINARY_COPY_TRAILER, BinaryCopyRows, encodeTimestamptz, uuidBytes } from '../apps/server/src/platform/db/copy-binary.ts';
import { newId } from '../apps/server/src/platform/ids.ts';
import { seed } from '../apps/server/src/platform/seed.ts';
import { intArg, log, openBenchContext, round } from './support.ts';

const ROWS = intArg(process.argv[2], 100_000, 'rows');

async function backendCpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
}

async function main(): Promise<void> {
  const bench = await openBenchContext({ poolSize: 2 });
  const { ctx } = bench;
  try {
    await seed(ctx, { demo: true, demoContacts: 0 });
    const ds = await loadDataset(ctx, 'contacts');
    const names = DEMO_CONTACT_FIELDS.map((f) => f.name);
    const records = new BinaryCopyRows(64 << 20);
    const recordsJsonb = new BinaryCopyRows(64 << 20);
    const terms = new BinaryCopyRows(64 << 20);
    const termList: { key: Buffer; id: Buffer }[] = [];
    records.bytes(BINARY_COPY_HEADER);
    recordsJsonb.bytes(BINARY_COPY_HEADER);
    terms.bytes(BINARY_COPY_HEADER);
    const datasetId = uuidBytes(ds.view.id);
    const keyId = Buffer.from(ds.keys.activeDataKeyId, 'utf8');
    const at = encodeTimestamptz(new Date());
    let n = 0;
    for (const c of generateDemoContacts(ROWS, 42)) {
      const values: Record<string, string> = {};
      for (const k of names) {
        const v = (c as unknown as Record<string, string>)[k];
        if (v !== undefined && v !== '') values[k] = v;
      }
      const id = newId<'RecordId'>();
      const r = ds.codec.encode(id, values);
      const idBytes = uuidBytes(id);
      records.row(7).raw(idBytes).raw(datasetId).text(r.public).bytea(r.sealed).raw(keyId).raw(at).raw(at);
      // public as jsonb (before ADR 0018): its binary form is a version byte (1), then the JSON text.
      recordsJsonb.row(7).raw(idBytes).raw(datasetId).bytea(Buffer.concat([Buffer.from([1]), Buffer.from(r.public, 'utf8')])).bytea(r.sealed).raw(keyId).raw(at).raw(at);
      for (const t of r.terms) {
        terms.row(2).int4Bytea(t.field, t.term).raw(idBytes);
        const key = Buffer.allocUnsafe(4 + t.term.length);
        key.writeInt32BE(t.field);
        t.term.copy(key, 4);
        termList.push({ key, id: idBytes });
      }
      n++;
    }
    records.bytes(BINARY_COPY_TRAILER);
    recordsJsonb.bytes(BINARY_COPY_TRAILER);
    terms.bytes(BINARY_COPY_TRAILER);
    termList.sort((a, b) => Buffer.compare(a.key, b.key) || Buffer.compare(a.id, b.id));
    const sorted = new BinaryCopyRows(64 << 20);
    sorted.bytes(BINARY_COPY_HEADER);
    for (const t of termList) sorted.row(2).bytea(t.key).raw(t.id);
    sorted.bytes(BINARY_COPY_TRAILER);
    const recordBytes = records.take();
    const recordJsonbBytes = recordsJsonb.take();
    const termBytes = terms.take();
    const sortedBytes = sorted.take();
    log(`encoded ${n} records, ${termList.length} terms (${round(termBytes.length / n)} term bytes/record)`);

    const client = new pg.Client({ connectionString: bench.url });
    await client.connect();
    const pid = Number((await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid);
    await client.query('SET max_parallel_maintenance_workers = 0');
    const copy = async (statement: string, bytes: Buffer) => {
      const s = client.query(copyFrom(statement));
      await new Promise<void>((resolve, reject) => {
        s.on('finish', resolve);
        s.on('error', reject);
        s.end(bytes);
      });
    };
    const result: Record<string, { cpu_us: number; wal_bytes: number; wall_ms: number }> = {};
    // SPLIT_ONLY=<regex>: only the steps whose names match.
    const only = process.env.SPLIT_ONLY ? new RegExp(process.env.SPLIT_ONLY) : null;
    /** Measures `run` after `setup` (statements, or steps of their own), in a transaction rolled back; run again, the least CPU is kept. */
    const step = async (name: string, setup: (string | (() => Promise<unknown>))[], run: () => Promise<unknown>) => {
      if (only && !only.test(name)) return;
      await client.query('BEGIN');
      try {
        for (const s of setup) await (typeof s === 'string' ? client.query(s) : s());
        const lsn0 = (await client.query('SELECT pg_current_wal_insert_lsn() AS l')).rows[0].l as string;
        const cpu0 = await backendCpuMs(pid);
        const t0 = performance.now();
        await run();
        const wall = performance.now() - t0;
        const cpu = (await backendCpuMs(pid)) - cpu0;
        const wal = Number((await client.query('SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1) AS d', [lsn0])).rows[0].d);
        const best = result[name];
        if (!best || (cpu * 1000) / n < best.cpu_us) result[name] = { cpu_us: round((cpu * 1000) / n, 2), wal_bytes: Math.round(wal / n), wall_ms: Math.round(wall) };
        log(`${name}: ${round((cpu * 1000) / n, 2)} µs/record of backend CPU, ${Math.round(wal / n)} WAL bytes/record, ${Math.round(wall)} ms`);
      } finally {
        await client.query('ROLLBACK');
      }
    };
    const cols = '(id, dataset_id, public, sealed, key_id, created_at, updated_at)';
    // record_terms is partitioned by dataset (migration 0022): COPY into it routes each row to the
    // demo dataset's partition, and its index statements act on that partition's index.
    await step('records', [], () => copy(`COPY records ${cols} FROM STDIN (FORMAT binary)`, recordBytes));
    await step('records_no_fk', ['ALTER TABLE records DROP CONSTRAINT records_dataset_id_fkey'], () => copy(`COPY records ${cols} FROM STDIN (FORMAT binary)`, recordBytes));
    await step('records_stmt_trigger_instead_of_fk', [
      'ALTER TABLE records DROP CONSTRAINT records_dataset_id_fkey',
      `CREATE FUNCTION records_dataset_check() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF EXISTS (SELECT 1 FROM (SELECT DISTINCT dataset_id FROM new_records) n WHERE NOT EXISTS (SELECT 1 FROM datasets d WHERE d.id = n.dataset_id)) THEN
           RAISE foreign_key_violation USING MESSAGE = 'records.dataset_id: no such dataset';
         END IF;
         PERFORM 1 FROM datasets d WHERE d.id IN (SELECT DISTINCT dataset_id FROM new_records) FOR KEY SHARE;
         RETURN NULL;
       END $$`,
      'CREATE TRIGGER records_dataset_check AFTER INSERT ON records REFERENCING NEW TABLE AS new_records FOR EACH STATEMENT EXECUTE FUNCTION records_dataset_check()',
    ], () => copy(`COPY records ${cols} FROM STDIN (FORMAT binary)`, recordBytes));
    // The layout before migration 0021 (ADR 0020): the key (id) and the index (dataset_id, id), against the one key (dataset_id, id).
    await step('records_before_0021', ['ALTER TABLE records DROP CONSTRAINT records_pkey', 'ALTER TABLE records ADD PRIMARY KEY (id)', 'CREATE INDEX records_dataset_idx ON records (dataset_id, id)'], () => copy(`COPY records ${cols} FROM STDIN (FORMAT binary)`, recordBytes));
    await step('records_heap_only', ['CREATE TABLE r (LIKE records INCLUDING DEFAULTS)'], () => copy(`COPY r ${cols} FROM STDIN (FORMAT binary)`, recordBytes));
    await step('records_heap_only_public_text', ['CREATE TABLE r (LIKE records INCLUDING DEFAULTS)', 'ALTER TABLE r ALTER public TYPE text'], () => copy(`COPY r ${cols} FROM STDIN (FORMAT binary)`, recordBytes));
    await step('records_heap_only_public_jsonb', ['CREATE TABLE r (LIKE records INCLUDING DEFAULTS)', 'ALTER TABLE r ALTER public TYPE jsonb'], () => copy(`COPY r ${cols} FROM STDIN (FORMAT binary)`, recordJsonbBytes));
    await step('terms_heap', ['DROP INDEX record_terms_lookup_idx'], () => copy('COPY record_terms FROM STDIN (FORMAT binary)', termBytes));
    await step('terms_heap+create_index', ['DROP INDEX record_terms_lookup_idx', "SET LOCAL maintenance_work_mem = '64MB'"], async () => {
      await copy('COPY record_terms FROM STDIN (FORMAT binary)', termBytes);
      await client.query('CREATE INDEX record_terms_lookup_idx ON record_terms (term, record_id)');
    });
    await step('terms_heap_sorted+create_index', ['DROP INDEX record_terms_lookup_idx', "SET LOCAL maintenance_work_mem = '64MB'"], async () => {
      await copy('COPY record_terms FROM STDIN (FORMAT binary)', sortedBytes);
      await client.query('CREATE INDEX record_terms_lookup_idx ON record_terms (term, record_id)');
    });
    // SPLIT_REPEATS=<n>: each index built n times, the variants taking turns; the least CPU is kept.
    const repeats = Number(process.env.SPLIT_REPEATS ?? 1);
    const asBefore = "CREATE TABLE t AS SELECT ('x' || encode(substr(term, 1, 4), 'hex'))::bit(32)::int AS field_id, substr(term, 5) AS term, record_id FROM record_terms";
    for (let rep = 0; rep < repeats; rep++) {
      for (const [name, def, table] of [
        // ADR 0017: the key (record_term(field_id, term)) as stored, against the layouts before it.
        ['keyed', 'record_terms (term, record_id)', null],
        ['keyed_ctas', 't (term, record_id)', 'CREATE TABLE t AS SELECT term, record_id FROM record_terms'],
        ['field_first', 't (field_id, term, record_id)', asBefore],
        ['term_first', 't (term, field_id, record_id)', asBefore],
      ] as const) {
        await step(`index_only_${name}`, [
          'DROP INDEX record_terms_lookup_idx',
          "SET LOCAL maintenance_work_mem = '64MB'",
          () => copy('COPY record_terms FROM STDIN (FORMAT binary)', termBytes),
          ...(table ? [table] : []),
        ], () => client.query(`CREATE INDEX i ON ${def}`));
      }
    }
    await step('terms_into_index', [], () => copy('COPY record_terms FROM STDIN (FORMAT binary)', termBytes));
    await step('terms_sorted_into_index', [], () => copy('COPY record_terms FROM STDIN (FORMAT binary)', sortedBytes));
    await client.end();
    process.stdout.write(`${JSON.stringify({ bench: 'import-pg-split', unit: 'backend cpu µs and WAL bytes per record', rows: n, terms_per_record: round(termList.length / n, 2), ...result, load_avg_1m: round(loadavg()[0] ?? 0, 2) })}\n`);
  } finally {
    await bench.close();
  }
}

await main();
