/**
 * The handler register (取扱者の指定): who may handle which fields of which dataset, for which
 * purposes, until when. Grants to dispatch workers of personal-level fields are refused here and
 * denied again at evaluation (deny overrides allow).
 */
import { isPersonalLevel } from '@mamori/contracts';
import type { AppContext } from '../../platform/context.ts';
import { AppError } from '../../platform/errors.ts';
import { isUuid, newId } from '../../platform/ids.ts';
import { invalidateActors, type Actor } from '../identity/index.ts';
import { authorize } from '../access-policy/index.ts';
import { appendAudit, appendAuditAlone } from '../audit/index.ts';
import { loadDataset } from './vault.datasets.ts';
import { vaultRepository } from './vault.repository.ts';
import type { GrantRecord } from './vault.types.ts';

export const MAX_GRANT_DAYS = 366;

export type CreateGrantInput = {
  subjectType: 'user' | 'group';
  subjectId: string;
  fields: string[];
  unmaskFields?: string[];
  purposes: string[];
  canWrite?: boolean;
  validFrom?: Date;
  validUntil: Date;
  reason: string;
};

type GrantRow = Awaited<ReturnType<typeof grantRows>>[number];
function grantRows(ctx: AppContext, datasetId: string | null) {
  let q = ctx.db.selectFrom('grants').selectAll();
  if (datasetId) q = q.where('dataset_id', '=', datasetId);
  return q.orderBy('created_at', 'desc').limit(1000).execute();
}

function toRecord(g: GrantRow): GrantRecord {
  return {
    id: g.id, datasetId: g.dataset_id, subjectType: g.subject_type, subjectId: g.subject_id, fields: g.fields,
    unmaskFields: g.unmask_fields, purposes: g.purposes, canWrite: g.can_write,
    validFrom: new Date(g.valid_from).toISOString(), validUntil: new Date(g.valid_until).toISOString(),
    status: g.status, reason: g.reason, grantedBy: g.granted_by, createdAt: new Date(g.created_at).toISOString(),
  };
}

export async function createGrant(ctx: AppContext, actor: Actor, datasetName: string, input: CreateGrantInput): Promise<GrantRecord> {
  const ds = await loadDataset(ctx, datasetName);
  const decision = await authorize(ctx, { actor, action: 'grant.create', dataset: ds.policy }, { fields: input.fields, subjectUserId: input.subjectType === 'user' ? input.subjectId : null });
  const now = ctx.clock.now();
  const unmask = input.unmaskFields ?? [];
  const fields = [...new Set(input.fields)];
  for (const f of [...fields, ...unmask]) if (!ds.fieldByName.has(f)) throw new AppError('grant.invalid', 'Unknown field.', { field: f });
  for (const f of unmask) {
    if (!fields.includes(f)) throw new AppError('grant.invalid', 'A field to unmask must also be granted.', { field: f });
    if (!isPersonalLevel(ds.fieldByName.get(f)!.classification)) throw new AppError('grant.invalid', 'Only personal fields are masked.', { field: f });
  }
  if (input.purposes.length === 0) throw new AppError('grant.invalid', 'Name at least one purpose.', { field: 'purposes' });
  for (const p of input.purposes) if (!ds.view.purposes.includes(p)) throw new AppError('grant.invalid', 'This purpose is not registered for the dataset.', { purpose: p });
  const validFrom = input.validFrom ?? now;
  if (input.validUntil.getTime() <= validFrom.getTime()) throw new AppError('grant.invalid', 'The end must be after the start.', { field: 'validUntil' });
  if (input.validUntil.getTime() - validFrom.getTime() > MAX_GRANT_DAYS * 86_400_000) throw new AppError('grant.invalid', `A grant lasts at most ${MAX_GRANT_DAYS} days; renew it when it ends.`, { field: 'validUntil' });
  if (!isUuid(input.subjectId)) throw new AppError('grant.invalid', 'Unknown subject.', { field: 'subjectId' });
  const personal = fields.filter((f) => isPersonalLevel(ds.fieldByName.get(f)!.classification));
  if (input.subjectType === 'user') {
    const u = await ctx.db.selectFrom('users').select(['employment_type', 'status']).where('id', '=', input.subjectId).executeTakeFirst();
    if (!u || u.status !== 'active') throw new AppError('grant.invalid', 'Grants go to active users.', { field: 'subjectId' });
    if (u.employment_type === 'dispatch' && personal.length > 0) {
      await appendAuditAlone(ctx.db, ctx.clock, actor, {
        action: 'grant.create', decision: 'deny', rule: 'dispatch.no_personal', reason: 'Dispatch workers cannot be granted personal fields', result: 'denied',
        datasetId: ds.view.id, fields: personal, subjectUserId: input.subjectId,
      });
      throw new AppError('grant.dispatch_worker', 'Dispatch workers cannot be granted personal-level fields (security policy: 派遣社員の特別な管理).', { fields: personal });
    }
  } else {
    const g = await ctx.db.selectFrom('groups').select('id').where('id', '=', input.subjectId).executeTakeFirst();
    if (!g) throw new AppError('grant.invalid', 'Unknown group.', { field: 'subjectId' });
  }
  const id = newId<'GrantId'>();
  await ctx.db.transaction().execute(async (tx) => {
    await tx.insertInto('grants').values({
      id, dataset_id: ds.view.id, subject_type: input.subjectType, subject_id: input.subjectId, fields, unmask_fields: unmask,
      purposes: input.purposes, can_write: input.canWrite ?? false, valid_from: validFrom, valid_until: input.validUntil,
      status: 'active', reason: input.reason, granted_by: actor.userId ?? '', created_at: now, revoked_at: null, revoked_by: null,
    }).execute();
    await appendAudit(tx, ctx.clock, actor, {
      action: 'grant.create', decision: 'allow', rule: decision.rule, reason: decision.reason.en, result: 'ok', datasetId: ds.view.id,
      fields, purpose: null, subjectUserId: input.subjectType === 'user' ? input.subjectId : null,
      details: { grantId: id, subjectType: input.subjectType, subjectId: input.subjectId, unmaskFields: unmask, purposes: input.purposes, canWrite: input.canWrite ?? false, validUntil: input.validUntil.toISOString() },
    });
  });
  invalidateActors(ctx);
  const row = await ctx.db.selectFrom('grants').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  return toRecord(row);
}

export async function revokeGrant(ctx: AppContext, actor: Actor, grantId: string, reason: string): Promise<void> {
  if (!isUuid(grantId)) throw new AppError('not_found', 'No such grant.');
  const g = await ctx.db.selectFrom('grants').select(['dataset_id', 'status', 'subject_type', 'subject_id']).where('id', '=', grantId).executeTakeFirst();
  if (!g) throw new AppError('not_found', 'No such grant.');
  const d = await vaultRepository(ctx.db).datasetById(g.dataset_id);
  const ds = await loadDataset(ctx, d!.name);
  const decision = await authorize(ctx, { actor, action: 'grant.revoke', dataset: ds.policy });
  if (g.status === 'revoked') throw new AppError('conflict', 'The grant is already revoked.');
  await ctx.db.transaction().execute(async (tx) => {
    await tx.updateTable('grants').set({ status: 'revoked', revoked_at: ctx.clock.now(), revoked_by: actor.userId }).where('id', '=', grantId).execute();
    await appendAudit(tx, ctx.clock, actor, {
      action: 'grant.revoke', decision: 'allow', rule: decision.rule, reason: reason.slice(0, 500) || decision.reason.en, result: 'ok', datasetId: ds.view.id,
      subjectUserId: g.subject_type === 'user' ? g.subject_id : null, details: { grantId },
    });
  });
  invalidateActors(ctx);
}

/** Brings a grant's end forward (never later than it was, never before now): "expire on date X". */
export async function expireGrant(ctx: AppContext, actor: Actor, grantId: string, validUntil: Date, reason: string): Promise<GrantRecord> {
  if (!isUuid(grantId)) throw new AppError('not_found', 'No such grant.');
  const g = await ctx.db.selectFrom('grants').selectAll().where('id', '=', grantId).executeTakeFirst();
  if (!g) throw new AppError('not_found', 'No such grant.');
  const d = await vaultRepository(ctx.db).datasetById(g.dataset_id);
  const ds = await loadDataset(ctx, d!.name);
  const decision = await authorize(ctx, { actor, action: 'grant.revoke', dataset: ds.policy });
  const now = ctx.clock.now();
  if (g.status === 'revoked') throw new AppError('conflict', 'The grant is already revoked.');
  if (validUntil.getTime() < now.getTime()) throw new AppError('grant.invalid', 'The new end cannot be in the past; revoke to end it now.', { field: 'validUntil' });
  if (validUntil.getTime() > new Date(g.valid_until).getTime()) throw new AppError('grant.invalid', 'A grant can only be shortened; make a new grant to extend it.', { field: 'validUntil' });
  await ctx.db.transaction().execute(async (tx) => {
    await tx.updateTable('grants').set({ valid_until: validUntil }).where('id', '=', grantId).execute();
    await appendAudit(tx, ctx.clock, actor, {
      action: 'grant.revoke', decision: 'allow', rule: decision.rule, reason: reason.slice(0, 500) || 'Grant end brought forward', result: 'ok', datasetId: ds.view.id,
      subjectUserId: g.subject_type === 'user' ? g.subject_id : null, details: { grantId, validUntil: validUntil.toISOString(), previousValidUntil: new Date(g.valid_until).toISOString() },
    });
  });
  invalidateActors(ctx);
  return toRecord((await ctx.db.selectFrom('grants').selectAll().where('id', '=', grantId).executeTakeFirstOrThrow()));
}

export async function listGrants(ctx: AppContext, actor: Actor, datasetName: string | null): Promise<GrantRecord[]> {
  const ds = datasetName ? await loadDataset(ctx, datasetName) : null;
  await authorize(ctx, { actor, action: 'grant.read', ...(ds ? { dataset: ds.policy } : {}) });
  return (await grantRows(ctx, ds?.view.id ?? null)).map(toRecord);
}
