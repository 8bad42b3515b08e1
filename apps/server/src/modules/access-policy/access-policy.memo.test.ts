/**
 * The remembered record-read decision (access-policy.memo.ts) is always the decision `evaluate`
 * makes for the same request: across grant start and end times, for every combination of the
 * actor's flags, purposes and datasets, in any order of calls — and it is remembered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { GrantId } from '../../platform/ids.ts';
import { asUserId, type Actor, type GrantView } from '../identity/identity.types.ts';
import { evaluate } from './access-policy.evaluate.ts';
import { evaluateRemembered } from './access-policy.memo.ts';
import type { DatasetPolicyView, PolicyRequest } from './access-policy.types.ts';

const T = new Date('2026-04-01T09:00:00.000Z').getTime();
const HOUR = 3_600_000;

const DATASETS: DatasetPolicyView[] = [
  { id: 'ds-a', ownerUserId: 'u-owner', purposes: ['support', 'billing'], fields: [{ name: 'no', classification: 'internal' }, { name: 'name', classification: 'personal' }, { name: 'phone', classification: 'confidential' }] },
  { id: 'ds-b', ownerUserId: 'u-owner', purposes: ['support'], fields: [{ name: 'city', classification: 'public' }] },
];

function grant(i: number, datasetId: string, fromH: number, untilH: number, purposes: string[], fields: string[], status: 'active' | 'revoked' = 'active'): GrantView {
  return { id: `g-${i}` as GrantId, datasetId, fields, unmaskFields: [], purposes, canWrite: false, validFrom: new Date(T + fromH * HOUR), validUntil: new Date(T + untilH * HOUR), status };
}

function actor(grants: readonly GrantView[], over: Partial<Actor> = {}): Actor {
  return {
    kind: 'user', userId: asUserId('u-alice'), login: 'alice', employmentType: 'employee', status: 'active', roles: ['handler'], groupIds: [],
    sessionRef: 's', tokenId: null, mfa: true, passwordChangeRequired: false, terminal: { ip: null, userAgent: null, deviceId: null }, requestId: null, grants, ...over,
  };
}

const read = (a: Actor, dataset: DatasetPolicyView, purpose: string | null, now: number): PolicyRequest => ({ actor: a, action: 'record.read', dataset, purpose, now: new Date(now) });

test('a read allowed inside a grant window is refused at its end and allowed again when the next grant starts, remembered or not', () => {
  const grants = [grant(1, 'ds-a', -2, 1, ['support'], ['no', 'name']), grant(2, 'ds-a', 3, 5, ['support'], ['no']), grant(3, 'ds-b', -1, 0.5, ['support'], ['city'])];
  const a = actor(grants);
  const ds = DATASETS[0]!;
  for (const h of [0, 0.5, 0.999, 1, 1.001, 2.999, 3, 4, 5, 6, 0, 3.5, 1]) {
    const req = read(a, ds, 'support', T + h * HOUR);
    assert.deepEqual(evaluateRemembered(req), evaluate(req), `at +${h} h`);
  }
  assert.equal(evaluateRemembered(read(a, ds, 'support', T)).effect, 'allow');
  assert.equal(evaluateRemembered(read(a, ds, 'support', T + HOUR)).rule, 'grant.none', 'the end of a grant is exclusive');
  assert.deepEqual([...evaluateRemembered(read(a, ds, 'support', T + 3 * HOUR)).visible.keys()], ['no'], 'the next grant decides from its start');
});

test('the same request in the same window gets the remembered decision', () => {
  const a = actor([grant(1, 'ds-a', -2, 1, ['support'], ['no', 'name'])]);
  const first = evaluateRemembered(read(a, DATASETS[0]!, 'support', T));
  assert.equal(evaluateRemembered(read(a, DATASETS[0]!, 'support', T + HOUR / 2)), first);
  // Another actor object with the same grants array but MFA off is decided afresh.
  assert.equal(evaluateRemembered(read({ ...a, mfa: false }, DATASETS[0]!, 'support', T)).rule, 'mfa.required');
});

test('remembered decisions equal evaluate for random grants, actors, purposes, datasets and times, in any order', () => {
  const grantArb = fc.record({
    ds: fc.constantFrom('ds-a', 'ds-b'), from: fc.integer({ min: -6, max: 6 }), len: fc.integer({ min: 0, max: 6 }),
    purposes: fc.subarray(['support', 'billing', 'x']), fields: fc.subarray(['no', 'name', 'phone', 'city']), revoked: fc.boolean(),
  });
  const callArb = fc.record({
    mfa: fc.boolean(), dispatch: fc.boolean(), status: fc.constantFrom('active', 'retired', 'suspended'), pcr: fc.boolean(),
    ds: fc.constantFrom(0, 1), purpose: fc.constantFrom('support', 'billing', 'x', '', null), t: fc.integer({ min: -8 * 4, max: 14 * 4 }),
  });
  fc.assert(fc.property(fc.array(grantArb, { maxLength: 5 }), fc.array(callArb, { minLength: 1, maxLength: 30 }), (gs, calls) => {
    const grants = gs.map((g, i) => grant(i, g.ds, g.from, g.from + g.len, g.purposes, g.fields, g.revoked ? 'revoked' : 'active'));
    for (const c of calls) {
      const a = actor(grants, { mfa: c.mfa, employmentType: c.dispatch ? 'dispatch' : 'employee', status: c.status as Actor['status'], passwordChangeRequired: c.pcr });
      const req = read(a, DATASETS[c.ds]!, c.purpose, T + (c.t * HOUR) / 4);
      assert.deepEqual(evaluateRemembered(req), evaluate(req));
    }
  }), { numRuns: 300 });
});
