import { sql } from 'kysely';
import type { Executor } from '../../platform/db/database.ts';

export type AuditFilter = {
  actorUserId?: string;
  action?: string;
  datasetId?: string;
  recordId?: string;
  decision?: 'allow' | 'deny';
  from?: Date;
  to?: Date;
  /** Keyset paging: events with id < before. */
  before?: number;
  limit: number;
};

export type AuditRow = { id: number; log_index: number | null; at: Date; payload: string };

export function auditRepository(db: Executor) {
  return {
    /** Appends an event in the caller's transaction: one row in audit_pending (ADR 0003). */
    async append(payload: string): Promise<number> {
      const row = await db.insertInto('audit_pending').values({ payload }).returning('id').executeTakeFirstOrThrow();
      return row.id;
    },

    /**
     * Events newest first, integrated and (for the last moments before the sequencer takes them)
     * pending ones, so an operation is visible in the log as soon as it committed. Pending events
     * have no log index yet; their few rows are filtered on the payload itself.
     */
    async list(f: AuditFilter): Promise<AuditRow[]> {
      let q = db.selectFrom('audit_events').select(['id', 'log_index', 'at', 'payload']);
      if (f.actorUserId) q = q.where('actor_user_id', '=', f.actorUserId);
      if (f.action) q = q.where('action', '=', f.action);
      if (f.datasetId) q = q.where('dataset_id', '=', f.datasetId);
      if (f.recordId) q = q.where(sql<boolean>`record_ids @> ARRAY[${f.recordId}]::uuid[]`);
      if (f.decision) q = q.where('decision', '=', f.decision);
      if (f.from) q = q.where('at', '>=', f.from);
      if (f.to) q = q.where('at', '<', f.to);
      if (f.before !== undefined) q = q.where('id', '<', f.before);
      const conds = [sql`true`];
      if (f.actorUserId) conds.push(sql`j -> 'actor' ->> 'user' = ${f.actorUserId}`);
      if (f.action) conds.push(sql`j ->> 'action' = ${f.action}`);
      if (f.datasetId) conds.push(sql`j ->> 'dataset' = ${f.datasetId}`);
      if (f.recordId) conds.push(sql`j -> 'records' @> to_jsonb(ARRAY[${f.recordId}]::text[])`);
      if (f.decision) conds.push(sql`j ->> 'decision' = ${f.decision}`);
      if (f.from) conds.push(sql`(j ->> 'at')::timestamptz >= ${f.from}`);
      if (f.to) conds.push(sql`(j ->> 'at')::timestamptz < ${f.to}`);
      if (f.before !== undefined) conds.push(sql`id < ${f.before}`);
      const [integrated, pending] = await Promise.all([
        q.orderBy('id', 'desc').limit(f.limit).execute(),
        sql<AuditRow>`
          SELECT id, NULL::bigint AS log_index, (j ->> 'at')::timestamptz AS at, payload
          FROM (SELECT id, payload, payload::jsonb AS j FROM audit_pending) p
          WHERE ${sql.join(conds, sql` AND `)} ORDER BY id DESC LIMIT ${f.limit}`.execute(db).then((r) => r.rows),
      ]);
      return [...integrated, ...pending].sort((a, b) => b.id - a.id).slice(0, f.limit);
    },

    /** All events, integrated or pending (tests, benchmarks, operators' counts). */
    async countAll(): Promise<number> {
      const r = await sql<{ n: number }>`SELECT (SELECT count(*) FROM audit_events)::int + (SELECT count(*) FROM audit_pending)::int AS n`.execute(db);
      return r.rows[0]?.n ?? 0;
    },

    /**
     * Integrated events in log order from `fromIndex` (inclusive): the stream that monitoring and
     * SIEM export consume. Only integrated events have a stable position, so consumers keep a
     * log-index cursor and never see gaps or duplicates.
     */
    async integratedRange(fromIndex: number, limit: number): Promise<{ log_index: number; payload: string }[]> {
      const rows = await db.selectFrom('audit_events').select(['log_index', 'payload'])
        .where('log_index', '>=', fromIndex).orderBy('log_index').limit(limit).execute();
      return rows.map((r) => ({ log_index: r.log_index!, payload: r.payload }));
    },

    /** The number of integrated events (the tree size), 0 before the first integration. */
    async treeSize(): Promise<number> {
      const r = await db.selectFrom('audit_tree_state').select('tree_size').where('id', '=', 1).executeTakeFirst();
      return r?.tree_size ?? 0;
    },

    // --- sequencer ---

    async tryLockSequencer(): Promise<boolean> {
      const r = await sql<{ ok: boolean }>`SELECT pg_try_advisory_xact_lock(7285002) AS ok`.execute(db);
      return r.rows[0]?.ok === true;
    },

    async treeState(): Promise<{ tree_size: number; compact: Buffer[]; root_hash: Buffer } | undefined> {
      return db.selectFrom('audit_tree_state').select(['tree_size', 'compact', 'root_hash']).where('id', '=', 1).forUpdate().executeTakeFirst();
    },

    async pending(limit: number): Promise<{ id: number; payload: string }[]> {
      return db.selectFrom('audit_pending').select(['id', 'payload']).orderBy('id').limit(limit).execute();
    },

    /**
     * Moves pending events into the log in one statement: deletes them from audit_pending and inserts
     * them into audit_events with their log index, leaf hash and the searchable columns, derived here
     * from the very bytes that were hashed (so a column cannot say what the payload does not).
     */
    async integrate(ids: number[], indexes: number[], hashes: Buffer[]): Promise<void> {
      const r = await sql<{ n: number }>`
        WITH v AS (SELECT * FROM unnest(${ids}::bigint[], ${indexes}::bigint[], ${hashes}::bytea[]) AS v(id, idx, h)),
        moved AS (DELETE FROM audit_pending p USING v WHERE p.id = v.id RETURNING p.id, p.payload, v.idx, v.h),
        parsed AS (SELECT id, payload, idx, h, payload::jsonb AS j FROM moved),
        ins AS (
          INSERT INTO audit_events (id, payload, at, actor_user_id, action, dataset_id, record_ids, decision, log_index, leaf_hash)
          SELECT id, payload, (j ->> 'at')::timestamptz, (j -> 'actor' ->> 'user')::uuid, j ->> 'action', (j ->> 'dataset')::uuid,
            CASE WHEN jsonb_typeof(j -> 'records') = 'array' THEN ARRAY(SELECT jsonb_array_elements_text(j -> 'records'))::uuid[] ELSE '{}'::uuid[] END,
            j ->> 'decision', idx, h
          FROM parsed
          RETURNING 1
        )
        SELECT count(*)::int AS n FROM ins`.execute(db);
      // Only the lock holder moves events; anything else means the pending rows changed under us.
      if (r.rows[0]?.n !== ids.length) throw new Error(`audit integration moved ${r.rows[0]?.n ?? 0} of ${ids.length} events`);
    },

    async saveTreeState(size: number, compact: Buffer[], root: Buffer, at: Date): Promise<void> {
      await sql`
        INSERT INTO audit_tree_state (id, tree_size, compact, root_hash, updated_at)
        VALUES (1, ${size}, ${compact}::bytea[], ${root}, ${at})
        ON CONFLICT (id) DO UPDATE SET tree_size = EXCLUDED.tree_size, compact = EXCLUDED.compact,
          root_hash = EXCLUDED.root_hash, updated_at = EXCLUDED.updated_at`.execute(db);
    },

    async insertNodes(nodes: readonly { level: number; idx: number; hash: Buffer }[]): Promise<void> {
      if (nodes.length === 0) return;
      await sql`
        INSERT INTO audit_tree_nodes (level, idx, hash)
        SELECT * FROM unnest(${nodes.map((n) => n.level)}::smallint[], ${nodes.map((n) => n.idx)}::bigint[], ${nodes.map((n) => n.hash)}::bytea[])`.execute(db);
    },

    async node(level: number, idx: number): Promise<Buffer | undefined> {
      if (level === 0) {
        const r = await db.selectFrom('audit_events').select('leaf_hash').where('log_index', '=', idx).executeTakeFirst();
        return r?.leaf_hash ?? undefined;
      }
      const r = await db.selectFrom('audit_tree_nodes').select('hash').where('level', '=', level).where('idx', '=', idx).executeTakeFirst();
      return r?.hash;
    },

    async latestCheckpoint(): Promise<{ tree_size: number; root_hash: Buffer; note: string; created_at: Date } | undefined> {
      return db.selectFrom('audit_checkpoints').select(['tree_size', 'root_hash', 'note', 'created_at']).orderBy('tree_size', 'desc').limit(1).executeTakeFirst();
    },

    async checkpointAt(size: number): Promise<{ tree_size: number; root_hash: Buffer; note: string } | undefined> {
      return db.selectFrom('audit_checkpoints').select(['tree_size', 'root_hash', 'note']).where('tree_size', '=', size).executeTakeFirst();
    },

    async checkpoints(): Promise<{ tree_size: number; root_hash: Buffer; note: string }[]> {
      return db.selectFrom('audit_checkpoints').select(['tree_size', 'root_hash', 'note']).orderBy('tree_size').execute();
    },

    async insertCheckpoint(size: number, root: Buffer, note: string, at: Date): Promise<void> {
      await db.insertInto('audit_checkpoints').values({ tree_size: size, root_hash: root, note, created_at: at }).onConflict((oc) => oc.column('tree_size').doNothing()).execute();
    },

  };
}
