/**
 * The appender supplies an event's searchable columns beside its bytes (migration 0018) and the
 * sequencer copies them instead of parsing the bytes. What this must keep true:
 *   - for every shape of event the application writes, the supplied columns are exactly what the
 *     sequencer's SQL derives from the bytes (so queries answer as before);
 *   - a row that carries only its bytes (pending at upgrade, or from a path that has only bytes) is
 *     still derived from them, in the same batch as rows with supplied columns;
 *   - columns that do not say what the bytes say are refused when half supplied, and otherwise
 *     reported by verification as column_mismatch at that event: the bytes stay the truth.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import type { AppContext } from '../src/platform/context.ts';
import { systemClock } from '../src/platform/clock.ts';
import { ephemeralSigningKey } from '../src/platform/crypto/signing-key.ts';
import { keyringFromBase64 } from '../src/platform/crypto/keyring.ts';
import { createLogger } from '../src/platform/logger.ts';
import { appendAudit, auditColumns, buildAuditPayload, integrateAll, type AuditEventInput } from '../src/modules/audit/index.ts';
import { auditRepository } from '../src/modules/audit/audit.repository.ts';
import { fileWitness } from '../src/modules/audit/audit.witness.ts';
import { verifyAuditLog } from '../src/modules/audit/audit.verify.ts';
import { asUserId, systemActor, type Actor } from '../src/modules/identity/index.ts';
import { openTestDatabase, type TestDatabase } from './support/database.ts';

let database: TestDatabase;
let ctx: AppContext;
let dir = '';

const user: Actor = { ...systemActor({ ip: '10.0.0.8', userAgent: 'test', deviceId: null }), kind: 'user', userId: asUserId('0190a4c8-0000-7000-8000-0000000000a1'), employmentType: 'employee' };
const system = systemActor({ ip: null, userAgent: null, deviceId: null });
const DATASET = '0190a4c8-0000-7000-8000-0000000000d1';
const rec = (n: number) => `0190a4c8-0000-7000-8000-${String(n).padStart(12, '0')}`;

/** Event shapes the application writes: with and without user, dataset, records (none, one, many), denials. */
const SHAPES: [Actor, AuditEventInput][] = [
  [user, { action: 'record.read', decision: 'allow', rule: 'grant.read', reason: 'ok', result: 'ok', datasetId: DATASET, recordIds: [rec(1)], fields: ['email'], purpose: '営業活動' }],
  [user, { action: 'record.search', decision: 'allow', rule: 'grant.read', reason: 'ok', result: 'ok', datasetId: DATASET, recordIds: [rec(2), rec(3), rec(4)] }],
  [user, { action: 'record.read', decision: 'deny', rule: 'no_grant', reason: 'none', result: 'denied', datasetId: DATASET, recordIds: [] }],
  [system, { action: 'auth.login', decision: 'deny', rule: 'password', reason: 'bad "password" \\ 違う', result: 'denied', details: { login: 'x' } }],
  [system, { action: 'dataset.create', decision: 'allow', rule: 'admin', reason: 'ok', result: 'ok', datasetId: DATASET }],
];

async function verify() {
  return verifyAuditLog(ctx.db, { key: ctx.auditLog.key, witnesses: ctx.auditLog.witnesses });
}

before(async () => {
  database = await openTestDatabase();
  dir = await mkdtemp(path.join(tmpdir(), 'mamori-columns-'));
  ctx = {
    database, db: database.db, clock: systemClock, keyring: keyringFromBase64(Buffer.alloc(32, 1).toString('base64')), logger: createLogger('silent'),
    auditLog: { key: ephemeralSigningKey('mamori.test/audit'), origin: 'mamori.test/audit', witnesses: [fileWitness(path.join(dir, 'witness.log'))] },
    settings: { sessionIdleMinutes: 30, sessionAbsoluteHours: 12 },
  };
});
after(async () => {
  await database.drop();
  await rm(dir, { recursive: true, force: true });
});

test('appended events carry their columns, a bytes-only row is derived, and both read the same as the bytes', async () => {
  for (const [actor, e] of SHAPES) await appendAudit(ctx.db, ctx.clock, actor, e);
  // A row with its bytes only, as pending rows from before migration 0018, in the same batch.
  const at = new Date('2026-11-26T01:02:03.456Z');
  await sql`INSERT INTO audit_pending (payload) VALUES (${buildAuditPayload(user, at, SHAPES[1]![1])})`.execute(ctx.db);
  const pending = (await sql<{ supplied: boolean }>`SELECT at IS NOT NULL AS supplied FROM audit_pending ORDER BY id`.execute(ctx.db)).rows;
  assert.deepEqual(pending.map((r) => r.supplied), [true, true, true, true, true, false], 'appendAudit supplies the columns');

  const r = await integrateAll(ctx);
  assert.equal(r.treeSize, SHAPES.length + 1);
  const rows = (await sql<{ log_index: number; at: Date; actor_user_id: string | null; action: string; dataset_id: string | null; record_ids: string[]; decision: string }>`
    SELECT log_index, at, actor_user_id, action, dataset_id, record_ids, decision FROM audit_events ORDER BY log_index`.execute(ctx.db)).rows;
  assert.equal(rows[0]!.actor_user_id, user.userId);
  assert.deepEqual(rows[1]!.record_ids, [rec(2), rec(3), rec(4)]);
  assert.deepEqual(rows[2]!.record_ids, []);
  assert.equal(rows[3]!.actor_user_id, null);
  assert.equal(rows[3]!.dataset_id, null);
  assert.equal(rows[2]!.decision, 'deny');
  assert.equal(new Date(rows[5]!.at).toISOString(), at.toISOString(), 'the bytes-only row got its columns from its bytes');
  assert.deepEqual(rows[5]!.record_ids, [rec(2), rec(3), rec(4)]);
  // Every stored column equals what the sequencer's SQL derives from the bytes.
  assert.equal(await auditRepository(ctx.db).firstColumnMismatch(rows.map((x) => Number(x.log_index))), null);
  const report = await verify();
  assert.equal(report.ok, true, JSON.stringify(report.problem));
});

test('columns that do not say what the bytes say: refused when half given, else column_mismatch at that event', async () => {
  const at = new Date('2026-11-26T02:00:00.000Z');
  const e = SHAPES[0]![1];
  const payload = buildAuditPayload(user, at, e);
  const repo = auditRepository(ctx.db);
  // Half supplied: the row is refused, nothing is written.
  const before = await repo.countAll();
  await assert.rejects(sql`INSERT INTO audit_pending (payload, at) VALUES (${payload}, ${at})`.execute(ctx.db), /audit_pending_columns_all_or_none/);
  assert.equal(await repo.countAll(), before);

  // An appender that names another record than its bytes do (a bug, or a hand-written row).
  const size = await repo.treeSize();
  await repo.append(payload, { ...auditColumns(user, at, e), recordIds: [rec(99)] });
  await repo.append(payload, auditColumns(user, at, e));
  await integrateAll(ctx);
  const report = await verify();
  assert.equal(report.ok, false);
  assert.equal(report.problem?.kind, 'column_mismatch');
  assert.equal(report.problem?.index, size);
  assert.match(report.problem!.detail, /record_ids/);
  assert.deepEqual(await repo.firstColumnMismatch([size, size + 1]), { index: size, columns: ['record_ids'] });
});
