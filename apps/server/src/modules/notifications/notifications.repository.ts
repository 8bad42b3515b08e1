import { sql } from 'kysely';
import type { Executor } from '../../platform/db/database.ts';

export type NotificationRow = { id: string; user_id: string; kind: string; params: Record<string, unknown>; link: string | null; created_at: Date; read_at: Date | null };

export function notificationsRepository(db: Executor) {
  return {
    async insertMany(rows: readonly { id: string; user_id: string; kind: string; params: string; link: string | null; created_at: Date }[]): Promise<void> {
      if (rows.length > 0) await db.insertInto('notifications').values(rows.map((r) => ({ ...r, read_at: null }))).execute();
    },

    async list(userId: string, opts: { unreadOnly: boolean; limit: number }): Promise<NotificationRow[]> {
      let q = db.selectFrom('notifications').selectAll().where('user_id', '=', userId);
      if (opts.unreadOnly) q = q.where('read_at', 'is', null);
      return (await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(opts.limit).execute()) as NotificationRow[];
    },

    async unreadCount(userId: string): Promise<number> {
      const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM notifications WHERE user_id = ${userId} AND read_at IS NULL`.execute(db);
      return r.rows[0]?.n ?? 0;
    },

    /** Marks the user's own notifications read (the given ids, or all); returns how many changed. */
    async markRead(userId: string, ids: readonly string[] | 'all', at: Date): Promise<number> {
      let q = db.updateTable('notifications').set({ read_at: at }).where('user_id', '=', userId).where('read_at', 'is', null);
      if (ids !== 'all') {
        if (ids.length === 0) return 0;
        q = q.where('id', 'in', ids);
      }
      return Number((await q.executeTakeFirst()).numUpdatedRows);
    },

    /** E-mail addresses of active people among `ids` (those without one get the in-app row only). */
    async activeEmails(ids: readonly string[]): Promise<{ id: string; email: string }[]> {
      if (ids.length === 0) return [];
      const rows = await db.selectFrom('users').select(['id', 'email']).where('id', 'in', ids).where('status', '=', 'active').where('email', 'is not', null).execute();
      return rows.flatMap((r) => (r.email ? [{ id: r.id, email: r.email }] : []));
    },

    /** Active people holding a role (for alerts to the security center). */
    async activeHoldersOf(role: string): Promise<string[]> {
      const rows = await db.selectFrom('user_roles').innerJoin('users', 'users.id', 'user_roles.user_id')
        .select('users.id').where('user_roles.role', '=', role).where('users.status', '=', 'active').where('users.kind', '=', 'person').execute();
      return rows.map((r) => r.id);
    },
  };
}
