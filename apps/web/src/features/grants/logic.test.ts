import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DatasetField } from '../../lib/types.ts';
import { blockedFields, grantState, unmaskCandidates } from './logic.ts';

const field = (name: string, classification: DatasetField['classification']): DatasetField => ({ name, position: 0, labelJa: name, labelEn: name, classification, kind: 'text', search: 'none' });
const FIELDS = [field('company_name', 'public'), field('title', 'internal'), field('person_name', 'personal'), field('mobile_phone', 'confidential'), field('health', 'special_care')];

test('a dispatch worker can be offered no personal-level field; others all of them', () => {
  assert.deepEqual([...blockedFields(FIELDS, { employmentType: 'dispatch' })].sort(), ['health', 'mobile_phone', 'person_name']);
  assert.equal(blockedFields(FIELDS, { employmentType: 'employee' }).size, 0);
  assert.equal(blockedFields(FIELDS, { employmentType: 'part_time' }).size, 0);
  assert.equal(blockedFields(FIELDS, undefined).size, 0);
});

test('only granted personal-level fields can be unmasked', () => {
  assert.deepEqual(unmaskCandidates(FIELDS, ['company_name', 'person_name', 'health']), ['person_name', 'health']);
});

test('grant state: revoked and suspended win; otherwise the validity window decides', () => {
  const now = new Date('2026-06-01T00:00:00Z');
  const g = { status: 'active' as const, validFrom: '2026-01-01T00:00:00Z', validUntil: '2026-12-31T00:00:00Z' };
  assert.equal(grantState(g, now), 'active');
  assert.equal(grantState({ ...g, validUntil: '2026-06-01T00:00:00Z' }, now), 'expired');
  assert.equal(grantState({ ...g, validFrom: '2026-07-01T00:00:00Z' }, now), 'scheduled');
  assert.equal(grantState({ ...g, status: 'revoked' }, now), 'revoked');
  assert.equal(grantState({ ...g, status: 'suspended' }, now), 'suspended');
});
