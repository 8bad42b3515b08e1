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

    // --- windowed observations ---
    async observe(rule: string, subject: string, at: Date, logIndex: number, weight: number): Promise<void> {
      await db.insertInto('monitor_observations').values({ rule, subject, at, log_index: logIndex, weight }).execute();
    },
    /** Total weight and the first log indexes of the observations in [from, to). */
    async window(rule: string, subject: string, from: Date, to: Date): Promise<{ total: number; count: number; indexes: number[]; first: Date | null }> {
      const r = await sql<{ total: number | null; count: number; indexes: number[] | null; first: Date | null }>`
        SELECT sum(weight)::int AS total, count(*)::int AS count, (array_agg(log_index ORDER BY log_index))[1:${MAX_EVIDENCE}] AS indexes, min(at) AS first
        FROM monitor_observations WHERE rule = ${rule} AND subject = ${subject} AND at >= ${from} AND at < ${to}`.execute(db);
      const row = r.rows[0];
      return { total: row?.total ?? 0, count: row?.count ?? 0, indexes: (row?.indexes ?? []).map(Number), first: row?.first ? new Date(row.first) : null };
    },
    async forget(rule: string, subject: string): Promise<void> {
      await db.deleteFrom('monitor_observations').where('rule', '=', rule).where('subject', '=', subject).execute();
    },
    async prune(rule: string, before: Date): Promise<void> {
      await db.deleteFrom('monitor_observations').where('rule', '=', rule).where('at', '<', before).execute();
    },

    // --- alerts ---
    async openAlertByKey(key: string): Promise<AlertRow | undefined> {
      const r = await db.selectFrom('monitor_alerts').selectAll().where('dedup_key', '=', key).where('status', '<>', 'closed').forUpdate().executeTakeFirst();
      return r ? normalise(r as AlertRow) : undefined;
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
    /** Adds evidence to an alert that is still open or acknowledged (the de-duplicated case). */
    async addEvidence(id: string, indexes: number[], count: number, summary: unknown, lastAt: Date, at: Date): Promise<void> {
      await sql`
        UPDATE monitor_alerts SET
          evidence = CASE WHEN cardinality(evidence) >= ${MAX_EVIDENCE} THEN evidence
                          ELSE (evidence || ${indexes}::bigint[])[1:${MAX_EVIDENCE}] END,
          event_count = event_count + ${count},
          summary = ${JSON.stringify(summary)}::jsonb,
          last_event_at = GREATEST(last_event_at, ${lastAt}),
          updated_at = ${at}
        WHERE id = ${id}`.execute(db);
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
