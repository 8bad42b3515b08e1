/**
 * Search terms partitioned by dataset (migration 0022, ADR 0021):
 * - each dataset's field ids lie in its own block and its terms in its own partition, which holds
 *   nothing else;
 * - an import that rebuilds the index builds a new table for its dataset and swaps it in for the
 *   partition at the end; another dataset's partition is not touched, and a rejected import leaves
 *   nothing behind;
 * - while its rows stream in, searches and writes in every dataset go on; at its end it waits for the
 *   writes in its dataset under way and carries them into the new partition (later ones — a new
 *   record, a change, a deletion — wait for it);
 * - imports into one dataset take turns, and one into another dataset does not wait for them;
 * - when the swap cannot have its lock, the terms go into the partition instead, and the operator is
 *   told in the log (with no value of the records).
 *   (On PostgreSQL the import and the others run on their own connections at the same time. The
 *   embedded PGlite is one connection: there every transaction runs after the one before, so these
 *   run after the import and check the same outcome.)
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import pg from 'pg';
import { sql } from 'kysely';
import { systemActor } from '../src/modules/identity/index.ts';
import { createDataset, importRecords, type ImportOptions } from '../src/modules/vault/index.ts';
import { splitDelimited } from '../src/modules/vault/vault.import-csv.ts';
import { splitImportBatches, type ImportBatch } from '../src/modules/vault/vault.import-parse.ts';
import { AppError } from '../src/platform/errors.ts';
import { createLogger } from '../src/platform/logger.ts';
import { signIn, startTestApp, type Session, type TestApp } from './support/app.ts';
import { deadline } from './support/deadline.ts';

let t: TestApp;
let handler: Session;
const system = systemActor({ ip: '127.0.0.1', userAgent: 'test', deviceId: null });
const PURPOSE = 'データ整備';
const CONTACTS_HEADER = 'corporate_number,company_name,prefecture,person_name,person_name_kana,email,direct_phone,mobile_phone';

const contactsCsv = (tag: string, n: number) =>
  [CONTACTS_HEADER, ...Array.from({ length: n }, (_, i) =>
    `7000012050002,区画${tag}${i}株式会社,大阪府,区画 ${tag}${i},クカク タロウ,${tag}${i}@contacts.example.jp,06-5555-${1000 + i},080-5555-${1000 + i}`)].join('\n');
const clientsCsv = (tag: string, n: number, bad?: number) =>
  ['company_name,email,person_name', ...Array.from({ length: n }, (_, i) =>
    `委託${tag}${i}株式会社,${i === bad ? 'not-an-address' : `${tag}${i}@clients.example.jp`},委託 ${tag}${i}`)].join('\n');
const rowsOf = (csv: string) => () => splitImportBatches(Readable.from([Buffer.from(csv)]), 'csv', {});

const blockOf = async (dataset: string) =>
  (await t.ctx.db.selectFrom('datasets').select('term_block').where('name', '=', dataset).executeTakeFirstOrThrow()).term_block;
const partitionOid = async (dataset: string) =>
  (await sql<{ oid: number }>`SELECT ${`record_terms_${await blockOf(dataset)}`}::regclass::oid::int AS oid`.execute(t.ctx.db)).rows[0]!.oid;
/** The partition's terms, as one sorted list (to see that nothing in it changed). */
const termsOf = async (dataset: string) =>
  (await sql<{ k: string }>`SELECT encode(term, 'hex') || '/' || record_id AS k FROM ${sql.table(`record_terms_${await blockOf(dataset)}`)} ORDER BY 1`.execute(t.ctx.db)).rows.map((r) => r.k);

async function find(dataset: string, field: string, value: string, op: 'exact' | 'prefix' = 'exact'): Promise<number> {
  const r = await handler.request('POST', `/api/datasets/${dataset}/records/search`, { purpose: PURPOSE, criteria: [{ field, op, value }], limit: 100 });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json.records.length;
}

before(async () => {
  t = await startTestApp({ demoContacts: 0 });
  await createDataset(t.ctx, system, {
    name: 'clients', labelJa: '受託データ', labelEn: 'Entrusted data', ownerUserId: (await t.ctx.db.selectFrom('users').select('id').where('login', '=', 'owner').executeTakeFirstOrThrow()).id,
    purposes: [PURPOSE],
    fields: [
      { name: 'company_name', labelJa: '会社名', labelEn: 'Company', classification: 'public', kind: 'text', search: 'prefix' },
      { name: 'email', labelJa: 'メール', labelEn: 'E-mail', classification: 'personal', kind: 'email', search: 'exact' },
      { name: 'person_name', labelJa: '氏名', labelEn: 'Name', classification: 'personal', kind: 'name', search: 'exact' },
    ],
  });
  const cpo = await signIn(t, 'cpo');
  handler = await signIn(t, 'handler');
  const users = await cpo.request('GET', '/api/users?limit=100');
  const h = users.json.users.find((x: { login: string }) => x.login === 'handler');
  const owner = await signIn(t, 'owner');
  for (const [dataset, fields] of [['contacts', ['company_name', 'email']], ['clients', ['company_name', 'email', 'person_name']]] as const) {
    const g = await owner.request('POST', `/api/datasets/${dataset}/grants`, {
      subjectType: 'user', subjectId: h.id, fields, purposes: [PURPOSE], canWrite: true, validUntil: '2027-01-31T00:00:00Z', reason: 'partition test',
    });
    assert.equal(g.status, 201, JSON.stringify(g.json));
  }
});
after(async () => t.close());

test('each dataset has its block of field ids and a partition of record_terms that holds only its terms', async () => {
  const datasets = await t.ctx.db.selectFrom('datasets').select(['id', 'name', 'term_block']).execute();
  assert.equal(new Set(datasets.map((d) => d.term_block)).size, datasets.length, 'blocks are distinct');
  for (const d of datasets) {
    const fields = await t.ctx.db.selectFrom('dataset_fields').select(['position', 'term_field']).where('dataset_id', '=', d.id).execute();
    for (const f of fields) assert.equal(f.term_field, d.term_block * 256 + f.position, `${d.name}: field id = block × 256 + position`);
  }
  const partitions = (await sql<{ name: string; bound: string }>`
    SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'record_terms'::regclass ORDER BY 1`.execute(t.ctx.db)).rows;
  const hex = (n: number) => Buffer.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]).toString('hex');
  assert.deepEqual(partitions, datasets.map((d) => ({
    name: `record_terms_${d.term_block}`,
    bound: `FOR VALUES FROM ('\\x${hex(d.term_block * 256)}') TO ('\\x${hex((d.term_block + 1) * 256)}')`,
  })).sort((a, b) => a.name.localeCompare(b.name)));

  // A term goes to its field's dataset, and nowhere else: not into another dataset's partition, not
  // into record_terms at all when no dataset has the field.
  const contactsField = (await t.ctx.db.selectFrom('dataset_fields').select('term_field').where('name', '=', 'email')
    .where('dataset_id', '=', datasets.find((d) => d.name === 'contacts')!.id).executeTakeFirstOrThrow()).term_field;
  const id = '01900000-0000-7000-8000-000000000001';
  await assert.rejects(sql`INSERT INTO ${sql.table(`record_terms_${await blockOf('clients')}`)} VALUES (record_term(${contactsField}, '\\x01'), ${id})`.execute(t.ctx.db),
    (e: Error & { code?: string }) => e.code === '23514');
  await assert.rejects(sql`INSERT INTO record_terms VALUES (record_term(${Math.max(...datasets.map((d) => d.term_block)) * 256 + 256}, '\\x01'), ${id})`.execute(t.ctx.db),
    (e: Error & { code?: string }) => e.code === '23514');
  // At most 200 fields: a dataset's fields are numbered within its block of 256.
  await assert.rejects(createDataset(t.ctx, system, {
    name: 'too_wide', labelJa: '広すぎる', labelEn: 'Too wide', ownerUserId: (await t.ctx.db.selectFrom('users').select('id').where('login', '=', 'owner').executeTakeFirstOrThrow()).id,
    purposes: [PURPOSE], fields: Array.from({ length: 201 }, (_, i) => ({ name: `f${i}`, labelJa: 'f', labelEn: 'f', classification: 'public' as const, kind: 'text' as const, search: 'none' as const })),
  }), (e: unknown) => e instanceof AppError && e.code === 'request.invalid');
  assert.equal((await t.ctx.db.selectFrom('datasets').select('id').where('name', '=', 'too_wide').execute()).length, 0);
  // The block is the dataset's for good.
  await assert.rejects(sql`UPDATE datasets SET term_block = term_block + 100 WHERE name = 'clients'`.execute(t.ctx.db), /term block never changes/);
});

test('an import rebuilds its own dataset\'s partition and no other; a rejected one leaves nothing behind', async () => {
  await importRecords(t.ctx, system, 'contacts', rowsOf(contactsCsv('a', 20)));
  const contactsTerms = await termsOf('contacts');
  const contactsOid = await partitionOid('contacts');
  const clientsOid = await partitionOid('clients');

  await importRecords(t.ctx, system, 'clients', rowsOf(clientsCsv('a', 20)));
  assert.notEqual(await partitionOid('clients'), clientsOid, 'the new table replaced the partition of the dataset imported into');
  assert.equal(await partitionOid('contacts'), contactsOid, 'the other dataset\'s partition is the same table');
  assert.deepEqual(await termsOf('contacts'), contactsTerms, 'holding the same terms');
  assert.equal((await termsOf('clients')).length, 20 * 3);
  assert.equal(await find('clients', 'email', 'A7@clients.example.jp'), 1);
  assert.equal(await find('clients', 'company_name', '委託a1', 'prefix'), 11);
  assert.equal(await find('contacts', 'email', 'a7@contacts.example.jp'), 1);

  // Again into the same dataset: its existing terms are carried into the new table.
  await importRecords(t.ctx, system, 'clients', rowsOf(clientsCsv('b', 5)));
  assert.equal((await termsOf('clients')).length, 25 * 3);
  assert.equal(await find('clients', 'email', 'a19@clients.example.jp'), 1);
  assert.equal(await find('clients', 'person_name', '委託b4'), 1);

  // Maintained instead (the partition counts as large): the same table, the terms inserted into it.
  const maintained = await partitionOid('clients');
  await importRecords(t.ctx, system, 'clients', rowsOf(clientsCsv('c', 5)), undefined, { rebuildIndexUpTo: 0, rebuildRatio: 0 });
  assert.equal(await partitionOid('clients'), maintained);
  assert.equal(await find('clients', 'email', 'c2@clients.example.jp'), 1);

  const before = await termsOf('clients');
  await assert.rejects(importRecords(t.ctx, system, 'clients', rowsOf(clientsCsv('d', 30, 17))), (e: unknown) => e instanceof AppError && e.code === 'import.invalid');
  assert.equal(await partitionOid('clients'), maintained, 'a rejected import leaves the partition in place');
  assert.deepEqual(await termsOf('clients'), before);
  const tables = (await sql<{ n: string }>`SELECT relname AS n FROM pg_class WHERE relname LIKE 'record\\_terms\\_%\\_load%'`.execute(t.ctx.db)).rows;
  assert.deepEqual(tables, [], 'and no table of its own');

  // One index a partition, each a partition of record_terms_lookup_idx.
  const indexes = (await sql<{ n: number; attached: number }>`
    SELECT (SELECT count(*)::int FROM pg_index x JOIN pg_inherits i ON i.inhrelid = x.indrelid WHERE i.inhparent = 'record_terms'::regclass) AS n,
      (SELECT count(*)::int FROM pg_inherits WHERE inhparent = 'record_terms_lookup_idx'::regclass) AS attached`.execute(t.ctx.db)).rows[0]!;
  assert.deepEqual(indexes, { n: 2, attached: 2 });
});

/** A deferred promise. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Advisory lock spaces of vault.bulk.repository.ts (two-int form, keyed by the dataset's term block). */
const IMPORTS = 7285010;
const TERM_WRITERS = 7285011;
type LockMode = 'ExclusiveLock' | 'ShareLock';

/** Polls (on its own connection) until `n` requests of advisory lock (`space`, `key`) in `mode` are waiting. */
async function advisoryWaiters(client: pg.Client, space: number, key: number, mode: LockMode, n: number): Promise<void> {
  for (let i = 0; ; i++) {
    const w = await client.query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid = $1 AND objid = $2 AND mode = $3`, [space, key, mode]);
    if (w.rows[0].n === n) return;
    assert.ok(i < 200, `${n} request(s) of ${mode} on advisory lock (${space}, ${key}) are waited for (${w.rows[0].n} are)`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The rows of `csv`, the first batch at once and the others once `gate` opens (`reached` resolves when the import waits there). */
function pausedRows(csv: string, reached: () => void, gate: Promise<void>) {
  return async function* (): AsyncIterable<ImportBatch> {
    let first = true;
    for await (const batch of splitDelimited((async function* () { yield csv; })(), ',', { maxFieldLength: 1000, maxColumns: 20 }, 10)) {
      yield batch;
      if (first) {
        first = false;
        reached();
        await gate;
      }
    }
  };
}

test('while an import runs, searches and writes go on; at its end, writes in its dataset wait until the new partition is in', async () => {
  const concurrent = t.database.url !== null;
  const clientsOid = await partitionOid('clients');
  const block = await blockOf('clients');
  const field = (await t.ctx.db.selectFrom('dataset_fields as f').innerJoin('datasets as d', 'd.id', 'f.dataset_id').select('f.term_field')
    .where('d.name', '=', 'clients').where('f.name', '=', 'company_name').executeTakeFirstOrThrow()).term_field;
  const heldTerm = Buffer.from('保留中の書き込み', 'utf8');
  const heldRecord = '01900000-0000-7000-8000-0000000000ff';
  const reached = deferred();
  const gate = deferred();
  if (!concurrent) gate.resolve();
  const ids: string[] = [];
  const importing = importRecords(t.ctx, system, 'clients', pausedRows(clientsCsv('p', 40), reached.resolve, gate.promise));
  const write = (dataset: string, email: string) =>
    handler.request('POST', `/api/datasets/${dataset}/records`, { values: { company_name: '並行株式会社', email } });
  const update = (id: string, email: string) => handler.request('PATCH', `/api/datasets/clients/records/${id}`, { values: { email } });
  const remove = (id: string) => handler.request('DELETE', `/api/datasets/clients/records/${id}`);
  const waitingFor = (client: pg.Client, mode: LockMode, n = 1) => advisoryWaiters(client, TERM_WRITERS, block, mode, n);
  if (concurrent) {
    const writer = new pg.Client({ connectionString: t.database.url! });
    const watcher = new pg.Client({ connectionString: t.database.url! });
    await Promise.all([writer.connect(), watcher.connect()]);
    try {
      await reached.promise;
      const within = <T>(p: Promise<T>, what: string) => deadline(p, 10_000, () => {
        throw new Error(`${what} waited for the import`);
      });
      // While the rows stream in, nobody waits: searches in both datasets, writes in both.
      assert.equal(await within(find('contacts', 'email', 'a3@contacts.example.jp'), 'a search in another dataset'), 1);
      assert.equal(await within(find('clients', 'email', 'a3@clients.example.jp'), 'a search in the dataset being imported into'), 1);
      assert.equal((await within(write('contacts', 'during@contacts.example.jp'), 'a write in another dataset')).status, 201);
      const during = await within(write('clients', 'during@clients.example.jp'), 'a write in the dataset being imported into');
      assert.equal(during.status, 201);
      const doomed = await within(write('clients', 'doomed@clients.example.jp'), 'a write in the dataset being imported into');
      assert.equal(doomed.status, 201);
      ids.push(during.json.id, doomed.json.id);
      // A write in the dataset still open when the import reaches its end: the import waits for it
      // before it copies the partition, and the write's term is carried into the new partition.
      await writer.query('BEGIN');
      await writer.query('SELECT pg_advisory_xact_lock_shared($1, $2)', [TERM_WRITERS, block]);
      await writer.query('INSERT INTO record_terms (term, record_id) VALUES (record_term($1, $2), $3)', [field, heldTerm, heldRecord]);
      gate.resolve();
      await waitingFor(watcher, 'ExclusiveLock');
      // Writes that come now (a new record, a change, a deletion) wait behind the import until it commits.
      const queued = [write('clients', 'queued@clients.example.jp'), update(ids[0]!, 'moved@clients.example.jp'), remove(ids[1]!)];
      await waitingFor(watcher, 'ShareLock', 3);
      await writer.query('COMMIT');
      assert.equal((await importing).imported, 40);
      assert.deepEqual((await Promise.all(queued)).map((r) => r.status), [201, 200, 200]);
    } finally {
      // Also when an assertion failed, so that the import ends and the test does.
      await writer.query('ROLLBACK'); // (after the COMMIT, nothing to roll back)
      gate.resolve();
      await importing.catch(() => undefined);
      await Promise.all([writer.end(), watcher.end()]);
    }
  } else {
    assert.equal((await importing).imported, 40);
    assert.equal((await write('contacts', 'during@contacts.example.jp')).status, 201);
    for (const email of ['during@clients.example.jp', 'doomed@clients.example.jp']) {
      const r = await write('clients', email);
      assert.equal(r.status, 201);
      ids.push(r.json.id);
    }
    assert.equal((await write('clients', 'queued@clients.example.jp')).status, 201);
    assert.equal((await update(ids[0]!, 'moved@clients.example.jp')).status, 200);
    assert.equal((await remove(ids[1]!)).status, 200);
    await sql`INSERT INTO record_terms (term, record_id) VALUES (record_term(${field}, ${heldTerm}), ${heldRecord})`.execute(t.ctx.db);
  }
  assert.notEqual(await partitionOid('clients'), clientsOid, 'the import swapped its table in');
  assert.equal(await find('clients', 'email', 'moved@clients.example.jp'), 1, 'the record written during the import is in the new partition, with the change that waited for it');
  assert.equal(await find('clients', 'email', 'during@clients.example.jp'), 0, 'and its old e-mail is gone');
  assert.equal(await find('clients', 'company_name', '並行', 'prefix'), 2, 'the deletion that waited took the record\'s terms with it');
  assert.equal((await sql<{ n: number }>`SELECT count(*)::int AS n FROM record_terms WHERE record_id = ${ids[1]!}`.execute(t.ctx.db)).rows[0]!.n, 0);
  assert.equal(await find('clients', 'email', 'queued@clients.example.jp'), 1, 'and the record that waited for it');
  assert.equal((await sql<{ n: number }>`SELECT count(*)::int AS n FROM record_terms WHERE term = record_term(${field}, ${heldTerm}) AND record_id = ${heldRecord}`.execute(t.ctx.db)).rows[0]!.n, 1,
    'so is the term of the write the import waited for');
  assert.equal(await find('clients', 'email', 'p39@clients.example.jp'), 1);
  assert.equal(await find('contacts', 'email', 'during@contacts.example.jp'), 1);
  await sql`DELETE FROM record_terms WHERE record_id = ${heldRecord}`.execute(t.ctx.db);
});

test('imports into one dataset take turns; an import into another dataset does not wait for them', async () => {
  const concurrent = t.database.url !== null;
  const block = await blockOf('clients');
  const reached = deferred();
  const gate = deferred();
  if (!concurrent) gate.resolve();
  const first = importRecords(t.ctx, system, 'clients', pausedRows(clientsCsv('t', 30), reached.resolve, gate.promise));
  let second: Promise<{ imported: number }>;
  if (concurrent) {
    const watcher = new pg.Client({ connectionString: t.database.url! });
    await watcher.connect();
    try {
      await reached.promise;
      second = importRecords(t.ctx, system, 'clients', rowsOf(clientsCsv('u', 5)));
      // The second waits for the first's turn (seen in pg_locks) before it makes its table of terms.
      await advisoryWaiters(watcher, IMPORTS, block, 'ExclusiveLock', 1);
      const other = importRecords(t.ctx, system, 'contacts', rowsOf(contactsCsv('v', 5)));
      const late = await deadline(other, 10_000, () => null);
      assert.equal(late?.imported, 5, 'an import into another dataset ran meanwhile');
    } finally {
      gate.resolve();
      await watcher.end();
    }
  } else {
    second = importRecords(t.ctx, system, 'clients', rowsOf(clientsCsv('u', 5)));
    assert.equal((await importRecords(t.ctx, system, 'contacts', rowsOf(contactsCsv('v', 5)))).imported, 5);
  }
  assert.equal((await first).imported, 30);
  assert.equal((await second).imported, 5);
  // Whichever ended last rebuilt from a partition holding the other's terms: both are found.
  assert.equal(await find('clients', 'email', 't29@clients.example.jp'), 1);
  assert.equal(await find('clients', 'email', 'u4@clients.example.jp'), 1);
  assert.equal(await find('contacts', 'email', 'v4@contacts.example.jp'), 1);
});

test('when the swap cannot have its lock, the imported terms go into the partition through its index', async () => {
  const options: ImportOptions = { swapAttempts: 2, swapWaitMs: 50 };
  const clientsOid = await partitionOid('clients');
  const termsBefore = (await termsOf('clients')).length;
  // A long reader of record_terms (on PostgreSQL; PGlite's one connection has no other reader).
  const reader = t.database.url ? new pg.Client({ connectionString: t.database.url }) : null;
  if (reader) {
    await reader.connect();
    await reader.query('BEGIN');
    await reader.query('LOCK TABLE ONLY record_terms IN ACCESS SHARE MODE');
  }
  // The import's log, as the operator sees it.
  const lines: string[] = [];
  const logger = t.ctx.logger;
  t.ctx.logger = createLogger('info', new Writable({ write: (chunk: Buffer, _enc, done) => { lines.push(chunk.toString()); done(); } }));
  try {
    await importRecords(t.ctx, system, 'clients', rowsOf(clientsCsv('s', 10)), undefined, options);
  } finally {
    t.ctx.logger = logger;
    if (reader) {
      await reader.query('COMMIT');
      await reader.end();
    }
  }
  const warnings = lines.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level >= 40);
  if (reader) {
    assert.equal(await partitionOid('clients'), clientsOid, 'the partition stayed');
    assert.equal(warnings.length, 1, 'the operator is told the swap fell back');
    assert.match(warnings[0]!.msg, /could not be swapped/);
    assert.doesNotMatch(lines.join(''), /clients\.example\.jp|委託/, 'and the log holds no value of the records');
  } else {
    assert.notEqual(await partitionOid('clients'), clientsOid, 'nothing held the lock: swapped');
    assert.deepEqual(warnings, [], 'and nothing to warn about');
  }
  assert.equal((await termsOf('clients')).length, termsBefore + 10 * 3, 'each term once');
  assert.equal(await find('clients', 'email', 's9@clients.example.jp'), 1);
  assert.equal(await find('clients', 'email', 'p0@clients.example.jp'), 1, 'and the terms it had');
  assert.deepEqual((await sql`SELECT 1 FROM pg_class WHERE relname LIKE 'record\\_terms\\_%\\_load%'`.execute(t.ctx.db)).rows, []);
});
