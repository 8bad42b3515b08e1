/**
 * Verification reads the log in aligned chunks handed to worker threads (ADR 0010). With chunks of
 * 16 events and two workers, a 300-event log crosses many chunk and worker boundaries: the result
 * must not depend on where they fall. Every tampering is put right at a boundary and must be found
 * with the same kind and index as with one chunk for the whole log: changed bytes on either side of
 * a boundary, a deleted last row of a chunk, a whole chunk deleted, rows or payloads swapped across a
 * boundary, a checkpoint inside a chunk, and searchable columns changed without their bytes (found by
 * the scanner, or by the database when the scanner leaves a payload to it).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql, type Transaction } from 'kysely';
import type { DB } from '../src/platform/db/schema.ts';
import type { AppContext } from '../src/platform/context.ts';
import { systemClock } from '../src/platform/clock.ts';
import { ephemeralSigningKey } from '../src/platform/crypto/signing-key.ts';
import { keyringFromBase64 } from '../src/platform/crypto/keyring.ts';
import { createLogger } from '../src/platform/logger.ts';
import { appendAudit, integrateAll } from '../src/modules/audit/index.ts';
import { fileWitness } from '../src/modules/audit/audit.witness.ts';
import { verifyAuditLog, type VerifyReport } from '../src/modules/audit/audit.verify.ts';
import { asUserId, systemActor, type Actor } from '../src/modules/identity/index.ts';
import { openTestDatabase, type TestDatabase } from './support/database.ts';

let database: TestDatabase;
let ctx: AppContext;
let dir = '';
const SIZE = 300;
const CHECKPOINTS = [7, 40, 100, 151, 233, SIZE];

before(async () => {
  database = await openTestDatabase();
  dir = await mkdtemp(path.join(tmpdir(), 'mamori-verify-'));
  ctx = {
    database, db: database.db, clock: systemClock, keyring: keyringFromBase64(Buffer.alloc(32, 1).toString('base64')), logger: createLogger('silent'),
    auditLog: { key: ephemeralSigningKey('mamori.test/audit'), origin: 'mamori.test/audit', witnesses: [fileWitness(path.join(dir, 'witness.log'))] },
    settings: { sessionIdleMinutes: 30, sessionAbsoluteHours: 12 },
  };
  const user: Actor = { ...systemActor({ ip: '10.0.0.8', userAgent: 'test', deviceId: null }), kind: 'user', userId: asUserId('0190a4c8-0000-7000-8000-0000000000a1'), employmentType: 'employee' };
  let n = 0;
  for (const cp of CHECKPOINTS) {
    for (; n < cp; n++) {
      await appendAudit(ctx.db, ctx.clock, n % 3 === 0 ? user : systemActor({ ip: null, userAgent: null, deviceId: null }), {
        action: 'record.read', decision: n % 5 === 0 ? 'deny' : 'allow', rule: 'test', reason: `event ${n}`, result: 'ok',
        datasetId: '0190a4c8-0000-7000-8000-0000000000d1', recordIds: [`0190a4c8-0000-7000-8000-${String(n).padStart(12, '0')}`], details: { n },
      });
    }
    const r = await integrateAll(ctx); // one checkpoint per size above
    assert.equal(r.treeSize, cp);
  }
});
after(async () => {
  await database.drop();
  await rm(dir, { recursive: true, force: true });
});

const opts = (extra: object = {}) => ({ key: ctx.auditLog.key, witnesses: ctx.auditLog.witnesses, ...extra });

/** Verifies inside a rolled-back transaction after `fn` tampered with the log, chunked and whole. */
async function tampered(fn: (tx: Transaction<DB>) => Promise<void>): Promise<{ small: VerifyReport; whole: VerifyReport }> {
  let out: { small: VerifyReport; whole: VerifyReport } | null = null;
  await ctx.db.transaction().execute(async (tx) => {
    await sql`ALTER TABLE audit_events DISABLE TRIGGER audit_events_immutable`.execute(tx);
    await fn(tx);
    out = { small: await verifyAuditLog(tx, opts({ chunk: 16, workers: 2 })), whole: await verifyAuditLog(tx, opts({ chunk: 512, workers: 1 })) };
    throw new Error('rollback');
  }).catch((e: Error) => assert.equal(e.message, 'rollback'));
  return out!;
}

function same(r: { small: VerifyReport; whole: VerifyReport }, kind: string, index: number): void {
  assert.deepEqual([r.small.problem?.kind, r.small.problem?.index], [kind, index], JSON.stringify(r.small.problem));
  assert.deepEqual(r.small.problem, r.whole.problem, 'chunk boundaries do not change the verdict');
}

test('an untouched log verifies to the stored root whatever the chunk size and the number of workers, with progress', async () => {
  const state = (await sql<{ root_hash: Buffer }>`SELECT root_hash FROM audit_tree_state`.execute(ctx.db)).rows[0]!;
  const seen: [number, number][] = [];
  for (const o of [{ chunk: 2, workers: 1 }, { chunk: 16, workers: 2 }, { chunk: 64, workers: 3 }, {}]) {
    const r = await verifyAuditLog(ctx.db, opts({ ...o, onProgress: (done: number, total: number) => seen.push([done, total]) }));
    assert.equal(r.problem, null, JSON.stringify(r.problem));
    assert.equal(r.treeSize, SIZE);
    assert.equal(r.rootHash, state.root_hash.toString('base64'));
    assert.equal(r.checkpoints, CHECKPOINTS.length);
    assert.equal(r.witnessCheckpoints, CHECKPOINTS.length);
  }
  assert.ok(seen.length > SIZE / 16);
  assert.deepEqual(seen.at(-1), [SIZE, SIZE]);
});

test('changed bytes on either side of a chunk boundary: altered at that index', async () => {
  for (const index of [31, 32]) {
    same(await tampered((tx) => sql`UPDATE audit_events SET payload = replace(payload, '"test"', '"tesT"') WHERE log_index = ${index}`.execute(tx).then(() => undefined)), 'altered', index);
  }
});

test('the last row of a chunk deleted: missing at its index; a whole chunk deleted: missing at its first', async () => {
  const one = await tampered((tx) => sql`DELETE FROM audit_events WHERE log_index = 47`.execute(tx).then(() => undefined));
  same(one, 'missing', 47);
  assert.match(one.small.problem!.detail, /next stored index is 48/);
  same(await tampered((tx) => sql`DELETE FROM audit_events WHERE log_index >= 64 AND log_index < 80`.execute(tx).then(() => undefined)), 'missing', 64);
});

test('rows swapped across a chunk boundary: reordered, found through the stored pair hashes', async () => {
  const r = await tampered(async (tx) => {
    await sql`UPDATE audit_events SET log_index = -1 WHERE log_index = 31`.execute(tx);
    await sql`UPDATE audit_events SET log_index = 31 WHERE log_index = 32`.execute(tx);
    await sql`UPDATE audit_events SET log_index = 32 WHERE log_index = -1`.execute(tx);
  });
  same(r, 'reordered', 31);
  assert.match(r.small.problem!.detail, /31 and 32 were swapped/);
});

test('rows swapped across a row of stored pair hashes (32 pairs a row, read whole and sliced by the worker): reordered at the right index', async () => {
  // Events 63 and 64: pair 31 is the last of tile 0, pair 32 the first of tile 1; 127/128 the same for tiles 1/2,
  // and 64 is also a boundary of chunks of 16 and of 64.
  for (const [a, b] of [[63, 64], [127, 128], [62, 65]] as const) {
    const r = await tampered(async (tx) => {
      await sql`UPDATE audit_events SET log_index = -1 WHERE log_index = ${a}`.execute(tx);
      await sql`UPDATE audit_events SET log_index = ${a} WHERE log_index = ${b}`.execute(tx);
      await sql`UPDATE audit_events SET log_index = ${b} WHERE log_index = -1`.execute(tx);
    });
    same(r, 'reordered', a);
    assert.match(r.small.problem!.detail, new RegExp(`${a} and ${b} were swapped`));
  }
});

test('payloads swapped across a chunk boundary (leaf hashes left): reordered, found through the stored leaf hashes', async () => {
  const r = await tampered(async (tx) => {
    await sql`UPDATE audit_events a SET payload = b.payload FROM (SELECT log_index, payload FROM audit_events WHERE log_index IN (47, 80)) b
      WHERE a.log_index IN (47, 80) AND b.log_index <> a.log_index`.execute(tx);
  });
  same(r, 'reordered', 47);
  assert.match(r.small.problem!.detail, /47 and 80 were swapped/);
});

test('an event changed with its leaf hash recomputed, alone in its pair, inside a chunk: the checkpoint at 151 catches it', async () => {
  // Index 150 is the last leaf of checkpoint 151 and has no stored pair yet at that size: only the signed root tells.
  const r = await tampered(async (tx) => {
    await sql`UPDATE audit_events SET payload = replace(payload, '"test"', '"tesT"') WHERE log_index = 150`.execute(tx);
    await sql`UPDATE audit_events SET leaf_hash = sha256('\\x00'::bytea || convert_to(payload, 'UTF8')) WHERE log_index = 150`.execute(tx);
  });
  assert.equal(r.small.problem?.kind, 'altered');
  assert.ok(r.small.problem!.index >= 150 && r.small.problem!.index <= 151, JSON.stringify(r.small.problem));
  assert.deepEqual(r.small.problem, r.whole.problem);
});

test('a searchable column changed without its bytes: column_mismatch at that event; a broken tree elsewhere is reported first', async () => {
  same(await tampered((tx) => sql`UPDATE audit_events SET action = 'audit.read' WHERE log_index = 63`.execute(tx).then(() => undefined)), 'column_mismatch', 63);
  same(await tampered((tx) => sql`UPDATE audit_events SET record_ids = '{}' WHERE log_index = 64`.execute(tx).then(() => undefined)), 'column_mismatch', 64);
  same(await tampered((tx) => sql`UPDATE audit_events SET at = at - interval '1 hour' WHERE log_index = 200`.execute(tx).then(() => undefined)), 'column_mismatch', 200);
  // The first of two.
  same(await tampered((tx) => sql`UPDATE audit_events SET decision = 'allow' WHERE log_index IN (100, 250) AND decision = 'deny'`.execute(tx).then(() => undefined)), 'column_mismatch', 100);
  // Changed bytes are the tree's to report, even after a column.
  same(await tampered(async (tx) => {
    await sql`UPDATE audit_events SET action = 'audit.read' WHERE log_index = 20`.execute(tx);
    await sql`UPDATE audit_events SET payload = replace(payload, '"test"', '"tesT"') WHERE log_index = 290`.execute(tx);
  }), 'altered', 290);
});

test('a payload the scanner leaves to the database (an escape in its action) is still checked, by the sequencer\'s SQL', async () => {
  // Integrated like any other event, but written by hand with a spelling the scanner does not decide.
  await sql`INSERT INTO audit_pending (payload) VALUES (${'{"v": 1, "at": "2026-11-25T01:00:00Z", "actor": {"kind": "system", "user": null}, "action": "odd\\"action", "dataset": null, "records": [], "decision": "allow"}'})`.execute(ctx.db);
  const r = await integrateAll(ctx);
  const index = r.treeSize - 1;
  assert.equal((await verifyAuditLog(ctx.db, opts({ chunk: 16, workers: 2 }))).problem, null);
  same(await tampered((tx) => sql`UPDATE audit_events SET action = 'odd' WHERE log_index = ${index}`.execute(tx).then(() => undefined)), 'column_mismatch', index);
});

test('chunks far larger than the ones before them (events with large details) are read into memory grown for them, and verify the same', async () => {
  // The chunks of 16 so far hold ~12 KB each; these events make chunks of ~110 KB, larger than any
  // memory verification has handed a worker before them in the run.
  const first = (await integrateAll(ctx)).treeSize;
  for (let n = 0; n < 48; n++) {
    await appendAudit(ctx.db, ctx.clock, systemActor({ ip: null, userAgent: null, deviceId: null }), {
      action: 'record.read', decision: 'allow', rule: 'test', reason: `large ${n}`, result: 'ok', details: { n, note: 'x'.repeat(6_000) },
    });
  }
  const r = await integrateAll(ctx);
  assert.equal(r.treeSize, first + 48);
  const state = (await sql<{ root_hash: Buffer }>`SELECT root_hash FROM audit_tree_state`.execute(ctx.db)).rows[0]!;
  const report = await verifyAuditLog(ctx.db, opts({ chunk: 16, workers: 2 }));
  assert.equal(report.problem, null);
  assert.equal(report.treeSize, first + 48);
  assert.equal(report.rootHash, state.root_hash.toString('base64'));
  // A changed byte in the last of them is found where it is.
  const last = first + 47;
  same(await tampered((tx) => sql`UPDATE audit_events SET payload = replace(payload, 'xxxx', 'xxxy') WHERE log_index = ${last}`.execute(tx).then(() => undefined)), 'altered', last);
});
