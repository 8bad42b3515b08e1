import { sql, type Insertable, type RawBuilder, type Selectable, type Updateable } from 'kysely';
import type { PersonRef } from '@mamori/contracts';
import { copyOutAll } from '../../platform/db/copy-out.ts';
import type { Executor } from '../../platform/db/database.ts';
import { isUuid } from '../../platform/ids.ts';
import type { DB } from '../../platform/db/schema.ts';

export type ExtractionRow = Selectable<DB['extractions']>;
export type StoredCriterion = { field: string; op: 'exact' | 'prefix'; term: string; shown: string };
export type BulkRow = { id: string; public: string; sealed: Buffer | null; key_id: string | null };

/**
 * A batch of records as PostgreSQL's binary COPY writes them (`COPY … TO STDOUT (FORMAT binary)`:
 * a header, then per record a field count and each field as a 4-byte length and its bytes — id
 * (uuid, 16 bytes), public values (JSON text), sealed blob (length -1 when there is none), data key
 * id (text) — then a trailer), so that a batch of 10,000 arrives as one buffer instead of 10,000
 * rows of JavaScript objects and can be handed to a worker thread whole. `rows` and `lastId` are
 * read from its framing. `data` is the batch's own memory (a view of a buffer that nothing else uses —
 * the COPY reader's, often larger than the batch — or a slice of Node's shared pool of small
 * buffers): the export moves it to a worker thread whole instead of copying it.
 */
export type PackedBatch = { rows: number; lastId: string | null; data: Buffer; ids?: string[] | undefined };

const COPY_HEADER = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** Length of the binary COPY header: signature, flags, extension length (+ extension). */
function headerLength(b: Buffer): number {
  if (b.length < 19 || !b.subarray(0, 11).equals(COPY_HEADER)) throw new Error('not a binary COPY');
  return 19 + b.readInt32BE(15);
}

const uuidAt = (b: Buffer, at: number) => {
  const h = b.toString('hex', at, at + 16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

/** Walks the tuples of a packed batch: how many, the id of the last, and with `withIds` every id. */
export function framePacked(data: Buffer, withIds = false): PackedBatch {
  let o = headerLength(data);
  let rows = 0;
  let last = -1;
  const ids: string[] | undefined = withIds ? [] : undefined;
  for (;;) {
    const fields = data.readInt16BE(o);
    if (fields === -1) break;
    if (fields !== 4 || data.readInt32BE(o + 2) !== 16) throw new Error('bad binary COPY framing');
    last = o + 6;
    ids?.push(uuidAt(data, last));
    o += 2;
    for (let f = 0; f < fields; f++) {
      const n = data.readInt32BE(o);
      o += 4 + (n > 0 ? n : 0);
    }
    rows++;
  }
  if (o + 2 !== data.length) throw new Error('bad binary COPY framing');
  return { rows, lastId: last < 0 ? null : uuidAt(data, last), data, ids };
}

/** SQL literals for statements that take no parameters (COPY): only values whose form is checked. */
const lit = {
  uuid(s: string): string {
    if (!isUuid(s)) throw new Error('not a uuid');
    return `'${s}'::uuid`;
  },
  int(n: number): string {
    if (!Number.isSafeInteger(n)) throw new Error('not an integer');
    return String(n);
  },
  bytes(b: Buffer): string {
    return `'\\x${b.toString('hex')}'::bytea`;
  },
};

const PREFIX_END = Buffer.from([0xff]);

/** The field's database-wide id, the first part of its terms' keys in record_terms (record_term(), migrations 0010 and 0019). */
function fieldId(datasetId: string, field: string): RawBuilder<number> {
  return sql<number>`(SELECT term_field FROM dataset_fields WHERE dataset_id = ${datasetId} AND name = ${field})`;
}

function criteriaSql(datasetId: string, criteria: readonly StoredCriterion[]): RawBuilder<unknown>[] {
  return criteria.map((c) => {
    const term = Buffer.from(c.term, 'hex');
    return c.op === 'exact'
      ? sql`AND rec.id IN (SELECT record_id FROM record_terms WHERE term = record_term(${fieldId(datasetId, c.field)}, ${term}))`
      : sql`AND rec.id IN (SELECT record_id FROM record_terms WHERE term >= record_term(${fieldId(datasetId, c.field)}, ${term}) AND term < record_term(${fieldId(datasetId, c.field)}, ${Buffer.concat([term, PREFIX_END])}))`;
  });
}

/** Records of the dataset whose subjects opted out: found through the search index, by blind index. */
function suppressedSql(datasetId: string): RawBuilder<unknown> {
  return sql`AND rec.id NOT IN (
    SELECT rt.record_id FROM suppression_terms st
    JOIN suppression_entries se ON se.id = st.entry_id AND se.removed_at IS NULL
    JOIN dataset_fields df ON df.dataset_id = st.dataset_id AND df.name = st.field
    JOIN record_terms rt ON rt.term = record_term(df.term_field, st.term)
    WHERE st.dataset_id = ${datasetId})`;
}

export function extractionRepository(db: Executor) {
  let termFields: { datasetId: string; ids: Map<string, number> } | undefined;
  return {
    async count(datasetId: string, criteria: readonly StoredCriterion[], suppress: boolean): Promise<number> {
      const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM records rec WHERE rec.dataset_id = ${datasetId}
        ${sql.join(criteriaSql(datasetId, criteria), sql` `)} ${suppress ? suppressedSql(datasetId) : sql``}`.execute(db);
      return r.rows[0]?.n ?? 0;
    },

    /** One batch in id order after `after` (keyset pagination: no offset, no per-row round trip). */
    async batch(datasetId: string, criteria: readonly StoredCriterion[], suppress: boolean, after: string | null, limit: number): Promise<BulkRow[]> {
      const r = await sql<BulkRow>`SELECT rec.id, rec.public::text AS public, rec.sealed, rec.key_id FROM records rec
        WHERE rec.dataset_id = ${datasetId} ${after ? sql`AND rec.id > ${after}` : sql``}
        ${sql.join(criteriaSql(datasetId, criteria), sql` `)} ${suppress ? suppressedSql(datasetId) : sql``}
        ORDER BY rec.id LIMIT ${limit}`.execute(db);
      return r.rows;
    },

    /**
     * The same batch as `batch`, as binary COPY bytes (see PackedBatch); `rows` 0 at the end. COPY
     * takes no parameters: the statement is written with literals of checked form only (uuids,
     * integers, hex), the criteria's fields by their numeric ids.
     */
    async packedBatch(datasetId: string, criteria: readonly StoredCriterion[], suppress: boolean, after: string | null, limit: number, withIds = false): Promise<PackedBatch> {
      // The fields' numeric ids are read once per repository (an export's batches share one).
      if (criteria.length > 0 && termFields?.datasetId !== datasetId) {
        const rows = await db.selectFrom('dataset_fields').select(['name', 'term_field']).where('dataset_id', '=', datasetId).execute();
        termFields = { datasetId, ids: new Map(rows.map((f) => [f.name, Number(f.term_field)] as const)) };
      }
      const ids = termFields?.ids ?? new Map<string, number>();
      const where = criteria.map((c) => {
        const field = ids.get(c.field);
        if (field === undefined) throw new Error('unknown field in a stored criterion');
        const term = Buffer.from(c.term, 'hex');
        return c.op === 'exact'
          ? `AND rec.id IN (SELECT record_id FROM record_terms WHERE term = record_term(${lit.int(field)}, ${lit.bytes(term)}))`
          : `AND rec.id IN (SELECT record_id FROM record_terms WHERE term >= record_term(${lit.int(field)}, ${lit.bytes(term)}) AND term < record_term(${lit.int(field)}, ${lit.bytes(Buffer.concat([term, PREFIX_END]))}))`;
      });
      const ds = lit.uuid(datasetId);
      const suppressed = suppress ? `AND rec.id NOT IN (
        SELECT rt.record_id FROM suppression_terms st
        JOIN suppression_entries se ON se.id = st.entry_id AND se.removed_at IS NULL
        JOIN dataset_fields df ON df.dataset_id = st.dataset_id AND df.name = st.field
        JOIN record_terms rt ON rt.term = record_term(df.term_field, st.term)
        WHERE st.dataset_id = ${ds})` : '';
      return framePacked(await copyOutAll(db, `COPY (SELECT rec.id, rec.public::text, rec.sealed, rec.key_id FROM records rec
        WHERE rec.dataset_id = ${ds} ${after ? `AND rec.id > ${lit.uuid(after)}` : ''} ${where.join(' ')} ${suppressed}
        ORDER BY rec.id LIMIT ${lit.int(limit)}) TO STDOUT (FORMAT binary)`), withIds);
    },

    async termExists(datasetId: string, field: string, term: Buffer): Promise<boolean> {
      const r = await sql`SELECT 1 FROM record_terms WHERE term = record_term(${fieldId(datasetId, field)}, ${term}) LIMIT 1`.execute(db);
      return r.rows.length > 0;
    },
    async markExists(mark: Buffer): Promise<boolean> {
      return (await db.selectFrom('extraction_canaries').select('extraction_id').where('mark', '=', mark).limit(1).execute()).length > 0;
    },
    async extractionsByMarks(marks: readonly Buffer[]): Promise<{ extraction_id: string; position: number }[]> {
      if (marks.length === 0) return [];
      const r = await sql<{ extraction_id: string; position: number }>`SELECT DISTINCT extraction_id, position FROM extraction_canaries WHERE mark = ANY(${marks}::bytea[])`.execute(db);
      return r.rows;
    },

    async insert(row: Insertable<DB['extractions']>): Promise<void> {
      await db.insertInto('extractions').values(row).execute();
    },
    async get(id: string) {
      return db.selectFrom('extractions').selectAll().where('id', '=', id).executeTakeFirst();
    },
    async getForUpdate(id: string) {
      return db.selectFrom('extractions').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
    },
    async byRequester(userId: string, limit: number) {
      return db.selectFrom('extractions').selectAll().where('requester_id', '=', userId).orderBy('created_at', 'desc').limit(limit).execute();
    },
    async recent(limit: number) {
      return db.selectFrom('extractions').selectAll().where('completed_at', 'is not', null).orderBy('completed_at', 'desc').limit(limit).execute();
    },
    async waiting() {
      return db.selectFrom('extractions as e').innerJoin('approval_requests as r', 'r.id', 'e.approval_request_id')
        .select(['e.id', 'r.state as request_state']).where('e.state', '=', 'pending_approval').orderBy('e.created_at').limit(100).execute();
    },
    async readyPast(now: Date) {
      return db.selectFrom('extractions').select(['id', 'dataset_id', 'requester_id']).where('state', '=', 'ready').where('download_until', '<=', now).limit(100).execute();
    },
    async update(id: string, fromStates: readonly ExtractionRow['state'][], set: Updateable<DB['extractions']>): Promise<boolean> {
      const r = await db.updateTable('extractions').set(set).where('id', '=', id).where('state', 'in', [...fromStates]).executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
    /** Progress and the lease's renewal, only while the run is still this attempt's; false when superseded. */
    async progress(id: string, attempt: number, rowsDone: number | null, now: Date): Promise<boolean> {
      const r = await db.updateTable('extractions').set(rowsDone === null ? { heartbeat_at: now } : { rows_done: rowsDone, heartbeat_at: now })
        .where('id', '=', id).where('state', '=', 'running').where('attempt', '=', attempt).executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
    /** A state change by the worker of `attempt` (fenced: a superseded worker changes nothing). */
    async finishAttempt(id: string, attempt: number, set: Updateable<DB['extractions']>): Promise<boolean> {
      const r = await db.updateTable('extractions').set(set).where('id', '=', id).where('state', '=', 'running').where('attempt', '=', attempt).executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
    /** Running exports whose worker stopped renewing its lease before `cutoff`. */
    async stale(cutoff: Date) {
      return db.selectFrom('extractions').select(['id', 'attempt', 'dataset_id', 'requester_id'])
        .where('state', '=', 'running').where((eb) => eb.or([eb('heartbeat_at', '<', cutoff), eb('heartbeat_at', 'is', null)])).limit(100).execute();
    },
    /** Takes a stale run over: the next attempt, a fresh lease; undefined when another worker was faster or the old one woke up. */
    async takeOver(id: string, attempt: number, cutoff: Date, now: Date): Promise<number | undefined> {
      const r = await db.updateTable('extractions').set({ attempt: attempt + 1, heartbeat_at: now, rows_done: 0 })
        .where('id', '=', id).where('state', '=', 'running').where('attempt', '=', attempt)
        .where((eb) => eb.or([eb('heartbeat_at', '<', cutoff), eb('heartbeat_at', 'is', null)]))
        .returning('attempt').executeTakeFirst();
      return r?.attempt;
    },
    async insertCanaries(rows: { extraction_id: string; position: number; mark: Buffer }[]): Promise<void> {
      if (rows.length > 0) await db.insertInto('extraction_canaries').values(rows).execute();
    },
    async insertProvision(row: Insertable<DB['provision_records']>, recordIds: readonly string[]): Promise<void> {
      await db.insertInto('provision_records').values(row).execute();
      for (let i = 0; i < recordIds.length; i += 20_000) {
        const ids = recordIds.slice(i, i + 20_000);
        await sql`INSERT INTO provision_subjects (provision_id, record_id) SELECT ${row.id}::uuid, u FROM unnest(${ids}::uuid[]) AS u`.execute(db);
      }
    },
    async provisions(recordId: string | null, limit: number) {
      let q = db.selectFrom('provision_records as p').leftJoin('datasets as d', 'd.id', 'p.dataset_id').selectAll('p').select('d.name as dataset');
      if (recordId) q = q.where('p.id', 'in', db.selectFrom('provision_subjects').select('provision_id').where('record_id', '=', recordId));
      return q.orderBy('p.provided_at', 'desc').limit(limit).execute();
    },

    async people(ids: readonly string[]): Promise<Map<string, PersonRef>> {
      if (ids.length === 0) return new Map();
      const rows = await db.selectFrom('users').select(['id', 'login', 'display_name']).where('id', 'in', [...new Set(ids)]).execute();
      return new Map(rows.map((u) => [u.id, { id: u.id, login: u.login, displayName: u.display_name }]));
    },
    async approverIds(requestIds: readonly string[]): Promise<{ request_id: string; approver_id: string }[]> {
      if (requestIds.length === 0) return [];
      return db.selectFrom('approval_decisions').select(['request_id', 'approver_id']).where('request_id', 'in', [...requestIds]).where('decision', '=', 'approve').where('withdrawn_at', 'is', null).execute();
    },
    async datasetNames(ids: readonly string[]): Promise<Map<string, string>> {
      if (ids.length === 0) return new Map();
      const rows = await db.selectFrom('datasets').select(['id', 'name']).where('id', 'in', [...new Set(ids)]).execute();
      return new Map(rows.map((d) => [d.id, d.name]));
    },

    async insertSuppression(entry: Insertable<DB['suppression_entries']>, terms: { field: string; term: Buffer }[]): Promise<void> {
      await db.insertInto('suppression_entries').values(entry).execute();
      await db.insertInto('suppression_terms').values(terms.map((t) => ({ entry_id: entry.id, dataset_id: entry.dataset_id, field: t.field, term: t.term }))).execute();
    },
    async removeSuppression(id: string, by: string, at: Date, reason: string): Promise<boolean> {
      const r = await db.updateTable('suppression_entries').set({ removed_by: by, removed_at: at, removed_reason: reason }).where('id', '=', id).where('removed_at', 'is', null).executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
    async suppressionEntries(datasetId: string | null, limit: number) {
      let q = db.selectFrom('suppression_entries as s').innerJoin('datasets as d', 'd.id', 's.dataset_id').selectAll('s').select('d.name as dataset');
      if (datasetId) q = q.where('s.dataset_id', '=', datasetId);
      return q.orderBy('s.added_at', 'desc').limit(limit).execute();
    },
  };
}
