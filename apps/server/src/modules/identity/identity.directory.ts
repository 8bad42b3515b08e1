/**
 * Small look-ups other modules need about people, without authorization of their own (the caller's
 * service has authorized its use case): who to notify by role, and logins to label ids with.
 * Built from an executor so that it can run inside the caller's transaction.
 */
import type { Role } from '@mamori/contracts';
import type { Executor } from '../../platform/db/database.ts';

export function userDirectory(db: Executor) {
  return {
    /** Active people holding `role` who have an e-mail address. */
    async activeWithRole(role: Role): Promise<{ id: string; login: string; email: string }[]> {
      const rows = await db.selectFrom('users').innerJoin('user_roles', 'user_roles.user_id', 'users.id')
        .select(['users.id', 'users.login', 'users.email'])
        .where('user_roles.role', '=', role).where('users.status', '=', 'active').where('users.email', 'is not', null)
        .orderBy('users.login').execute();
      return rows.map((r) => ({ id: r.id, login: r.login, email: r.email! }));
    },
    async loginsOf(ids: readonly string[]): Promise<Map<string, string>> {
      if (ids.length === 0) return new Map();
      const rows = await db.selectFrom('users').select(['id', 'login']).where('id', 'in', [...new Set(ids)]).execute();
      return new Map(rows.map((r) => [r.id, r.login]));
    },
  };
}
