/**
 * 個人情報管理台帳 (O6): the personal-data ledger per dataset, generated from live configuration —
 * name, items and their classes, owner, department, purposes, storage, and who has access now.
 */
import { isPersonalLevel } from '@mamori/contracts';
import type { AppContext } from '../../platform/context.ts';
import type { Actor } from '../identity/index.ts';
import { authorize } from '../access-policy/index.ts';
import { appendAudit } from '../audit/index.ts';
import { vaultRepository } from './vault.repository.ts';

export async function buildLedger(ctx: AppContext, actor: Actor) {
  const decision = await authorize(ctx, { actor, action: 'ledger.read' });
  const repo = vaultRepository(ctx.db);
  const now = ctx.clock.now();
  const datasets = await repo.listDatasets();
  const entries = [];
  for (const d of datasets) {
    const fields = await repo.fieldsOf(d.id);
    const grants = await ctx.db
      .selectFrom('grants')
      .leftJoin('users', (j) => j.onRef('users.id', '=', 'grants.subject_id').on('grants.subject_type', '=', 'user'))
      .leftJoin('groups', (j) => j.onRef('groups.id', '=', 'grants.subject_id').on('grants.subject_type', '=', 'group'))
      .select(['grants.id', 'grants.subject_type', 'grants.subject_id', 'grants.fields', 'grants.purposes', 'grants.valid_until', 'users.display_name', 'users.employment_type', 'groups.name as group_name'])
      .where('grants.dataset_id', '=', d.id)
      .where('grants.status', '=', 'active')
      .where('grants.valid_until', '>', now)
      .execute();
    const owner = await ctx.db.selectFrom('users').select(['display_name']).where('id', '=', d.owner_user_id).executeTakeFirst();
    entries.push({
      dataset: { id: d.id, name: d.name, labelJa: d.label_ja, labelEn: d.label_en },
      owner: { id: d.owner_user_id, displayName: owner?.display_name ?? null },
      departmentId: d.department_id,
      purposes: d.purposes,
      source: d.source,
      storageLocation: d.storage_location,
      records: await repo.countRecords(d.id),
      items: fields.map((f) => ({ name: f.name, labelJa: f.label_ja, labelEn: f.label_en, classification: f.classification, personal: isPersonalLevel(f.classification as never) })),
      access: grants.map((g) => ({
        grantId: g.id, subjectType: g.subject_type, subjectId: g.subject_id, name: g.display_name ?? g.group_name, employmentType: g.employment_type,
        fields: g.fields, purposes: g.purposes, validUntil: new Date(g.valid_until).toISOString(),
      })),
    });
  }
  await appendAudit(ctx.db, ctx.clock, actor, { action: 'ledger.read', decision: 'allow', rule: decision.rule, reason: decision.reason.en, result: 'ok', details: { datasets: entries.length } });
  return { generatedAt: now.toISOString(), entries };
}
