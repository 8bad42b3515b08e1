/**
 * `copyOutAll` (platform/db/copy-out.ts), the reader of audit verification and the export, over COPYs
 * large enough to arrive in hundreds of socket reads on PostgreSQL — where the reader pauses between
 * reads that drained the socket — and on PGlite: every row's bytes exactly, the connection usable
 * right after (in the same transaction), several COPYs at once on the pool, and an error in the middle
 * of a COPY reported with the connection still usable.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { copyOutAll } from '../src/platform/db/copy-out.ts';
import { openTestDatabase, type TestDatabase } from './support/database.ts';

let database: TestDatabase;
before(async () => {
  database = await openTestDatabase();
});
after(async () => {
  await database.drop();
});

const ROWS = 40_000;
/** Row i: i and a payload of 32 × (i mod 7 + 1) hex characters (32–224 bytes; ~5 MB in all). */
const statement = (rows: number, failAt = 0) => `COPY (SELECT i, repeat(md5(i::text), i % 7 + 1) AS payload${failAt ? `, 1 / (i - ${failAt}) AS boom` : ''}
  FROM generate_series(1, ${rows}) AS i ORDER BY i) TO STDOUT (FORMAT binary)`;
const expected = (i: number) => createHash('md5').update(String(i)).digest('hex').repeat((i % 7) + 1);

/** The rows of a binary COPY of (int4, text), checked field by field. */
function rows(b: Buffer): { i: number; payload: string }[] {
  assert.equal(b.subarray(0, 11).toString('latin1'), 'PGCOPY\n\xff\r\n\0', 'binary COPY signature');
  let p = 19 + b.readInt32BE(15);
  const out: { i: number; payload: string }[] = [];
  for (;;) {
    const fields = b.readInt16BE(p);
    p += 2;
    if (fields === -1) break;
    assert.equal(fields, 2);
    assert.equal(b.readInt32BE(p), 4);
    const i = b.readInt32BE(p + 4);
    const n = b.readInt32BE(p + 8);
    out.push({ i, payload: b.toString('utf8', p + 12, p + 12 + n) });
    p += 12 + n;
  }
  assert.equal(p, b.length, 'nothing after the trailer');
  return out;
}

function assertAllRows(b: Buffer, count: number): void {
  const got = rows(b);
  assert.equal(got.length, count);
  for (let k = 0; k < count; k++) {
    const r = got[k]!;
    if (r.i !== k + 1 || r.payload !== expected(k + 1)) assert.fail(`row ${k + 1} differs: ${r.i} ${r.payload.slice(0, 40)}`);
  }
}

test('a COPY of many socket reads arrives whole, and its connection goes on in the same transaction', async () => {
  const after = await database.db.transaction().execute(async (trx) => {
    await sql`CREATE TEMP TABLE copy_probe (n int) ON COMMIT DROP`.execute(trx);
    await sql`INSERT INTO copy_probe VALUES (7)`.execute(trx);
    const bytes = await copyOutAll(trx, statement(ROWS));
    assert.ok(bytes.length > 4 << 20, `a COPY of ${bytes.length} bytes`);
    assertAllRows(bytes, ROWS);
    // The same connection, right after: the temp table exists only in this transaction.
    return (await sql<{ n: number }>`SELECT n FROM copy_probe`.execute(trx)).rows[0]?.n;
  });
  assert.equal(after, 7);
});

test('several COPYs at once on the pool each get their own rows', async () => {
  const sizes = [ROWS, 5_000, ROWS / 2, 1];
  const results = await Promise.all(sizes.map((n) => copyOutAll(database.db, statement(n))));
  results.forEach((b, k) => assertAllRows(b, sizes[k]!));
});

test('an error in the middle of a COPY rejects it, and the connection is usable after', async () => {
  // One connection throughout: the failed COPY, then a statement and a COPY on it.
  await database.db.connection().execute(async (conn) => {
    await assert.rejects(copyOutAll(conn, statement(ROWS, 30_000)), /division by zero/);
    assert.equal((await sql<{ one: number }>`SELECT 1 AS one`.execute(conn)).rows[0]?.one, 1);
    assertAllRows(await copyOutAll(conn, statement(ROWS)), ROWS);
  });
  const ok = await Promise.all(Array.from({ length: 4 }, () => copyOutAll(database.db, statement(2_000))));
  for (const b of ok) assertAllRows(b, 2_000);
});
