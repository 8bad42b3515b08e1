import { sql, type Insertable, type Selectable, type Updateable } from 'kysely';
import type { PersonRef } from '@mamori/contracts';
import type { Executor } from '../../platform/db/database.ts';
import type { DB } from '../../platform/db/schema.ts';

export type TransmissionRow = Selectable<DB['transmissions']>;
export type TransmissionState = TransmissionRow['state'];
export type ReviewRow = Selectable<DB['transmission_reviews']>;
export type ReviewItemRow = Selectable<DB['transmission_review_items']>;

/** Columns of a transmission without its (encrypted) content: what lists and views need. */
const META = [
  'id', 'sender_id', 'sender_address', 'channel', 'state', 'route', 'reasons', 'recipients', 'external_recipients', 'subject', 'attachments', 'bytes',
  'findings', 'summary', 'scan_errors', 'approval_request_id', 'approved_by', 'bcc_user_id', 'attempts', 'next_attempt_at', 'claimed_until',
  'delivery_error', 'created_at', 'decided_at', 'delivered_at',
] as const;
export type TransmissionMeta = Pick<TransmissionRow, (typeof META)[number]>;

export type RegisterFilter = { from?: Date; to?: Date; state?: TransmissionState; limit: number };

export function transmissionsRepository(db: Executor) {
  return {
    async settings() {
      return db.selectFrom('transmission_settings').selectAll().where('id', '=', 1).executeTakeFirst();
    },
    async insertSettings(rules: unknown, at: Date): Promise<void> {
      await db.insertInto('transmission_settings').values({ id: 1, rules: JSON.stringify(rules), version: 1, updated_at: at, updated_by: null }).onConflict((oc) => oc.column('id').doNothing()).execute();
    },
    /** Optimistic: only the version the editor saw is replaced. */
    async updateSettings(rules: unknown, version: number, at: Date, by: string | null): Promise<boolean> {
      const r = await db.updateTable('transmission_settings').set({ rules: JSON.stringify(rules), version: version + 1, updated_at: at, updated_by: by })
        .where('id', '=', 1).where('version', '=', version).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },

    async insert(row: Insertable<DB['transmissions']>): Promise<void> {
      await db.insertInto('transmissions').values(row).execute();
    },
    async get(id: string): Promise<TransmissionMeta | undefined> {
      return db.selectFrom('transmissions').select(META).where('id', '=', id).executeTakeFirst();
    },
    async withContent(id: string): Promise<TransmissionRow | undefined> {
      return db.selectFrom('transmissions').selectAll().where('id', '=', id).executeTakeFirst();
    },
    async forUpdate(id: string): Promise<TransmissionMeta | undefined> {
      return db.selectFrom('transmissions').select(META).where('id', '=', id).forUpdate().executeTakeFirst();
    },
    /** A conditional transition: true when this call moved the row out of one of `from`. */
    async transition(id: string, from: readonly TransmissionState[], set: Updateable<DB['transmissions']>): Promise<boolean> {
      const r = await db.updateTable('transmissions').set(set).where('id', '=', id).where('state', 'in', [...from]).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async bySender(senderId: string, limit: number): Promise<TransmissionMeta[]> {
      return db.selectFrom('transmissions').select(META).where('sender_id', '=', senderId).orderBy('created_at', 'desc').limit(limit).execute();
    },
    async register(f: RegisterFilter): Promise<TransmissionMeta[]> {
      let q = db.selectFrom('transmissions').select(META);
      if (f.from) q = q.where('created_at', '>=', f.from);
      if (f.to) q = q.where('created_at', '<', f.to);
      if (f.state) q = q.where('state', '=', f.state);
      return q.orderBy('created_at', 'desc').limit(f.limit).execute();
    },
    /** Transmissions waiting for their approval request, with the request's state. */
    async awaitingApproval(limit: number): Promise<{ id: string; approval_request_id: string; request_state: string }[]> {
      return db.selectFrom('transmissions as t').innerJoin('approval_requests as r', 'r.id', 't.approval_request_id')
        .select(['t.id', 't.approval_request_id', 'r.state as request_state'])
        .where('t.state', '=', 'pending_approval').where('r.state', '<>', 'pending')
        .orderBy('t.created_at').limit(limit).execute() as Promise<{ id: string; approval_request_id: string; request_state: string }[]>;
    },

    /**
     * Claims up to `limit` queued transmissions due for an attempt, for `leaseMs`: one statement,
     * rows locked by another worker's claim are skipped (FOR UPDATE SKIP LOCKED) and a claimed row is
     * invisible to other workers until its lease runs out. The claim counts the attempt.
     */
    async claim(now: Date, leaseMs: number, limit: number): Promise<{ id: string; attempts: number; claimed_until: Date }[]> {
      const until = new Date(now.getTime() + leaseMs);
      const r = await sql<{ id: string; attempts: number; claimed_until: Date }>`
        UPDATE transmissions SET claimed_until = ${until}, attempts = attempts + 1
        WHERE id IN (
          SELECT id FROM transmissions
          WHERE state = 'queued' AND next_attempt_at <= ${now} AND (claimed_until IS NULL OR claimed_until <= ${now})
          ORDER BY next_attempt_at, id
          LIMIT ${limit}
          FOR UPDATE SKIP LOCKED)
        RETURNING id, attempts, claimed_until`.execute(db);
      return r.rows;
    },
    /** Only the holder of the current lease may record the outcome of its attempt. */
    async settle(id: string, lease: Date, set: Updateable<DB['transmissions']>): Promise<boolean> {
      const r = await db.updateTable('transmissions').set({ ...set, claimed_until: null })
        .where('id', '=', id).where('state', '=', 'queued').where('claimed_until', '=', lease).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },

    async people(ids: readonly (string | null)[]): Promise<Map<string, PersonRef>> {
      const list = [...new Set(ids.filter((x): x is string => typeof x === 'string'))];
      if (list.length === 0) return new Map();
      const rows = await db.selectFrom('users').select(['id', 'login', 'display_name']).where('id', 'in', list).execute();
      return new Map(rows.map((u) => [u.id, { id: u.id, login: u.login, displayName: u.display_name }]));
    },
    async user(id: string) {
      return db.selectFrom('users').select(['id', 'login', 'display_name', 'email', 'status', 'supervisor_id', 'kind']).where('id', '=', id).executeTakeFirst();
    },
    /** The sender's supervisor as of now: active, with an address (null otherwise). */
    async currentSupervisor(senderId: string): Promise<{ id: string; email: string } | null> {
      const r = await db.selectFrom('users as u').innerJoin('users as s', 's.id', 'u.supervisor_id')
        .select(['s.id', 's.email']).where('u.id', '=', senderId).where('s.status', '=', 'active').executeTakeFirst();
      return r && r.email ? { id: r.id, email: r.email } : null;
    },
    async approversOf(requestId: string): Promise<string[]> {
      const rows = await db.selectFrom('approval_decisions').select('approver_id').where('request_id', '=', requestId)
        .where('decision', '=', 'approve').where('withdrawn_at', 'is', null).execute();
      return rows.map((r) => r.approver_id);
    },
    async provisionOf(ids: readonly string[]): Promise<Map<string, string>> {
      if (ids.length === 0) return new Map();
      const rows = await db.selectFrom('provision_records').select(['id', 'transmission_id']).where('transmission_id', 'in', [...ids]).execute();
      return new Map(rows.map((r) => [r.transmission_id!, r.id]));
    },

    // ------------------------------------------------------------ review
    async review(id: string): Promise<ReviewRow | undefined> {
      return db.selectFrom('transmission_reviews').selectAll().where('id', '=', id).executeTakeFirst();
    },
    async reviewFor(periodStart: Date): Promise<ReviewRow | undefined> {
      return db.selectFrom('transmission_reviews').selectAll().where('period_start', '=', periodStart).executeTakeFirst();
    },
    async lastReview(): Promise<ReviewRow | undefined> {
      return db.selectFrom('transmission_reviews').selectAll().orderBy('period_start', 'desc').limit(1).executeTakeFirst();
    },
    /** Reviews with their counts, newest first; or the one review `id`. */
    async reviews(limit: number, id: string | null = null): Promise<(ReviewRow & { items: number; marked: number; inappropriate: number })[]> {
      const r = await sql<ReviewRow & { items: number; marked: number; inappropriate: number }>`
        SELECT r.*, count(i.transmission_id)::int AS items, count(i.verdict)::int AS marked,
               count(*) FILTER (WHERE i.verdict = 'inappropriate')::int AS inappropriate
        FROM transmission_reviews r LEFT JOIN transmission_review_items i ON i.review_id = r.id
        WHERE ${id}::uuid IS NULL OR r.id = ${id}::uuid
        GROUP BY r.id ORDER BY r.period_start DESC LIMIT ${limit}`.execute(db);
      return r.rows;
    },
    async insertReview(row: Insertable<DB['transmission_reviews']>, transmissionIds: readonly string[]): Promise<boolean> {
      const r = await db.insertInto('transmission_reviews').values(row).onConflict((oc) => oc.column('period_start').doNothing()).executeTakeFirst();
      if (Number(r.numInsertedOrUpdatedRows ?? 0) !== 1) return false;
      if (transmissionIds.length > 0) await db.insertInto('transmission_review_items').values(transmissionIds.map((t) => ({ review_id: row.id, transmission_id: t, verdict: null, marked_by: null, marked_at: null }))).execute();
      return true;
    },
    async firstDeliveredAt(): Promise<Date | null> {
      const r = await db.selectFrom('transmissions').select('delivered_at').where('state', '=', 'delivered').orderBy('delivered_at').limit(1).executeTakeFirst();
      return r?.delivered_at ? new Date(r.delivered_at) : null;
    },
    async deliveredBetween(from: Date, to: Date): Promise<string[]> {
      const rows = await db.selectFrom('transmissions').select('id').where('state', '=', 'delivered').where('delivered_at', '>=', from).where('delivered_at', '<', to).orderBy('delivered_at').execute();
      return rows.map((r) => r.id);
    },
    async items(reviewId: string): Promise<ReviewItemRow[]> {
      return db.selectFrom('transmission_review_items').selectAll().where('review_id', '=', reviewId).execute();
    },
    async item(reviewId: string, transmissionId: string): Promise<ReviewItemRow | undefined> {
      return db.selectFrom('transmission_review_items').selectAll().where('review_id', '=', reviewId).where('transmission_id', '=', transmissionId).forUpdate().executeTakeFirst();
    },
    async markItem(reviewId: string, transmissionId: string, set: { verdict: 'appropriate' | 'inappropriate'; note: string; marked_by: string; marked_at: Date }): Promise<void> {
      await db.updateTable('transmission_review_items').set(set).where('review_id', '=', reviewId).where('transmission_id', '=', transmissionId).execute();
    },
    async unmarked(reviewId: string): Promise<number> {
      const r = await db.selectFrom('transmission_review_items').select((eb) => eb.fn.countAll<number>().as('n')).where('review_id', '=', reviewId).where('verdict', 'is', null).executeTakeFirst();
      return Number(r?.n ?? 0);
    },
    async closeReview(id: string, at: Date): Promise<boolean> {
      const r = await db.updateTable('transmission_reviews').set({ state: 'closed', closed_at: at }).where('id', '=', id).where('state', '=', 'open').executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async overdue(now: Date): Promise<ReviewRow[]> {
      return db.selectFrom('transmission_reviews').selectAll().where('state', '=', 'open').where('due_at', '<=', now).where('overdue_alerted_at', 'is', null).execute();
    },
    async markOverdueAlerted(id: string, at: Date): Promise<boolean> {
      const r = await db.updateTable('transmission_reviews').set({ overdue_alerted_at: at }).where('id', '=', id).where('overdue_alerted_at', 'is', null).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async holdersOf(roles: readonly string[]): Promise<string[]> {
      if (roles.length === 0) return [];
      const rows = await db.selectFrom('users').innerJoin('user_roles', 'user_roles.user_id', 'users.id').select('users.id')
        .where('user_roles.role', 'in', [...roles]).where('users.status', '=', 'active').where('users.kind', '=', 'person').distinct().execute();
      return rows.map((r) => r.id);
    },
  };
}
