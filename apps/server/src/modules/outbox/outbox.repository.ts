import { sql } from 'kysely';
import type { Executor } from '../../platform/db/database.ts';
import type { ClaimedRow } from './outbox.types.ts';

export function outboxRepository(db: Executor) {
  return {
    async insert(row: { id: string; kind: string; category: string; relatedId: string | null; payload: unknown; at: Date }): Promise<void> {
      await db.insertInto('outbox').values({
        id: row.id, kind: row.kind, category: row.category, related_id: row.relatedId,
        payload: JSON.stringify(row.payload), next_attempt_at: row.at, created_at: row.at,
      }).execute();
    },

    /**
     * Claims up to `limit` due rows of the given kinds for `leaseMs`: one statement, rows locked by
     * another node's claim are skipped (FOR UPDATE SKIP LOCKED), and a claimed row is invisible to
     * other workers until its lease runs out (a worker that died mid-delivery is retried then).
     */
    async claim(kinds: readonly string[], now: Date, leaseMs: number, limit: number): Promise<ClaimedRow[]> {
      if (kinds.length === 0) return [];
      const until = new Date(now.getTime() + leaseMs);
      const r = await sql<ClaimedRow>`
        UPDATE outbox SET claimed_until = ${until}, attempts = attempts + 1, last_attempt_at = ${now}
        WHERE id IN (
          SELECT id FROM outbox
          WHERE status = 'pending' AND kind = ANY(${[...kinds]}::text[]) AND next_attempt_at <= ${now}
            AND (claimed_until IS NULL OR claimed_until <= ${now})
          ORDER BY next_attempt_at, id
          LIMIT ${limit}
          FOR UPDATE SKIP LOCKED)
        RETURNING id, kind, category, related_id, payload, attempts`.execute(db);
      return r.rows.map((row) => ({ ...row, payload: typeof row.payload === 'string' ? (JSON.parse(row.payload) as unknown) : row.payload }));
    },

    async markSent(id: string, at: Date): Promise<void> {
      await db.updateTable('outbox').set({ status: 'sent', sent_at: at, claimed_until: null, last_error: null }).where('id', '=', id).execute();
    },

    async markFailedAttempt(id: string, error: string, nextAttemptAt: Date | null): Promise<void> {
      await db.updateTable('outbox')
        .set(nextAttemptAt ? { next_attempt_at: nextAttemptAt, claimed_until: null, last_error: error } : { status: 'failed', claimed_until: null, last_error: error })
        .where('id', '=', id).execute();
    },

    async counts(): Promise<{ kind: string; status: string; n: number; oldest: Date | null }[]> {
      const r = await sql<{ kind: string; status: string; n: number; oldest: Date | null }>`
        SELECT kind, status, count(*)::int AS n, min(created_at) FILTER (WHERE status = 'pending') AS oldest
        FROM outbox GROUP BY kind, status`.execute(db);
      return r.rows;
    },

    async lastError(kind: string): Promise<string | null> {
      const r = await db.selectFrom('outbox').select('last_error').where('kind', '=', kind).where('status', '<>', 'sent')
        .where('last_error', 'is not', null).orderBy('last_attempt_at', 'desc').limit(1).executeTakeFirst();
      return r?.last_error ?? null;
    },

    async byRelated(category: string, relatedId: string) {
      return db.selectFrom('outbox').selectAll().where('category', '=', category).where('related_id', '=', relatedId).orderBy('created_at').execute();
    },

    async get(id: string) {
      return db.selectFrom('outbox').selectAll().where('id', '=', id).executeTakeFirst();
    },
  };
}
