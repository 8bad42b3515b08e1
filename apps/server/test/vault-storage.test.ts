/**
 * Storage proofs: encryption at rest (the raw tables hold no plaintext of personal fields), the
 * all-or-nothing import, encodings, and the audit sequencer's Merkle log.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import iconv from 'iconv-lite';
import { sql } from 'kysely';
import { systemActor } from '../src/modules/identity/index.ts';
import { importRecords, type ImportProgress } from '../src/modules/vault/index.ts';
import { DEMO_CONTACT_FIELDS } from '../src/modules/vault/vault.demo-data.ts';
import { splitImportBatches, type ImportFormat } from '../src/modules/vault/vault.import-parse.ts';
import { integrateAll, leafHash, merkleRoot } from '../src/modules/audit/index.ts';
import type { BulkTransaction } from '../src/platform/db/database.ts';
import { AppError } from '../src/platform/errors.ts';
import { signIn, startTestApp, type Session, type TestApp } from './support/app.ts';

let t: TestApp;
const operator = systemActor({ ip: '127.0.0.1', userAgent: 'test', deviceId: null });
const HEADER = 'corporate_number,company_name,prefecture,person_name,person_name_kana,email,direct_phone,mobile_phone';

function rowsOf(bytes: Uint8Array, format: ImportFormat = 'csv') {
  return () => splitImportBatches(Readable.from([bytes]), format, {});
}

/** The CPO and a handler, signed in once for the whole file (a second sign-in would change the password again). */
let staffSessions: Promise<{ cpo: Session; handler: Session }> | null = null;
function staff(): Promise<{ cpo: Session; handler: Session }> {
  staffSessions ??= (async () => ({ cpo: await signIn(t, 'cpo'), handler: await signIn(t, 'handler') }))();
  return staffSessions;
}

async function countRecords(): Promise<number> {
  return (await sql<{ n: number }>`SELECT count(*)::int AS n FROM records`.execute(t.ctx.db)).rows[0]!.n;
}

before(async () => {
  t = await startTestApp({ demoContacts: 0 });
});
after(async () => t.close());

describe('encryption at rest', () => {
  test('raw table bytes hold no plaintext name, phone or e-mail of an imported record', async () => {
    const csv = `${HEADER}\n7000012050002,守り試験株式会社,東京都,蒼井 澄香,アオイ スミカ,sumika.aoi@mamori-test.example.jp,03-9876-5432,090-8765-4321\n`;
    const r = await importRecords(t.ctx, operator, 'contacts', rowsOf(Buffer.from(csv)));
    assert.equal(r.imported, 1);
    const dump = await sql<{ t: string }>`
      SELECT string_agg(x, ' ') AS t FROM (
        SELECT r::text AS x FROM records r
        UNION ALL SELECT rt::text FROM record_terms rt
        UNION ALL SELECT a::text FROM audit_events a
        UNION ALL SELECT p::text FROM audit_pending p
        UNION ALL SELECT encode(sealed, 'escape') FROM records WHERE sealed IS NOT NULL) s`.execute(t.ctx.db);
    const raw = dump.rows[0]!.t;
    assert.ok(raw.includes('守り試験株式会社'), 'public fields are stored in clear (sanity check of the dump)');
    // Digit runs are checked at full length only: a short one such as '9876' turns up by chance in
    // the hex of ids and hashes.
    for (const secret of ['蒼井', '澄香', 'アオイ', 'スミカ', 'sumika', 'mamori-test.example.jp', '03-9876-5432', '8765-4321', '0398765432', '09087654321']) {
      assert.ok(!raw.includes(secret), `plaintext ${secret} found in the raw tables`);
    }
    // The blind-indexed search still finds it.
    const hex = Buffer.from('sumika.aoi@mamori-test.example.jp').toString('hex');
    assert.ok(!raw.toLowerCase().includes(hex), 'not even as hex');
  });
});

describe('import', () => {
  test('one bad line in the middle: nothing is imported and the report names the line and field', async () => {
    const before = await countRecords();
    const lines = [HEADER];
    for (let i = 0; i < 40; i++) lines.push(`7000012050002,会社${i},東京都,山田 太郎${i},ヤマダ タロウ,taro${i}@example.co.jp,03-1234-${String(1000 + i)},090-1234-${String(5000 + i)}`);
    lines[21] = '7000012050002,会社X,東京都,山田 花子,ヤマダ ハナコ,not-an-email,03-1234-5678,090-1234-5678';
    await assert.rejects(importRecords(t.ctx, operator, 'contacts', rowsOf(Buffer.from(lines.join('\n')))), (e: unknown) => {
      assert.ok(e instanceof AppError);
      assert.equal(e.code, 'import.invalid');
      const d = e.details as { problems: { line: number; field?: string; problem: string }[] };
      assert.deepEqual(d.problems.map((p) => [p.line, p.field]), [[22, 'email']]);
      assert.ok(!JSON.stringify(e.details).includes('not-an-email'), 'the bad value is not echoed');
      return true;
    });
    assert.equal(await countRecords(), before);
  });

  test('a malformed CSV row (unclosed quote) also imports nothing', async () => {
    const before = await countRecords();
    const csv = `${HEADER}\n7000012050002,会社,東京都,山田 太郎,ヤマダ タロウ,a@example.jp,03-1234-5678,090-1234-5678\n7000012050002,"会社,東京都\n`;
    await assert.rejects(importRecords(t.ctx, operator, 'contacts', rowsOf(Buffer.from(csv))), (e: unknown) => e instanceof AppError && e.code === 'import.invalid');
    assert.equal(await countRecords(), before);
  });

  test('the report names every bad line before a malformed row, then the malformed row (rows arrive in arrays)', async () => {
    const before = await countRecords();
    const lines = [HEADER];
    for (let i = 0; i < 3000; i++) lines.push(`7000012050002,会社${i},東京都,山田 太郎${i},ヤマダ タロウ,taro${i}@example.co.jp,03-1234-${String(1000 + (i % 9000))},090-1234-5678`);
    lines[10] = lines[10]!.replace(/taro\d+@example.co.jp/, 'not-an-email');
    lines[2500] = lines[2500]!.replace('03-1234-', '03-12x-');
    lines[2990] = '7000012050002,"unclosed,東京都,山田,ヤマダ,x@example.jp,03-1234-5678,090-1234-5678';
    // Small chunks: the rows reach the import in many arrays, the bad ones in different ones.
    const file = Buffer.from(lines.join('\r\n') + '\r\n');
    const chunks: Buffer[] = [];
    for (let i = 0; i < file.length; i += 4096) chunks.push(file.subarray(i, i + 4096));
    const rows = () => splitImportBatches(Readable.from(chunks), 'csv', {});
    await assert.rejects(importRecords(t.ctx, operator, 'contacts', rows), (e: unknown) => {
      assert.ok(e instanceof AppError);
      assert.equal(e.code, 'import.invalid');
      const d = e.details as { problems: { line: number; field?: string; problem: string }[] };
      assert.deepEqual(d.problems.map((p) => [p.line, p.field ?? null]), [[11, 'email'], [2501, 'direct_phone'], [2991, null]]);
      assert.match(d.problems[2]!.problem, /^Line 2991: a quoted value is never closed$/);
      return true;
    });
    assert.equal(await countRecords(), before);
  });

  test('Shift_JIS (CP932), UTF-8 with BOM, TSV and JSON Lines import the same rows', async () => {
    const csv = `${HEADER}\n7000012050002,髙橋商事株式会社,大阪府,髙橋 一郎,タカハシ イチロウ,ichiro@takahashi.example.jp,06-1111-2222,080-3333-4444\n`;
    const variants: [Uint8Array, ImportFormat][] = [
      [iconv.encode(csv, 'Shift_JIS'), 'csv'],
      [Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(csv)]), 'csv'],
      [Buffer.from(csv.replaceAll(',', '\t')), 'tsv'],
      [Buffer.from(JSON.stringify(Object.fromEntries(HEADER.split(',').map((h, i) => [h, csv.split('\n')[1]!.split(',')[i]]))) + '\n'), 'jsonl'],
    ];
    for (const [bytes, format] of variants) {
      const before = await countRecords();
      const r = await importRecords(t.ctx, operator, 'contacts', rowsOf(bytes, format));
      assert.equal(r.imported, 1, format);
      assert.equal(await countRecords(), before + 1);
      const row = (await sql<{ public: Record<string, string> }>`SELECT public FROM records WHERE id = ${r.firstId}`.execute(t.ctx.db)).rows[0]!;
      assert.equal(row.public.company_name, '髙橋商事株式会社', format);
    }
  });
});

describe('search terms follow updates and deletes', () => {
  test('an updated e-mail is found by its new value only; a deleted record leaves no terms', async () => {
    const { cpo, handler } = await staff();
    const users = await cpo.request('GET', '/api/users?limit=100');
    const h = users.json.users.find((x: { login: string }) => x.login === 'handler');
    const purpose = 'データ整備';
    const g = await cpo.request('POST', '/api/datasets/contacts/grants', {
      subjectType: 'user', subjectId: h.id, fields: DEMO_CONTACT_FIELDS.map((f) => f.name), purposes: [purpose], canWrite: true,
      validUntil: '2027-01-31T00:00:00Z', reason: 'terms test',
    });
    assert.equal(g.status, 201, JSON.stringify(g.json));
    const find = async (email: string) => {
      const r = await handler.request('POST', '/api/datasets/contacts/records/search', { purpose, criteria: [{ field: 'email', op: 'exact', value: email }] });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      return (r.json.records as { id: string }[]).map((x) => x.id);
    };
    const terms = async (id: string) => (await sql<{ n: number }>`SELECT count(*)::int AS n FROM record_terms WHERE record_id = ${id}`.execute(t.ctx.db)).rows[0]!.n;

    const created = await handler.request('POST', '/api/datasets/contacts/records', { values: { company_name: '守り検索株式会社', prefecture: '東京都', person_name: '森 一葉', email: 'kazuha.mori@old.example.jp' } });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const id = created.json.id as string;
    assert.deepEqual(await find('Kazuha.Mori@old.example.jp'), [id]);
    const termsBefore = await terms(id);

    const updated = await handler.request('PATCH', `/api/datasets/contacts/records/${id}`, { values: { email: 'kazuha.mori@new.example.jp' } });
    assert.equal(updated.status, 200, JSON.stringify(updated.json));
    assert.deepEqual(await find('kazuha.mori@old.example.jp'), [], 'the old e-mail no longer finds the record');
    assert.deepEqual(await find('kazuha.mori@new.example.jp'), [id]);
    assert.equal(await terms(id), termsBefore, 'the old term was replaced, not added to');

    const cleared = await handler.request('PATCH', `/api/datasets/contacts/records/${id}`, { values: { email: '' } });
    assert.equal(cleared.status, 200, JSON.stringify(cleared.json));
    assert.deepEqual(await find('kazuha.mori@new.example.jp'), []);
    assert.equal(await terms(id), termsBefore - 1);

    const deleted = await handler.request('DELETE', `/api/datasets/contacts/records/${id}`);
    assert.ok(deleted.status === 200 || deleted.status === 204, JSON.stringify(deleted.json));
    assert.equal(await terms(id), 0, 'deleting a record removes all of its terms');
  });
});

describe('import and the search index', () => {
  const purpose = 'データ整備';
  let find: (criteria: { field: string; op: 'exact' | 'prefix'; value: string }[]) => Promise<string[]>;
  const countTerms = async () => (await sql<{ n: number }>`SELECT count(*)::int AS n FROM record_terms`.execute(t.ctx.db)).rows[0]!.n;
  const indexExists = async () =>
    (await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_indexes WHERE indexname = 'record_terms_lookup_idx'`.execute(t.ctx.db)).rows[0]!.n === 1;
  const csvOf = (tag: string, n: number, bad?: number) => {
    const lines = [HEADER];
    for (let i = 0; i < n; i++) {
      lines.push(i === bad
        ? `7000012050002,索引${tag}${i}株式会社,東京都,索引 太郎,サクイン タロウ,broken-address,03-5555-${String(1000 + i)},090-5555-${String(1000 + i)}`
        : `7000012050002,索引${tag}${i}株式会社,東京都,索引 ${tag}${i},サクイン タロウ,${tag}${i}@index-test.example.jp,03-5555-${String(1000 + i)},090-5555-${String(1000 + i)}`);
    }
    return Buffer.from(lines.join('\n'));
  };

  before(async () => {
    const { cpo, handler } = await staff();
    const users = await cpo.request('GET', '/api/users?limit=100');
    const h = users.json.users.find((x: { login: string }) => x.login === 'handler');
    const g = await cpo.request('POST', '/api/datasets/contacts/grants', {
      subjectType: 'user', subjectId: h.id, fields: DEMO_CONTACT_FIELDS.map((f) => f.name), purposes: [purpose], canWrite: false,
      validUntil: '2027-01-31T00:00:00Z', reason: 'index test',
    });
    assert.equal(g.status, 201, JSON.stringify(g.json));
    find = async (criteria) => {
      const r = await handler.request('POST', '/api/datasets/contacts/records/search', { purpose, criteria, limit: 100 });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      return (r.json.records as { id: string }[]).map((x) => x.id);
    };
  });

  test('imports into a non-empty dataset keep every record findable, whether the index is rebuilt or maintained', async () => {
    // The first import rebuilds the index (the partition is nearly empty); the second must maintain it.
    // Their progress names the steps after the rows (30 rows: no `write` step yet).
    const phases = (into: ImportProgress['phase'][]) => (p: ImportProgress) => {
      if (into.at(-1) !== p.phase) into.push(p.phase);
    };
    const aPhases: ImportProgress['phase'][] = [];
    const bPhases: ImportProgress['phase'][] = [];
    const a = await importRecords(t.ctx, operator, 'contacts', rowsOf(csvOf('ia', 30)), phases(aPhases));
    const b = await importRecords(t.ctx, operator, 'contacts', rowsOf(csvOf('ib', 30)), phases(bPhases), { rebuildIndexUpTo: 0, rebuildRatio: 0 });
    assert.deepEqual(aPhases, ['index', 'commit', 'done']);
    assert.deepEqual(bPhases, ['index', 'commit', 'done']);
    assert.equal(a.imported + b.imported, 60);
    assert.ok(await indexExists());
    assert.equal((await find([{ field: 'email', op: 'exact', value: 'IA7@index-test.example.jp' }])).length, 1, 'blind index, first import');
    assert.equal((await find([{ field: 'email', op: 'exact', value: 'ib29@index-test.example.jp' }])).length, 1, 'blind index, second import');
    assert.equal((await find([{ field: 'person_name', op: 'exact', value: '索引　ib3' }])).length, 1, 'name without spaces');
    assert.equal((await find([{ field: 'direct_phone', op: 'exact', value: '０３５５５５１００７' }])).length, 2, 'phone digits, one per import');
    assert.equal((await find([{ field: 'company_name', op: 'prefix', value: '索引ia' }])).length, 30, 'prefix on a public field');
    assert.equal((await find([{ field: 'company_name', op: 'prefix', value: '索引' }, { field: 'prefecture', op: 'exact', value: '東京都' }])).length, 60);
    // A prefix range stays within its field (ADR 0017): 東京 is a prefix of these records' prefecture, 東京都, not of their company names.
    assert.deepEqual(await find([{ field: 'company_name', op: 'prefix', value: '東京' }, { field: 'email', op: 'exact', value: 'ia7@index-test.example.jp' }]), []);
    assert.equal((await find([{ field: 'prefecture', op: 'exact', value: '東京都' }, { field: 'email', op: 'exact', value: 'ia7@index-test.example.jp' }])).length, 1);
  });

  test('an import rebuilds a partition that holds at most twice its terms, and maintains a larger one', async () => {
    // The statements the loader sends at the end are seen where it sends them, on the bulk transaction.
    const importSeeing = async (tag: string, rows: number) => {
      const statements: string[] = [];
      const database = t.ctx.database;
      const seen = (bulk: BulkTransaction): BulkTransaction => ({
        ...bulk,
        // Kysely runs a statement through the executor's getExecutor().executeQuery.
        executor: new Proxy(bulk.executor, {
          get: (target, key) => {
            const value = Reflect.get(target, key, target);
            if (typeof value !== 'function') return value;
            if (key !== 'getExecutor') return value.bind(target);
            return () => {
              const executor = value.call(target);
              return new Proxy(executor, {
                get: (e, k) => {
                  const v = Reflect.get(e, k, e);
                  if (typeof v !== 'function') return v;
                  return k === 'executeQuery' ? (q: { sql: string }, ...rest: unknown[]) => (statements.push(q.sql), v.call(e, q, ...rest)) : v.bind(e);
                },
              });
            };
          },
        }),
      });
      const ctx = { ...t.ctx, database: { ...database, bulkTransaction: <T>(fn: (bulk: BulkTransaction) => Promise<T>) => database.bulkTransaction((bulk) => fn(seen(bulk))) } };
      const terms = await countTerms();
      // rebuildIndexUpTo 0: the ratio alone decides.
      const r = await importRecords(ctx, operator, 'contacts', rowsOf(csvOf(tag, rows)), undefined, { rebuildIndexUpTo: 0 });
      assert.equal(r.imported, rows);
      assert.equal((await countTerms()) - terms, rows * 8, 'every term is in record_terms');
      for (const i of [0, rows - 1]) assert.equal((await find([{ field: 'email', op: 'exact', value: `${tag}${i}@index-test.example.jp` }])).length, 1, `row ${i}`);
      return {
        rebuilt: statements.some((q) => q.includes('mamori_swap_term_partition')),
        merged: statements.filter((q) => q.startsWith('INSERT INTO record_terms ')).length,
      };
    };
    const held = await countTerms(); // all in the contacts partition: the only dataset with records
    assert.ok(held > 100);
    // 8 terms a row: a partition of `held` terms is at most twice an import of held / 16 rows.
    assert.deepEqual(await importSeeing('mg', 5), { rebuilt: false, merged: 1 }, 'a small import into a larger partition: one sorted insert');
    assert.deepEqual(await importSeeing('rr', Math.ceil((held + 40) / 16)), { rebuilt: true, merged: 0 }, 'an import half the partition\'s size rebuilds it');
  });

  test('a rejected import rolls back everything, whichever way the index is kept: no records, no terms, the index as before', async () => {
    for (const rebuildIndexUpTo of [undefined, 0]) {
      const records = await countRecords();
      const terms = await countTerms();
      const seen = new Set<ImportProgress['phase']>();
      await assert.rejects(
        importRecords(t.ctx, operator, 'contacts', rowsOf(csvOf('rb', 60, 57)), (p) => seen.add(p.phase), rebuildIndexUpTo === undefined ? {} : { rebuildIndexUpTo }),
        (e: unknown) => e instanceof AppError && e.code === 'import.invalid' && JSON.stringify(e.details).includes('"line":59'),
      );
      assert.deepEqual([...seen], [], 'a rejected file reaches none of the steps after the rows');
      assert.equal(await countRecords(), records);
      assert.equal(await countTerms(), terms);
      assert.ok(await indexExists(), 'the search index is still there');
      assert.deepEqual(await find([{ field: 'email', op: 'exact', value: 'rb3@index-test.example.jp' }]), []);
    }
  });
});

describe('audit sequencer', () => {
  test('integrates every event with contiguous indexes and the RFC 6962 root of their bytes', async () => {
    const seq = await integrateAll(t.ctx);
    const rows = (await sql<{ log_index: number; payload: string; leaf_hash: Buffer }>`SELECT log_index, payload, leaf_hash FROM audit_events ORDER BY log_index`.execute(t.ctx.db)).rows;
    assert.ok(rows.length > 5);
    assert.equal(seq.treeSize, rows.length);
    rows.forEach((r, i) => {
      assert.equal(Number(r.log_index), i);
      assert.deepEqual(Buffer.from(r.leaf_hash), leafHash(Buffer.from(r.payload, 'utf8')));
    });
    assert.deepEqual(seq.root, merkleRoot(rows.map((r) => leafHash(Buffer.from(r.payload, 'utf8')))));
    const pending = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_pending`.execute(t.ctx.db)).rows[0]!.n;
    assert.equal(pending, 0);
  });

  test('the searchable columns are derived from the hashed bytes and cannot be changed afterwards', async () => {
    const rows = (await sql<{ at: Date; actor_user_id: string | null; action: string; dataset_id: string | null; record_ids: string[]; decision: string; payload: string }>`
      SELECT at, actor_user_id, action, dataset_id, record_ids, decision, payload FROM audit_events ORDER BY log_index`.execute(t.ctx.db)).rows;
    assert.ok(rows.some((r) => r.record_ids.length > 0), 'some events name records');
    for (const row of rows) {
      const event = JSON.parse(row.payload);
      assert.equal(new Date(row.at).toISOString(), event.at);
      assert.equal(row.actor_user_id, event.actor.user);
      assert.equal(row.action, event.action);
      assert.equal(row.dataset_id, event.dataset);
      assert.deepEqual(row.record_ids, Array.isArray(event.records) ? event.records : []);
      assert.equal(row.decision, event.decision);
    }
    await assert.rejects(sql`UPDATE audit_events SET action = 'forged', decision = 'deny' WHERE log_index = 0`.execute(t.ctx.db), /append-only/);
  });
});
