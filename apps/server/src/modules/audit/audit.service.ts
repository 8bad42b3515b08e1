/**
 * The audit log's write side: `append(tx, actor, event)` inside the caller's transaction, and the
 * sequencer that turns pending events into an RFC 6962 Merkle log (contiguous indexes, leaf hashes,
 * a running root). Checkpoints, proofs and witnesses build on this (see the module README).
 */
import type { Kysely } from 'kysely';
import type { Clock } from '../../platform/clock.ts';
import type { AppContext } from '../../platform/context.ts';
import type { Executor } from '../../platform/db/database.ts';
import type { DB } from '../../platform/db/schema.ts';
import type { Actor } from '../identity/index.ts';
import { buildAuditPayload } from './audit.payload.ts';
import { auditRepository } from './audit.repository.ts';
import type { AuditEventInput } from './audit.types.ts';
import { appendWithNodes, leafHash, rootFromCompactRange, EMPTY_ROOT, type TreeNode } from './audit.merkle.ts';
import { signCheckpoint } from './audit.checkpoint.ts';
import type { SigningKey } from '../../platform/crypto/signing-key.ts';

export async function appendAudit(tx: Executor, clock: Clock, actor: Actor, event: AuditEventInput): Promise<number> {
  return auditRepository(tx).append(buildAuditPayload(actor, clock.now(), event));
}

/** For denied requests: their own small transaction, so the denial is on record even though nothing else is written. */
export async function appendAuditAlone(db: Kysely<DB>, clock: Clock, actor: Actor, event: AuditEventInput): Promise<number> {
  return appendAudit(db, clock, actor, event);
}

export type SequenceResult = { integrated: number; treeSize: number; root: Buffer; checkpoint: string | null };

export type SequencerOptions = { key: SigningKey; origin: string; batch?: number; minCheckpointIntervalMs?: number };

/**
 * Integrates up to `batch` pending events in one transaction: contiguous indexes, leaf hashes, the
 * completed subtree nodes (for proofs), the running root, and — at most once a second — a signed
 * checkpoint. Only the holder of the sequencer advisory lock integrates, so with several nodes on one
 * PostgreSQL the log stays one chain. Returns null when another node holds the lock.
 */
export async function sequenceOnce(db: Kysely<DB>, clock: Clock, opts: SequencerOptions): Promise<SequenceResult | null> {
  return db.transaction().execute(async (tx) => {
    const repo = auditRepository(tx);
    if (!(await repo.tryLockSequencer())) return null;
    const state = await repo.treeState();
    let size = state?.tree_size ?? 0;
    let compact = state?.compact ?? [];
    let root = state?.root_hash ?? EMPTY_ROOT;
    const pending = await repo.pending(opts.batch ?? 10_000);
    const now = clock.now();
    if (pending.length > 0) {
      const ids: number[] = [];
      const indexes: number[] = [];
      const hashes: Buffer[] = [];
      const nodes: TreeNode[] = [];
      for (const p of pending) {
        const h = leafHash(Buffer.from(p.payload, 'utf8'));
        compact = appendWithNodes(compact, size, h, nodes);
        ids.push(p.id);
        indexes.push(size);
        hashes.push(h);
        size += 1;
      }
      root = rootFromCompactRange(compact);
      await repo.integrate(ids, indexes, hashes);
      await repo.insertNodes(nodes);
      await repo.saveTreeState(size, compact, root, now);
    }
    let checkpoint: string | null = null;
    const last = await repo.latestCheckpoint();
    const due = !last || now.getTime() - new Date(last.created_at).getTime() >= (opts.minCheckpointIntervalMs ?? 1000);
    if (size > 0 && (last?.tree_size ?? -1) < size && due) {
      checkpoint = signCheckpoint({ origin: opts.origin, size, root }, opts.key);
      await repo.insertCheckpoint(size, root, checkpoint, now);
    }
    return { integrated: pending.length, treeSize: size, root, checkpoint };
  });
}

/** Integrates until nothing is pending (tests, CLI, shutdown). */
export async function sequenceAll(db: Kysely<DB>, clock: Clock, opts: SequencerOptions): Promise<SequenceResult> {
  let checkpoint: string | null = null;
  for (;;) {
    const r = await sequenceOnce(db, clock, { ...opts, minCheckpointIntervalMs: 0 });
    // Another node holds the sequencer lock: it will integrate; wait briefly and look again.
    if (r === null) await new Promise((resolve) => setTimeout(resolve, 50));
    else {
      checkpoint = r.checkpoint ?? checkpoint;
      if (r.integrated === 0) return { ...r, checkpoint };
    }
  }
}

/**
 * Publishes a checkpoint note to every witness; failures are logged and retried with the next
 * checkpoint (a witness that missed some notes still holds a later one, which is what matters).
 */
export async function publishToWitnesses(ctx: AppContext, note: string): Promise<void> {
  await Promise.all(
    ctx.auditLog.witnesses.map((w) =>
      w.publish(note).catch((err: unknown) => ctx.logger.warn({ witness: w.name, err: { message: (err as Error).message } }, 'audit witness unreachable')),
    ),
  );
}

/** Integrates everything pending, signs a checkpoint and hands it to the witnesses (CLI, shutdown, tests). */
export async function integrateAll(ctx: AppContext): Promise<SequenceResult> {
  const r = await sequenceAll(ctx.db, ctx.clock, ctx.auditLog);
  if (r.checkpoint) await publishToWitnesses(ctx, r.checkpoint);
  return r;
}
