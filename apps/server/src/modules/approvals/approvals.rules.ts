/**
 * The pure core of the two-person rule: who is eligible to decide a request, which decisions count,
 * and what state a request is in at a given instant. No database, no clock: unit- and property-tested.
 */
import { ROLES, type ApprovalState, type Role } from '@mamori/contracts';

/** The part of a policy a request carries (snapshot taken when it was filed). */
export type Eligibility = {
  eligibleRoles: readonly string[];
  eligibleGroupIds: readonly string[];
  requesterSupervisor: boolean;
};

/** A person as eligibility sees them, as they are now. */
export type Person = {
  id: string;
  status: string;
  kind: 'person' | 'service';
  employmentType: string;
  roles: readonly string[];
  groupIds: readonly string[];
};

export type Requester = { id: string; supervisorId: string | null };

/**
 * May `p` decide a request of `requester` under `e`? Never their own request (whatever the roles),
 * only active people, never dispatch workers (an approval opens personal data), and then by role,
 * group or as the requester's current supervisor.
 */
export function isEligible(e: Eligibility, requester: Requester, p: Person): boolean {
  if (p.id === requester.id) return false;
  if (p.status !== 'active' || p.kind !== 'person' || p.employmentType === 'dispatch') return false;
  if (p.roles.some((r) => e.eligibleRoles.includes(r))) return true;
  if (p.groupIds.some((g) => e.eligibleGroupIds.includes(g))) return true;
  return e.requesterSupervisor && requester.supervisorId !== null && requester.supervisorId === p.id;
}

export type DecisionFact = { approverId: string; decision: 'approve' | 'reject'; withdrawn: boolean };

/**
 * Counts the decisions that count *now*: one per person (the first one recorded), not withdrawn, by a
 * person who is still eligible (so an approver retired, suspended or moved away since no longer counts).
 */
export function tally(e: Eligibility, requester: Requester, decisions: readonly DecisionFact[], people: ReadonlyMap<string, Person>): { approvals: number; rejections: number; counting: Set<string> } {
  const seen = new Set<string>();
  const counting = new Set<string>();
  let approvals = 0;
  let rejections = 0;
  for (const d of decisions) {
    if (seen.has(d.approverId)) continue;
    seen.add(d.approverId);
    const p = people.get(d.approverId);
    if (d.withdrawn || !p || !isEligible(e, requester, p)) continue;
    counting.add(d.approverId);
    if (d.decision === 'approve') approvals++;
    else rejections++;
  }
  return { approvals, rejections, counting };
}

export type Deadlines = { state: ApprovalState; expiresAt: Date; validUntil: Date | null };

/** A pending request past its time-to-live, or an approved one past its validity window, is expired. */
export function stateAt(r: Deadlines, now: Date): ApprovalState {
  const t = now.getTime();
  if (r.state === 'pending' && t >= r.expiresAt.getTime()) return 'expired';
  if (r.state === 'approved' && r.validUntil !== null && t >= r.validUntil.getTime()) return 'expired';
  return r.state;
}

/** The state a pending request moves to after a decision, given the tally and the thresholds. */
export function afterDecision(required: number, rejectionsToEnd: number, t: { approvals: number; rejections: number }): 'pending' | 'approved' | 'rejected' {
  if (t.rejections >= rejectionsToEnd) return 'rejected';
  if (t.approvals >= required) return 'approved';
  return 'pending';
}

export type PolicyLimits = {
  requiredApprovals: number;
  rejectionsToEnd: number;
  eligibleRoles: readonly string[];
  eligibleGroupIds: readonly string[];
  requesterSupervisor: boolean;
  requestTtlMinutes: number;
  grantMaxMinutes: number;
  breakGlassUserIds: readonly string[];
};

export const MAX_MINUTES = 30 * 24 * 60;

/** What is wrong with a policy, as { field, message }, or null. N = 0 is refused here, with its own words. */
export function policyProblem(p: PolicyLimits): { field: string; message: string } | null {
  const int = (n: number) => Number.isInteger(n);
  if (!int(p.requiredApprovals) || p.requiredApprovals < 1) return { field: 'requiredApprovals', message: 'At least one approval is required: a policy with zero approvals is not allowed.' };
  if (p.requiredApprovals > 10) return { field: 'requiredApprovals', message: 'At most 10 approvals.' };
  if (!int(p.rejectionsToEnd) || p.rejectionsToEnd < 1 || p.rejectionsToEnd > 10) return { field: 'rejectionsToEnd', message: 'Between 1 and 10 rejections end a request.' };
  if (!int(p.requestTtlMinutes) || p.requestTtlMinutes < 5 || p.requestTtlMinutes > MAX_MINUTES) return { field: 'requestTtlMinutes', message: `A request lives between 5 minutes and ${MAX_MINUTES} minutes (30 days).` };
  if (!int(p.grantMaxMinutes) || p.grantMaxMinutes < 5 || p.grantMaxMinutes > MAX_MINUTES) return { field: 'grantMaxMinutes', message: `An approval is usable between 5 minutes and ${MAX_MINUTES} minutes (30 days).` };
  if (p.eligibleRoles.some((r) => !(ROLES as readonly string[]).includes(r))) return { field: 'eligibleRoles', message: 'Unknown role.' };
  if (p.eligibleRoles.length === 0 && p.eligibleGroupIds.length === 0 && !p.requesterSupervisor) return { field: 'eligibleRoles', message: 'Name who may approve: a role, a group or the requester\'s supervisor.' };
  return null;
}

export function isRole(r: string): r is Role {
  return (ROLES as readonly string[]).includes(r);
}
