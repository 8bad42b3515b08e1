/**
 * A database from before migration 0010, holding records and search terms, upgraded by migrate():
 * - 0010 and 0019: every term row keyed by (dataset_id, field name) becomes one keyed by
 *   record_term(the field's integer id, the same term bytes) for the same record, and the new code's
 *   search terms find the converted rows;
 * - 0020: records' public values, stored as jsonb, read back the same from the json column;
 * - 0021: records keyed by (dataset_id, id), their only index;
 * - 0022: each dataset a block of field ids and a partition of record_terms, every term moved into its
 *   dataset's partition under the renumbered field id.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { RecordCodec } from '../src/modules/vault/vault.codec.ts';
import { DatasetKeys, keyAad } from '../src/modules/vault/vault.keys.ts';
import { normalizeForIndex, normalizePrefix } from '../src/modules/vault/vault.normalize.ts';
import { blindIndex, deriveFieldKey } from '../src/platform/crypto/blind-index.ts';
import { wrapDataKey } from '../src/platform/crypto/envelope.ts';
import { keyringFromBase64 } from '../src/platform/crypto/keyring.ts';
import { openDatabase, type Database } from '../src/platform/db/database.ts';
import { migrate } from '../src/platform/db/migrate.ts';
import { newId } from '../src/platform/ids.ts';
import { createServerDatabase } from './support/database.ts';

const MIGRATIONS = path.join(path.dirname(fileURLToPath(import.meta.url)), '../src/platform/db/migrations');
const DATASET = newId();
const OTHER = newId();
const RECORDS = [newId(), newId(), newId()];
const keyring = keyringFromBase64(randomBytes(32).toString('base64'));
const indexKey = randomBytes(32);

let database: Database;
let dropDatabase: () => Promise<void> = async () => undefined;

/** A database with the migrations before 0010 applied, exactly as migrate() would have recorded them. */
async function openOldDatabase(): Promise<Database> {
  const adminUrl = process.env.DATABASE_URL;
  let db: Database;
  if (!adminUrl) db = await openDatabase({ databaseUrl: null });
  else {
    const server = await createServerDatabase(adminUrl, 'mamori_t');
    db = await openDatabase({ databaseUrl: server.url, poolSize: 2 });
    dropDatabase = server.drop;
  }
  await sql`CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`.execute(db.db);
  for (const file of (await readdir(MIGRATIONS)).filter((f) => /^\d{4}_.+\.sql$/.test(f) && f < '0010').sort()) {
    const text = await readFile(path.join(MIGRATIONS, file), 'utf8');
    await sql.raw(text).execute(db.db);
    await sql`INSERT INTO schema_migrations (name, checksum) VALUES (${file}, ${createHash('sha256').update(text).digest('hex')})`.execute(db.db);
  }
  return db;
}

before(async () => {
  database = await openOldDatabase();
  const db = database.db;
  const now = new Date();
  const owner = newId();
  await sql`INSERT INTO users (id, login, display_name, employment_type, created_at, updated_at) VALUES (${owner}, 'owner', 'Owner', 'employee', ${now}, ${now})`.execute(db);
  for (const [id, name] of [[DATASET, 'contacts'], [OTHER, 'other']] as const) {
    await sql`INSERT INTO datasets (id, name, label_ja, label_en, owner_user_id, purposes, created_at, updated_at) VALUES (${id}, ${name}, ${name}, ${name}, ${owner}, ${['営業活動']}, ${now}, ${now})`.execute(db);
    let position = 0;
    for (const [field, classification, search, kind] of [['company_name', 'public', 'prefix', 'text'], ['email', 'personal', 'exact', 'email']] as const) {
      await sql`INSERT INTO dataset_fields (dataset_id, name, position, label_ja, label_en, classification, kind, search)
        VALUES (${id}, ${field}, ${position++}, ${field}, ${field}, ${classification}, ${kind}, ${search})`.execute(db);
    }
  }
  for (const [purpose, key] of [['data', randomBytes(32)], ['index', indexKey]] as const) {
    const keyId = `${purpose}-1`;
    const w = wrapDataKey(keyring, key, keyAad(DATASET, purpose, keyId));
    await sql`INSERT INTO dataset_keys (dataset_id, key_id, purpose, master_key_id, wrapped, active, created_at) VALUES (${DATASET}, ${keyId}, ${purpose}, ${w.masterKeyId}, ${w.wrapped}, true, ${now})`.execute(db);
  }
  // Terms as the code before 0010 stored them: (dataset_id, field name, term, record_id).
  for (const [i, id] of RECORDS.entries()) {
    const email = blindIndex(deriveFieldKey(indexKey, 'email'), normalizeForIndex('email', `person${i}@example.jp`));
    const company = Buffer.from(normalizePrefix(`移行テスト${i}株式会社`), 'utf8');
    await sql`INSERT INTO record_terms (dataset_id, field, term, record_id) VALUES (${DATASET}, 'email', ${email}, ${id}), (${DATASET}, 'company_name', ${company}, ${id}), (${OTHER}, 'email', ${email}, ${id})`.execute(db);
    await sql`INSERT INTO records (id, dataset_id, public, created_at, updated_at) VALUES (${id}, ${DATASET}, ${JSON.stringify(publicOf(i))}::jsonb, ${now}, ${now})`.execute(db);
  }
});

/** A record's public values in the old database: Japanese text, a quote and a backslash, keys out of jsonb's order. */
function publicOf(i: number): Record<string, string> {
  return { company_name: `移行テスト${i}株式会社`, a: `"引用" \\ ${i}`, prefecture: '東京都' };
}

after(async () => {
  await database.close();
  await dropDatabase();
});

test('0010 and 0019 key existing terms by field id and term bytes, and the new search terms find them', async () => {
  const db = database.db;
  const old = (await sql<{ dataset_id: string; field: string; term: Buffer; record_id: string }>`SELECT dataset_id, field, term, record_id FROM record_terms`.execute(db)).rows;
  assert.equal(old.length, 9);
  const applied = await migrate(database);
  assert.ok(applied.includes('0010_record_terms_field_ids.sql') && applied.includes('0019_record_terms_keyed.sql'));

  const fields = await db.selectFrom('dataset_fields').select(['dataset_id', 'name', 'term_field']).execute();
  assert.equal(new Set(fields.map((f) => f.term_field)).size, fields.length, 'field ids are unique across datasets');
  const idOf = new Map(fields.map((f) => [`${f.dataset_id}/${f.name}`, f.term_field]));
  const converted = (await sql<{ term: Buffer; record_id: string }>`SELECT term, record_id FROM record_terms`.execute(db)).rows;
  // The key: the field id, four bytes big-endian, then the term's bytes as they were.
  const keyOf = (f: number, t: Buffer) => {
    const id = Buffer.alloc(4);
    id.writeInt32BE(f);
    return Buffer.concat([id, t]).toString('hex');
  };
  assert.deepEqual(
    converted.map((r) => `${r.term.toString('hex')}/${r.record_id}`).sort(),
    old.map((r) => `${keyOf(idOf.get(`${r.dataset_id}/${r.field}`)!, r.term)}/${r.record_id}`).sort(),
  );

  // The codec of the upgraded code derives the same terms under the new field ids.
  const fieldRows = await db.selectFrom('dataset_fields').selectAll().where('dataset_id', '=', DATASET).orderBy('position').execute();
  const keys = DatasetKeys.fromRows(keyring, DATASET, await db.selectFrom('dataset_keys').select(['key_id', 'purpose', 'master_key_id', 'wrapped', 'active']).where('dataset_id', '=', DATASET).execute());
  const view = {
    id: DATASET, name: 'contacts', labelJa: '', labelEn: '', description: '', ownerUserId: '', departmentId: null, purposes: [], source: '', storageLocation: 'JP', vdiOnly: false, createdAt: '', version: 1,
    fields: fieldRows.map((f) => ({ name: f.name, position: f.position, labelJa: f.label_ja, labelEn: f.label_en, classification: f.classification as 'public', kind: f.kind as 'text', search: f.search as 'exact' })),
  };
  const codec = new RecordCodec(view, keys, new Map(fieldRows.map((f) => [f.name, f.term_field])));
  const lookup = async (field: string, op: 'exact' | 'prefix', value: string) => {
    const t = codec.termFor(field, op, value)!;
    const rows = op === 'exact'
      ? await sql<{ record_id: string }>`SELECT record_id FROM record_terms WHERE term = record_term(${t.field}, ${t.term}) ORDER BY record_id`.execute(db)
      : await sql<{ record_id: string }>`SELECT record_id FROM record_terms WHERE term >= record_term(${t.field}, ${t.term}) AND term < record_term(${t.field}, ${Buffer.concat([t.term, Buffer.from([0xff])])}) ORDER BY record_id`.execute(db);
    return rows.rows.map((r) => r.record_id);
  };
  assert.deepEqual(await lookup('email', 'exact', 'PERSON1@example.jp'), [RECORDS[1]], 'only the record of this dataset, not the other one');
  assert.deepEqual(await lookup('company_name', 'prefix', '移行テスト'), [...RECORDS].sort());
  const index = await sql<{ def: string }>`SELECT indexdef AS def FROM pg_indexes WHERE indexname = 'record_terms_lookup_idx'`.execute(db);
  assert.match(index.rows[0]!.def, /\(term, record_id\)/);
});

test('0020 keeps every record\'s public values, now in a json column', async () => {
  const db = database.db;
  await migrate(database); // a no-op when the test above has run
  const rows = (await sql<{ id: string; public: Record<string, string>; type: string }>`SELECT id, public, pg_typeof(public)::text AS type FROM records ORDER BY id`.execute(db)).rows;
  assert.deepEqual(rows.map((r) => r.type), RECORDS.map(() => 'json'));
  assert.deepEqual(
    rows.map((r) => [r.id, r.public]),
    [...RECORDS.entries()].map(([i, id]) => [id, publicOf(i)]).sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
  );
});

test('0021 keys records by (dataset_id, id) with one index, keeping every record', async () => {
  const db = database.db;
  await migrate(database); // a no-op when the tests above have run
  const indexes = (await sql<{ name: string; def: string }>`SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE tablename = 'records' ORDER BY 1`.execute(db)).rows;
  assert.deepEqual(indexes.map((i) => i.name), ['records_pkey']);
  assert.match(indexes[0]!.def, /UNIQUE INDEX records_pkey ON (public\.)?records USING btree \(dataset_id, id\)/);
  const kept = (await sql<{ id: string }>`SELECT id FROM records WHERE dataset_id = ${DATASET} ORDER BY id`.execute(db)).rows;
  assert.deepEqual(kept.map((r) => r.id), [...RECORDS].sort());
  // The pair stays unique, and nothing is written by a statement that breaks it.
  const now = new Date();
  await assert.rejects(
    sql`INSERT INTO records (id, dataset_id, public, created_at, updated_at) VALUES (${newId()}, ${DATASET}, '{}', ${now}, ${now}), (${RECORDS[0]}, ${DATASET}, '{}', ${now}, ${now})`.execute(db),
    (e: Error & { code?: string }) => e.code === '23505',
  );
  assert.equal((await sql<{ n: number }>`SELECT count(*)::int AS n FROM records`.execute(db)).rows[0]!.n, RECORDS.length);
});

test('0022 renumbers each dataset\'s fields within its block and moves every term into its dataset\'s partition', async () => {
  const db = database.db;
  await migrate(database); // a no-op when the tests above have run
  const datasets = (await sql<{ id: string; term_block: number }>`SELECT id, term_block FROM datasets ORDER BY created_at, id`.execute(db)).rows;
  assert.equal(new Set(datasets.map((d) => d.term_block)).size, 2);
  const fields = (await sql<{ dataset_id: string; name: string; position: number; term_field: number }>`SELECT dataset_id, name, position, term_field FROM dataset_fields`.execute(db)).rows;
  for (const f of fields) assert.equal(f.term_field, datasets.find((d) => d.id === f.dataset_id)!.term_block * 256 + f.position);
  // Each term in the partition of the dataset its field belongs to (the 9 terms of before 0010: six of DATASET, three of OTHER).
  const placed = (await sql<{ partition: string; field: number; n: number }>`
    SELECT tableoid::regclass::text AS partition, ('x' || encode(substring(term FOR 4), 'hex'))::bit(32)::int AS field, count(*)::int AS n
    FROM record_terms GROUP BY 1, 2 ORDER BY 1, 2`.execute(db)).rows;
  const expected = [[DATASET, 'email'], [DATASET, 'company_name'], [OTHER, 'email']].map(([d, name]) => {
    const f = fields.find((x) => x.dataset_id === d && x.name === name)!;
    return { partition: `record_terms_${datasets.find((x) => x.id === d)!.term_block}`, field: f.term_field, n: RECORDS.length };
  });
  assert.deepEqual(placed, expected.sort((a, b) => a.partition.localeCompare(b.partition) || a.field - b.field));
});
