/**
 * The import's worker threads (vault.import-workers.ts): rows encoded on workers are stored exactly
 * as rows encoded on the import's own thread (same public JSON, same sealed values once opened, the
 * same search terms byte for byte, ids ascending in file order), a bad line is still reported by its
 * line, and nothing is written when one line is bad. A worker that dies fails the chunks it held and
 * every later one at once (the import then fails and rolls back like any other failure).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { sql } from 'kysely';
import { systemActor } from '../src/modules/identity/index.ts';
import { importRecords, type ImportOptions, type ImportProgress, type ImportResult } from '../src/modules/vault/index.ts';
import { WORKERS_FROM_BYTES } from '../src/modules/vault/vault.import.ts';
import { loadDataset } from '../src/modules/vault/vault.datasets.ts';
import { parseImportBatches, splitImportBatches } from '../src/modules/vault/vault.import-parse.ts';
import { ImportEncoder } from '../src/modules/vault/vault.import-encode.ts';
import { ImportWorkers } from '../src/modules/vault/vault.import-workers.ts';
import { newId } from '../src/platform/ids.ts';
import type { Worker } from 'node:worker_threads';
import { AppError } from '../src/platform/errors.ts';
import { startTestApp, type TestApp } from './support/app.ts';

let t: TestApp;
const operator = systemActor({ ip: '127.0.0.1', userAgent: 'test', deviceId: null });
const HEADER = 'corporate_number,company_name,company_name_kana,prefecture,department,person_name,person_name_kana,email,direct_phone,mobile_phone';
/** More than one chunk of rows (2,000), so that several workers share the file. */
const ROWS = 4500;

function csv(tag: string, edit?: (lines: string[]) => void, rows = ROWS): Buffer {
  const lines = [HEADER];
  for (let i = 0; i < rows; i++) {
    // Some rows leave fields empty (no term, or no personal field at all: no seal).
    const personal = i % 97 === 0 ? ',,,,' : `並列 ${tag}${i},ヘイレツ タロウ,${tag}.${i}@workers.example.jp,03-4444-${String(1000 + (i % 9000))},`;
    lines.push(`7000012050002,並列${tag}${i % 50}株式会社,ヘイレツ,東京都,${i % 3 === 0 ? '営業部' : ''},${personal}${i % 5 === 0 ? '' : `090-4444-${String(1000 + (i % 9000))}`}`);
  }
  edit?.(lines);
  return Buffer.from(lines.join('\r\n') + '\r\n');
}

/**
 * The file in 4 KiB pieces, as the import reads a CSV: chunks of text, parsed where they are encoded
 * (`rows`: parsed on the import's thread first, so that rows cross threads, as JSON Lines rows do).
 */
function rowsOf(file: Buffer, as: 'text' | 'rows' = 'text') {
  const chunks: Buffer[] = [];
  for (let i = 0; i < file.length; i += 4096) chunks.push(file.subarray(i, i + 4096));
  return () => (as === 'text' ? splitImportBatches : parseImportBatches)(Readable.from(chunks), 'csv', {});
}

type Stored = { id: string; public: Record<string, string>; personal: Record<string, string>; terms: string[] };

async function storedBetween(firstId: string, lastId: string): Promise<Stored[]> {
  const ds = await loadDataset(t.ctx, 'contacts');
  const records = await sql<{ id: string; public: Record<string, string>; sealed: Buffer | null; key_id: string | null }>`
    SELECT id, public, sealed, key_id FROM records WHERE id BETWEEN ${firstId} AND ${lastId} ORDER BY id`.execute(t.ctx.db);
  const terms = await sql<{ record_id: string; term: Buffer }>`
    SELECT record_id, term FROM record_terms WHERE record_id BETWEEN ${firstId} AND ${lastId}`.execute(t.ctx.db);
  const byRecord = new Map<string, string[]>();
  for (const r of terms.rows) {
    let l = byRecord.get(r.record_id);
    if (!l) byRecord.set(r.record_id, (l = []));
    l.push(r.term.toString('hex'));
  }
  return records.rows.map((r) => ({
    id: r.id,
    public: r.public,
    personal: ds.codec.decodePersonal(r.id, r.sealed, r.key_id),
    terms: (byRecord.get(r.id) ?? []).sort(),
  }));
}

/** The records of two imports of the same file (`csv(tag)`, `rows` rows) hold the same values and terms, in file order. */
async function assertStoredAlike(single: ImportResult, other: ImportResult, tag: string, rows: number): Promise<Stored[]> {
  const a = await storedBetween(single.firstId!, single.lastId!);
  const b = await storedBetween(other.firstId!, other.lastId!);
  assert.equal(a.length, rows);
  assert.equal(b.length, rows);
  for (let i = 0; i < rows; i++) {
    // Ordered by id, the records are in file order: ids were minted as the rows were read.
    assert.equal(b[i]!.public.company_name, `並列${tag}${i % 50}株式会社`, `row ${i} out of order`);
    assert.deepEqual(b[i]!.public, a[i]!.public, `public of row ${i}`);
    assert.deepEqual(b[i]!.personal, a[i]!.personal, `personal of row ${i}`);
    assert.deepEqual(b[i]!.terms, a[i]!.terms, `terms of row ${i}`);
  }
  assert.ok(b.some((r) => Object.keys(r.personal).length === 0), 'rows without a personal field (no seal) are in the file');
  return b;
}

async function run(file: Buffer, options: ImportOptions, as: 'text' | 'rows' = 'text') {
  let last: ImportProgress | null = null;
  const writes: number[] = [];
  const r = await importRecords(t.ctx, operator, 'contacts', rowsOf(file, as), (p) => {
    last = p;
    if (p.phase === 'write') writes.push(p.rows);
  }, options);
  return { ...r, progress: last as ImportProgress | null, writes };
}

async function reportOf(file: Buffer, options: ImportOptions, as: 'text' | 'rows' = 'text') {
  try {
    await importRecords(t.ctx, operator, 'contacts', rowsOf(file, as), () => undefined, options);
  } catch (e) {
    assert.ok(e instanceof AppError);
    assert.equal(e.code, 'import.invalid');
    return e.details;
  }
  throw new Error('the import was expected to fail');
}

async function counts(): Promise<{ records: number; terms: number }> {
  return (await sql<{ records: number; terms: number }>`SELECT (SELECT count(*)::int FROM records) AS records, (SELECT count(*)::int FROM record_terms) AS terms`.execute(t.ctx.db)).rows[0]!;
}

before(async () => {
  t = await startTestApp({ demoContacts: 0 });
});
after(async () => t.close());

describe('import on worker threads', () => {
  test('stores exactly what the single-thread import stores: public JSON, sealed values, search terms, ids in file order', async () => {
    // The same file twice (search terms do not depend on the record id: they must come out identical).
    const file = csv('w');
    const single = await run(file, { workers: 0 });
    const threaded = await run(file, { workers: 2, workersAfterRows: 0 });
    assert.equal(single.imported, ROWS);
    assert.equal(threaded.imported, ROWS);
    assert.equal(single.progress?.workerRows, 0, 'the single-thread import used no worker');
    assert.equal(threaded.progress?.workerRows, ROWS, 'every row of the threaded import was encoded on a worker');
    const b = await assertStoredAlike(single, threaded, 'w', ROWS);
    assert.equal(b[ROWS - 1]!.personal.email, 'w.4499@workers.example.jp');
    // The range the audit event names is that of the records stored (ids are minted per record a chunk may hold).
    assert.deepEqual([b[0]!.id, b[ROWS - 1]!.id], [threaded.firstId, threaded.lastId]);
    // Rows parsed on the import's thread and sent to the workers (the way JSON Lines go) store the same.
    const rows = await run(file, { workers: 2, workersAfterRows: 0 }, 'rows');
    assert.equal(rows.progress?.workerRows, ROWS);
    await assertStoredAlike(single, rows, 'w', ROWS);
    // No plaintext of a personal field in the raw rows the workers wrote.
    const dump = await sql<{ t: string }>`
      SELECT string_agg(x, ' ') AS t FROM (
        SELECT r::text || encode(r.sealed, 'escape') AS x FROM records r WHERE id BETWEEN ${threaded.firstId} AND ${threaded.lastId}
        UNION ALL SELECT rt::text FROM record_terms rt WHERE record_id BETWEEN ${threaded.firstId} AND ${threaded.lastId}) s`.execute(t.ctx.db);
    for (const secret of ['ヘイレツ タロウ', 'workers.example.jp', '03-4444-1007', '0344441007', '09044441001']) {
      assert.ok(!dump.rows[0]!.t.includes(secret), `plaintext ${secret} found in the raw tables`);
    }
  });

  test('chunks shared between a worker and the import\'s own thread: stored as on one thread, in file order', async () => {
    // Six chunks, one worker with room for one: the import's thread reads a chunk far faster than the
    // worker encodes one, so it encodes some itself while the worker has one to do.
    const rows = 12_000;
    const file = csv('m', undefined, rows);
    const single = await run(file, { workers: 0 });
    const shared = await run(file, { workers: 1, workersAfterRows: 0, workerQueue: 1 });
    assert.equal(shared.imported, rows);
    const onWorker = shared.progress?.workerRows ?? 0;
    assert.ok(onWorker > 0 && onWorker < rows, `both threads encoded chunks (worker: ${onWorker} of ${rows})`);
    // Progress as the rows go in (the CLI's bar, the upload's progress lines): once past each 5,000,
    // within the chunk of 2,000 that crossed it, whichever thread encoded it.
    assert.equal(shared.writes.length, 2, `progress at ${shared.writes.join(', ')}`);
    shared.writes.forEach((n, k) => assert.ok(n >= (k + 1) * 5000 && n < (k + 1) * 5000 + 2000, `progress ${k + 1} at ${n} rows`));
    await assertStoredAlike(single, shared, 'm', rows);
  });

  test('bad lines in different chunks and a malformed row: the same report as on one thread, and nothing written', async () => {
    const file = csv('x', (lines) => {
      lines[11] = lines[11]!.replace(/x\.\d+@workers\.example\.jp/, 'not-an-email');
      lines[2600] = lines[2600]!.replace('03-4444-', '03-44x-');
      lines[4400] = '7000012050002,"unclosed,ヘイレツ,東京都,,山田,ヤマダ,x@example.jp,03-1234-5678,090-1234-5678';
    });
    const before = await counts();
    const single = await reportOf(file, { workers: 0 });
    const threaded = await reportOf(file, { workers: 2, workersAfterRows: 0 });
    assert.deepEqual(threaded, single);
    const d = threaded as { problems: { line: number; field?: string }[]; problemCount: number };
    assert.deepEqual(d.problems.map((p) => [p.line, p.field ?? null]), [[12, 'email'], [2601, 'direct_phone'], [4401, null]]);
    assert.equal(d.problemCount, 3);
    assert.ok(!JSON.stringify(threaded).includes('not-an-email'), 'the bad value is not echoed');
    assert.deepEqual(await counts(), before, 'nothing was imported');
  });

  test('a malformed row in a chunk a worker parses ends the report there, before an error the reading meets later', async () => {
    const file = csv('z', (lines) => {
      lines[11] = lines[11]!.replace(/z\.\d+@workers\.example\.jp/, 'not-an-email');
      lines[2600] += ',one column too many'; // second chunk: found by the worker that parses it
      lines[3000] = lines[3000]!.replace(/z\.\d+@workers\.example\.jp/, 'also-not-an-email'); // after it: not reported
      lines[4400] = lines[4400]!.replace('ヘイレツ', 'ヘイ"レツ'); // a quote inside a value: the reading itself fails here
    });
    const before = await counts();
    const single = await reportOf(file, { workers: 0 }, 'rows');
    const threaded = await reportOf(file, { workers: 2, workersAfterRows: 0 });
    const shared = await reportOf(file, { workers: 1, workersAfterRows: 0, workerQueue: 1 });
    assert.deepEqual(threaded, single);
    assert.deepEqual(shared, single);
    const d = threaded as { problems: { line: number; field?: string; problem: string }[]; problemCount: number };
    assert.deepEqual(d.problems.map((p) => [p.line, p.field ?? null]), [[12, 'email'], [2601, null]]);
    assert.match(d.problems[1]!.problem, /expected 10 columns, found 11/);
    assert.equal(d.problemCount, 2);
    assert.deepEqual(await counts(), before, 'nothing was imported');
  });

  test('a file known to be large starts the workers with the import, before its first row', async () => {
    // 8,000 rows, fewer than the rows that start the workers otherwise, read slowly (four chunks
    // 700 ms apart) so that a worker started with the import is ready before the end.
    const file = csv('s', undefined, 8000);
    const pieces: Buffer[] = [];
    for (let i = 0; i < file.length; i += 4096) pieces.push(file.subarray(i, i + 4096));
    const workerRows = async (options: ImportOptions): Promise<number> => {
      async function* slowly(): AsyncGenerator<Buffer> {
        for (let i = 0; i < pieces.length; i++) {
          if (i > 0 && i % Math.ceil(pieces.length / 4) === 0) await new Promise((r) => setTimeout(r, 700));
          yield pieces[i]!;
        }
      }
      let last: ImportProgress | null = null;
      const r = await importRecords(t.ctx, operator, 'contacts', () => splitImportBatches(slowly(), 'csv', {}), (p) => (last = p), options);
      assert.equal(r.imported, 8000);
      return (last as ImportProgress | null)?.workerRows ?? 0;
    };
    assert.ok(await workerRows({ workers: 1, sourceBytes: WORKERS_FROM_BYTES }) > 0, 'the worker encoded chunks of a file shorter than WORKERS_AFTER_ROWS');
    // Smaller (as for a file of unknown size): no worker for so few rows.
    assert.equal(await workerRows({ workers: 1, sourceBytes: WORKERS_FROM_BYTES - 1 }), 0);
  });

  test('a bad last line, with the workers started mid-file, still rolls back every record written before it', async () => {
    const file = csv('y', (lines) => {
      lines[ROWS] = lines[ROWS]!.replace(/y\.\d+@workers\.example\.jp/, 'broken');
    });
    const before = await counts();
    const d = (await reportOf(file, { workers: 2, workersAfterRows: 100 })) as { problems: { line: number; field?: string }[] };
    assert.deepEqual(d.problems.map((p) => [p.line, p.field]), [[ROWS + 1, 'email']]);
    assert.deepEqual(await counts(), before);
  });
});

describe('a worker that dies', () => {
  test('fails the chunks it held and every later one at once, instead of leaving the import waiting', { timeout: 120_000 }, async () => {
    const ds = await loadDataset(t.ctx, 'contacts');
    const pool = new ImportWorkers(ImportEncoder.setup(ds.view, ds.keys, ds.codec, t.clock.now()), 2);
    try {
      assert.equal(await pool.ready, true);
      const names = HEADER.split(',');
      const lines = csv('d').toString('utf8').split('\r\n').slice(1, 2001);
      const rows = lines.map((l, i) => ({ line: i + 2, values: Object.fromEntries(l.split(',').map((v, k) => [names[k]!, v])) }));
      const chunk = () => pool.run(rows, rows.map(() => newId<'RecordId'>()));
      // Both workers healthy: a chunk comes back encoded.
      const ok = await chunk();
      assert.equal(ok.problemCount, 0);
      assert.ok(ok.records && ok.records.length > 0);

      // Chunks in hand on both workers, then one worker ends (as a crash or an out-of-memory would end it).
      const held = [chunk(), chunk(), chunk(), chunk()];
      for (const h of held) h.catch(() => undefined);
      const { workers } = pool as unknown as { workers: { worker: Worker }[] };
      await workers[0]!.worker.terminate();
      const settled = await Promise.allSettled(held);
      const failed = settled.filter((s) => s.status === 'rejected');
      assert.ok(failed.length >= 1, 'the dead worker\'s chunks fail');
      for (const f of failed) assert.match(String((f as PromiseRejectedResult).reason), /import worker exited/);
      await assert.rejects(chunk(), /import worker exited/, 'a later chunk is refused at once');
    } finally {
      await pool.close();
    }
  });
});
