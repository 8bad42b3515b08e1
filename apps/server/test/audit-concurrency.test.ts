/**
 * Two Mamori nodes on one database: each appends events in its own transactions and runs its own
 * sequencer at the same time. The advisory lock lets one integrate at a time, so the result is one
 * chain: every event exactly once, contiguous indexes, verifiable against every checkpoint.
 * (On PostgreSQL the two nodes are two connection pools; on PGlite they share the one engine.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { openDatabase } from '../src/platform/db/database.ts';
import type { AppContext } from '../src/platform/context.ts';
import { systemClock } from '../src/platform/clock.ts';
import { ephemeralSigningKey } from '../src/platform/crypto/signing-key.ts';
import { keyringFromBase64 } from '../src/platform/crypto/keyring.ts';
import { createLogger } from '../src/platform/logger.ts';
import { appendAudit } from '../src/modules/audit/index.ts';
import { verifyAuditLog } from '../src/modules/audit/audit.verify.ts';
import { systemActor } from '../src/modules/identity/index.ts';
import { startSequencer } from '../src/jobs/sequencer.ts';
import { openTestDatabase } from './support/database.ts';

test('two nodes appending and sequencing concurrently produce one verifiable log with no gaps', { timeout: 180_000 }, async () => {
  const first = await openTestDatabase();
  const second = first.url ? await openDatabase({ databaseUrl: first.url, poolSize: 5 }) : first;
  const key = ephemeralSigningKey('mamori.test/audit');
  const node = (database: typeof first | typeof second): AppContext => ({
    database, db: database.db, clock: systemClock, keyring: keyringFromBase64(Buffer.alloc(32, 1).toString('base64')), logger: createLogger('silent'),
    auditLog: { key, origin: 'mamori.test/audit', witnesses: [] }, settings: { sessionIdleMinutes: 30, sessionAbsoluteHours: 12 },
  });
  const a = node(first);
  const b = node(second);
  const seqA = startSequencer(a, 20);
  const seqB = startSequencer(b, 20);
  const actor = systemActor({ ip: '127.0.0.1', userAgent: 'node-test', deviceId: null });
  const PER_NODE = 300;
  const append = (ctx: AppContext, i: number) =>
    ctx.db.transaction().execute((tx) => appendAudit(tx, ctx.clock, actor, { action: 'audit.read', decision: 'allow', rule: 'test', reason: 'concurrency', result: 'ok', details: { i } }));
  for (let i = 0; i < PER_NODE; i += 20) {
    await Promise.all(Array.from({ length: 20 }, (_, k) => [append(a, i + k), append(b, PER_NODE + i + k)]).flat());
  }
  await Promise.all([seqA.stop(), seqB.stop()]);

  const rows = (await sql<{ log_index: number | null }>`SELECT log_index FROM audit_events ORDER BY log_index`.execute(a.db)).rows;
  assert.equal(rows.length, 2 * PER_NODE, 'every event stored once');
  assert.equal((await sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_pending`.execute(a.db)).rows[0]!.n, 0, 'nothing left pending');
  rows.forEach((r, i) => assert.equal(Number(r.log_index), i, `index ${i} integrated exactly once, no gap`));
  const report = await verifyAuditLog(a.db, { key, witnesses: [] });
  assert.equal(report.problem, null, JSON.stringify(report.problem));
  assert.equal(report.treeSize, 2 * PER_NODE);
  assert.ok(report.checkpoints >= 1, 'checkpoints were signed');
  if (second !== first) await second.close();
  await first.drop();
});
