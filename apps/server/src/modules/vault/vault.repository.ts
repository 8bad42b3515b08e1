import { sql } from 'kysely';
import type { BulkTransaction, CopyWriter, Database, Executor } from '../../platform/db/database.ts';
import type { EncodedRecord, RecordTerm } from './vault.codec.ts';
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

const LIVE_SQL = {
  none: 'true',
  session: "EXISTS (SELECT 1 FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $4 AND s.revoked_at IS NULL AND u.status = 'active')",
  token: "EXISTS (SELECT 1 FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $4 AND t.revoked_at IS NULL AND u.status = 'active')",
} as const;

function readAuditedSql(kind: keyof typeof LIVE_SQL): string {
  return `
    WITH live AS (SELECT ${LIVE_SQL[kind]} AS ok),
    r AS (
      SELECT id, public, sealed, key_id, version, updated_at FROM records
      WHERE id = $1 AND dataset_id = $2 AND (SELECT ok FROM live)
    ), a AS (
      INSERT INTO audit_pending (payload)
      SELECT replace($3::text, '"__MAMORI_RESULT__"',
        CASE WHEN NOT (SELECT ok FROM live) THEN '"revoked"' WHEN EXISTS (SELECT 1 FROM r) THEN '"ok"' ELSE '"not_found"' END)
      RETURNING id
    )
    SELECT (SELECT ok FROM live) AS live, r.* FROM (SELECT count(*) FROM a) AS audited LEFT JOIN r ON true`;
}
const READ_AUDITED = { none: readAuditedSql('none'), session: readAuditedSql('session'), token: readAuditedSql('token') };

/**
 * One statement, one round trip, planned once per connection: read the record, re-check the
 * credential, append the audit event. The event's result (ok / not_found / revoked) is filled in by
 * the database, so the read and its record are one atomic unit.
 */
export async function readAuditedPrepared(
  database: Database,
  datasetId: string,
  recordId: string,
  payloadTemplate: string,
  credential: Credential,
): Promise<{ live: boolean; row: RecordRow | undefined }> {
  const kind = credential?.kind ?? 'none';
  const values: unknown[] = [recordId, datasetId, payloadTemplate];
  if (credential) values.push(credential.hash);
  const rows = await database.prepared<RecordRow & { live: boolean }>(`mamori_read_audited_${kind}`, READ_AUDITED[kind], values);
  const first = rows[0];
  return { live: first?.live === true, row: first && first.id ? first : undefined };
}

export type EncodedRow = { id: string; public: string; sealed: Buffer | null; keyId: string | null; terms: RecordTerm[] };

const PREFIX_END = Buffer.from([0xff]);

/** Removes the given terms of one record through the lookup index (dataset_id, field, term, record_id). */
async function removeTerms(db: Executor, datasetId: string, recordId: string, terms: readonly RecordTerm[]): Promise<void> {
  if (terms.length === 0) return;
  await sql`
    DELETE FROM record_terms rt USING unnest(${terms.map((t) => t.field)}::text[], ${terms.map((t) => t.term)}::bytea[]) AS u(f, t)
    WHERE rt.dataset_id = ${datasetId} AND rt.field = u.f AND rt.term = u.t AND rt.record_id = ${recordId}`.execute(db);
}

/** CSV for COPY: an unquoted empty field is NULL, everything else is quoted. */
function csvField(v: string | null): string {
  return v === null ? '' : `"${v.replaceAll('"', '""')}"`;
}
function byteaField(b: Buffer | null): string {
  return b === null ? '' : `\\x${b.toString('hex')}`;
}

const RECORD_COLUMNS = ['id', 'dataset_id', 'public', 'sealed', 'key_id', 'created_at', 'updated_at'] as const;
const TERM_COLUMNS = ['field', 'term', 'record_id'] as const;
/** Rows per batch: one COPY of records, then one of their terms into the temporary table. */
const BATCH_ROWS = 25_000;
/** Batches whose terms are inserted into record_terms together: the larger the sorted run, the fewer index pages it touches. */
const MERGE_BATCHES = 4;
/** CSV is handed to the COPY in pieces of about this many characters. */
const PIECE = 256 * 1024;

/**
 * Bulk load for imports, in the caller's bulk transaction. Each batch of records streams into
 * `records` with COPY as the rows are encoded; their search terms go to a temporary table and are
 * then inserted into record_terms sorted by the search index's key (dataset, field, term), which
 * costs the index much less than inserting them in record order, i.e. at random places. Batches are
 * pipelined: the next one is encoded while the database loads the previous one, at most one behind.
 */
export class RecordLoader {
  private records: CopyWriter | null = null;
  private recordText = '';
  private termText = '';
  private termPieces: Buffer[] = [];
  private rowsInBatch = 0;
  private unmergedBatches = 0;
  private previousBatch: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly bulk: BulkTransaction,
    private readonly datasetId: string,
    private readonly at: string,
  ) {}

  static async open(bulk: BulkTransaction, datasetId: string, at: Date): Promise<RecordLoader> {
    // A sort of one batch of terms fits in memory; LOCAL ends with the transaction.
    await bulk.queue(`SET LOCAL work_mem = '64MB'`);
    await bulk.queue('CREATE TEMP TABLE import_terms (field text NOT NULL, term bytea NOT NULL, record_id uuid NOT NULL) ON COMMIT DROP');
    return new RecordLoader(bulk, datasetId, at.toISOString());
  }

  /** Adds one encoded record; resolves when more may be added (backpressure from the database). */
  async add(id: string, r: EncodedRecord): Promise<void> {
    this.records ??= this.bulk.openCopy('records', RECORD_COLUMNS);
    this.recordText += `${id},${this.datasetId},${csvField(r.public)},${byteaField(r.sealed)},${csvField(r.keyId)},${this.at},${this.at}\n`;
    for (const t of r.terms) this.termText += `${csvField(t.field)},${byteaField(t.term)},${id}\n`;
    if (this.termText.length >= PIECE) {
      this.termPieces.push(Buffer.from(this.termText, 'utf8'));
      this.termText = '';
    }
    if (++this.rowsInBatch >= BATCH_ROWS) await this.endBatch();
    else if (this.recordText.length >= PIECE) {
      const piece = Buffer.from(this.recordText, 'utf8');
      this.recordText = '';
      await this.records.write(piece);
    }
  }

  /** Loads what is left and waits until every row and term is in (errors surface here). */
  async finish(): Promise<void> {
    await this.endBatch(true);
    await this.previousBatch;
  }

  private async endBatch(last = false): Promise<void> {
    const records = this.records;
    if (!records || this.rowsInBatch === 0) {
      if (last && this.unmergedBatches > 0) this.previousBatch = this.mergeTerms(this.previousBatch);
      return;
    }
    if (this.recordText) await records.write(Buffer.from(this.recordText, 'utf8'));
    if (this.termText) this.termPieces.push(Buffer.from(this.termText, 'utf8'));
    const pieces = this.termPieces;
    this.records = null;
    this.recordText = '';
    this.termText = '';
    this.termPieces = [];
    this.rowsInBatch = 0;
    // At most one batch in flight: wait for the one before (its failure fails the import here).
    await this.previousBatch;
    const done: Promise<unknown>[] = [records.end()];
    if (pieces.length > 0) {
      const terms = this.bulk.openCopy('import_terms', TERM_COLUMNS);
      // The pieces are already in memory: no need to wait for room; a failure surfaces through end().
      for (const p of pieces) terms.write(p).catch(() => undefined);
      done.push(terms.end());
      this.unmergedBatches++;
    }
    if (this.unmergedBatches >= MERGE_BATCHES || (last && this.unmergedBatches > 0)) done.push(this.mergeTerms());
    const batch = Promise.all(done);
    batch.catch(() => undefined);
    this.previousBatch = batch;
  }

  /** Moves the staged terms into record_terms in index order (sent now, runs after what is queued). */
  private mergeTerms(after: Promise<unknown> = Promise.resolve()): Promise<unknown> {
    this.unmergedBatches = 0;
    const merged = Promise.all([
      after,
      this.bulk.queue('INSERT INTO record_terms (dataset_id, field, term, record_id) SELECT $1::uuid, field, term, record_id FROM import_terms ORDER BY field, term, record_id', [this.datasetId]),
      this.bulk.queue('TRUNCATE import_terms'),
    ]);
    merged.catch(() => undefined);
    return merged;
  }
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
      criteria: { field: string; op: 'exact' | 'prefix'; term: Buffer }[],
      after: string | null,
      limit: number,
      payloadTemplate: string,
      credential: Credential,
    ): Promise<{ live: boolean; rows: RecordRow[]; hasMore: boolean }> {
      const conds = criteria.map((c) =>
        c.op === 'exact'
          ? sql`AND rec.id IN (SELECT record_id FROM record_terms WHERE dataset_id = ${datasetId} AND field = ${c.field} AND term = ${c.term})`
          : sql`AND rec.id IN (SELECT record_id FROM record_terms WHERE dataset_id = ${datasetId} AND field = ${c.field} AND term >= ${c.term} AND term < ${Buffer.concat([c.term, PREFIX_END])})`,
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
          INSERT INTO audit_pending (payload)
          SELECT replace(replace(${payloadTemplate}::text, '"__MAMORI_RECORDS__"', COALESCE((SELECT json_agg(id ORDER BY id)::text FROM shown), '[]')),
            '"__MAMORI_RESULT__"', CASE WHEN (SELECT ok FROM live) THEN '"ok"' ELSE '"revoked"' END)
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
        SELECT u.id, ${datasetId}::uuid, u.pub::jsonb, u.sealed, u.key_id, ${at}::timestamptz, ${at}::timestamptz
        FROM unnest(${rows.map((r) => r.id)}::uuid[], ${rows.map((r) => r.public)}::text[], ${rows.map((r) => r.sealed)}::bytea[], ${rows.map((r) => r.keyId)}::text[])
          AS u(id, pub, sealed, key_id)`.execute(db);
      const tf: string[] = [];
      const tt: Buffer[] = [];
      const tr: string[] = [];
      for (const r of rows) {
        for (const t of r.terms) {
          tf.push(t.field);
          tt.push(t.term);
          tr.push(r.id);
        }
      }
      if (tf.length > 0) {
        await sql`
          INSERT INTO record_terms (dataset_id, field, term, record_id)
          SELECT ${datasetId}::uuid, u.f, u.t, u.r FROM unnest(${tf}::text[], ${tt}::bytea[], ${tr}::uuid[]) AS u(f, t, r)`.execute(db);
      }
    },

    /**
     * Rewrites a record and its search terms. `oldTerms` are the terms of the values being replaced
     * (termsOf the decrypted old record): record_terms is indexed for search only, so terms are found
     * by (dataset, field, term, record), and only those that changed are removed or added.
     */
    async updateRecord(datasetId: string, row: EncodedRow, oldTerms: readonly RecordTerm[], version: number, at: Date): Promise<void> {
      await db.updateTable('records').set({ public: row.public, sealed: row.sealed, key_id: row.keyId, updated_at: at, version: version + 1 }).where('id', '=', row.id).where('dataset_id', '=', datasetId).execute();
      const keyOf = (t: RecordTerm) => `${t.field}\u0000${t.term.toString('hex')}`;
      const next = new Set(row.terms.map(keyOf));
      const prev = new Set(oldTerms.map(keyOf));
      await removeTerms(db, datasetId, row.id, oldTerms.filter((t) => !next.has(keyOf(t))));
      const added = row.terms.filter((t) => !prev.has(keyOf(t)));
      if (added.length > 0) {
        await db.insertInto('record_terms').values(added.map((t) => ({ dataset_id: datasetId, field: t.field, term: t.term, record_id: row.id }))).execute();
      }
    },

    /** Deletes a record and its search terms (`terms`: termsOf its decrypted values, see updateRecord). */
    async deleteRecord(datasetId: string, recordId: string, terms: readonly RecordTerm[]): Promise<boolean> {
      const r = await db.deleteFrom('records').where('id', '=', recordId).where('dataset_id', '=', datasetId).executeTakeFirst();
      if (Number(r.numDeletedRows) === 0) return false;
      await removeTerms(db, datasetId, recordId, terms);
      return true;
    },

    async countRecords(datasetId: string): Promise<number> {
      const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM records WHERE dataset_id = ${datasetId}`.execute(db);
      return r.rows[0]?.n ?? 0;
    },
  };
}
