/**
 * The service-side gate: evaluate, and on deny record the attempt (its own small transaction) and
 * throw. Services call this before any write or read of protected data.
 */
import { AppError } from '../../platform/errors.ts';
import type { AppContext } from '../../platform/context.ts';
import { appendAuditAlone, type AuditEventInput } from '../audit/index.ts';
import { evaluate } from './access-policy.evaluate.ts';
import type { Decision, PolicyRequest } from './access-policy.types.ts';

export type AuditContext = Omit<AuditEventInput, 'action' | 'decision' | 'rule' | 'reason' | 'result'>;

export async function authorize(ctx: AppContext, req: Omit<PolicyRequest, 'now'>, audit: AuditContext = {}): Promise<Decision> {
  const decision = evaluate({ ...req, now: ctx.clock.now() });
  if (decision.effect === 'allow') return decision;
  await appendAuditAlone(ctx.db, ctx.clock, req.actor, {
    ...audit,
    datasetId: audit.datasetId ?? req.dataset?.id ?? null,
    fields: audit.fields ?? req.fields ?? [],
    purpose: audit.purpose ?? req.purpose ?? null,
    action: req.action,
    decision: 'deny',
    rule: decision.rule,
    reason: decision.reason.en,
    result: 'denied',
  });
  throw deniedError(decision);
}

export function deniedError(decision: Decision): AppError {
  const code = decision.rule === 'mfa.required' ? 'auth.mfa_required' : decision.rule === 'actor.password_change_required' ? 'auth.password_change_required' : decision.rule === 'purpose.required' ? 'policy.purpose_required' : decision.rule.startsWith('dispatch.') ? 'policy.dispatch_worker' : 'policy.denied';
  return new AppError(code, decision.reason.en, { rule: decision.rule, reason: decision.reason });
}
