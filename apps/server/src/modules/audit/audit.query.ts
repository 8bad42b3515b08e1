/** Reading the log is itself an audited operation (auditors, security center, CPO). */
import type { AppContext } from '../../platform/context.ts';
import type { Actor } from '../identity/index.ts';
import { authorize } from '../access-policy/index.ts';
import { auditRepository, type AuditFilter } from './audit.repository.ts';
import { appendAudit } from './audit.service.ts';

export async function searchAuditEvents(ctx: AppContext, actor: Actor, filter: AuditFilter) {
  const decision = await authorize(ctx, { actor, action: 'audit.read' });
  const rows = await auditRepository(ctx.db).list(filter);
  await appendAudit(ctx.db, ctx.clock, actor, {
    action: 'audit.read', decision: 'allow', rule: decision.rule, reason: decision.reason.en, result: 'ok',
    details: { filter: { ...filter, from: filter.from?.toISOString(), to: filter.to?.toISOString() }, returned: rows.length },
  });
  return {
    events: rows.map((r) => ({ id: r.id, logIndex: r.log_index, at: new Date(r.at).toISOString(), event: JSON.parse(r.payload) as unknown })),
    next: rows.length === filter.limit ? (rows.at(-1)?.id ?? null) : null,
  };
}
