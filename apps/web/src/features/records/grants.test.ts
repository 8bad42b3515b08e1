import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DatasetView, MyGrant, UserView } from '../../lib/types.ts';
import { accessOf, liveGrants } from './grants.ts';

const NOW = new Date('2026-11-25T03:00:00Z');
const field = (name: string, position: number, classification: DatasetView['fields'][number]['classification']) => ({ name, position, labelJa: name, labelEn: name, classification, kind: 'text' as const, search: 'exact' as const });
const DS = {
  id: 'ds1', name: 'contacts', labelJa: '', labelEn: '', description: '', ownerUserId: 'o', departmentId: null, purposes: ['営業活動', 'データ整備', '本人対応'],
  source: '', storageLocation: '', vdiOnly: false, createdAt: '', version: 1,
  fields: [field('company_name', 0, 'public'), field('person_name', 1, 'personal'), field('title', 2, 'internal'), field('mobile_phone', 3, 'confidential')],
} satisfies DatasetView;
const user = (employmentType: UserView['employmentType']) => ({ employmentType }) as UserView;
const grant = (g: Partial<MyGrant>): MyGrant => ({
  id: 'g', datasetId: 'ds1', fields: [], unmaskFields: [], purposes: [], canWrite: false, validFrom: '2026-01-01T00:00:00Z', validUntil: '2027-01-01T00:00:00Z', status: 'active', ...g,
});

test('purposes, fields and unmaskable fields come from live grants for the chosen purpose', () => {
  const grants = [
    grant({ fields: ['company_name', 'person_name', 'mobile_phone'], unmaskFields: ['person_name'], purposes: ['営業活動'] }),
    grant({ fields: ['title'], purposes: ['本人対応'] }),
    grant({ fields: ['title'], purposes: ['データ整備'], status: 'revoked' }),
    grant({ fields: ['title'], purposes: ['データ整備'], validUntil: '2026-11-25T02:59:59Z' }),
    grant({ datasetId: 'other', fields: ['title'], purposes: ['データ整備'] }),
  ];
  const a = accessOf(user('employee'), grants, DS, NOW);
  assert.deepEqual(a.purposes, ['営業活動', '本人対応'], 'in the dataset order; revoked, expired and other datasets left out');
  assert.deepEqual(a.fields('営業活動'), ['company_name', 'person_name', 'mobile_phone']);
  assert.deepEqual(a.fields('本人対応'), ['title']);
  assert.deepEqual([...a.unmaskable('営業活動')], ['person_name']);
  assert.deepEqual([...a.unmaskable('本人対応')], []);
  assert.deepEqual(a.fields(null), []);
  assert.equal(liveGrants(grants, 'ds1', NOW).length, 2);
});

test('a dispatch worker is offered no personal-level field even if a (group) grant names one', () => {
  const grants = [grant({ fields: ['company_name', 'person_name', 'mobile_phone', 'title'], unmaskFields: ['person_name'], purposes: ['営業活動'] })];
  const a = accessOf(user('dispatch'), grants, DS, NOW);
  assert.deepEqual(a.fields('営業活動'), ['company_name', 'title']);
  assert.equal(a.unmaskable('営業活動').size, 0);
});

test('no dataset, no access', () => {
  const a = accessOf(user('employee'), [], undefined, NOW);
  assert.deepEqual(a.purposes, []);
  assert.deepEqual(a.fields('営業活動'), []);
});
