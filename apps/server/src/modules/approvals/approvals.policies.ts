/** Approval policies, one per request kind: read by overseers, changed by the administrator or CPO (audited). */
import { APPROVAL_KINDS, type ApprovalKind, type ApprovalPolicyInput, type ApprovalPolicyView, type Role } from '@mamori/contracts';
import type { AppContext } from '../../platform/context.ts';
import { AppError } from '../../platform/errors.ts';
import { isUuid } from '../../platform/ids.ts';
import type { Actor } from '../identity/index.ts';
import { authorize } from '../access-policy/index.ts';
import { appendAudit } from '../audit/index.ts';
import { approvalsRepository, type PolicyRow } from './approvals.repository.ts';
import { policyProblem } from './approvals.rules.ts';

function toView(p: PolicyRow): ApprovalPolicyView {
  return {
    kind: p.kind as ApprovalKind,
    requiredApprovals: p.required_approvals,
    rejectionsToEnd: p.rejections_to_end,
    eligibleRoles: p.eligible_roles as Role[],
    eligibleGroupIds: p.eligible_group_ids,
    requesterSupervisor: p.requester_supervisor,
    requestTtlMinutes: p.request_ttl_minutes,
    grantMaxMinutes: p.grant_max_minutes,
    breakGlassUserIds: p.break_glass_user_ids,
    updatedAt: new Date(p.updated_at).toISOString(),
    updatedBy: p.updated_by,
    version: p.version,
  };
}

export async function listPolicies(ctx: AppContext, actor: Actor): Promise<ApprovalPolicyView[]> {
  await authorize(ctx, { actor, action: 'approval.policy.read' });
  return (await approvalsRepository(ctx.db).policies()).map(toView);
}

export async function updatePolicy(ctx: AppContext, actor: Actor, kind: string, input: ApprovalPolicyInput): Promise<ApprovalPolicyView> {
  const d = await authorize(ctx, { actor, action: 'approval.policy.update' }, { details: { kind } });
  if (!(APPROVAL_KINDS as readonly string[]).includes(kind)) throw new AppError('not_found', 'No such request kind.');
  const problem = policyProblem(input);
  if (problem) throw new AppError('approval.invalid_policy', problem.message, { field: problem.field });
  const roles = [...new Set(input.eligibleRoles)];
  const groups = [...new Set(input.eligibleGroupIds)];
  const breakGlass = [...new Set(input.breakGlassUserIds)];
  if (groups.some((g) => !isUuid(g)) || breakGlass.some((u) => !isUuid(u))) throw new AppError('approval.invalid_policy', 'Unknown group or user.', { field: groups.some((g) => !isUuid(g)) ? 'eligibleGroupIds' : 'breakGlassUserIds' });
  if (groups.length > 0) {
    const found = await ctx.db.selectFrom('groups').select('id').where('id', 'in', groups).execute();
    if (found.length !== groups.length) throw new AppError('approval.invalid_policy', 'Unknown group.', { field: 'eligibleGroupIds' });
  }
  if (breakGlass.length > 5) throw new AppError('approval.invalid_policy', 'Break-glass is for a few people: at most 5 per kind.', { field: 'breakGlassUserIds' });
  if (breakGlass.length > 0) {
    const found = await ctx.db.selectFrom('users').select('id').where('id', 'in', breakGlass).where('status', '=', 'active').where('kind', '=', 'person').where('employment_type', '!=', 'dispatch').execute();
    if (found.length !== breakGlass.length) throw new AppError('approval.invalid_policy', 'Break-glass users must be active people (not dispatch workers).', { field: 'breakGlassUserIds' });
  }
  const repo = approvalsRepository(ctx.db);
  const before = await repo.policy(kind);
  if (!before) throw new AppError('not_found', 'No such request kind.');
  if (input.version !== undefined && input.version !== before.version) throw new AppError('conflict', 'The policy was changed meanwhile; reload and try again.');
  await ctx.db.transaction().execute(async (tx) => {
    const ok = await approvalsRepository(tx).updatePolicy(kind, before.version, {
      required_approvals: input.requiredApprovals, rejections_to_end: input.rejectionsToEnd, eligible_roles: roles, eligible_group_ids: groups,
      requester_supervisor: input.requesterSupervisor, request_ttl_minutes: input.requestTtlMinutes, grant_max_minutes: input.grantMaxMinutes,
      break_glass_user_ids: breakGlass, updated_at: ctx.clock.now(), updated_by: actor.userId,
    });
    if (!ok) throw new AppError('conflict', 'The policy was changed meanwhile; reload and try again.');
    const b = toView(before);
    await appendAudit(tx, ctx.clock, actor, {
      action: 'approval.policy.update', decision: 'allow', rule: d.rule, reason: d.reason.en, result: 'ok',
      details: {
        kind,
        before: { requiredApprovals: b.requiredApprovals, rejectionsToEnd: b.rejectionsToEnd, eligibleRoles: b.eligibleRoles, eligibleGroupIds: b.eligibleGroupIds, requesterSupervisor: b.requesterSupervisor, requestTtlMinutes: b.requestTtlMinutes, grantMaxMinutes: b.grantMaxMinutes, breakGlassUserIds: b.breakGlassUserIds },
        after: { requiredApprovals: input.requiredApprovals, rejectionsToEnd: input.rejectionsToEnd, eligibleRoles: roles, eligibleGroupIds: groups, requesterSupervisor: input.requesterSupervisor, requestTtlMinutes: input.requestTtlMinutes, grantMaxMinutes: input.grantMaxMinutes, breakGlassUserIds: breakGlass },
      },
    });
  });
  return toView((await repo.policy(kind))!);
}
