/**
 * Tampering with the audit log on a real database (PGlite, or PostgreSQL with DATABASE_URL): each
 * kind of change — to the bytes, the order, the newest rows, the checkpoints, or a searchable column
 * alone — is found by `verifyAuditLog` with the right index and kind. Every tampering happens
 * inside a transaction that is rolled back, so the cases do not disturb each other.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql, type Transaction } from 'kysely';
import type { DB } from '../src/platform/db/schema.ts';
import { ephemeralSigningKey } from '../src/platform/crypto/signing-key.ts';
import { integrateAll } from '../src/modules/audit/index.ts';
import { signCheckpoint } from '../src/modules/audit/audit.checkpoint.ts';
import { verifyAuditLog, type VerifyReport } from '../src/modules/audit/audit.verify.ts';
import { consistencyProof, inclusionProof, verifyConsistency, verifyInclusion } from '../src/modules/audit/audit.proofs.ts';
import { auditRepository } from '../src/modules/audit/audit.repository.ts';
import { PURPOSE, signIn, startTestApp, type TestApp } from './support/app.ts';

let t: TestApp;
let size = 0;

async function tampered(fn: (tx: Transaction<DB>) => Promise<void>): Promise<VerifyReport> {
  let report: VerifyReport | null = null;
  await t.ctx.db.transaction().execute(async (tx) => {
    // An intruder with the application's database credentials (the table owner) first switches off
    // the append-only trigger; the Merkle log is what still catches them.
    await sql`ALTER TABLE audit_events DISABLE TRIGGER audit_events_immutable`.execute(tx);
    await fn(tx);
    report = await verifyAuditLog(tx, { key: t.ctx.auditLog.key, witnesses: t.ctx.auditLog.witnesses });
    throw new Error('rollback');
  }).catch((e: Error) => assert.equal(e.message, 'rollback'));
  return report!;
}

before(async () => {
  t = await startTestApp({ demoContacts: 50 });
  const handler = await signIn(t, 'handler');
  await integrateAll(t.ctx); // checkpoint 1
  for (let i = 0; i < 40; i++) await handler.request('POST', '/api/datasets/contacts/records/search', { purpose: PURPOSE, criteria: [], limit: 2 });
  const r = await integrateAll(t.ctx); // checkpoint 2
  size = r.treeSize;
  assert.ok(size > 40);
});
after(async () => t.close());

test('an untouched log verifies, with its checkpoints and the witness copies', async () => {
  const r = await verifyAuditLog(t.ctx.db, { key: t.ctx.auditLog.key, witnesses: t.ctx.auditLog.witnesses });
  assert.equal(r.problem, null);
  assert.equal(r.treeSize, size);
  assert.ok(r.checkpoints >= 2);
  assert.ok(r.witnessCheckpoints >= 2);
});

test('the application cannot change or delete an integrated event: audit_events is append-only', async () => {
  for (const stmt of [
    sql`UPDATE audit_events SET payload = payload WHERE log_index = 3`,
    sql`UPDATE audit_events SET action = 'forged' WHERE log_index = 3`,
    sql`DELETE FROM audit_events WHERE log_index = 3`,
    sql`TRUNCATE audit_events`,
  ]) {
    await assert.rejects(t.ctx.db.transaction().execute((tx) => stmt.execute(tx)), /append-only/);
  }
  const r = await verifyAuditLog(t.ctx.db, { key: t.ctx.auditLog.key, witnesses: t.ctx.auditLog.witnesses });
  assert.equal(r.problem, null);
});

test('one changed byte in one event is found at its index (altered)', async () => {
  const r = await tampered(async (tx) => {
    await sql`UPDATE audit_events SET payload = replace(payload, '"record.search"', '"record.searcH"') WHERE log_index = 31`.execute(tx);
  });
  assert.deepEqual([r.problem?.kind, r.problem?.index], ['altered', 31]);
});

test('a changed event whose stored leaf hash was recomputed too is caught by the signed root', async () => {
  const r = await tampered(async (tx) => {
    await sql`UPDATE audit_events SET payload = replace(payload, '"allow"', '"deny"') WHERE log_index = 20`.execute(tx);
    await sql`UPDATE audit_events SET leaf_hash = sha256('\\x00'::bytea || convert_to(payload, 'UTF8')) WHERE log_index = 20`.execute(tx);
  });
  assert.equal(r.problem?.kind, 'altered');
  assert.ok(r.problem!.index >= 20);
});

test('a deleted middle row is reported missing at its index', async () => {
  const r = await tampered(async (tx) => {
    await sql`DELETE FROM audit_events WHERE log_index = 17`.execute(tx);
  });
  assert.deepEqual([r.problem?.kind, r.problem?.index], ['missing', 17]);
});

test('two swapped events are reported as reordered', async () => {
  const r = await tampered(async (tx) => {
    await sql`UPDATE audit_events SET log_index = -1 WHERE log_index = 12`.execute(tx);
    await sql`UPDATE audit_events SET log_index = 12 WHERE log_index = 13`.execute(tx);
    await sql`UPDATE audit_events SET log_index = 13 WHERE log_index = -1`.execute(tx);
  });
  assert.deepEqual([r.problem?.kind, r.problem?.index], ['reordered', 12]);
});

test('two swapped events far apart are reported as reordered at the first', async () => {
  const r = await tampered(async (tx) => {
    await sql`UPDATE audit_events SET log_index = -1 WHERE log_index = 14`.execute(tx);
    await sql`UPDATE audit_events SET log_index = 14 WHERE log_index = 27`.execute(tx);
    await sql`UPDATE audit_events SET log_index = 27 WHERE log_index = -1`.execute(tx);
  });
  assert.deepEqual([r.problem?.kind, r.problem?.index], ['reordered', 14]);
});

test('deleting the newest events and their checkpoints is caught by the witness copy (truncated)', async () => {
  const r = await tampered(async (tx) => {
    await sql`DELETE FROM audit_events WHERE log_index >= ${size - 5}`.execute(tx);
    await sql`DELETE FROM audit_checkpoints WHERE tree_size > ${size - 5}`.execute(tx);
    await sql`UPDATE audit_tree_state SET tree_size = ${size - 5}`.execute(tx);
  });
  assert.deepEqual([r.problem?.kind, r.problem?.index], ['truncated', size - 5]);
});

test('a forged checkpoint (signed with another key) is reported', async () => {
  const forger = ephemeralSigningKey(t.ctx.auditLog.key.name);
  const r = await tampered(async (tx) => {
    const note = signCheckpoint({ origin: t.ctx.auditLog.origin, size: size + 100, root: Buffer.alloc(32, 9) }, forger);
    await sql`INSERT INTO audit_checkpoints (tree_size, root_hash, note, created_at) VALUES (${size + 100}, ${Buffer.alloc(32, 9)}, ${note}, now())`.execute(tx);
  });
  assert.equal(r.problem?.kind, 'bad_signature');
  assert.equal(r.problem?.index, size + 100);
});

test('a searchable column changed without its bytes (what the access history and searches read) is reported as column_mismatch', async () => {
  // The handler's searches name records: hiding one from "who read this record" by emptying record_ids.
  const victim = (await sql<{ log_index: number }>`SELECT log_index FROM audit_events WHERE cardinality(record_ids) > 0 ORDER BY log_index DESC LIMIT 1`.execute(t.ctx.db)).rows[0]!;
  const hidden = await tampered(async (tx) => {
    await sql`UPDATE audit_events SET record_ids = '{}' WHERE log_index = ${victim.log_index}`.execute(tx);
  });
  assert.deepEqual([hidden.problem?.kind, hidden.problem?.index], ['column_mismatch', Number(victim.log_index)]);
  assert.match(hidden.problem!.detail, /record_ids/);
  // Or blaming someone else for an event.
  const blamed = await tampered(async (tx) => {
    await sql`UPDATE audit_events SET actor_user_id = '0190a4c8-0000-7000-8000-00000000beef' WHERE log_index = 33`.execute(tx);
  });
  assert.deepEqual([blamed.problem?.kind, blamed.problem?.index], ['column_mismatch', 33]);
});

test('inclusion and consistency proofs from the stored tree verify against the signed roots', async () => {
  const repo = auditRepository(t.ctx.db);
  const node = async (level: number, idx: number) => (await repo.node(level, idx))!;
  const cps = await repo.checkpoints();
  const [first, last] = [cps[0]!, cps.at(-1)!];
  for (const index of [0, 7, size - 1]) {
    const leaf = (await repo.node(0, index))!;
    const proof = await inclusionProof(index, Number(last.tree_size), node);
    assert.ok(verifyInclusion(index, Number(last.tree_size), leaf, proof, last.root_hash));
  }
  const proof = await consistencyProof(Number(first.tree_size), Number(last.tree_size), node);
  assert.ok(verifyConsistency(Number(first.tree_size), Number(last.tree_size), proof, first.root_hash, last.root_hash));
});
