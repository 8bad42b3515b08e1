/**
 * SCIM 2.0 Users and Groups over identity. Every call is authorized (`scim.read` / `scim.provision`,
 * SCIM client tokens only) and audited; every change is one transaction holding the writes, the
 * lifecycle consequences (leaver, mover, dispatch) and the audit event. After commit the actor cache
 * is invalidated on this node and broadcast to the others.
 */
import type { EmploymentType } from '@mamori/contracts';
import type { AppContext } from '../../platform/context.ts';
import type { Executor } from '../../platform/db/database.ts';
import { AppError } from '../../platform/errors.ts';
import { isUuid, newId } from '../../platform/ids.ts';
import { appendAudit } from '../audit/index.ts';
import { authorize } from '../access-policy/index.ts';
import { invalidateActors, type Actor } from '../identity/index.ts';
import { becomeDispatch, leave, move, type LeaveSummary } from '../lifecycle/index.ts';
import { matches, parseFilter, type Filter } from './scim.filter.ts';
import { groupFromBody, patchGroup, patchUser, userFromBody, type GroupModel, type UserModel } from './scim.model.ts';
import { scimRepository, type ScimGroupRow, type ScimUserRow } from './scim.repository.ts';
import {
  DEFAULT_USER_TYPES, MAX_COUNT, employmentTypeOf, etagOf, groupModelOf, groupResource, listResponse, project, userModelOf, userResource,
  type UserTypeMapping,
} from './scim.resources.ts';

export type ListQuery = { filter?: string; startIndex?: number; count?: number; attributes?: string; excludedAttributes?: string };
export type Written = { resource: Record<string, unknown>; etag: string };

export function userTypeMapping(ctx: AppContext): UserTypeMapping {
  const s = ctx.settings.scim;
  return { map: s?.userTypes ?? DEFAULT_USER_TYPES, fallback: s?.defaultEmploymentType ?? 'employee' };
}

function notFound(kind: 'User' | 'Group'): AppError {
  return new AppError('not_found', `No such ${kind}.`);
}

/** If-Match: `*` or the current version; otherwise 412 and nothing written. */
function checkIfMatch(ifMatch: string | undefined, version: number): void {
  if (ifMatch === undefined || ifMatch.trim() === '*') return;
  const wanted = ifMatch.split(',').map((x) => x.trim().replace(/^W\//, ''));
  if (!wanted.includes(`"${version}"`)) throw new AppError('scim.precondition_failed', 'The resource changed since this version (If-Match).');
}

/** Authorizes (a denial is audited there); the call itself is audited by the route or the write's transaction. */
async function audited(ctx: AppContext, actor: Actor, action: 'scim.read' | 'scim.provision', details: Record<string, unknown>): Promise<void> {
  await authorize(ctx, { actor, action }, { details });
}

// ---------------------------------------------------------------- reads

/** The IdPs look users up by `userName eq "…"` or `externalId eq "…"`: those go to SQL; the rest filter in memory. */
function narrowing(f: Filter | null, attr: 'username' | 'externalid' | 'displayname'): string | undefined {
  if (f && f.op === 'eq' && f.attrPath.toLowerCase().replace(/^urn:ietf:params:scim:schemas:core:2\.0:(user|group):/, '') === attr && typeof f.compValue === 'string') return f.compValue;
  return undefined;
}

function page(q: ListQuery): { start: number; count: number } {
  const start = Math.max(1, Math.trunc(q.startIndex ?? 1));
  const count = Math.min(MAX_COUNT, Math.max(0, Math.trunc(q.count ?? 100)));
  return { start, count };
}

export async function listUsers(ctx: AppContext, actor: Actor, base: string, q: ListQuery): Promise<Record<string, unknown>> {
  const filter = q.filter ? parseFilter(q.filter) : null;
  await audited(ctx, actor, 'scim.read', { resource: 'User', filtered: filter !== null });
  const repo = scimRepository(ctx.db);
  const login = narrowing(filter, 'username');
  const externalId = login === undefined ? narrowing(filter, 'externalid') : undefined;
  const rows = await repo.users({ ...(login !== undefined ? { login } : {}), ...(externalId !== undefined ? { externalId } : {}) });
  const groups = await repo.groupsOfUsers(rows.map((r) => r.id));
  let resources = rows.map((r) => userResource(base, r, groups.get(r.id) ?? []));
  if (filter) resources = resources.filter((r) => matches(filter, r));
  const { start, count } = page(q);
  const slice = resources.slice(start - 1, start - 1 + count).map((r) => project(r, q.attributes, q.excludedAttributes));
  return listResponse(slice, resources.length, start);
}

export async function getUser(ctx: AppContext, actor: Actor, base: string, id: string, q: Pick<ListQuery, 'attributes' | 'excludedAttributes'> = {}): Promise<Written> {
  await audited(ctx, actor, 'scim.read', { resource: 'User', id });
  const row = isUuid(id) ? await scimRepository(ctx.db).user(id) : undefined;
  if (!row) throw notFound('User');
  const groups = await scimRepository(ctx.db).groupsOfUsers([id]);
  return { resource: project(userResource(base, row, groups.get(id) ?? []), q.attributes, q.excludedAttributes), etag: etagOf(row.version) };
}

export async function listGroups(ctx: AppContext, actor: Actor, base: string, q: ListQuery): Promise<Record<string, unknown>> {
  const filter = q.filter ? parseFilter(q.filter) : null;
  await audited(ctx, actor, 'scim.read', { resource: 'Group', filtered: filter !== null });
  const name = narrowing(filter, 'displayname');
  const rows = await scimRepository(ctx.db).groups(name !== undefined ? { name } : {});
  let resources = rows.map((g) => groupResource(base, g));
  if (filter) resources = resources.filter((r) => matches(filter, r));
  const { start, count } = page(q);
  return listResponse(resources.slice(start - 1, start - 1 + count).map((r) => project(r, q.attributes, q.excludedAttributes)), resources.length, start);
}

export async function getGroup(ctx: AppContext, actor: Actor, base: string, id: string, q: Pick<ListQuery, 'attributes' | 'excludedAttributes'> = {}): Promise<Written> {
  await audited(ctx, actor, 'scim.read', { resource: 'Group', id });
  const row = isUuid(id) ? await scimRepository(ctx.db).group(id) : undefined;
  if (!row) throw notFound('Group');
  return { resource: project(groupResource(base, row), q.attributes, q.excludedAttributes), etag: etagOf(row.version) };
}

// ---------------------------------------------------------------- user writes

type Effects = { leaver?: LeaveSummary; grantsSuspendedByMove?: number; grantsSuspendedByDispatch?: number; reactivated?: boolean };

/** Writes a user model over the stored row (or a new row) and runs the lifecycle consequences, in `tx`. */
async function writeUser(ctx: AppContext, tx: Executor, actor: Actor, before: ScimUserRow | null, next: UserModel): Promise<{ id: string; effects: Effects; changed: string[] }> {
  const repo = scimRepository(tx);
  const now = ctx.clock.now();
  // Without a userType an existing user keeps their employment type (a dispatch worker set in the
  // console must not become an employee because the IdP sends no userType); a new one gets the default.
  const employmentType: EmploymentType = next.userType === null && before ? (before.employment_type as EmploymentType) : employmentTypeOf(next.userType, userTypeMapping(ctx));
  const id = before?.id ?? newId();
  if (await repo.loginTaken(next.userName, before?.id ?? null)) throw new AppError('scim.uniqueness', 'userName is already in use.', { attribute: 'userName' });
  if (next.externalId && (await repo.externalIdTaken(next.externalId, before?.id ?? null))) throw new AppError('scim.uniqueness', 'externalId is already in use.', { attribute: 'externalId' });
  if (next.managerId !== null) {
    if (next.managerId === id) throw new AppError('scim.invalid_value', 'A user cannot be their own manager.', { attribute: 'manager' });
    if (!isUuid(next.managerId) || !(await repo.personExists(next.managerId))) throw new AppError('scim.invalid_value', 'The manager is not a known User id.', { attribute: 'manager' });
  }
  const dept = next.department ? await repo.departmentId(next.department, () => newId(), now) : null;
  const departmentId = dept?.id ?? null;
  const displayName = next.displayName ?? ([next.familyName, next.givenName].filter(Boolean).join(' ') || next.userName);
  const retireAt = next.retirementDate ? new Date(next.retirementDate) : null;
  const columns = {
    login: next.userName, display_name: displayName, email: next.email, employment_type: employmentType, department_id: departmentId,
    supervisor_id: next.managerId, external_id: next.externalId, employee_number: next.employeeNumber, user_type: next.userType,
    given_name: next.givenName, family_name: next.familyName, title: next.title, retire_at: retireAt, updated_at: now,
  };
  const effects: Effects = {};
  const changed: string[] = [];
  if (!before) {
    // Joiners start with no roles, no groups beyond those SCIM adds, and no grants: no personal-data access.
    await tx.insertInto('users').values({
      id, ...columns, kind: 'person', status: next.active ? 'active' : 'suspended', status_changed_at: now, password_hash: null, password_change_required: false,
      totp_secret_sealed: null, totp_enrolled_at: null, totp_last_step: null, locked_until: null, created_at: now,
    }).execute();
    changed.push('created');
  } else {
    const old = userModelOf(before);
    for (const k of Object.keys(next) as (keyof UserModel)[]) if (next[k] !== old[k]) changed.push(k);
    const reactivate = next.active && before.status !== 'active' && before.status !== 'retired';
    if (next.active && before.status === 'retired') throw new AppError('scim.mutability', 'A retired user cannot be reactivated; provision a new user.', { attribute: 'active' });
    await tx.updateTable('users').set({
      ...columns, version: before.version + 1, ...(reactivate ? { status: 'active', status_changed_at: now } : {}),
    }).where('id', '=', id).execute();
    if (reactivate) effects.reactivated = true;
    if (employmentType === 'dispatch' && before.employment_type !== 'dispatch') effects.grantsSuspendedByDispatch = await becomeDispatch(ctx, tx, actor, id);
    if (before.department_id !== departmentId || before.supervisor_id !== next.managerId) {
      effects.grantsSuspendedByMove = await move(ctx, tx, actor, id, { departmentId: before.department_id, supervisorId: before.supervisor_id }, { departmentId, supervisorId: next.managerId });
    }
    if (!next.active && before.status === 'active') effects.leaver = await leave(ctx, tx, actor, id, { status: 'suspended', cause: 'scim.deactivate' });
  }
  // A retirement date already reached retires at once; later ones are left to the retirement job.
  if (retireAt && retireAt.getTime() <= now.getTime() && (before?.status ?? 'active') !== 'retired' && !effects.leaver) {
    effects.leaver = await leave(ctx, tx, actor, id, { status: 'retired', cause: 'retirement_date' });
  }
  if (dept?.created) changed.push('department.created');
  return { id, effects, changed };
}

async function userAfterWrite(ctx: AppContext, base: string, id: string): Promise<Written> {
  const repo = scimRepository(ctx.db);
  const row = (await repo.user(id))!;
  const groups = await repo.groupsOfUsers([id]);
  return { resource: userResource(base, row, groups.get(id) ?? []), etag: etagOf(row.version) };
}

export async function createUser(ctx: AppContext, actor: Actor, base: string, body: unknown): Promise<Written> {
  await audited(ctx, actor, 'scim.provision', { resource: 'User', op: 'create' });
  const model = userFromBody(body);
  const id = await ctx.db.transaction().execute(async (tx) => {
    const r = await writeUser(ctx, tx, actor, null, model);
    await appendAudit(tx, ctx.clock, actor, {
      action: 'scim.provision', decision: 'allow', rule: 'scim.client', reason: 'SCIM: user created', result: 'ok', subjectUserId: r.id,
      details: { resource: 'User', op: 'create', employmentType: employmentTypeOf(model.userType, userTypeMapping(ctx)), active: model.active, effects: r.effects },
    });
    return r.id;
  });
  invalidateActors(ctx);
  return userAfterWrite(ctx, base, id);
}

async function changeUser(ctx: AppContext, actor: Actor, base: string, id: string, ifMatch: string | undefined, op: 'replace' | 'patch', next: (current: UserModel) => UserModel): Promise<Written> {
  await audited(ctx, actor, 'scim.provision', { resource: 'User', op, id });
  if (!isUuid(id)) throw notFound('User');
  await ctx.db.transaction().execute(async (tx) => {
    await tx.selectFrom('users').select('id').where('id', '=', id).forUpdate().executeTakeFirst();
    const before = await scimRepository(tx).user(id);
    if (!before) throw notFound('User');
    checkIfMatch(ifMatch, before.version);
    const r = await writeUser(ctx, tx, actor, before, next(userModelOf(before)));
    await appendAudit(tx, ctx.clock, actor, {
      action: 'scim.provision', decision: 'allow', rule: 'scim.client', reason: `SCIM: user ${op === 'patch' ? 'patched' : 'replaced'}`, result: 'ok', subjectUserId: id,
      details: { resource: 'User', op, changed: r.changed, effects: r.effects },
    });
  });
  invalidateActors(ctx);
  return userAfterWrite(ctx, base, id);
}

export function replaceUser(ctx: AppContext, actor: Actor, base: string, id: string, body: unknown, ifMatch?: string): Promise<Written> {
  const model = userFromBody(body);
  return changeUser(ctx, actor, base, id, ifMatch, 'replace', () => model);
}

export function patchUserResource(ctx: AppContext, actor: Actor, base: string, id: string, body: unknown, ifMatch?: string): Promise<Written> {
  return changeUser(ctx, actor, base, id, ifMatch, 'patch', (current) => patchUser(current, body));
}

/** DELETE: the user is retired (the leaver path) and is no longer a SCIM resource; the row stays for the record. */
export async function deleteUser(ctx: AppContext, actor: Actor, id: string, ifMatch?: string): Promise<void> {
  await audited(ctx, actor, 'scim.provision', { resource: 'User', op: 'delete', id });
  if (!isUuid(id)) throw notFound('User');
  await ctx.db.transaction().execute(async (tx) => {
    await tx.selectFrom('users').select('id').where('id', '=', id).forUpdate().executeTakeFirst();
    const before = await scimRepository(tx).user(id);
    if (!before) throw notFound('User');
    checkIfMatch(ifMatch, before.version);
    const summary = before.status === 'retired' ? null : await leave(ctx, tx, actor, id, { status: 'retired', cause: 'scim.delete' });
    await tx.updateTable('users').set({ scim_deleted_at: ctx.clock.now() }).where('id', '=', id).execute();
    await tx.deleteFrom('group_members').where('user_id', '=', id).execute();
    await appendAudit(tx, ctx.clock, actor, {
      action: 'scim.provision', decision: 'allow', rule: 'scim.client', reason: 'SCIM: user deleted (retired)', result: 'ok', subjectUserId: id,
      details: { resource: 'User', op: 'delete', effects: { leaver: summary } },
    });
  });
  invalidateActors(ctx);
}

// ---------------------------------------------------------------- group writes

async function writeGroup(tx: Executor, before: ScimGroupRow | null, next: GroupModel, now: Date): Promise<{ id: string; added: number; removed: number }> {
  const repo = scimRepository(tx);
  if (await repo.groupNameTaken(next.displayName, before?.id ?? null)) throw new AppError('scim.uniqueness', 'displayName is already in use.', { attribute: 'displayName' });
  if (!next.memberIds.every(isUuid) || !(await repo.peopleExist(next.memberIds))) throw new AppError('scim.invalid_value', 'A member is not a known User id.', { attribute: 'members' });
  const id = before?.id ?? newId();
  if (!before) await tx.insertInto('groups').values({ id, name: next.displayName, external_id: next.externalId, created_at: now, updated_at: now }).execute();
  else await tx.updateTable('groups').set({ name: next.displayName, external_id: next.externalId, updated_at: now, version: before.version + 1 }).where('id', '=', id).execute();
  const old = new Set(before?.member_ids ?? []);
  const fresh = new Set(next.memberIds);
  await repo.setMembers(id, [...fresh]);
  return { id, added: [...fresh].filter((x) => !old.has(x)).length, removed: [...old].filter((x) => !fresh.has(x)).length };
}

export async function createGroup(ctx: AppContext, actor: Actor, base: string, body: unknown): Promise<Written> {
  await audited(ctx, actor, 'scim.provision', { resource: 'Group', op: 'create' });
  const model = groupFromBody(body);
  const id = await ctx.db.transaction().execute(async (tx) => {
    const r = await writeGroup(tx, null, model, ctx.clock.now());
    await appendAudit(tx, ctx.clock, actor, { action: 'scim.provision', decision: 'allow', rule: 'scim.client', reason: 'SCIM: group created', result: 'ok', details: { resource: 'Group', op: 'create', groupId: r.id, added: r.added } });
    return r.id;
  });
  invalidateActors(ctx);
  const row = (await scimRepository(ctx.db).group(id))!;
  return { resource: groupResource(base, row), etag: etagOf(row.version) };
}

async function changeGroup(ctx: AppContext, actor: Actor, base: string, id: string, ifMatch: string | undefined, op: 'replace' | 'patch', next: (g: ScimGroupRow) => GroupModel): Promise<Written> {
  await audited(ctx, actor, 'scim.provision', { resource: 'Group', op, id });
  if (!isUuid(id)) throw notFound('Group');
  await ctx.db.transaction().execute(async (tx) => {
    await tx.selectFrom('groups').select('id').where('id', '=', id).forUpdate().executeTakeFirst();
    const before = await scimRepository(tx).group(id);
    if (!before) throw notFound('Group');
    checkIfMatch(ifMatch, before.version);
    const r = await writeGroup(tx, before, next(before), ctx.clock.now());
    await appendAudit(tx, ctx.clock, actor, { action: 'scim.provision', decision: 'allow', rule: 'scim.client', reason: `SCIM: group ${op === 'patch' ? 'patched' : 'replaced'}`, result: 'ok', details: { resource: 'Group', op, groupId: id, added: r.added, removed: r.removed } });
  });
  invalidateActors(ctx);
  const row = (await scimRepository(ctx.db).group(id))!;
  return { resource: groupResource(base, row), etag: etagOf(row.version) };
}

export function replaceGroup(ctx: AppContext, actor: Actor, base: string, id: string, body: unknown, ifMatch?: string): Promise<Written> {
  const model = groupFromBody(body);
  return changeGroup(ctx, actor, base, id, ifMatch, 'replace', () => model);
}

export function patchGroupResource(ctx: AppContext, actor: Actor, base: string, id: string, body: unknown, ifMatch?: string): Promise<Written> {
  return changeGroup(ctx, actor, base, id, ifMatch, 'patch', (g) => patchGroup({ ...groupModelOf(g), id: g.id }, body));
}

/** DELETE of a group: its members lose what the group gave them; grants to the group are suspended. */
export async function deleteGroup(ctx: AppContext, actor: Actor, id: string, ifMatch?: string): Promise<void> {
  await audited(ctx, actor, 'scim.provision', { resource: 'Group', op: 'delete', id });
  if (!isUuid(id)) throw notFound('Group');
  await ctx.db.transaction().execute(async (tx) => {
    const before = await scimRepository(tx).group(id);
    if (!before) throw notFound('Group');
    checkIfMatch(ifMatch, before.version);
    const g = await tx.updateTable('grants').set({ status: 'suspended', suspended_at: ctx.clock.now(), suspended_reason: 'group deleted' })
      .where('subject_type', '=', 'group').where('subject_id', '=', id).where('status', '=', 'active').executeTakeFirst();
    await tx.deleteFrom('group_members').where('group_id', '=', id).execute();
    await tx.deleteFrom('groups').where('id', '=', id).execute();
    await appendAudit(tx, ctx.clock, actor, { action: 'scim.provision', decision: 'allow', rule: 'scim.client', reason: 'SCIM: group deleted', result: 'ok', details: { resource: 'Group', op: 'delete', groupId: id, members: before.member_ids.length, grantsSuspended: Number(g.numUpdatedRows) } });
  });
  invalidateActors(ctx);
}
