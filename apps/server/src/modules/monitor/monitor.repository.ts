import { sql } from 'kysely';
import type { Executor } from '../../platform/db/database.ts';

/** Evidence kept per alert (log indexes); event_count says how many there were in all. */
export const MAX_EVIDENCE = 200;

export type AlertRow = {
  id: string; rule: string; severity: string; status: string; dedup_key: string; subject: string; subject_user_id: string | null;
  summary: unknown; evidence: number[]; event_count: number; first_event_at: Date; last_event_at: Date; created_at: Date; updated_at: Date;
  acknowledged_at: Date | null; acknowledged_by: string | null; closed_at: Date | null; closed_by: string | null; close_note: string | null; notes: unknown;
};

export type AlertFilter = { status?: string; severity?: string; rule?: string; subjectUserId?: string; before?: Date; limit: number };

const json = (v: unknown): unknown => (typeof v === 'string' ? (JSON.parse(v) as unknown) : v);
const normalise = (r: AlertRow): AlertRow => ({ ...r, summary: json(r.summary), notes: json(r.notes), evidence: (r.evidence ?? []).map(Number) });

export function monitorRepository(db: Executor) {
  return {
    // --- rules ---
    async settings(): Promise<{ rules: unknown; version: number; updated_at: Date; updated_by: string | null } | undefined> {
      const r = await db.selectFrom('monitor_settings').select(['rules', 'version', 'updated_at', 'updated_by']).where('id', '=', 1).executeTakeFirst();
      return r ? { ...r, rules: json(r.rules), updated_at: new Date(r.updated_at) } : undefined;
    },
    async insertDefaultSettings(rules: unknown, at: Date): Promise<void> {
      await db.insertInto('monitor_settings').values({ id: 1, rules: JSON.stringify(rules), version: 1, updated_at: at, updated_by: null })
        .onConflict((oc) => oc.column('id').doNothing()).execute();
    },
    /** Optimistic: only when the stored version is still `version`. */
    async updateSettings(rules: unknown, version: number, at: Date, by: string | null): Promise<boolean> {
      const r = await db.updateTable('monitor_settings').set({ rules: JSON.stringify(rules), version: version + 1, updated_at: at, updated_by: by })
        .where('id', '=', 1).where('version', '=', version).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },

    // --- the consumer ---
    /** One evaluator at a time across nodes (transaction-scoped advisory lock). */
    async tryLockMonitor(): Promise<boolean> {
      const r = await sql<{ ok: boolean }>`SELECT pg_try_advisory_xact_lock(7285007) AS ok`.execute(db);
      return r.rows[0]?.ok === true;
    },
    async cursor(at: Date): Promise<number> {
      await db.insertInto('monitor_cursor').values({ id: 1, next_index: 0, updated_at: at }).onConflict((oc) => oc.column('id').doNothing()).execute();
      const r = await db.selectFrom('monitor_cursor').select('next_index').where('id', '=', 1).forUpdate().executeTakeFirstOrThrow();
      return Number(r.next_index);
    },
    async peekCursor(): Promise<number> {
      const r = await db.selectFrom('monitor_cursor').select('next_index').where('id', '=', 1).executeTakeFirst();
      return r ? Number(r.next_index) : 0;
    },
    async saveCursor(next: number, at: Date): Promise<void> {
      await db.updateTable('monitor_cursor').set({ next_index: next, updated_at: at }).where('id', '=', 1).execute();
    },

    // --- windowed observations (read and written once per batch: monitor.state.ts) ---
    /**
     * For each window (subject, [start, end)) of `rule`: total weight, count, the first log indexes
     * and the earliest time of its observations — one statement for all of them, results in input order.
     */
    async windows(rule: string, ws: readonly { subject: string; start: Date; end: Date }[]): Promise<{ total: number; count: number; indexes: number[]; first: Date | null }[]> {
      if (ws.length === 0) return [];
      const r = await sql<{ n: number; total: number | null; count: number; indexes: number[] | null; first: Date | null }>`
        SELECT w.n::int AS n, sum(o.weight)::int AS total, count(o.log_index)::int AS count,
          (array_agg(o.log_index ORDER BY o.log_index) FILTER (WHERE o.log_index IS NOT NULL))[1:${MAX_EVIDENCE}] AS indexes, min(o.at) AS first
        FROM unnest(${ws.map((w) => w.subject)}::text[], ${ws.map((w) => w.start)}::timestamptz[], ${ws.map((w) => w.end)}::timestamptz[]) WITH ORDINALITY AS w(subject, s, e, n)
        LEFT JOIN monitor_observations o ON o.rule = ${rule} AND o.subject = w.subject AND o.at >= w.s AND o.at < w.e
        GROUP BY w.n ORDER BY w.n`.execute(db);
      return r.rows.map((row) => ({ total: row.total ?? 0, count: row.count, indexes: (row.indexes ?? []).map(Number), first: row.first ? new Date(row.first) : null }));
    },
    /** The observations of `rule` for these subjects since `from`, in log order. */
    async observationsSince(rule: string, subjects: readonly string[], from: Date): Promise<{ subject: string; at: Date; index: number; weight: number }[]> {
      const r = await sql<{ subject: string; at: Date; log_index: number; weight: number }>`
        SELECT subject, at, log_index, weight FROM monitor_observations
        WHERE rule = ${rule} AND subject = ANY(${[...subjects]}::text[]) AND at >= ${from} ORDER BY log_index`.execute(db);
      return r.rows.map((o) => ({ subject: o.subject, at: new Date(o.at), index: Number(o.log_index), weight: o.weight }));
    },
    async insertObservations(rows: readonly { rule: string; subject: string; at: Date; index: number; weight: number }[]): Promise<void> {
      if (rows.length === 0) return;
      await sql`
        INSERT INTO monitor_observations (rule, subject, at, log_index, weight)
        SELECT * FROM unnest(${rows.map((o) => o.rule)}::text[], ${rows.map((o) => o.subject)}::text[], ${rows.map((o) => o.at)}::timestamptz[],
          ${rows.map((o) => o.index)}::bigint[], ${rows.map((o) => o.weight)}::int[])`.execute(db);
    },
    /** Every observation of `rule` for these subjects goes (a raised alert restarts the count). */
    async forgetSubjects(rule: string, subjects: readonly string[]): Promise<void> {
      await db.deleteFrom('monitor_observations').where('rule', '=', rule).where(sql<boolean>`subject = ANY(${[...subjects]}::text[])`).execute();
    },
    async prune(rule: string, before: Date): Promise<void> {
      await db.deleteFrom('monitor_observations').where('rule', '=', rule).where('at', '<', before).execute();
    },

    // --- alerts ---
    /** The not-closed alerts with these de-duplication keys, row-locked until the batch commits. */
    async openAlertsByKeys(keys: readonly string[]): Promise<AlertRow[]> {
      if (keys.length === 0) return [];
      // One array parameter, however many keys a batch has (a list would be one parameter each).
      const rows = await db.selectFrom('monitor_alerts').selectAll().where(sql<boolean>`dedup_key = ANY(${[...new Set(keys)]}::text[])`).where('status', '<>', 'closed').forUpdate().execute();
      return rows.map((r) => normalise(r as AlertRow));
    },
    async insertAlert(a: {
      id: string; rule: string; severity: string; key: string; subject: string; subjectUserId: string | null; summary: unknown;
      evidence: number[]; eventCount: number; firstAt: Date; lastAt: Date; at: Date;
    }): Promise<void> {
      await db.insertInto('monitor_alerts').values({
        id: a.id, rule: a.rule, severity: a.severity, dedup_key: a.key, subject: a.subject, subject_user_id: a.subjectUserId,
        summary: JSON.stringify(a.summary), evidence: a.evidence.slice(0, MAX_EVIDENCE), event_count: a.eventCount,
        first_event_at: a.firstAt, last_event_at: a.lastAt, created_at: a.at, updated_at: a.at,
      }).execute();
    },
    /**
     * Adds a batch's evidence to alerts that are still open or acknowledged (the de-duplicated case),
     * one statement for all: the indexes appended while fewer than MAX_EVIDENCE are kept, the count
     * raised, the summary replaced, the last event time moved forward.
     */
    async addEvidenceMany(updates: readonly { id: string; indexes: number[]; count: number; summary: unknown; lastAt: Date }[], at: Date): Promise<void> {
      if (updates.length === 0) return;
      const json = JSON.stringify(updates.map((u) => ({ id: u.id, add: u.indexes, n: u.count, summary: u.summary, last_at: u.lastAt.toISOString() })));
      await sql`
        UPDATE monitor_alerts m SET
          evidence = CASE WHEN cardinality(m.evidence) >= ${MAX_EVIDENCE} THEN m.evidence
                          ELSE (m.evidence || u.add)[1:${MAX_EVIDENCE}] END,
          event_count = m.event_count + u.n,
          summary = u.summary,
          last_event_at = GREATEST(m.last_event_at, u.last_at),
          updated_at = ${at}
        FROM jsonb_to_recordset(${json}::jsonb) AS u(id uuid, add bigint[], n int, summary jsonb, last_at timestamptz)
        WHERE m.id = u.id`.execute(db);
    },
    async getAlert(id: string, forUpdate = false): Promise<AlertRow | undefined> {
      let q = db.selectFrom('monitor_alerts').selectAll().where('id', '=', id);
      if (forUpdate) q = q.forUpdate();
      const r = await q.executeTakeFirst();
      return r ? normalise(r as AlertRow) : undefined;
    },
    async listAlerts(f: AlertFilter): Promise<AlertRow[]> {
      let q = db.selectFrom('monitor_alerts').selectAll();
      if (f.status) q = q.where('status', '=', f.status);
      if (f.severity) q = q.where('severity', '=', f.severity);
      if (f.rule) q = q.where('rule', '=', f.rule);
      if (f.subjectUserId) q = q.where('subject_user_id', '=', f.subjectUserId);
      if (f.before) q = q.where('created_at', '<', f.before);
      const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(f.limit).execute();
      return rows.map((r) => normalise(r as AlertRow));
    },
    async countOpen(): Promise<{ severity: string; status: string; n: number }[]> {
      const r = await sql<{ severity: string; status: string; n: number }>`
        SELECT severity, status, count(*)::int AS n FROM monitor_alerts WHERE status <> 'closed' GROUP BY severity, status`.execute(db);
      return r.rows;
    },
    async acknowledge(id: string, by: string | null, at: Date, notes: unknown): Promise<void> {
      await db.updateTable('monitor_alerts').set({ status: 'acknowledged', acknowledged_at: at, acknowledged_by: by, updated_at: at, notes: JSON.stringify(notes) })
        .where('id', '=', id).execute();
    },
    async close(id: string, by: string | null, at: Date, note: string, notes: unknown): Promise<void> {
      await db.updateTable('monitor_alerts').set({ status: 'closed', closed_at: at, closed_by: by, close_note: note, updated_at: at, notes: JSON.stringify(notes) })
        .where('id', '=', id).execute();
    },
  };
}
