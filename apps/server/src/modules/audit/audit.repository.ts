import { CompiledQuery, sql } from 'kysely';
import type { Executor } from '../../platform/db/database.ts';
import { copyOutAll } from '../../platform/db/copy-out.ts';
import type { AuditColumns } from './audit.payload.ts';

/** Tree nodes per row of audit_tree_tiles (migration 0018). */
const TILE = 32;

/** A log index or size written into a COPY statement (COPY takes no parameters). */
function int(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`not a log position: ${n}`);
  return String(n);
}

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

const APPEND_SQL = `INSERT INTO audit_pending (payload, at, actor_user_id, action, dataset_id, record_ids, decision)
  VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`;

export type SequencerStart =
  | { locked: false }
  | { locked: true; state: { size: number; compact: Buffer[]; root: Buffer } | null; lastCheckpoint: { size: number; at: Date } | null };

/**
 * The searchable columns of audit_events (at, actor_user_id, action, dataset_id, record_ids, decision)
 * as SQL over the parsed payload `j`: how the sequencer derives them, and what verification compares
 * the stored columns with when its own parser leaves an event to the database.
 */
const DERIVED = {
  at: sql`(j ->> 'at')::timestamptz`,
  actor_user_id: sql`(j -> 'actor' ->> 'user')::uuid`,
  action: sql`j ->> 'action'`,
  dataset_id: sql`(j ->> 'dataset')::uuid`,
  record_ids: sql`CASE WHEN jsonb_typeof(j -> 'records') = 'array' THEN ARRAY(SELECT jsonb_array_elements_text(j -> 'records'))::uuid[] ELSE '{}'::uuid[] END`,
  decision: sql`j ->> 'decision'`,
};
export const DERIVED_COLUMNS = sql.join(Object.values(DERIVED));
/** Each column as supplied by the appender, or derived from `j` when the row has none (`at` NULL). */
const SUPPLIED_OR_DERIVED = sql.join(Object.entries(DERIVED).map(([name, derived]) => sql`CASE WHEN j IS NULL THEN ${sql.ref(name)} ELSE ${derived} END`));

export function auditRepository(db: Executor) {
  return {
    /**
     * Appends an event in the caller's transaction: one row in audit_pending (ADR 0003), its bytes
     * and the searchable columns they say (`auditColumns`), which the sequencer then copies instead
     * of parsing the bytes (migration 0018).
     */
    async append(payload: string, c: AuditColumns): Promise<number> {
      // Precompiled: every audited operation runs this, and building it with the query builder cost
      // more Node CPU than sending it.
      const r = await db.executeQuery<{ id: number }>(CompiledQuery.raw(APPEND_SQL, [payload, c.at, c.actorUserId, c.action, c.datasetId, c.recordIds, c.decision]));
      return r.rows[0]!.id;
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

    /**
     * Opens a sequencer batch: takes the sequencer lock (transaction-scoped advisory lock, one holder
     * across nodes) and, only when it got it, the tree state (row-locked) and the latest checkpoint's
     * size and time — one round trip.
     */
    async beginSequencing(): Promise<SequencerStart> {
      const r = await sql<{ ok: boolean; tree_size: number | null; compact: Buffer[] | null; root_hash: Buffer | null; cp_size: number | null; cp_at: Date | null }>`
        SELECT l.ok, s.tree_size, s.compact, s.root_hash, c.tree_size AS cp_size, c.created_at AS cp_at
        FROM (SELECT pg_try_advisory_xact_lock(7285002) AS ok) l
        LEFT JOIN LATERAL (SELECT tree_size, compact, root_hash FROM audit_tree_state WHERE l.ok AND id = 1 FOR UPDATE) s ON true
        LEFT JOIN LATERAL (SELECT tree_size, created_at FROM audit_checkpoints WHERE l.ok ORDER BY tree_size DESC LIMIT 1) c ON true`.execute(db);
      const row = r.rows[0];
      if (row?.ok !== true) return { locked: false };
      return {
        locked: true,
        state: row.tree_size === null ? null : { size: Number(row.tree_size), compact: row.compact ?? [], root: row.root_hash! },
        lastCheckpoint: row.cp_size === null ? null : { size: Number(row.cp_size), at: new Date(row.cp_at!) },
      };
    },

    /**
     * Moves up to `limit` pending events, in id order, into the log in one statement: log indexes
     * from `size`, leaf hashes SHA-256(0x00 ‖ payload bytes), and the searchable columns the appender
     * supplied — or, for a row without them, derived from the same bytes (parsed once per event) —
     * deleted from audit_pending in the same statement. Returns the leaf hashes in log order,
     * concatenated (32 bytes each). The payloads never travel to the sequencer and back.
     */
    async integrateNext(size: number, limit: number): Promise<{ count: number; leaves: Buffer }> {
      const r = await sql<{ n: number; first: number | null; leaves: Buffer | null; moved: number }>`
        WITH src AS (
          SELECT p.*, ${size}::bigint + row_number() OVER (ORDER BY id) - 1 AS idx
          FROM (SELECT id, payload, at, actor_user_id, action, dataset_id, record_ids, decision FROM audit_pending ORDER BY id LIMIT ${limit}) p
        ), ins AS (
          INSERT INTO audit_events (id, payload, at, actor_user_id, action, dataset_id, record_ids, decision, log_index, leaf_hash)
          SELECT id, payload, ${SUPPLIED_OR_DERIVED}, idx, sha256('\\x00'::bytea || convert_to(payload, 'UTF8'))
          -- Only rows without supplied columns are parsed. OFFSET 0 keeps this a subquery: flattened,
          -- each use of j would parse the payload again.
          FROM (SELECT src.*, CASE WHEN at IS NULL THEN payload::jsonb END AS j FROM src OFFSET 0) AS parsed
          RETURNING id, log_index, leaf_hash
        ), moved AS (
          -- The batch is the lowest pending ids this statement sees, so the id range is exactly it:
          -- an index range scan, where a join with the batch read all of audit_pending.
          DELETE FROM audit_pending p WHERE p.id >= (SELECT min(id) FROM ins) AND p.id <= (SELECT max(id) FROM ins) RETURNING 1
        )
        SELECT count(*)::int AS n, min(log_index) AS first, string_agg(leaf_hash, ''::bytea ORDER BY log_index) AS leaves,
          (SELECT count(*)::int FROM moved) AS moved
        FROM ins`.execute(db);
      const row = r.rows[0];
      const count = row?.n ?? 0;
      if (count === 0) return { count, leaves: Buffer.alloc(0) };
      // Only the lock holder moves events; anything else means the pending rows changed under us.
      if (row!.moved !== count || Number(row!.first) !== size || row!.leaves?.length !== count * 32) {
        throw new Error(`audit integration moved ${row!.moved} of ${count} events from index ${row!.first} (expected ${size})`);
      }
      return { count, leaves: row!.leaves };
    },

    /**
     * Ends a sequencer batch in one statement: the perfect subtrees the batch completed (level k's
     * nodes `first[k - 1]`, `first[k - 1] + 1`, … as consecutive 32-byte hashes of `levels[k - 1]`),
     * stored in rows of 32 nodes (a few rows per batch and level, not one per node), the new tree
     * state, and a signed checkpoint when one is due.
     */
    async finishSequencing(f: {
      tree?: { size: number; compact: readonly Buffer[]; root: Buffer; levels: readonly Buffer[]; first: readonly number[] };
      checkpoint?: { size: number; root: Buffer; note: string };
      at: Date;
    }): Promise<void> {
      const parts = [];
      let extending = 0;
      if (f.tree) {
        const t = f.tree;
        // The new nodes as pieces of rows of 32 (audit_tree_tiles): a level's first piece may extend
        // the row its earlier nodes started; every other piece starts a row.
        const ks: number[] = [], tiles: number[] = [], from: number[] = [], pos: number[] = [], ns: number[] = [];
        let base = 0;
        t.levels.forEach((buf, k) => {
          const count = buf.length / 32;
          for (let i = 0; i < count;) {
            const idx = t.first[k]! + i;
            const n = Math.min(TILE - (idx % TILE), count - i);
            ks.push(k + 1); tiles.push(Math.floor(idx / TILE)); from.push(idx % TILE); pos.push(base + i * 32); ns.push(n);
            if (idx % TILE !== 0) extending++;
            i += n;
          }
          base += buf.length;
        });
        if (ks.length > 0) {
          parts.push(sql`pieces AS (
            SELECT r.k, r.t, r.f, substring(${Buffer.concat(t.levels)}::bytea FROM r.o + 1 FOR r.n * 32) AS h
            FROM unnest(${ks}::smallint[], ${tiles}::bigint[], ${from}::int[], ${pos}::int[], ${ns}::int[]) AS r(k, t, f, o, n)
          ), extended AS (
            -- Only onto a row holding exactly the nodes before the piece: counted, and checked below.
            UPDATE audit_tree_tiles x SET hashes = x.hashes || p.h FROM pieces p
            WHERE p.f > 0 AND x.level = p.k AND x.tile = p.t AND length(x.hashes) = p.f * 32
            RETURNING 1
          ), started AS (
            INSERT INTO audit_tree_tiles (level, tile, hashes) SELECT k, t, h FROM pieces WHERE f = 0
            RETURNING 1)`);
        }
        parts.push(sql`state AS (
          INSERT INTO audit_tree_state (id, tree_size, compact, root_hash, updated_at)
          VALUES (1, ${t.size}, ${[...t.compact]}::bytea[], ${t.root}, ${f.at})
          ON CONFLICT (id) DO UPDATE SET tree_size = EXCLUDED.tree_size, compact = EXCLUDED.compact,
            root_hash = EXCLUDED.root_hash, updated_at = EXCLUDED.updated_at
          RETURNING 1)`);
      }
      if (f.checkpoint) {
        parts.push(sql`cp AS (
          INSERT INTO audit_checkpoints (tree_size, root_hash, note, created_at)
          VALUES (${f.checkpoint.size}, ${f.checkpoint.root}, ${f.checkpoint.note}, ${f.at})
          ON CONFLICT (tree_size) DO NOTHING
          RETURNING 1)`);
      }
      if (parts.length === 0) return;
      const r = await sql<{ extended: number | null }>`WITH ${sql.join(parts, sql`, `)}
        SELECT ${extending > 0 ? sql`(SELECT count(*)::int FROM extended)` : sql`0`} AS extended`.execute(db);
      // Only the lock holder writes nodes; a row of other length means the stored tree is not ours.
      if (Number(r.rows[0]?.extended ?? 0) !== extending) throw new Error(`audit tree: extended ${r.rows[0]?.extended} of ${extending} node rows`);
    },

    // --- verification (audit.verify.ts) ---

    /** The highest log index stored, or -1. */
    async maxLogIndex(): Promise<number> {
      const r = await sql<{ m: number | null }>`SELECT max(log_index) AS m FROM audit_events`.execute(db);
      return r.rows[0]?.m === null || r.rows[0]?.m === undefined ? -1 : Number(r.rows[0].m);
    },

    /**
     * The stored events with log indexes in [from, to), in log order, as PostgreSQL's binary COPY
     * bytes: log_index, payload, leaf_hash and the searchable columns (COLUMNS of audit.columns.mjs).
     */
    async eventsCopy(from: number, to: number): Promise<Buffer> {
      return copyOutAll(db, `COPY (SELECT log_index, payload, leaf_hash, at, actor_user_id, action, dataset_id, record_ids, decision
        FROM audit_events WHERE log_index >= ${int(from)} AND log_index < ${int(to)} ORDER BY log_index) TO STDOUT (FORMAT binary)`);
    },

    /**
     * The rows of stored pair hashes (level 1) that hold indexes in [from, to), as binary COPY bytes
     * (tile, hashes): one row per 32 pairs, sliced by the reader (a row per pair cost PostgreSQL more
     * than the events themselves).
     */
    async pairTilesCopy(from: number, to: number): Promise<Buffer> {
      return copyOutAll(db, `COPY (SELECT tile, hashes FROM audit_tree_tiles
        WHERE level = 1 AND tile >= ${int(Math.floor(from / TILE))} AND tile <= ${int(Math.floor((to - 1) / TILE))} ORDER BY tile) TO STDOUT (FORMAT binary)`);
    },

    /** The first stored index after `index`, or null. */
    async nextLogIndex(index: number): Promise<number | null> {
      const r = await sql<{ m: number | null }>`SELECT min(log_index) AS m FROM audit_events WHERE log_index > ${index}`.execute(db);
      return r.rows[0]?.m === null || r.rows[0]?.m === undefined ? null : Number(r.rows[0].m);
    },

    /** The first other event whose stored leaf hash is `hash` (a payload moved there). */
    async leafTwin(hash: Buffer, index: number): Promise<number | null> {
      const r = await sql<{ log_index: number }>`SELECT log_index FROM audit_events WHERE leaf_hash = ${hash} AND log_index <> ${index} ORDER BY log_index LIMIT 1`.execute(db);
      return r.rows[0] ? Number(r.rows[0].log_index) : null;
    },

    /**
     * The first event j outside the pair (left, left + 1) with SHA-256(0x01 ‖ leaf_j ‖ right) or
     * SHA-256(0x01 ‖ left leaf ‖ leaf_j) equal to the stored pair hash: the row swapped into the pair.
     */
    async pairPartner(left: number, l: Buffer, r: Buffer, stored: Buffer): Promise<{ index: number; asLeft: boolean } | null> {
      const q = await sql<{ log_index: number; as_left: boolean }>`
        SELECT log_index, sha256('\\x01'::bytea || leaf_hash || ${r}) = ${stored} AS as_left FROM audit_events
        WHERE log_index NOT IN (${left}, ${left + 1})
          AND (sha256('\\x01'::bytea || leaf_hash || ${r}) = ${stored} OR sha256('\\x01'::bytea || ${l} || leaf_hash) = ${stored})
        ORDER BY log_index LIMIT 1`.execute(db);
      const row = q.rows[0];
      return row ? { index: Number(row.log_index), asLeft: row.as_left === true } : null;
    },

    /**
     * Of these events, the first whose stored searchable columns differ from what the sequencer
     * derives from its payload (the very SQL of integration), with the columns that differ.
     */
    async firstColumnMismatch(indexes: readonly number[]): Promise<{ index: number; columns: string[] } | null> {
      if (indexes.length === 0) return null;
      const r = await sql<{ log_index: number; at: boolean; actor_user_id: boolean; action: boolean; dataset_id: boolean; record_ids: boolean; decision: boolean }>`
        SELECT e.log_index, e.at IS DISTINCT FROM d.at AS at, e.actor_user_id IS DISTINCT FROM d.actor_user_id AS actor_user_id,
          e.action IS DISTINCT FROM d.action AS action, e.dataset_id IS DISTINCT FROM d.dataset_id AS dataset_id,
          e.record_ids IS DISTINCT FROM d.record_ids AS record_ids, e.decision IS DISTINCT FROM d.decision AS decision
        FROM (SELECT log_index, at, actor_user_id, action, dataset_id, record_ids, decision, payload::jsonb AS j
              FROM audit_events WHERE log_index = ANY(${[...indexes]}::bigint[]) OFFSET 0) e,
          LATERAL (SELECT ${DERIVED_COLUMNS}) AS d(at, actor_user_id, action, dataset_id, record_ids, decision)
        WHERE (e.at, e.actor_user_id, e.action, e.dataset_id, e.record_ids, e.decision) IS DISTINCT FROM (d.at, d.actor_user_id, d.action, d.dataset_id, d.record_ids, d.decision)
        ORDER BY e.log_index LIMIT 1`.execute(db);
      const row = r.rows[0];
      if (!row) return null;
      const columns = (['at', 'actor_user_id', 'action', 'dataset_id', 'record_ids', 'decision'] as const).filter((c) => row[c]);
      return { index: Number(row.log_index), columns };
    },

    async node(level: number, idx: number): Promise<Buffer | undefined> {
      if (level === 0) {
        const r = await db.selectFrom('audit_events').select('leaf_hash').where('log_index', '=', idx).executeTakeFirst();
        return r?.leaf_hash ?? undefined;
      }
      const r = await sql<{ hash: Buffer }>`SELECT substring(hashes FROM ${(idx % TILE) * 32 + 1}::int FOR 32) AS hash
        FROM audit_tree_tiles WHERE level = ${level} AND tile = ${Math.floor(idx / TILE)}`.execute(db);
      const h = r.rows[0]?.hash;
      return h && h.length === 32 ? h : undefined;
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

  };
}
