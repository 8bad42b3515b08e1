/**
 * The verifier's column check (audit.columns.mjs) against the real thing: PostgreSQL derives the
 * columns from each payload with the sequencer's own SQL (DERIVED_COLUMNS), the rows come back as
 * binary COPY bytes, and the scanner must agree with the database on every payload — canonical ones
 * from buildAuditPayload, and odd ones (whitespace, duplicate keys, escapes, nulls, a non-object actor,
 * other time and uuid spellings). It may leave an odd payload undecided (verification then asks the
 * database), never a canonical one, and it must never call a true column false or a changed one true.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { sql } from 'kysely';
import { openTestDatabase, type TestDatabase } from '../../../test/support/database.ts';
import { copyOutAll } from '../../platform/db/copy-out.ts';
import { systemActor, asUserId } from '../identity/index.ts';
import { buildAuditPayload } from './audit.payload.ts';
import { DERIVED_COLUMNS } from './audit.repository.ts';
import { AGREE, DISAGREE, UNDECIDED, compareColumns } from './audit.columns.mjs';

let db: TestDatabase;
before(async () => {
  db = await openTestDatabase();
  await sql`CREATE TABLE cols (n int, payload text, at timestamptz, actor_user_id uuid, action text, dataset_id uuid, record_ids uuid[], decision text)`.execute(db.db);
});
after(async () => db.drop());

const uuid = fc.uuid().map((u) => u.toLowerCase());
const iso = fc.date({ min: new Date('2001-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true });
/** A payload and whether the scanner must decide it (canonical) or may leave it to the database. */
type Case = { text: string; canonical: boolean };

const canonical: fc.Arbitrary<Case> = fc
  .record({
    at: iso, user: fc.option(uuid), action: fc.constantFrom('record.read', 'record.search', 'audit.read', '記録.閲覧'), dataset: fc.option(uuid),
    records: fc.array(uuid, { maxLength: 3 }), decision: fc.constantFrom<'allow' | 'deny'>('allow', 'deny'),
    details: fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer(), fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }))),
  })
  .map((r) => ({
    text: buildAuditPayload({ ...systemActor({ ip: '10.0.0.1', userAgent: 'ua "quoted" \\ back', deviceId: null }), kind: r.user ? 'user' : 'system', userId: r.user ? asUserId(r.user) : null }, r.at, {
      action: r.action as 'record.read', decision: r.decision, rule: 'r', reason: 'a "reason" with {braces} and [brackets]', result: 'ok', datasetId: r.dataset, recordIds: r.records, details: r.details,
    }),
    canonical: true,
  }));

// Hand-made JSON texts around the same fields: other spellings the database accepts.
const odd: fc.Arbitrary<Case> = fc
  .record({
    // Mostly spellings the scanner decides, some it leaves to the database.
    at: fc.oneof(
      { weight: 3, arbitrary: iso.map((d) => `"${d.toISOString()}"`) },
      { weight: 2, arbitrary: iso.map((d) => `"${d.toISOString().slice(0, 19)}Z"`) },
      { weight: 2, arbitrary: iso.map((d) => `"${d.toISOString().slice(0, 23)}456Z"`) },
      { weight: 1, arbitrary: iso.map((d) => `"${d.toISOString().slice(0, 19)}+09:00"`) },
      { weight: 1, arbitrary: iso.map((d) => `"${d.toISOString().replace('T', ' ')}"`) },
      { weight: 1, arbitrary: fc.constant('null') },
    ),
    actor: fc.oneof(
      fc.option(uuid).map((u) => `{"kind": "user", "user": ${u ? `"${u}"` : 'null'}, "mfa": true}`),
      uuid.map((u) => `{"user": "${u.toUpperCase()}"}`),
      uuid.map((u) => `{"user": "${u}", "user": null}`),
      fc.constant('{"kind": "system"}'),
      fc.constant('"nobody"'),
      fc.constant('null'),
    ),
    action: fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom('"record.read"', '"検索"') },
      { weight: 2, arbitrary: fc.constant('null') },
      { weight: 1, arbitrary: fc.constantFrom('"with \\"quote\\""', '"caf\\u00e9"', '42') },
    ),
    dataset: fc.oneof(
      { weight: 4, arbitrary: uuid.map((u) => `"${u}"`) },
      { weight: 2, arbitrary: fc.constant('null') },
      { weight: 1, arbitrary: uuid.map((u) => `"${u.replace(/-/g, '')}"`) },
    ),
    records: fc.oneof(
      fc.array(uuid, { maxLength: 3 }).map((rs) => JSON.stringify(rs)),
      fc.array(uuid, { minLength: 1, maxLength: 2 }).map((rs) => ` [ ${rs.map((r) => `"${r}"`).join(' , ')} ] `),
      fc.constant('"__MAMORI_RECORDS__"'),
      fc.constant('{"a": 1}'),
      fc.constant('null'),
    ),
    decision: fc.constantFrom('"allow"', '"deny"', 'null'),
    tail: fc.constantFrom('', ', "details": {"x": "}{][\\"", "y": [1, {"z": null}]}', ', "decision": "overridden"', ', "records": []'),
    omit: fc.subarray(['at', 'actor', 'action', 'dataset', 'records', 'decision'] as const, { maxLength: 2 }),
    space: fc.constantFrom('', ' ', '\n  '),
  })
  .map((r) => {
    const members = (['at', 'actor', 'action', 'dataset', 'records', 'decision'] as const).filter((k) => !r.omit.includes(k)).map((k) => `${r.space}"${k}"${r.space}:${r.space}${r[k]}`);
    return { text: `{${r.space}"v": 1, ${members.join(',')}${r.tail}${r.space}}`, canonical: false };
  });

/** Derives the columns in the database, changes one column of some rows, and asks the scanner. */
async function run(cases: readonly Case[], mutate: readonly (number | null)[]) {
  await sql`DELETE FROM cols`.execute(db.db);
  await sql`
    INSERT INTO cols (n, payload, at, actor_user_id, action, dataset_id, record_ids, decision)
    SELECT n, payload, ${DERIVED_COLUMNS} FROM (SELECT n::int, payload, payload::jsonb AS j FROM unnest(${cases.map((c) => c.text)}::text[]) WITH ORDINALITY AS u(payload, n) OFFSET 0) p`.execute(db.db);
  const changes = [
    sql`at = at + interval '1 millisecond'`,
    sql`actor_user_id = CASE WHEN actor_user_id IS NULL THEN '0190a4c8-0000-7000-8000-000000000001'::uuid ELSE NULL END`,
    sql`action = coalesce(action, '') || 'x'`,
    sql`dataset_id = '0190a4c8-0000-7000-8000-0000000000ff'::uuid`,
    sql`record_ids = record_ids || '0190a4c8-0000-7000-8000-0000000000ee'::uuid`,
    sql`decision = CASE WHEN decision = 'allow' THEN 'deny' ELSE 'allow' END`,
  ];
  for (const [k, change] of changes.entries()) {
    const rows = mutate.flatMap((m, i) => (m === k ? [i + 1] : []));
    if (rows.length > 0) await sql`UPDATE cols SET ${change} WHERE n = ANY(${rows}::int[])`.execute(db.db);
  }
  // Which rows really differ from the derivation now (the change may be a no-op, e.g. dataset already that uuid).
  const differs = new Set((await sql<{ n: number }>`
    SELECT c.n FROM (SELECT *, payload::jsonb AS j FROM cols OFFSET 0) c, LATERAL (SELECT ${DERIVED_COLUMNS}) AS d(at, actor_user_id, action, dataset_id, record_ids, decision)
    WHERE (c.at, c.actor_user_id, c.action, c.dataset_id, c.record_ids, c.decision) IS DISTINCT FROM (d.at, d.actor_user_id, d.action, d.dataset_id, d.record_ids, d.decision)`.execute(db.db)).rows.map((r) => Number(r.n)));
  const bytes = await copyOutAll(db.db, 'COPY (SELECT payload, at, actor_user_id, action, dataset_id, record_ids, decision FROM cols ORDER BY n) TO STDOUT (FORMAT binary)');
  // Frame the binary COPY: 7 fields per row.
  const off: number[] = [];
  const len: number[] = [];
  let p = 19 + bytes.readInt32BE(15);
  for (;;) {
    const n = bytes.readInt16BE(p);
    p += 2;
    if (n === -1) break;
    for (let f = 0; f < n; f++) {
      const l = bytes.readInt32BE(p);
      off.push(p + 4);
      len.push(l);
      p += 4 + Math.max(0, l);
    }
  }
  const bad = [0];
  return cases.map((c, i) => ({ c, differs: differs.has(i + 1), verdict: compareColumns(bytes, off[i * 7]!, off[i * 7]! + len[i * 7]!, bytes, off, len, i * 7 + 1, bad) }));
}

test('property: the scanner agrees with the sequencer\'s SQL on canonical and odd payloads, changed columns or not', { timeout: 300_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(fc.oneof(canonical, odd), fc.option(fc.integer({ min: 0, max: 5 }), { freq: 2 })), { minLength: 1, maxLength: 40 }), async (rows) => {
      const results = await run(rows.map((r) => r[0]), rows.map((r) => r[1]));
      for (const { c, differs, verdict } of results) {
        if (verdict === UNDECIDED) assert.ok(!c.canonical, `a canonical payload was left undecided: ${c.text}`);
        else assert.equal(verdict, differs ? DISAGREE : AGREE, `${differs ? 'changed' : 'true'} columns judged wrongly for ${c.text}`);
      }
    }),
    { numRuns: 40 },
  );
});

test('duplicate keys: the last one counts, as in jsonb', async () => {
  const u = '0190a4c8-0000-7000-8000-000000000001';
  const texts = [
    '{"decision": "allow", "decision": "deny"}',
    `{"actor": {"user": "${u}"}, "actor": {"kind": "system"}}`,
    `{"actor": {"user": null, "user": "${u}"}}`,
    `{"records": ["${u}"], "records": "none"}`,
    '{"at": "2026-01-01T00:00:00Z", "action": "a", "at": "2026-01-02T00:00:00Z", "action": "b"}',
  ];
  const results = await run(texts.map((text) => ({ text, canonical: false })), texts.map(() => null));
  assert.deepEqual(results.map((r) => r.verdict), texts.map(() => AGREE));
  const changed = await run(texts.map((text) => ({ text, canonical: false })), [5, 1, 1, 4, 2]);
  assert.deepEqual(changed.map((r) => r.verdict), texts.map(() => DISAGREE));
});

test('a canonical payload with untouched columns agrees; each column changed alone disagrees', async () => {
  const text = buildAuditPayload(systemActor({ ip: null, userAgent: null, deviceId: null }), new Date('2026-11-25T01:02:03.456Z'), {
    action: 'record.read', decision: 'allow', rule: 'r', reason: 'x', result: 'ok', datasetId: '0190a4c8-0000-7000-8000-000000000001', recordIds: ['0190a4c8-0000-7000-8000-000000000002'],
  });
  const results = await run(Array.from({ length: 7 }, () => ({ text, canonical: true })), [null, 0, 1, 2, 3, 4, 5]);
  assert.deepEqual(results.map((r) => r.verdict), [AGREE, DISAGREE, DISAGREE, DISAGREE, DISAGREE, DISAGREE, DISAGREE]);
});

test('times read one after another: the minute kept from the previous event is only reused for the same minute', async () => {
  // The scanner keeps the last `YYYY-MM-DDTHH:MM` it read and its value; every neighbour here shares
  // all but one part of the minute with the one before, or its minute and not its seconds.
  const times = [
    '2026-11-25T01:02:03.456Z', '2026-11-25T01:02:59.999Z', '2026-11-25T01:02:00Z', '2026-11-25T01:03:00.000001Z', '2026-11-25T01:02:03.456Z',
    '2026-11-25T02:02:03.456Z', '2026-11-26T02:02:03.456Z', '2026-12-26T02:02:03.456Z', '2027-12-26T02:02:03.456Z', '2027-12-26T02:02:03.4Z',
    '2028-02-29T23:59:59.5Z', '2028-02-29T23:59:60Z', '2028-02-29T23:59:01Z', '2027-02-28T23:59:01Z', '2027-03-01T00:00:00Z',
  ];
  const texts = times.map((at) => `{"v": 1, "at": "${at}", "action": "a", "decision": "allow"}`);
  const cases = texts.map((text) => ({ text, canonical: false }));
  const results = await run(cases, texts.map(() => null));
  // Seconds 60 (PostgreSQL rolls it over into the next minute) are the database's to decide.
  const undecided = new Set([11]);
  for (const [i, r] of results.entries()) {
    if (undecided.has(i)) assert.equal(r.verdict, UNDECIDED, times[i]);
    else assert.equal(r.verdict, r.differs ? DISAGREE : AGREE, `${times[i]} after ${times[i - 1]}`);
  }
  // The same times with their column one millisecond off: each disagrees, whatever came before.
  const changed = await run(cases, texts.map((_, i) => (undecided.has(i) ? null : 0)));
  for (const [i, r] of changed.entries()) if (!undecided.has(i)) assert.equal(r.verdict, DISAGREE, times[i]);
});
