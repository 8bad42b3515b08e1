/**
 * The read side of the Merkle log for auditors: the latest checkpoint, inclusion and consistency
 * proofs, verification, and a record's access history where each entry carries its inclusion proof.
 * Every call is authorised (audit.read) and itself audited.
 */
import type { AppContext } from '../../platform/context.ts';
import { AppError } from '../../platform/errors.ts';
import type { Actor } from '../identity/index.ts';
import { authorize } from '../access-policy/index.ts';
import { appendAudit } from './audit.service.ts';
import { auditRepository } from './audit.repository.ts';
import { consistencyProof, inclusionProof, type NodeSource } from './audit.proofs.ts';

const b64 = (b: Buffer) => b.toString('base64');

function nodeSource(ctx: AppContext): NodeSource {
  const repo = auditRepository(ctx.db);
  return async (level, idx) => {
    const h = await repo.node(level, idx);
    if (!h) throw new AppError('internal', 'The stored Merkle tree is incomplete; run `mamori audit verify`.');
    return h;
  };
}

async function audited(ctx: AppContext, actor: Actor, what: string, details: Record<string, unknown>): Promise<void> {
  const d = await authorize(ctx, { actor, action: 'audit.read' });
  await appendAudit(ctx.db, ctx.clock, actor, { action: 'audit.read', decision: 'allow', rule: d.rule, reason: d.reason.en, result: 'ok', details: { what, ...details } });
}

export async function latestCheckpoint(ctx: AppContext, actor: Actor) {
  await audited(ctx, actor, 'checkpoint', {});
  const cp = await auditRepository(ctx.db).latestCheckpoint();
  return cp ? { treeSize: Number(cp.tree_size), rootHash: b64(cp.root_hash), note: cp.note, createdAt: new Date(cp.created_at).toISOString(), publicKey: b64(ctx.auditLog.key.publicRaw), keyName: ctx.auditLog.key.name } : null;
}

/** Inclusion proof of the event at `index` against the checkpoint of `size` (default: the latest). */
export async function proveInclusion(ctx: AppContext, actor: Actor, index: number, size?: number) {
  await audited(ctx, actor, 'inclusion_proof', { index, size: size ?? null });
  const repo = auditRepository(ctx.db);
  const cp = size === undefined ? await repo.latestCheckpoint() : await repo.checkpointAt(size);
  if (!cp) throw new AppError('not_found', 'No checkpoint of that size.');
  const treeSize = Number(cp.tree_size);
  if (!Number.isInteger(index) || index < 0 || index >= treeSize) throw new AppError('request.invalid', 'The index is not covered by that checkpoint.', { field: 'index' });
  const leaf = await repo.node(0, index);
  const event = (await ctx.db.selectFrom('audit_events').select('payload').where('log_index', '=', index).executeTakeFirst())?.payload;
  const proof = await inclusionProof(index, treeSize, nodeSource(ctx));
  return { index, treeSize, leafHash: leaf ? b64(leaf) : null, event: event ?? null, proof: proof.map(b64), checkpoint: cp.note };
}

export async function proveConsistency(ctx: AppContext, actor: Actor, from: number, to: number) {
  await audited(ctx, actor, 'consistency_proof', { from, to });
  const repo = auditRepository(ctx.db);
  const [a, b] = [await repo.checkpointAt(from), await repo.checkpointAt(to)];
  if (!a || !b) throw new AppError('not_found', 'Both sizes must be checkpoints.');
  if (from > to) throw new AppError('request.invalid', 'from must not exceed to.');
  const proof = await consistencyProof(from, to, nodeSource(ctx));
  return { from, to, proof: proof.map(b64), checkpoints: [a.note, b.note] };
}

/** Who touched this record: every event naming it, each with its inclusion proof when integrated. */
export async function recordHistory(ctx: AppContext, actor: Actor, recordId: string) {
  await audited(ctx, actor, 'record_history', { recordId });
  const repo = auditRepository(ctx.db);
  const rows = await repo.list({ recordId, limit: 500 });
  const cp = await repo.latestCheckpoint();
  const treeSize = cp ? Number(cp.tree_size) : 0;
  const nodes = nodeSource(ctx);
  const entries = [];
  for (const r of rows) {
    const idx = r.log_index === null ? null : Number(r.log_index);
    const proof = idx !== null && idx < treeSize ? (await inclusionProof(idx, treeSize, nodes)).map(b64) : null;
    entries.push({ id: r.id, logIndex: idx, at: new Date(r.at).toISOString(), event: JSON.parse(r.payload) as unknown, proof });
  }
  return { recordId, treeSize, checkpoint: cp?.note ?? null, entries };
}
