/**
 * The routing and review rules: one versioned JSON document, defaults written on first use, every
 * change audited with what changed (security center and CPO; read by overseers and approvers).
 */
import type { TransmissionRules, TransmissionRulesView } from '@mamori/contracts';
import type { AppContext } from '../../platform/context.ts';
import type { Executor } from '../../platform/db/database.ts';
import type { Clock } from '../../platform/clock.ts';
import { AppError } from '../../platform/errors.ts';
import type { Actor } from '../identity/index.ts';
import { authorize } from '../access-policy/index.ts';
import { appendAudit } from '../audit/index.ts';
import { transmissionsRepository } from './transmissions.repository.ts';
import { DEFAULT_RULES, validateRules } from './transmissions.rules.ts';

export async function loadRules(db: Executor, clock: Clock): Promise<TransmissionRulesView> {
  const repo = transmissionsRepository(db);
  let row = await repo.settings();
  if (!row) {
    await repo.insertSettings(DEFAULT_RULES, clock.now());
    row = (await repo.settings())!;
  }
  // Stored documents are merged over the defaults, so a field added later has its default.
  const stored = row.rules as Partial<TransmissionRules>;
  const rules: TransmissionRules = { ...DEFAULT_RULES, ...stored, review: { ...DEFAULT_RULES.review, ...(stored.review ?? {}) } };
  return { ...rules, version: row.version, updatedAt: new Date(row.updated_at).toISOString(), updatedBy: row.updated_by };
}

export async function getRules(ctx: AppContext, actor: Actor): Promise<TransmissionRulesView> {
  await authorize(ctx, { actor, action: 'transmission.rules.read' });
  return loadRules(ctx.db, ctx.clock);
}

export async function updateRules(ctx: AppContext, actor: Actor, input: TransmissionRules, version: number): Promise<TransmissionRulesView> {
  const d = await authorize(ctx, { actor, action: 'transmission.rules.update' });
  const next = validateRules(input);
  const before = await loadRules(ctx.db, ctx.clock);
  const changed = (Object.keys(next) as (keyof TransmissionRules)[]).filter((k) => JSON.stringify(next[k]) !== JSON.stringify(before[k]));
  await ctx.db.transaction().execute(async (tx) => {
    if (!(await transmissionsRepository(tx).updateSettings(next, version, ctx.clock.now(), actor.userId))) {
      throw new AppError('conflict', 'The rules were changed meanwhile; reload and try again.', { version: before.version });
    }
    await appendAudit(tx, ctx.clock, actor, {
      action: 'transmission.rules.update', decision: 'allow', rule: d.rule, reason: 'Transmission rules changed', result: 'ok',
      details: {
        changed, version: version + 1,
        before: Object.fromEntries(changed.map((k) => [k, before[k]])), after: Object.fromEntries(changed.map((k) => [k, next[k]])),
      },
    });
  });
  return loadRules(ctx.db, ctx.clock);
}
