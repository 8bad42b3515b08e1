import { sql } from 'kysely';
import type { Executor } from '../../platform/db/database.ts';

/**
 * Actions that take personal data out of the gate or hold it on its way out. The transfer and
 * extraction actions land with their modules; their names are listed so the check grows with them.
 */
export const EXIT_ACTIONS = ['record.read', 'record.search', 'record.unmask', 'extraction.download', 'transfer.hold', 'transfer.submit'] as const;

export function lifecycleRepository(db: Executor) {
  return {
    /** Allowed exit actions by the user since `from`, integrated or still pending (one statement). */
    async recentExits(userId: string, from: Date): Promise<number> {
      const r = await sql<{ n: number }>`
        SELECT ((SELECT count(*) FROM audit_events
                 WHERE actor_user_id = ${userId}::uuid AND at >= ${from} AND decision = 'allow' AND action = ANY (${[...EXIT_ACTIONS]}::text[]))
              + (SELECT count(*) FROM (SELECT payload::jsonb AS j FROM audit_pending) p
                 WHERE j -> 'actor' ->> 'user' = ${userId} AND (j ->> 'at')::timestamptz >= ${from}
                   AND j ->> 'decision' = 'allow' AND j ->> 'action' = ANY (${[...EXIT_ACTIONS]}::text[])))::int AS n`.execute(db);
      return r.rows[0]?.n ?? 0;
    },

    /** The supervisor chain above a user (nearest first), at most `depth` people, cycles cut. */
    async supervisorChain(supervisorId: string | null, depth = 10): Promise<string[]> {
      const chain: string[] = [];
      let next = supervisorId;
      while (next && chain.length < depth && !chain.includes(next)) {
        chain.push(next);
        const row = await db.selectFrom('users').select('supervisor_id').where('id', '=', next).executeTakeFirst();
        next = row?.supervisor_id ?? null;
      }
      return chain;
    },

    /** What a door-controller event names besides Mamori's id: the IdP / HR id, if any (no name, no e-mail). */
    async externalIdOf(userId: string): Promise<string | null> {
      return (await db.selectFrom('users').select('external_id').where('id', '=', userId).executeTakeFirst())?.external_id ?? null;
    },
  };
}
