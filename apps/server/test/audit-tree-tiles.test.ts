/**
 * The sequencer stores the Merkle tree's nodes in rows of 32 per level (audit_tree_tiles, migration
 * 0018) and appends to a level's last row across batches. Whatever the batch sizes, every stored
 * node must be the RFC 6962 hash of its subtree, no node may be stored before it is complete, proofs
 * from the stored nodes must verify, and a row that does not end where the sequencer expects stops
 * integration with nothing written.
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
import { appendAudit, integrateAll, merkleRoot, sequenceOnce } from '../src/modules/audit/index.ts';
import { auditRepository } from '../src/modules/audit/audit.repository.ts';
import { fileWitness } from '../src/modules/audit/audit.witness.ts';
import { verifyAuditLog } from '../src/modules/audit/audit.verify.ts';
import { consistencyProof, inclusionProof, verifyConsistency, verifyInclusion } from '../src/modules/audit/audit.proofs.ts';
import { systemActor } from '../src/modules/identity/index.ts';
import { openTestDatabase, type TestDatabase } from './support/database.ts';

let database: TestDatabase;
let ctx: AppContext;
let dir = '';
// Batches that start and end at every kind of offset inside a row of 32, at several levels.
const BATCHES = [1, 1, 5, 25, 32, 31, 33, 64, 1, 100, 7, 200, 17];
const SIZE = BATCHES.reduce((a, b) => a + b, 0);

async function append(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await appendAudit(ctx.db, ctx.clock, systemActor({ ip: null, userAgent: null, deviceId: null }), {
      action: 'record.read', decision: 'allow', rule: 'test', reason: 'tiles', result: 'ok', details: { i },
    });
  }
}

before(async () => {
  database = await openTestDatabase();
  dir = await mkdtemp(path.join(tmpdir(), 'mamori-tiles-'));
  ctx = {
    database, db: database.db, clock: systemClock, keyring: keyringFromBase64(Buffer.alloc(32, 1).toString('base64')), logger: createLogger('silent'),
    auditLog: { key: ephemeralSigningKey('mamori.test/audit'), origin: 'mamori.test/audit', witnesses: [fileWitness(path.join(dir, 'witness.log'))] },
    settings: { sessionIdleMinutes: 30, sessionAbsoluteHours: 12 },
  };
  await append(SIZE);
  for (const batch of BATCHES) {
    const r = await sequenceOnce(ctx.db, ctx.clock, { ...ctx.auditLog, batch, minCheckpointIntervalMs: 0 });
    assert.equal(r?.integrated, batch);
  }
});
after(async () => {
  await database.drop();
  await rm(dir, { recursive: true, force: true });
});

test('every stored node is the hash of its subtree, every complete one is stored, no incomplete one', async () => {
  const repo = auditRepository(ctx.db);
  const leaves = (await sql<{ leaf_hash: Buffer }>`SELECT leaf_hash FROM audit_events ORDER BY log_index`.execute(ctx.db)).rows.map((r) => r.leaf_hash);
  assert.equal(leaves.length, SIZE);
  for (let level = 1; 2 ** level <= SIZE; level++) {
    const span = 2 ** level;
    const complete = Math.floor(SIZE / span);
    for (let idx = 0; idx < complete; idx++) {
      const want = merkleRoot(leaves.slice(idx * span, (idx + 1) * span));
      assert.deepEqual(await repo.node(level, idx), want, `node (${level}, ${idx})`);
    }
    assert.equal(await repo.node(level, complete), undefined, `node (${level}, ${complete}) is not complete yet`);
  }
  // Rows hold at most 32 nodes and only whole hashes.
  const rows = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_tree_tiles WHERE length(hashes) > 1024 OR length(hashes) % 32 <> 0`.execute(ctx.db)).rows[0]!;
  assert.equal(rows.n, 0);
});

test('proofs from the stored nodes verify against every checkpoint, and so does the whole log', async () => {
  const repo = auditRepository(ctx.db);
  const node = async (level: number, idx: number) => (await repo.node(level, idx))!;
  const cps = await repo.checkpoints();
  assert.equal(cps.length, BATCHES.length);
  for (const cp of cps) {
    const size = Number(cp.tree_size);
    for (const index of [0, Math.floor(size / 2), size - 1]) {
      const proof = await inclusionProof(index, size, node);
      assert.ok(verifyInclusion(index, size, (await repo.node(0, index))!, proof, cp.root_hash), `inclusion of ${index} in ${size}`);
    }
  }
  for (let i = 1; i < cps.length; i++) {
    const [a, b] = [cps[i - 1]!, cps[i]!];
    const proof = await consistencyProof(Number(a.tree_size), Number(b.tree_size), node);
    assert.ok(verifyConsistency(Number(a.tree_size), Number(b.tree_size), proof, a.root_hash, b.root_hash));
  }
  const report = await verifyAuditLog(ctx.db, { key: ctx.auditLog.key, witnesses: ctx.auditLog.witnesses });
  assert.equal(report.ok, true, JSON.stringify(report.problem));
  assert.equal(report.treeSize, SIZE);
});

test('a node row that does not end where the tree does stops integration, with nothing written', async () => {
  const repo = auditRepository(ctx.db);
  // SIZE = 517: level 1 has 258 nodes, its last row (tile 8) two of them. Drop the second: the next
  // pair hashes (258, 259) no longer continue that row.
  assert.equal(SIZE, 517);
  const last = (await sql<{ tile: number }>`SELECT max(tile)::int AS tile FROM audit_tree_tiles WHERE level = 1`.execute(ctx.db)).rows[0]!;
  await sql`UPDATE audit_tree_tiles SET hashes = substring(hashes FROM 33) WHERE level = 1 AND tile = ${last.tile}`.execute(ctx.db);
  await append(3);
  await assert.rejects(integrateAll(ctx), /audit tree/);
  assert.equal(await repo.treeSize(), SIZE, 'the tree did not grow');
  assert.equal((await sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_pending`.execute(ctx.db)).rows[0]!.n, 3, 'the events are still pending');
});
