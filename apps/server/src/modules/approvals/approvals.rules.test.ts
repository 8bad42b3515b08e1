import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ROLES } from '@mamori/contracts';
import { evaluate } from '../access-policy/index.ts';
import { asUserId, type Actor } from '../identity/index.ts';
import { afterDecision, isEligible, policyProblem, stateAt, tally, type DecisionFact, type Eligibility, type Person } from './approvals.rules.ts';

const NOW = new Date('2026-11-25T01:00:00Z');
const PEOPLE = ['u0', 'u1', 'u2', 'u3', 'u4', 'u5'] as const;
const GROUPS = ['g1', 'g2'] as const;

const arbPerson = (id: string): fc.Arbitrary<Person> => fc.record({
  id: fc.constant(id),
  status: fc.constantFrom('active', 'active', 'active', 'suspended', 'retired'),
  kind: fc.constantFrom<'person' | 'service'>('person', 'person', 'person', 'service'),
  employmentType: fc.constantFrom('employee', 'employee', 'part_time', 'dispatch'),
  roles: fc.subarray([...ROLES]),
  groupIds: fc.subarray([...GROUPS]),
});
const arbEligibility: fc.Arbitrary<Eligibility> = fc.record({
  eligibleRoles: fc.subarray([...ROLES], { maxLength: 3 }),
  eligibleGroupIds: fc.subarray([...GROUPS]),
  requesterSupervisor: fc.boolean(),
});
const arbCase = fc.record({
  e: arbEligibility,
  people: fc.tuple(...PEOPLE.map(arbPerson)),
  requester: fc.constantFrom(...PEOPLE),
  supervisor: fc.option(fc.constantFrom(...PEOPLE), { nil: null }),
  decisions: fc.array(fc.record({ approverId: fc.constantFrom(...PEOPLE), decision: fc.constantFrom<'approve' | 'reject'>('approve', 'reject'), withdrawn: fc.boolean() }), { maxLength: 12 }),
});

void test('property: the requester never counts, whatever their roles; each person counts once; only active, eligible people count (5000 runs)', () => {
  let counted = 0;
  fc.assert(fc.property(arbCase, ({ e, people, requester, supervisor, decisions }) => {
    const map = new Map(people.map((p) => [p.id, p]));
    const req = { id: requester, supervisorId: supervisor };
    // The requester holding every role, in every group, even "their own supervisor", is still not eligible.
    const almighty: Person = { id: requester, status: 'active', kind: 'person', employmentType: 'employee', roles: [...ROLES], groupIds: [...GROUPS] };
    assert.equal(isEligible({ eligibleRoles: [...ROLES], eligibleGroupIds: [...GROUPS], requesterSupervisor: true }, { id: requester, supervisorId: requester }, almighty), false);

    const t = tally(e, req, decisions, map);
    assert.ok(!t.counting.has(requester), 'the requester counted');
    assert.equal(t.approvals + t.rejections, t.counting.size, 'one count per person');
    for (const id of t.counting) {
      const p = map.get(id)!;
      assert.equal(p.status, 'active');
      assert.equal(p.kind, 'person');
      assert.notEqual(p.employmentType, 'dispatch');
      assert.ok(isEligible(e, req, p));
      const first = decisions.find((d) => d.approverId === id)!;
      assert.equal(first.withdrawn, false, 'a withdrawn decision counted');
    }
    // Counting is at most the number of distinct eligible people who decided.
    const distinct = new Set(decisions.filter((d) => isEligible(e, req, map.get(d.approverId)!)).map((d) => d.approverId));
    assert.ok(t.counting.size <= distinct.size);
    // Repeating every decision changes nothing (one person counts once).
    const twice = tally(e, req, [...decisions, ...decisions.map((d): DecisionFact => ({ ...d, decision: d.decision === 'approve' ? 'reject' : 'approve' }))], map);
    assert.equal(twice.approvals, t.approvals);
    assert.equal(twice.rejections, t.rejections);
    // Retiring someone who counted removes exactly their count.
    const [someone] = [...t.counting];
    if (someone) {
      counted++;
      const retired = new Map(map);
      retired.set(someone, { ...map.get(someone)!, status: 'retired' });
      const after = tally(e, req, decisions, retired);
      assert.equal(after.counting.size, t.counting.size - 1);
      assert.ok(!after.counting.has(someone));
    }
  }), { numRuns: 5000 });
  assert.ok(counted > 200, `too few cases where someone counted: ${counted}`);
});

function actor(over: Partial<Actor>): Actor {
  return {
    kind: 'user', userId: asUserId('u-1'), login: 'someone', employmentType: 'employee', status: 'active', roles: [], groupIds: [],
    sessionRef: null, tokenId: null, mfa: true, passwordChangeRequired: false, terminal: { ip: null, userAgent: null, deviceId: null }, requestId: null, grants: [], ...over,
  };
}

void test('property: the policy engine refuses every decision on one\'s own request, for any roles and any eligibility flag (3000 runs)', () => {
  fc.assert(fc.property(fc.subarray([...ROLES]), fc.boolean(), fc.boolean(), fc.boolean(), (roles, eligible, breakGlassAllowed, mfa) => {
    const me = actor({ roles, mfa });
    const d = evaluate({ actor: me, action: 'approval.decide', now: NOW, approval: { requesterUserId: 'u-1', eligible, breakGlassAllowed } });
    assert.equal(d.effect, 'deny');
    assert.equal(d.rule, 'approval.self');
    // Another person with the same flags: eligibility decides.
    const other = evaluate({ actor: actor({ roles, mfa, userId: asUserId('u-2') }), action: 'approval.decide', now: NOW, approval: { requesterUserId: 'u-1', eligible, breakGlassAllowed } });
    assert.equal(other.effect === 'allow', eligible && mfa);
  }), { numRuns: 3000 });
});

void test('approval actions: each has its rule (file, read, decide, cancel, consume, expire, break-glass, review, policy, history, inbox)', () => {
  const ctx = { requesterUserId: 'u-1', eligible: false, breakGlassAllowed: false };
  const run = (a: Actor, action: Parameters<typeof evaluate>[0]['action'], approval = ctx) => evaluate({ actor: a, action, now: NOW, approval });
  const requester = actor({});
  const stranger = actor({ userId: asUserId('u-9') });
  assert.equal(evaluate({ actor: requester, action: 'approval.request', now: NOW }).rule, 'approval.file');
  assert.equal(evaluate({ actor: actor({ mfa: false }), action: 'approval.request', now: NOW }).rule, 'mfa.required');
  assert.equal(run(requester, 'approval.read').rule, 'approval.party');
  assert.equal(run(stranger, 'approval.read').rule, 'approval.not_party');
  assert.equal(run(actor({ userId: asUserId('u-9'), roles: ['auditor'] }), 'approval.read').rule, 'approval.oversight');
  assert.equal(run(actor({ userId: asUserId('u-9'), roles: ['administrator'] }), 'approval.read').rule, 'approval.not_party');
  assert.equal(run(stranger, 'approval.decide', { ...ctx, eligible: true }).rule, 'approval.eligible');
  assert.equal(run(stranger, 'approval.decide').rule, 'approval.not_eligible');
  assert.equal(evaluate({ actor: stranger, action: 'approval.decide', now: NOW }).rule, 'approval.context_required');
  assert.equal(run(actor({ userId: asUserId('u-9'), kind: 'service' }), 'approval.decide', { ...ctx, eligible: true }).rule, 'approval.person_only');
  for (const action of ['approval.cancel', 'approval.consume'] as const) {
    assert.equal(run(requester, action).rule, 'approval.requester');
    assert.equal(run(actor({ userId: asUserId('u-9'), roles: [...ROLES] }), action).rule, 'approval.not_requester');
  }
  assert.equal(run(requester, 'approval.break_glass').rule, 'approval.break_glass_not_allowed');
  assert.equal(run(requester, 'approval.break_glass', { ...ctx, breakGlassAllowed: true }).rule, 'approval.break_glass');
  assert.equal(run(stranger, 'approval.break_glass', { ...ctx, breakGlassAllowed: true }).rule, 'approval.not_requester');
  assert.equal(run(actor({ roles: ['security_center'] }), 'approval.review.close').rule, 'approval.self_review');
  assert.equal(run(actor({ userId: asUserId('u-9'), roles: ['security_center'] }), 'approval.review.close').rule, 'approval.reviewer');
  assert.equal(run(actor({ userId: asUserId('u-9'), roles: ['cpo'] }), 'approval.review.close').rule, 'approval.reviewer');
  assert.equal(run(actor({ userId: asUserId('u-9'), roles: ['auditor', 'administrator'] }), 'approval.review.close').rule, 'role.missing');
  assert.equal(run(actor({ roles: [...ROLES] }), 'approval.expire').rule, 'approval.system_only');
  const role = (roles: Actor['roles'], action: 'approval.policy.read' | 'approval.policy.update' | 'approval.history.read') => evaluate({ actor: actor({ roles }), action, now: NOW }).effect;
  assert.equal(role(['administrator'], 'approval.policy.update'), 'allow');
  assert.equal(role(['cpo'], 'approval.policy.update'), 'allow');
  assert.equal(role(['security_center', 'auditor', 'handler', 'hr'], 'approval.policy.update'), 'deny');
  assert.equal(role(['auditor'], 'approval.policy.read'), 'allow');
  assert.equal(role(['handler'], 'approval.policy.read'), 'deny');
  assert.equal(role(['auditor'], 'approval.history.read'), 'allow');
  assert.equal(role(['administrator', 'handler'], 'approval.history.read'), 'deny');
  assert.equal(evaluate({ actor: actor({ mfa: false }), action: 'notification.read', now: NOW }).rule, 'notification.own');
  assert.equal(evaluate({ actor: actor({ kind: 'service' }), action: 'notification.read', now: NOW }).effect, 'deny');
});

void test('deadlines: pending until its time-to-live, approved until its validity window (both exclusive)', () => {
  const t = NOW.getTime();
  const at = (ms: number) => new Date(t + ms);
  assert.equal(stateAt({ state: 'pending', expiresAt: at(1), validUntil: null }, NOW), 'pending');
  assert.equal(stateAt({ state: 'pending', expiresAt: at(0), validUntil: null }, NOW), 'expired');
  assert.equal(stateAt({ state: 'approved', expiresAt: at(-5), validUntil: at(1) }, NOW), 'approved');
  assert.equal(stateAt({ state: 'approved', expiresAt: at(5), validUntil: at(0) }, NOW), 'expired');
  for (const s of ['rejected', 'cancelled', 'consumed', 'expired'] as const) assert.equal(stateAt({ state: s, expiresAt: at(-1), validUntil: at(-1) }, NOW), s);
  assert.equal(afterDecision(2, 1, { approvals: 1, rejections: 0 }), 'pending');
  assert.equal(afterDecision(2, 1, { approvals: 2, rejections: 0 }), 'approved');
  assert.equal(afterDecision(1, 2, { approvals: 0, rejections: 1 }), 'pending');
  assert.equal(afterDecision(1, 1, { approvals: 1, rejections: 1 }), 'rejected');
});

void test('policy problems: zero approvals is refused with words saying so; so are nobody-may-approve and out-of-range times', () => {
  const ok = { requiredApprovals: 1, rejectionsToEnd: 1, eligibleRoles: ['cpo'], eligibleGroupIds: [], requesterSupervisor: false, requestTtlMinutes: 60, grantMaxMinutes: 60, breakGlassUserIds: [] };
  assert.equal(policyProblem(ok), null);
  assert.match(policyProblem({ ...ok, requiredApprovals: 0 })!.message, /zero approvals/);
  assert.equal(policyProblem({ ...ok, requiredApprovals: -1 })!.field, 'requiredApprovals');
  assert.equal(policyProblem({ ...ok, requiredApprovals: 1.5 })!.field, 'requiredApprovals');
  assert.equal(policyProblem({ ...ok, rejectionsToEnd: 0 })!.field, 'rejectionsToEnd');
  assert.equal(policyProblem({ ...ok, eligibleRoles: [] })!.field, 'eligibleRoles');
  assert.equal(policyProblem({ ...ok, eligibleRoles: [], requesterSupervisor: true }), null);
  assert.equal(policyProblem({ ...ok, eligibleRoles: ['root'] })!.field, 'eligibleRoles');
  assert.equal(policyProblem({ ...ok, requestTtlMinutes: 4 })!.field, 'requestTtlMinutes');
  assert.equal(policyProblem({ ...ok, grantMaxMinutes: 43_201 })!.field, 'grantMaxMinutes');
});
