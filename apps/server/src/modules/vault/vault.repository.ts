import { sql } from 'kysely';
import type { Executor } from '../../platform/db/database.ts';
import type { AuditColumns } from '../audit/audit.payload.ts';
import type { RecordTerm } from './vault.codec.ts';
import type { KeyRow } from './vault.keys.ts';
import type { DatasetField } from './vault.types.ts';

export type RecordRow = { id: string; public: Record<string, string>; sealed: Buffer | null; key_id: string | null; version: number; updated_at: Date };

export type Credential = { kind: 'session' | 'token'; hash: Buffer } | undefined;

/** The credential is still live (not revoked, its user active), checked inside the read statement. */
function liveCondition(credential: Credential) {
  if (!credential) return sql<boolean>`true`;
  return credential.kind === 'session'
    ? sql<boolean>`EXISTS (SELECT 1 FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ${credential.hash} AND s.revoked_at IS NULL AND u.status = 'active')`
    : sql<boolean>`EXISTS (SELECT 1 FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ${credential.hash} AND t.revoked_at IS NULL AND u.status = 'active')`;
}

export type EncodedRow = { id: string; public: string; sealed: Buffer | null; keyId: string | null; terms: RecordTerm[] };

const PREFIX_END = Buffer.from([0xff]);

/**
 * Adds search terms, each `[record id, term]`. A term row's key is record_term(field id, term bytes)
 * (migration 0019): the field's id, four bytes big-endian, then the term.
 */
async function addTerms(db: Executor, terms: readonly (readonly [string, RecordTerm])[]): Promise<void> {
  if (terms.length === 0) return;
  await sql`
    INSERT INTO record_terms (term, record_id)
    SELECT record_term(u.f, u.t), u.r FROM unnest(${terms.map(([, t]) => t.field)}::int[], ${terms.map(([, t]) => t.term)}::bytea[], ${terms.map(([r]) => r)}::uuid[]) AS u(f, t, r)`.execute(db);
}

/** Removes the given terms of one record through the lookup index (term, record_id). */
async function removeTerms(db: Executor, recordId: string, terms: readonly RecordTerm[]): Promise<void> {
  if (terms.length === 0) return;
  await sql`
    DELETE FROM record_terms rt USING unnest(${terms.map((t) => t.field)}::int[], ${terms.map((t) => t.term)}::bytea[]) AS u(f, t)
    WHERE rt.term = record_term(u.f, u.t) AND rt.record_id = ${recordId}`.execute(db);
}

export function vaultRepository(db: Executor) {
  return {
    async datasetByName(name: string) {
      return db.selectFrom('datasets').selectAll().where('name', '=', name).executeTakeFirst();
    },
    async datasetById(id: string) {
      return db.selectFrom('datasets').selectAll().where('id', '=', id).executeTakeFirst();
    },
    async listDatasets() {
      return db.selectFrom('datasets').selectAll().orderBy('name').execute();
    },
    async fieldsOf(datasetId: string) {
      return db.selectFrom('dataset_fields').selectAll().where('dataset_id', '=', datasetId).orderBy('position').execute();
    },
    async keysOf(datasetId: string): Promise<KeyRow[]> {
      return db.selectFrom('dataset_keys').select(['key_id', 'purpose', 'master_key_id', 'wrapped', 'active']).where('dataset_id', '=', datasetId).execute();
    },
    async insertFields(datasetId: string, fields: readonly DatasetField[]): Promise<void> {
      await db.insertInto('dataset_fields').values(fields.map((f) => ({
        dataset_id: datasetId, name: f.name, position: f.position, label_ja: f.labelJa, label_en: f.labelEn,
        classification: f.classification, kind: f.kind, search: f.search,
      }))).execute();
    },

    /** Search and audit in one statement; the event lists exactly the record ids returned. */
    async searchAudited(
      datasetId: string,
      /** fieldId: the field's database-wide id, which also names the dataset (dataset_fields.term_field). */
      criteria: { fieldId: number; op: 'exact' | 'prefix'; term: Buffer }[],
      after: string | null,
      limit: number,
      payloadTemplate: string,
      /** The event's searchable columns but the record ids, which the statement fills in as in the payload. */
      columns: AuditColumns,
      credential: Credential,
    ): Promise<{ live: boolean; rows: RecordRow[]; hasMore: boolean }> {
      const conds = criteria.map((c) =>
        c.op === 'exact'
          ? sql`AND rec.id IN (SELECT record_id FROM record_terms WHERE term = record_term(${c.fieldId}, ${c.term}))`
          : sql`AND rec.id IN (SELECT record_id FROM record_terms WHERE term >= record_term(${c.fieldId}, ${c.term}) AND term < record_term(${c.fieldId}, ${Buffer.concat([c.term, PREFIX_END])}))`,
      );
      const r = await sql<RecordRow & { live: boolean }>`
        WITH live AS (SELECT ${liveCondition(credential)} AS ok),
        r AS MATERIALIZED (
          SELECT rec.id, rec.public, rec.sealed, rec.key_id, rec.version, rec.updated_at
          FROM records rec
          WHERE rec.dataset_id = ${datasetId} AND (SELECT ok FROM live) ${sql.join(conds, sql` `)}
            ${after ? sql`AND rec.id > ${after}` : sql``}
          ORDER BY rec.id
          LIMIT ${limit + 1}
        ), shown AS (
          SELECT id FROM r ORDER BY id LIMIT ${limit}
        ), a AS (
          INSERT INTO audit_pending (payload, at, actor_user_id, action, dataset_id, record_ids, decision)
          SELECT replace(replace(${payloadTemplate}::text, '"__MAMORI_RECORDS__"', COALESCE((SELECT json_agg(id ORDER BY id)::text FROM shown), '[]')),
            '"__MAMORI_RESULT__"', CASE WHEN (SELECT ok FROM live) THEN '"ok"' ELSE '"revoked"' END),
            ${columns.at}::timestamptz, ${columns.actorUserId}::uuid, ${columns.action}::text, ${columns.datasetId}::uuid,
            ARRAY(SELECT id FROM shown ORDER BY id)::uuid[], ${columns.decision}::text
          RETURNING id
        )
        SELECT (SELECT ok FROM live) AS live, r.* FROM (SELECT count(*) FROM a) AS audited LEFT JOIN r ON true ORDER BY r.id`.execute(db);
      // The audit CTE always runs: data-modifying CTEs execute exactly once whatever the outer query reads.
      const live = r.rows[0]?.live === true;
      const rows = r.rows.filter((x) => x.id);
      return { live, rows: rows.slice(0, limit), hasMore: rows.length > limit };
    },

    async recordForUpdate(datasetId: string, recordId: string): Promise<RecordRow | undefined> {
      return db.selectFrom('records').select(['id', 'public', 'sealed', 'key_id', 'version', 'updated_at']).where('id', '=', recordId).where('dataset_id', '=', datasetId).forUpdate().executeTakeFirst();
    },

    async insertRecords(datasetId: string, rows: readonly EncodedRow[], at: Date): Promise<void> {
      if (rows.length === 0) return;
      await sql`
        INSERT INTO records (id, dataset_id, public, sealed, key_id, created_at, updated_at)
        SELECT u.id, ${datasetId}::uuid, u.pub::json, u.sealed, u.key_id, ${at}::timestamptz, ${at}::timestamptz
        FROM unnest(${rows.map((r) => r.id)}::uuid[], ${rows.map((r) => r.public)}::text[], ${rows.map((r) => r.sealed)}::bytea[], ${rows.map((r) => r.keyId)}::text[])
          AS u(id, pub, sealed, key_id)`.execute(db);
      await addTerms(db, rows.flatMap((r) => r.terms.map((t) => [r.id, t] as const)));
    },

    /**
     * Rewrites a record and its search terms. `oldTerms` are the terms of the values being replaced
     * (termsOf the decrypted old record): record_terms is indexed for search only, so terms are found
     * by (field id, term, record), and only those that changed are removed or added.
     */
    async updateRecord(datasetId: string, row: EncodedRow, oldTerms: readonly RecordTerm[], version: number, at: Date): Promise<void> {
      await db.updateTable('records').set({ public: row.public, sealed: row.sealed, key_id: row.keyId, updated_at: at, version: version + 1 }).where('id', '=', row.id).where('dataset_id', '=', datasetId).execute();
      const keyOf = (t: RecordTerm) => `${t.field}:${t.term.toString('hex')}`;
      const next = new Set(row.terms.map(keyOf));
      const prev = new Set(oldTerms.map(keyOf));
      await removeTerms(db, row.id, oldTerms.filter((t) => !next.has(keyOf(t))));
      await addTerms(db, row.terms.filter((t) => !prev.has(keyOf(t))).map((t) => [row.id, t] as const));
    },

    /** Deletes a record and its search terms (`terms`: termsOf its decrypted values, see updateRecord). */
    async deleteRecord(datasetId: string, recordId: string, terms: readonly RecordTerm[]): Promise<boolean> {
      const r = await db.deleteFrom('records').where('id', '=', recordId).where('dataset_id', '=', datasetId).executeTakeFirst();
      if (Number(r.numDeletedRows) === 0) return false;
      await removeTerms(db, recordId, terms);
      return true;
    },

    async countRecords(datasetId: string): Promise<number> {
      const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM records WHERE dataset_id = ${datasetId}`.execute(db);
      return r.rows[0]?.n ?? 0;
    },
  };
}
