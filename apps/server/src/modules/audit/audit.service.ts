/**
 * The audit log's write side: `append(tx, actor, event)` inside the caller's transaction, and the
 * sequencer that turns pending events into an RFC 6962 Merkle log (contiguous indexes, leaf hashes,
 * a running root). Checkpoints, proofs and witnesses build on this (see the module README).
 */
import type { Kysely } from 'kysely';
import type { Clock } from '../../platform/clock.ts';
import type { Executor } from '../../platform/db/database.ts';
import type { DB } from '../../platform/db/schema.ts';
import type { Actor } from '../identity/index.ts';
import { buildAuditPayload } from './audit.payload.ts';
import { auditRepository, type AuditFilter, type AuditRow } from './audit.repository.ts';
import type { AuditEventInput } from './audit.types.ts';
import { appendToCompactRange, leafHash, rootFromCompactRange, EMPTY_ROOT } from './audit.merkle.ts';

export async function appendAudit(tx: Executor, clock: Clock, actor: Actor, event: AuditEventInput): Promise<number> {
  return auditRepository(tx).append(buildAuditPayload(actor, clock.now(), event));
}

/** For denied requests: their own small transaction, so the denial is on record even though nothing else is written. */
export async function appendAuditAlone(db: Kysely<DB>, clock: Clock, actor: Actor, event: AuditEventInput): Promise<number> {
  return appendAudit(db, clock, actor, event);
}

export async function listAudit(db: Executor, filter: AuditFilter): Promise<AuditRow[]> {
  return auditRepository(db).list(filter);
}

export type SequenceResult = { integrated: number; treeSize: number; root: Buffer };

/**
 * Integrates up to `batch` pending events in one transaction. Only the holder of the sequencer
 * advisory lock integrates, so with several nodes on one PostgreSQL the log stays one chain.
 */
export async function sequenceOnce(db: Kysely<DB>, clock: Clock, batch = 10_000): Promise<SequenceResult | null> {
  return db.transaction().execute(async (tx) => {
    const repo = auditRepository(tx);
    if (!(await repo.tryLockSequencer())) return null;
    const state = await repo.treeState();
    let size = state?.tree_size ?? 0;
    let compact = state?.compact ?? [];
    const pending = await repo.pending(batch);
    if (pending.length === 0) return { integrated: 0, treeSize: size, root: state?.root_hash ?? EMPTY_ROOT };
    const ids: number[] = [];
    const indexes: number[] = [];
    const hashes: Buffer[] = [];
    for (const p of pending) {
      const h = leafHash(Buffer.from(p.payload, 'utf8'));
      compact = appendToCompactRange(compact, size, h);
      ids.push(p.id);
      indexes.push(size);
      hashes.push(h);
      size += 1;
    }
    const root = rootFromCompactRange(compact);
    await repo.integrate(ids, indexes, hashes);
    await repo.saveTreeState(size, compact, root, clock.now());
    return { integrated: pending.length, treeSize: size, root };
  });
}

/** Integrates until nothing is pending (tests, CLI, shutdown). */
export async function sequenceAll(db: Kysely<DB>, clock: Clock): Promise<SequenceResult> {
  for (;;) {
    const r = await sequenceOnce(db, clock);
    // Another node holds the sequencer lock: it will integrate; wait briefly and look again.
    if (r === null) await new Promise((resolve) => setTimeout(resolve, 50));
    else if (r.integrated === 0) return r;
  }
}
