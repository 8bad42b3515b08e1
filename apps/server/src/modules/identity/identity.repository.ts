import { sql } from 'kysely';
import type { Executor } from '../../platform/db/database.ts';

export type SessionActorRow = {
  user_id: string;
  csrf_token: string;
  mfa_at: Date | null;
  last_seen_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
  login: string;
  kind: 'person' | 'service';
  employment_type: string;
  status: string;
  password_change_required: boolean;
  roles: string[];
  group_ids: string[];
  grants: {
    id: string;
    dataset_id: string;
    fields: string[];
    unmask_fields: string[];
    purposes: string[];
    can_write: boolean;
    valid_from: string;
    valid_until: string;
    status: 'active' | 'suspended' | 'revoked';
  }[];
};

/** Roles, groups and live grants of a user, gathered in the same statement as the credential check. */
const ACTOR_COLUMNS = sql`
  u.login, u.kind, u.employment_type, u.status, u.password_change_required,
  ARRAY(SELECT role FROM user_roles WHERE user_id = u.id ORDER BY role) AS roles,
  ARRAY(SELECT group_id FROM group_members WHERE user_id = u.id) AS group_ids,
  COALESCE((SELECT json_agg(json_build_object(
      'id', g.id, 'dataset_id', g.dataset_id, 'fields', g.fields, 'unmask_fields', g.unmask_fields,
      'purposes', g.purposes, 'can_write', g.can_write, 'valid_from', g.valid_from, 'valid_until', g.valid_until,
      'status', g.status))
    FROM grants g
    WHERE g.status = 'active'
      AND ((g.subject_type = 'user' AND g.subject_id = u.id)
        OR (g.subject_type = 'group' AND g.subject_id IN (SELECT group_id FROM group_members WHERE user_id = u.id)))),
    '[]'::json) AS grants`;

export function identityRepository(db: Executor) {
  return {
    async sessionActor(sessionHash: Buffer): Promise<SessionActorRow | undefined> {
      const r = await sql<SessionActorRow>`
        SELECT s.user_id, s.csrf_token, s.mfa_at, s.last_seen_at, s.expires_at, s.revoked_at, ${ACTOR_COLUMNS}
        FROM sessions s JOIN users u ON u.id = s.user_id
        WHERE s.id = ${sessionHash}`.execute(db);
      return r.rows[0];
    },

    async tokenActor(tokenHash: Buffer): Promise<(SessionActorRow & { token_id: string; token_expires_at: Date | null; token_revoked_at: Date | null }) | undefined> {
      const r = await sql<SessionActorRow & { token_id: string; token_expires_at: Date | null; token_revoked_at: Date | null }>`
        SELECT t.user_id, t.id AS token_id, t.expires_at AS token_expires_at, t.revoked_at AS token_revoked_at,
          '' AS csrf_token, NULL::timestamptz AS mfa_at, t.created_at AS last_seen_at, NULL::timestamptz AS expires_at,
          NULL::timestamptz AS revoked_at, ${ACTOR_COLUMNS}
        FROM api_tokens t JOIN users u ON u.id = t.user_id
        WHERE t.token_hash = ${tokenHash}`.execute(db);
      return r.rows[0];
    },

    /** The actor columns of a user signed in without a session (SMTP submission with a password). */
    async userActor(userId: string): Promise<SessionActorRow | undefined> {
      const r = await sql<SessionActorRow>`
        SELECT u.id AS user_id, '' AS csrf_token, NULL::timestamptz AS mfa_at, now() AS last_seen_at, NULL::timestamptz AS expires_at,
          NULL::timestamptz AS revoked_at, ${ACTOR_COLUMNS}
        FROM users u WHERE u.id = ${userId}`.execute(db);
      return r.rows[0];
    },

    /** A new server-side session (only the SHA-256 of the cookie token is stored). */
    async insertSession(row: { hash: Buffer; userId: string; csrfToken: string; at: Date; expiresAt: Date; mfaAt: Date | null; terminal: { ip: string | null; userAgent: string | null; deviceId: string | null } }): Promise<void> {
      await db.insertInto('sessions').values({
        id: row.hash, user_id: row.userId, csrf_token: row.csrfToken, created_at: row.at, last_seen_at: row.at, expires_at: row.expiresAt,
        mfa_at: row.mfaAt, ip: row.terminal.ip, user_agent: row.terminal.userAgent, terminal_id: row.terminal.deviceId, revoked_at: null, revoked_reason: null,
      }).execute();
    },

    async markSessionMfa(sessionHash: Buffer, at: Date): Promise<void> {
      await db.updateTable('sessions').set({ mfa_at: at }).where('id', '=', sessionHash).execute();
    },

    async touchSession(sessionHash: Buffer, at: Date): Promise<void> {
      await db.updateTable('sessions').set({ last_seen_at: at }).where('id', '=', sessionHash).execute();
    },

    async userByLogin(login: string) {
      return db.selectFrom('users').selectAll().where('login', '=', login).executeTakeFirst();
    },

    async userById(id: string) {
      return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    },

    async rolesOf(userId: string): Promise<string[]> {
      return (await db.selectFrom('user_roles').select('role').where('user_id', '=', userId).orderBy('role').execute()).map((r) => r.role);
    },

    async groupsOf(userId: string): Promise<string[]> {
      return (await db.selectFrom('group_members').select('group_id').where('user_id', '=', userId).execute()).map((r) => r.group_id);
    },

    async listUsers(limit: number, offset: number) {
      return db.selectFrom('users').selectAll().orderBy('login').limit(limit).offset(offset).execute();
    },

    /** Roles and groups of many users in two queries (lists must not cost two queries per user). */
    async rolesAndGroupsOf(userIds: readonly string[]): Promise<{ roles: Map<string, string[]>; groups: Map<string, string[]> }> {
      const roles = new Map<string, string[]>();
      const groups = new Map<string, string[]>();
      if (userIds.length === 0) return { roles, groups };
      for (const r of await db.selectFrom('user_roles').select(['user_id', 'role']).where('user_id', 'in', userIds).orderBy('role').execute()) {
        roles.set(r.user_id, [...(roles.get(r.user_id) ?? []), r.role]);
      }
      for (const g of await db.selectFrom('group_members').select(['user_id', 'group_id']).where('user_id', 'in', userIds).execute()) {
        groups.set(g.user_id, [...(groups.get(g.user_id) ?? []), g.group_id]);
      }
      return { roles, groups };
    },

    async setRoles(userId: string, roles: readonly string[], at: Date): Promise<void> {
      await db.deleteFrom('user_roles').where('user_id', '=', userId).execute();
      if (roles.length > 0) await db.insertInto('user_roles').values(roles.map((role) => ({ user_id: userId, role, granted_at: at }))).execute();
    },

    async setGroups(userId: string, groupIds: readonly string[]): Promise<void> {
      await db.deleteFrom('group_members').where('user_id', '=', userId).execute();
      if (groupIds.length > 0) await db.insertInto('group_members').values(groupIds.map((group_id) => ({ group_id, user_id: userId }))).execute();
    },

    /** Revokes every live session and API token of a user; returns how many. */
    async revokeAllCredentials(userId: string, at: Date, reason: string): Promise<{ sessions: number; tokens: number }> {
      const s = await db.updateTable('sessions').set({ revoked_at: at, revoked_reason: reason }).where('user_id', '=', userId).where('revoked_at', 'is', null).executeTakeFirst();
      const t = await db.updateTable('api_tokens').set({ revoked_at: at }).where('user_id', '=', userId).where('revoked_at', 'is', null).executeTakeFirst();
      return { sessions: Number(s.numUpdatedRows), tokens: Number(t.numUpdatedRows) };
    },
  };
}
