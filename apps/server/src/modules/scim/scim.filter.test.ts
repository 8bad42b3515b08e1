import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAppError } from '../../platform/errors.ts';
import { matches, parseFilter, parsePatchPath, valuesAt } from './scim.filter.ts';
import { emptyUser, groupFromBody, patchGroup, patchUser, userFromBody, PATCH_OP, ENTERPRISE_USER } from './scim.model.ts';
import { DEFAULT_USER_TYPES, employmentTypeOf, project } from './scim.resources.ts';

const USER = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE_USER],
  id: '0190a000-0000-7000-8000-000000000001',
  externalId: 'ABC-1',
  userName: 'Yamada.Taro@example.jp',
  name: { givenName: 'Taro', familyName: 'Yamada' },
  displayName: '山田 太郎',
  title: 'Engineer',
  active: true,
  emails: [{ value: 'yamada@example.jp', type: 'work', primary: true }],
  [ENTERPRISE_USER]: { department: '営業部', employeeNumber: 'E-0042', manager: { value: 'mgr-1' } },
  meta: { created: '2026-01-10T00:00:00Z', lastModified: '2026-11-01T09:00:00Z', version: 'W/"3"' },
};

const m = (f: string) => matches(parseFilter(f), USER);

function scimCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => isAppError(e) && e.code === code);
}

void test('filter: eq/ne/co/sw/ew/pr, case-insensitive names and values (userName is not caseExact)', () => {
  assert.ok(m('userName eq "yamada.taro@example.jp"'));
  assert.ok(m('USERNAME Eq "YAMADA.TARO@EXAMPLE.JP"'));
  assert.ok(!m('userName ne "yamada.taro@example.jp"'));
  assert.ok(m('userName ne "someone@example.jp"'));
  assert.ok(m('displayName co "山田"'));
  assert.ok(m('name.familyName sw "yam"'));
  assert.ok(m('userName ew "@example.jp"'));
  assert.ok(m('title pr'));
  assert.ok(!m('nickName pr'));
  assert.ok(m('emails co "yamada@"'), 'a multi-valued complex attribute compares its value');
});

void test('filter: externalId and id are caseExact', () => {
  assert.ok(m('externalId eq "ABC-1"'));
  assert.ok(!m('externalId eq "abc-1"'));
});

void test('filter: and / or / not, precedence and grouping', () => {
  assert.ok(m('active eq true and title eq "engineer"'));
  assert.ok(!m('active eq false and title eq "engineer"'));
  assert.ok(m('active eq false or title eq "engineer"'));
  assert.ok(m('not (active eq false)'));
  assert.ok(!m('not (title pr)'));
  assert.ok(m('(active eq false or userName sw "yamada") and not (title eq "x")'));
});

void test('filter: gt/lt/ge/le on dateTime compare instants, not strings', () => {
  assert.ok(m('meta.lastModified gt "2026-10-31T23:59:59Z"'));
  assert.ok(m('meta.lastModified gt "2026-11-01T08:59:59+00:00"'));
  assert.ok(!m('meta.lastModified gt "2026-11-01T18:00:00+09:00"'), 'same instant written in JST is not greater');
  assert.ok(m('meta.lastModified ge "2026-11-01T18:00:00+09:00"'));
  assert.ok(m('meta.created lt "2026-02-01T00:00:00Z"'));
  assert.ok(!m('meta.created lt "2025-02-01T00:00:00Z"'));
  scimCode(() => m('meta.created gt "not a date"'), 'scim.invalid_filter');
});

void test('filter: extension attributes by URN, value paths on multi-valued attributes', () => {
  assert.ok(m(`${ENTERPRISE_USER}:department eq "営業部"`));
  assert.ok(m(`${ENTERPRISE_USER}:manager.value eq "mgr-1"`));
  assert.ok(!m(`${ENTERPRISE_USER}:employeeNumber eq "E-0043"`));
  assert.ok(m('emails[type eq "work" and value co "@example.jp"]'));
  assert.ok(!m('emails[type eq "home"]'));
  assert.deepEqual(valuesAt(USER, 'urn:ietf:params:scim:schemas:core:2.0:User:userName'), ['Yamada.Taro@example.jp']);
});

void test('filter: syntax errors are invalidFilter without echoing the input', () => {
  for (const bad of ['userName eq', 'userName xx "a"', '(userName eq "a"', 'userName eq "a" and', 'a'.repeat(2001)]) {
    assert.throws(() => parseFilter(bad), (e: unknown) => isAppError(e) && e.code === 'scim.invalid_filter' && !e.message.includes('userName'), bad.slice(0, 30));
  }
  scimCode(() => m('active gt true'), 'scim.invalid_filter');
});

void test('patch paths: attribute, sub-attribute, value filter, extension URN', () => {
  assert.deepEqual({ ...parsePatchPath('name.givenName'), filter: null }, { attr: 'name', filter: null, sub: 'givenName' });
  const p = parsePatchPath('emails[type eq "work"].value');
  assert.equal(p.attr, 'emails');
  assert.equal(p.sub, 'value');
  assert.deepEqual(p.filter, { op: 'eq', attrPath: 'type', compValue: 'work' });
  assert.equal(parsePatchPath(`${ENTERPRISE_USER}:manager`).attr, `${ENTERPRISE_USER}:manager`);
  assert.equal(parsePatchPath('members[value eq "x"]').filter?.op, 'eq');
});

const patch = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });

void test('PATCH user: Entra ID quirks — capitalised ops, string booleans, filtered e-mail path, manager as a plain string', () => {
  const base = { ...emptyUser(), userName: 'u1', active: true };
  const off = patchUser(base, patch({ op: 'Replace', path: 'active', value: 'False' }));
  assert.equal(off.active, false);
  assert.equal(patchUser(off, patch({ op: 'Replace', path: 'active', value: 'True' })).active, true);
  const e = patchUser(base, patch({ op: 'Replace', path: 'emails[type eq "work"].value', value: 'new@example.jp' }, { op: 'Replace', path: 'name.familyName', value: '佐藤' }));
  assert.equal(e.email, 'new@example.jp');
  assert.equal(e.familyName, '佐藤');
  assert.equal(patchUser(base, patch({ op: 'Add', path: `${ENTERPRISE_USER}:manager`, value: 'mgr-2' })).managerId, 'mgr-2');
  assert.equal(patchUser(base, patch({ op: 'Add', path: `${ENTERPRISE_USER}:manager`, value: { value: 'mgr-3' } })).managerId, 'mgr-3');
  assert.equal(patchUser({ ...base, managerId: 'x' }, patch({ op: 'Remove', path: `${ENTERPRISE_USER}:manager` })).managerId, null);
  scimCode(() => patchUser(base, patch({ op: 'Replace', path: 'active', value: 'nope' })), 'scim.invalid_value');
});

void test('PATCH user: Okta path-less replace with an object value, extension objects inside it', () => {
  const base = { ...emptyUser(), userName: 'u1', active: true };
  assert.equal(patchUser(base, patch({ op: 'replace', value: { active: false } })).active, false);
  const r = patchUser(base, patch({ op: 'replace', value: { displayName: 'New', [ENTERPRISE_USER]: { department: '人事部' }, 'name.givenName': 'Hanako' } }));
  assert.equal(r.displayName, 'New');
  assert.equal(r.department, '人事部');
  assert.equal(r.givenName, 'Hanako');
});

void test('PATCH user: malformed messages and unknown paths are refused with their scimType', () => {
  const base = { ...emptyUser(), userName: 'u1' };
  scimCode(() => patchUser(base, { Operations: [{ op: 'replace', path: 'title', value: 'x' }] }), 'scim.invalid_syntax');
  scimCode(() => patchUser(base, patch({ op: 'move', path: 'title', value: 'x' })), 'scim.invalid_syntax');
  scimCode(() => patchUser(base, patch({ op: 'remove' })), 'scim.no_target');
  scimCode(() => patchUser(base, patch({ op: 'replace', path: 'favouriteColour', value: 'x' })), 'scim.invalid_path');
  scimCode(() => patchUser(base, patch({ op: 'replace', path: 'userName', value: '' })), 'scim.invalid_value');
  scimCode(() => patchUser(base, patch({ op: 'replace', path: 'urn:ietf:params:scim:schemas:extension:mamori:2.0:User:employmentType', value: 'employee' })), 'scim.mutability');
  // Attributes Mamori does not keep are accepted and dropped (data minimisation), not errors.
  const kept = patchUser(base, patch({ op: 'replace', path: 'phoneNumbers[type eq "work"].value', value: '03-0000-0000' }, { op: 'add', path: 'addresses', value: [{ formatted: 'x' }] }));
  assert.deepEqual(kept, base);
});

void test('POST body: required userName, bad e-mail refused, unknown attribute refused, dropped ones ignored', () => {
  const u = userFromBody({ schemas: [], userName: 'a@example.jp', name: { givenName: 'A', familyName: 'B' }, emails: [{ value: 'a@example.jp', primary: true }], locale: 'ja-JP', password: 'x' });
  assert.equal(u.userName, 'a@example.jp');
  assert.equal(u.email, 'a@example.jp');
  scimCode(() => userFromBody({ name: { givenName: 'A' } }), 'scim.invalid_value');
  scimCode(() => userFromBody({ userName: 'a', emails: [{ value: 'not-an-email' }] }), 'scim.invalid_value');
  scimCode(() => userFromBody({ userName: 'a', shoeSize: 42 }), 'scim.invalid_path');
  scimCode(() => userFromBody([]), 'scim.invalid_syntax');
});

void test('PATCH group: members add / remove (Entra), value-path remove (Okta), path-less rename with the same id', () => {
  const g = { id: 'g1', displayName: 'Sales', externalId: null, memberIds: ['u1', 'u2'] };
  assert.deepEqual(patchGroup(g, patch({ op: 'Add', path: 'members', value: [{ value: 'u3', displayName: 'x' }] })).memberIds, ['u1', 'u2', 'u3']);
  assert.deepEqual(patchGroup(g, patch({ op: 'Remove', path: 'members', value: [{ value: 'u1' }] })).memberIds, ['u2']);
  assert.deepEqual(patchGroup(g, patch({ op: 'remove', path: 'members[value eq "u2"]' })).memberIds, ['u1']);
  assert.deepEqual(patchGroup(g, patch({ op: 'remove', path: 'members' })).memberIds, []);
  assert.deepEqual(patchGroup(g, patch({ op: 'replace', path: 'members', value: [{ value: 'u9' }] })).memberIds, ['u9']);
  assert.equal(patchGroup(g, patch({ op: 'replace', value: { id: 'g1', displayName: 'Sales JP' } })).displayName, 'Sales JP');
  scimCode(() => patchGroup(g, patch({ op: 'replace', value: { id: 'other', displayName: 'x' } })), 'scim.mutability');
  scimCode(() => patchGroup(g, patch({ op: 'replace', path: 'owner', value: 'x' })), 'scim.invalid_path');
  scimCode(() => groupFromBody({ members: [] }), 'scim.invalid_value');
});

void test('userType → employment type: built-in table, configured mapping, unknown refused (never guessed)', () => {
  const mapping = { map: DEFAULT_USER_TYPES, fallback: 'employee' as const };
  assert.equal(employmentTypeOf('Employee', mapping), 'employee');
  assert.equal(employmentTypeOf('派遣社員', mapping), 'dispatch');
  assert.equal(employmentTypeOf('Temp', mapping), 'dispatch');
  assert.equal(employmentTypeOf(null, mapping), 'employee');
  assert.equal(employmentTypeOf('Staffing', { map: { staffing: 'dispatch' }, fallback: 'employee' }), 'dispatch');
  scimCode(() => employmentTypeOf('Astronaut', mapping), 'scim.invalid_value');
});

void test('attributes / excludedAttributes projection keeps id and schemas', () => {
  const p = project(USER, 'userName,name.givenName', undefined);
  assert.deepEqual(Object.keys(p).sort(), ['id', 'name', 'schemas', 'userName']);
  assert.deepEqual(p.name, { givenName: 'Taro' });
  const x = project(USER, undefined, `emails,${ENTERPRISE_USER}:department,id`);
  assert.equal(x.emails, undefined);
  assert.equal(x.id, USER.id);
  assert.deepEqual(x[ENTERPRISE_USER], { employeeNumber: 'E-0042', manager: { value: 'mgr-1' } });
});
