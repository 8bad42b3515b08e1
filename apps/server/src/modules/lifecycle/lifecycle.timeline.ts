/**
 * The joiners / movers / leavers timeline, read from the audit log (the record of what happened, so
 * the timeline cannot disagree with it): joiners (created in the console or by SCIM), movers,
 * dispatch changes, leavers with their cause, reactivations, and roles moved by the SSO group
 * mapping. Per user or overall, by kind and date range, newest first.
 */
import { LIFECYCLE_KINDS, type LifecycleEvent, type LifecycleKind } from '@mamori/contracts';
import type { AppContext } from '../../platform/context.ts';
import { authorize } from '../access-policy/index.ts';
import { auditRepository } from '../audit/index.ts';
import type { Actor } from '../identity/index.ts';

export type TimelineQuery = { userId?: string; kinds?: readonly LifecycleKind[]; from?: Date; to?: Date; limit?: number };

type Payload = { action: string; rule: string; decision: string; subject?: string | null; actor?: { user?: string | null }; details?: Record<string, unknown> };

const RULE_KIND: Record<string, LifecycleKind> = { 'lifecycle.mover': 'mover', 'lifecycle.dispatch': 'dispatch', 'lifecycle.leaver': 'leaver', 'sso.group_mapping': 'roles' };

/** What kind of lifecycle event an audit event is, or null when it is none. */
export function kindOf(p: Payload): LifecycleKind | null {
  if (p.decision !== 'allow') return null;
  const byRule = RULE_KIND[p.rule];
  if (byRule) return byRule;
  if (p.action === 'user.create') return 'joiner';
  if (p.action === 'scim.provision' && p.details?.resource === 'User' && p.details?.op === 'create') return 'joiner';
  if (p.action === 'user.status.change' && p.details?.to === 'active') return 'reactivated';
  return null;
}

const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

export async function lifecycleTimeline(ctx: AppContext, actor: Actor, q: TimelineQuery): Promise<LifecycleEvent[]> {
  await authorize(ctx, { actor, action: 'lifecycle.read' });
  const limit = Math.min(Math.max(q.limit ?? 200, 1), 500);
  const kinds = new Set<LifecycleKind>(q.kinds && q.kinds.length > 0 ? q.kinds : LIFECYCLE_KINDS);
  const repo = auditRepository(ctx.db);
  // Each lifecycle event is one of these actions; the rule and details tell which kind.
  const actions = ['user.create', 'scim.provision', 'user.status.change', 'user.update'] as const;
  const rows = (await Promise.all(actions.map((action) => repo.list({ action, decision: 'allow', limit: 2000, ...(q.from ? { from: q.from } : {}), ...(q.to ? { to: q.to } : {}) })))).flat();
  const out: LifecycleEvent[] = [];
  for (const r of rows.sort((a, b) => b.id - a.id)) {
    const p = JSON.parse(r.payload) as Payload;
    const kind = kindOf(p);
    if (!kind || !kinds.has(kind)) continue;
    const subject = p.subject ?? null;
    if (q.userId && subject !== q.userId) continue;
    const d = p.details ?? {};
    out.push({
      id: r.id, at: new Date(r.at).toISOString(), kind, userId: subject, actorUserId: p.actor?.user ?? null,
      cause: typeof d.cause === 'string' ? d.cause : null,
      grantsSuspended: typeof d.grantsSuspended === 'number' ? d.grantsSuspended : null,
      rolesAdded: strings(d.added), rolesRemoved: strings(d.removed),
      departmentChanged: d.departmentChanged === true, managerChanged: d.managerChanged === true,
    });
    if (out.length >= limit) break;
  }
  return out;
}
