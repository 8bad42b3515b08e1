import { sql } from 'kysely';
import type { Executor } from '../../platform/db/database.ts';

export type ScimUserRow = {
  id: string; login: string; display_name: string; email: string | null; employment_type: string; department_id: string | null;
  department_name: string | null; supervisor_id: string | null; status: string; created_at: Date; updated_at: Date; version: number;
  external_id: string | null; employee_number: string | null; user_type: string | null; given_name: string | null; family_name: string | null;
  title: string | null; retire_at: Date | null;
};

export type ScimGroupRow = { id: string; name: string; external_id: string | null; created_at: Date; updated_at: Date | null; version: number; member_ids: string[] };

/** SCIM resources are the people of the organisation: service accounts and SCIM-deleted users are not. */
const USER_SELECT = sql`
  SELECT u.id, u.login, u.display_name, u.email, u.employment_type, u.department_id, d.name AS department_name, u.supervisor_id,
         u.status, u.created_at, u.updated_at, u.version, u.external_id, u.employee_number, u.user_type, u.given_name,
         u.family_name, u.title, u.retire_at
  FROM users u LEFT JOIN departments d ON d.id = u.department_id
  WHERE u.kind = 'person' AND u.scim_deleted_at IS NULL`;

const GROUP_SELECT = sql`
  SELECT g.id, g.name, g.external_id, g.created_at, g.updated_at, g.version,
         ARRAY(SELECT m.user_id FROM group_members m WHERE m.group_id = g.id ORDER BY m.user_id) AS member_ids
  FROM groups g`;

export function scimRepository(db: Executor) {
  return {
    async user(id: string): Promise<ScimUserRow | undefined> {
      return (await sql<ScimUserRow>`${USER_SELECT} AND u.id = ${id}::uuid`.execute(db)).rows[0];
    },
    /** The candidates of a filter: narrowed in SQL when the filter is the IdPs' usual `userName eq` / `externalId eq`. */
    async users(narrow: { login?: string; externalId?: string }): Promise<ScimUserRow[]> {
      const w = narrow.login !== undefined ? sql` AND lower(u.login) = lower(${narrow.login})` : narrow.externalId !== undefined ? sql` AND u.external_id = ${narrow.externalId}` : sql``;
      return (await sql<ScimUserRow>`${USER_SELECT}${w} ORDER BY u.created_at, u.id`.execute(db)).rows;
    },
    async groupsOfUsers(ids: readonly string[]): Promise<Map<string, { id: string; name: string }[]>> {
      const out = new Map<string, { id: string; name: string }[]>();
      if (ids.length === 0) return out;
      const rows = await db.selectFrom('group_members').innerJoin('groups', 'groups.id', 'group_members.group_id')
        .select(['group_members.user_id', 'groups.id', 'groups.name']).where('group_members.user_id', 'in', ids).orderBy('groups.name').execute();
      for (const r of rows) out.set(r.user_id, [...(out.get(r.user_id) ?? []), { id: r.id, name: r.name }]);
      return out;
    },
    async loginTaken(login: string, exceptId: string | null): Promise<boolean> {
      const r = await db.selectFrom('users').select('id').where(sql<boolean>`lower(login) = lower(${login})`).executeTakeFirst();
      return r !== undefined && r.id !== exceptId;
    },
    async externalIdTaken(externalId: string, exceptId: string | null): Promise<boolean> {
      const r = await db.selectFrom('users').select('id').where('external_id', '=', externalId).where('scim_deleted_at', 'is', null).executeTakeFirst();
      return r !== undefined && r.id !== exceptId;
    },
    async personExists(id: string): Promise<boolean> {
      return (await sql<{ n: number }>`SELECT count(*)::int AS n FROM users WHERE id = ${id}::uuid AND kind = 'person' AND scim_deleted_at IS NULL`.execute(db)).rows[0]!.n > 0;
    },
    async peopleExist(ids: readonly string[]): Promise<boolean> {
      if (ids.length === 0) return true;
      const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM users WHERE id = ANY (${[...ids]}::uuid[]) AND kind = 'person' AND scim_deleted_at IS NULL`.execute(db);
      return r.rows[0]!.n === new Set(ids).size;
    },
    /** The department of that name, created when HR sends one Mamori does not know yet. */
    async departmentId(name: string, newId: () => string, at: Date): Promise<{ id: string; created: boolean }> {
      const found = await db.selectFrom('departments').select('id').where('name', '=', name).executeTakeFirst();
      if (found) return { id: found.id, created: false };
      const id = newId();
      await db.insertInto('departments').values({ id, name, created_at: at }).execute();
      return { id, created: true };
    },
    async group(id: string): Promise<ScimGroupRow | undefined> {
      return (await sql<ScimGroupRow>`${GROUP_SELECT} WHERE g.id = ${id}::uuid`.execute(db)).rows[0];
    },
    async groups(narrow: { name?: string }): Promise<ScimGroupRow[]> {
      const w = narrow.name !== undefined ? sql` WHERE lower(g.name) = lower(${narrow.name})` : sql``;
      return (await sql<ScimGroupRow>`${GROUP_SELECT}${w} ORDER BY g.created_at, g.id`.execute(db)).rows;
    },
    async groupNameTaken(name: string, exceptId: string | null): Promise<boolean> {
      const r = await db.selectFrom('groups').select('id').where(sql<boolean>`lower(name) = lower(${name})`).executeTakeFirst();
      return r !== undefined && r.id !== exceptId;
    },
    async setMembers(groupId: string, memberIds: readonly string[]): Promise<void> {
      await db.deleteFrom('group_members').where('group_id', '=', groupId).execute();
      if (memberIds.length > 0) await db.insertInto('group_members').values(memberIds.map((user_id) => ({ group_id: groupId, user_id }))).execute();
    },
  };
}
