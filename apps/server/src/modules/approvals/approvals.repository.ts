/** SQL of the approvals engine. Built from an executor: `approvalsRepository(db)` or `(tx)`. */
import { sql, type Insertable, type Selectable, type Updateable } from 'kysely';
import type { ApprovalState } from '@mamori/contracts';
import type { Executor } from '../../platform/db/database.ts';
import type { DB } from '../../platform/db/schema.ts';
import type { Person } from './approvals.rules.ts';

export type PolicyRow = Selectable<DB['approval_policies']>;
export type RequestRow = Selectable<DB['approval_requests']>;
export type DecisionRow = { request_id: string; approver_id: string; decision: 'approve' | 'reject'; reason: string; decided_at: Date; withdrawn_at: Date | null; withdrawn_reason: string | null };
export type PersonRow = Person & { login: string; displayName: string; supervisorId: string | null };
export type ReviewRow = { id: string; request_id: string; reason: string; opened_at: Date; closed_at: Date | null; closed_by: string | null; note: string | null };

export type HistoryFilter = { kind?: string | undefined; state?: ApprovalState | undefined; from?: Date | undefined; to?: Date | undefined; limit: number };

export function approvalsRepository(db: Executor) {
  return {
    async policies(): Promise<PolicyRow[]> {
      return (await db.selectFrom('approval_policies').selectAll().orderBy('kind').execute()) as PolicyRow[];
    },

    async policy(kind: string): Promise<PolicyRow | undefined> {
      return (await db.selectFrom('approval_policies').selectAll().where('kind', '=', kind).executeTakeFirst()) as PolicyRow | undefined;
    },

    /** Optimistic update: returns false when the version moved on meanwhile. */
    async updatePolicy(kind: string, version: number, values: Omit<Updateable<DB['approval_policies']>, 'kind' | 'version'>): Promise<boolean> {
      const r = await db.updateTable('approval_policies').set({ ...values, version: version + 1 }).where('kind', '=', kind).where('version', '=', version).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },

    async insertRequest(row: Insertable<DB['approval_requests']>): Promise<void> {
      await db.insertInto('approval_requests').values(row).execute();
    },

    async request(id: string): Promise<RequestRow | undefined> {
      return (await db.selectFrom('approval_requests').selectAll().where('id', '=', id).executeTakeFirst()) as RequestRow | undefined;
    },

    /** Locks the request row for the rest of the transaction: decisions on one request are serialised. */
    async requestForUpdate(id: string): Promise<RequestRow | undefined> {
      return (await db.selectFrom('approval_requests').selectAll().where('id', '=', id).forUpdate().executeTakeFirst()) as RequestRow | undefined;
    },

    async requests(ids: readonly string[]): Promise<RequestRow[]> {
      if (ids.length === 0) return [];
      return (await db.selectFrom('approval_requests').selectAll().where('id', 'in', ids).execute()) as RequestRow[];
    },

    /** Moves a request from one of `from` to a new state; false if it was no longer in one of them (a race lost). */
    async transition(id: string, from: readonly ApprovalState[], patch: Omit<Updateable<DB['approval_requests']>, 'id' | 'version'> & { state: ApprovalState }): Promise<boolean> {
      const r = await db.updateTable('approval_requests').set({ ...patch, version: sql`version + 1` }).where('id', '=', id).where('state', 'in', [...from]).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },

    async decisions(requestIds: readonly string[]): Promise<DecisionRow[]> {
      if (requestIds.length === 0) return [];
      return (await db.selectFrom('approval_decisions').selectAll().where('request_id', 'in', requestIds).orderBy('decided_at').orderBy('approver_id').execute()) as DecisionRow[];
    },

    async insertDecision(row: Insertable<DB['approval_decisions']>): Promise<void> {
      await db.insertInto('approval_decisions').values(row).execute();
    },

    /** People as eligibility sees them now: status, kind, employment, roles, groups, supervisor. */
    async people(ids: readonly string[]): Promise<Map<string, PersonRow>> {
      const out = new Map<string, PersonRow>();
      const unique = [...new Set(ids)];
      if (unique.length === 0) return out;
      const r = await sql<{ id: string; login: string; display_name: string; status: string; kind: 'person' | 'service'; employment_type: string; supervisor_id: string | null; roles: string[]; group_ids: string[] }>`
        SELECT u.id, u.login, u.display_name, u.status, u.kind, u.employment_type, u.supervisor_id,
          ARRAY(SELECT role FROM user_roles WHERE user_id = u.id ORDER BY role) AS roles,
          ARRAY(SELECT group_id::text FROM group_members WHERE user_id = u.id) AS group_ids
        FROM users u WHERE u.id = ANY(${unique}::uuid[])`.execute(db);
      for (const u of r.rows) {
        out.set(u.id, { id: u.id, login: u.login, displayName: u.display_name, status: u.status, kind: u.kind, employmentType: u.employment_type, supervisorId: u.supervisor_id, roles: u.roles, groupIds: u.group_ids });
      }
      return out;
    },

    /** Candidates for a request's approvers: holders of an eligible role, members of an eligible group, the supervisor. */
    async candidateIds(roles: readonly string[], groupIds: readonly string[], supervisorId: string | null): Promise<string[]> {
      const r = await sql<{ id: string }>`
        SELECT user_id AS id FROM user_roles WHERE role = ANY(${[...roles]}::text[])
        UNION SELECT user_id FROM group_members WHERE group_id::text = ANY(${[...groupIds]}::text[])
        UNION SELECT id FROM users WHERE id = ${supervisorId}::uuid`.execute(db);
      return r.rows.map((x) => x.id);
    },

    async byRequester(userId: string, limit: number): Promise<RequestRow[]> {
      return (await db.selectFrom('approval_requests').selectAll().where('requester_id', '=', userId).orderBy('created_at', 'desc').limit(limit).execute()) as RequestRow[];
    },

    /** Pending requests not yet past their time-to-live, oldest first, not filed by `exceptRequester`. */
    async openPending(now: Date, exceptRequester: string, limit: number): Promise<RequestRow[]> {
      return (await db.selectFrom('approval_requests').selectAll().where('state', '=', 'pending').where('expires_at', '>', now)
        .where('requester_id', '!=', exceptRequester).orderBy('created_at').limit(limit).execute()) as RequestRow[];
    },

    async history(f: HistoryFilter): Promise<RequestRow[]> {
      let q = db.selectFrom('approval_requests').selectAll();
      if (f.kind) q = q.where('kind', '=', f.kind);
      if (f.state) q = q.where('state', '=', f.state);
      if (f.from) q = q.where('created_at', '>=', f.from);
      if (f.to) q = q.where('created_at', '<', f.to);
      return (await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(f.limit).execute()) as RequestRow[];
    },

    /** Requests whose deadline passed while still pending or approved-unused. */
    async due(now: Date, limit: number): Promise<RequestRow[]> {
      return (await db.selectFrom('approval_requests').selectAll()
        .where((eb) => eb.or([
          eb.and([eb('state', '=', 'pending'), eb('expires_at', '<=', now)]),
          eb.and([eb('state', '=', 'approved'), eb('valid_until', '<=', now)]),
        ]))
        .orderBy('expires_at').limit(limit).execute()) as RequestRow[];
    },

    async openRequestsOf(userId: string): Promise<RequestRow[]> {
      return (await db.selectFrom('approval_requests').selectAll().where('requester_id', '=', userId).where('state', 'in', ['pending', 'approved']).forUpdate().execute()) as RequestRow[];
    },

    /** Withdraws the user's approvals on requests not yet used; returns the request ids touched. */
    async withdrawApprovalsBy(userId: string, at: Date, reason: string): Promise<string[]> {
      const r = await sql<{ request_id: string }>`
        UPDATE approval_decisions d SET withdrawn_at = ${at}, withdrawn_reason = ${reason}
        FROM approval_requests r
        WHERE d.request_id = r.id AND d.approver_id = ${userId}::uuid AND d.withdrawn_at IS NULL AND r.state IN ('pending', 'approved')
        RETURNING d.request_id`.execute(db);
      return r.rows.map((x) => x.request_id);
    },

    async insertReview(row: Insertable<DB['approval_reviews']>): Promise<void> {
      await db.insertInto('approval_reviews').values(row).execute();
    },

    async reviews(open: boolean | undefined, limit: number): Promise<ReviewRow[]> {
      let q = db.selectFrom('approval_reviews').selectAll();
      if (open === true) q = q.where('closed_at', 'is', null);
      if (open === false) q = q.where('closed_at', 'is not', null);
      return (await q.orderBy('opened_at', 'desc').limit(limit).execute()) as ReviewRow[];
    },

    async reviewsOf(requestIds: readonly string[]): Promise<ReviewRow[]> {
      if (requestIds.length === 0) return [];
      return (await db.selectFrom('approval_reviews').selectAll().where('request_id', 'in', requestIds).execute()) as ReviewRow[];
    },

    async review(id: string): Promise<ReviewRow | undefined> {
      return (await db.selectFrom('approval_reviews').selectAll().where('id', '=', id).executeTakeFirst()) as ReviewRow | undefined;
    },

    async closeReview(id: string, by: string, note: string, at: Date): Promise<boolean> {
      const r = await db.updateTable('approval_reviews').set({ closed_at: at, closed_by: by, note }).where('id', '=', id).where('closed_at', 'is', null).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
  };
}
