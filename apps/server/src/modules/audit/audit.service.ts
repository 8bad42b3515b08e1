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
import { auditColumns, buildAuditPayload } from './audit.payload.ts';
import { auditRepository } from './audit.repository.ts';
import type { AuditEventInput } from './audit.types.ts';
import { rootFromCompactRange, EMPTY_ROOT } from './audit.merkle.ts';
import { extendTree } from './audit.tree.mjs';
import { signCheckpoint } from './audit.checkpoint.ts';
import type { SigningKey } from '../../platform/crypto/signing-key.ts';

export async function appendAudit(tx: Executor, clock: Clock, actor: Actor, event: AuditEventInput): Promise<number> {
  const at = clock.now();
  return auditRepository(tx).append(buildAuditPayload(actor, at, event), auditColumns(actor, at, event));
}

/** For denied requests: their own small transaction, so the denial is on record even though nothing else is written. */
export async function appendAuditAlone(db: Kysely<DB>, clock: Clock, actor: Actor, event: AuditEventInput): Promise<number> {
  return appendAudit(db, clock, actor, event);
}

export type SequenceResult = { integrated: number; treeSize: number; root: Buffer; checkpoint: string | null };

export type SequencerOptions = { key: SigningKey; origin: string; batch?: number; minCheckpointIntervalMs?: number };

/** Pending events integrated per sequencer transaction at most (`SequencerOptions.batch`). */
export const SEQUENCER_BATCH = 10_000;

/**
 * Integrates up to `batch` pending events in one transaction: contiguous indexes, leaf hashes, the
 * completed subtree nodes (for proofs), the running root, and — at most once a second — a signed
 * checkpoint. Only the holder of the sequencer advisory lock integrates, so with several nodes on one
 * PostgreSQL the log stays one chain. Returns null when another node holds the lock.
 *
 * Five round trips whatever the batch size (ADR 0010): BEGIN; the lock with the tree state and the
 * latest checkpoint; one statement that moves the events and returns their leaf hashes; one that
 * stores the new subtree nodes, the state and the checkpoint; COMMIT.
 */
export async function sequenceOnce(db: Kysely<DB>, clock: Clock, opts: SequencerOptions): Promise<SequenceResult | null> {
  return db.transaction().execute(async (tx) => {
    const repo = auditRepository(tx);
    const start = await repo.beginSequencing();
    if (!start.locked) return null;
    let size = start.state?.size ?? 0;
    let root = start.state?.root ?? EMPTY_ROOT;
    const now = clock.now();
    const moved = await repo.integrateNext(size, opts.batch ?? SEQUENCER_BATCH);
    let tree: Parameters<typeof repo.finishSequencing>[0]['tree'];
    if (moved.count > 0) {
      const t = extendTree(start.state?.compact ?? [], size, moved.leaves, moved.count);
      size += moved.count;
      root = rootFromCompactRange(t.compact);
      tree = { size, compact: t.compact, root, levels: t.levels, first: t.first };
    }
    let checkpoint: string | null = null;
    const last = start.lastCheckpoint;
    const due = !last || now.getTime() - last.at.getTime() >= (opts.minCheckpointIntervalMs ?? 1000);
    if (size > 0 && (last?.size ?? -1) < size && due) checkpoint = signCheckpoint({ origin: opts.origin, size, root }, opts.key);
    await repo.finishSequencing({ ...(tree ? { tree } : {}), ...(checkpoint ? { checkpoint: { size, root, note: checkpoint } } : {}), at: now });
    return { integrated: moved.count, treeSize: size, root, checkpoint };
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
