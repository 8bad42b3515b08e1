/**
 * The sequencer's tick (jobs/sequencer.ts): a batch of the events pending, and further batches only
 * while the last one was full or held at least SEQUENCER_STRAIGHT_AGAIN events. A steady stream of events is thus integrated once per tick in one
 * batch, not in a run of small back-to-back transactions; a backlog larger than a batch is still
 * drained within the tick. Every event ends up in the log once, in order, verifiable. Vacuuming the
 * pending queue lets its space be reused: the table stops growing with the events that passed through.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import type { AppContext } from '../src/platform/context.ts';
import { systemClock } from '../src/platform/clock.ts';
import { ephemeralSigningKey } from '../src/platform/crypto/signing-key.ts';
import { keyringFromBase64 } from '../src/platform/crypto/keyring.ts';
import { createLogger } from '../src/platform/logger.ts';
import { appendAudit, auditRepository } from '../src/modules/audit/index.ts';
import { verifyAuditLog } from '../src/modules/audit/audit.verify.ts';
import { systemActor } from '../src/modules/identity/index.ts';
import { SEQUENCER_STRAIGHT_AGAIN, sequencerTick } from '../src/jobs/sequencer.ts';
import { openTestDatabase, type TestDatabase } from './support/database.ts';

let database: TestDatabase;
let ctx: AppContext;
let appended = 0;

async function append(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await appendAudit(ctx.db, ctx.clock, systemActor({ ip: null, userAgent: null, deviceId: null }), {
      action: 'record.read', decision: 'allow', rule: 'test', reason: 'tick', result: 'ok', details: { i: appended++ },
    });
  }
}

async function pending(): Promise<number> {
  return (await sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_pending`.execute(ctx.db)).rows[0]!.n;
}

before(async () => {
  database = await openTestDatabase();
  ctx = {
    database, db: database.db, clock: systemClock, keyring: keyringFromBase64(Buffer.alloc(32, 1).toString('base64')), logger: createLogger('silent'),
    auditLog: { key: ephemeralSigningKey('mamori.test/audit'), origin: 'mamori.test/audit', witnesses: [] },
    settings: { sessionIdleMinutes: 30, sessionAbsoluteHours: 12 },
  };
});
after(async () => {
  await database.drop();
});

test('a tick integrates what is pending in one batch and does not go round again after a partial batch', async () => {
  await append(7);
  assert.deepEqual(await sequencerTick(ctx, () => false, 10), { batches: 1, integrated: 7 });
  assert.equal(await pending(), 0);
  // Nothing pending: one look, nothing written.
  assert.deepEqual(await sequencerTick(ctx, () => false, 10), { batches: 1, integrated: 0 });
});

test('a backlog larger than a batch is drained within the tick, batch after batch', async () => {
  await append(25);
  assert.deepEqual(await sequencerTick(ctx, () => false, 10), { batches: 3, integrated: 25 });
  assert.equal(await pending(), 0);
  // Exactly full batches: one more look finds the backlog gone.
  await append(20);
  assert.deepEqual(await sequencerTick(ctx, () => false, 10), { batches: 3, integrated: 20 });
});

test('a batch of 1,000 events or more sends the sequencer straight round again, a smaller one does not', async () => {
  const many = async (n: number) => {
    await ctx.db.transaction().execute(async (tx) => {
      for (let i = 0; i < n; i++) {
        await appendAudit(tx, ctx.clock, systemActor({ ip: null, userAgent: null, deviceId: null }), {
          action: 'record.read', decision: 'allow', rule: 'test', reason: 'tick', result: 'ok', details: { i: appended++ },
        });
      }
    });
  };
  await many(SEQUENCER_STRAIGHT_AGAIN);
  assert.deepEqual(await sequencerTick(ctx, () => false), { batches: 2, integrated: SEQUENCER_STRAIGHT_AGAIN });
  await many(SEQUENCER_STRAIGHT_AGAIN - 1);
  assert.deepEqual(await sequencerTick(ctx, () => false), { batches: 1, integrated: SEQUENCER_STRAIGHT_AGAIN - 1 });
});

test('a stopping sequencer ends its tick after the batch in hand; the rest stays pending for the final integration', async () => {
  await append(15);
  assert.deepEqual(await sequencerTick(ctx, () => true, 10), { batches: 1, integrated: 10 });
  assert.equal(await pending(), 5);
  assert.deepEqual(await sequencerTick(ctx, () => false, 10), { batches: 1, integrated: 5 });
});

test('with audit_pending vacuumed between rounds, events passing through reuse its space instead of growing the file', async () => {
  const size = async () => (await sql<{ n: string }>`SELECT pg_relation_size('audit_pending') AS n`.execute(ctx.db)).rows[0]!.n;
  const round = async () => {
    await append(120);
    assert.deepEqual(await sequencerTick(ctx, () => false, 1000), { batches: 1, integrated: 120 });
    await auditRepository(ctx.db).vacuumPending();
  };
  await round();
  const first = await size();
  for (let i = 0; i < 3; i++) await round();
  assert.equal(await size(), first, 'the same pages hold each round');
  assert.equal(await pending(), 0);
});

test('every event is in the log once, in order, and the log verifies', async () => {
  const rows = (await sql<{ log_index: string }>`SELECT log_index FROM audit_events ORDER BY log_index`.execute(ctx.db)).rows;
  assert.equal(rows.length, appended);
  rows.forEach((r, i) => assert.equal(Number(r.log_index), i));
  const report = await verifyAuditLog(ctx.db, { key: ctx.auditLog.key, witnesses: [] });
  assert.equal(report.problem, null, JSON.stringify(report.problem));
  assert.equal(report.treeSize, appended);
});
