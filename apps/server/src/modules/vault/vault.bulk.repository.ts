/**
 * Bulk load for imports, in the caller's bulk transaction: records and their search terms go to the
 * database with binary COPY as they are encoded, in batches pipelined with the encoding (the next
 * batch is encoded while the database loads the previous one, at most one behind).
 *
 * The search index (record_terms_lookup_idx) is most of the cost. Two ways to keep it, chosen when the
 * load opens:
 * - rebuild: when record_terms holds few rows (at most `rebuildIndexUpTo`, e.g. the first import), the
 *   index is dropped inside the transaction, terms are copied straight into the table, and the index
 *   is built again by one sort before commit: several times cheaper than inserting into it row by row.
 *   DROP INDEX takes an ACCESS EXCLUSIVE lock on record_terms until commit, so searches and record
 *   writes in every dataset wait for the import; that is why it is limited to a nearly empty table
 *   (see docs/adr/0005-import-term-index.md). A rollback restores the index as it was.
 * - merge: otherwise terms are staged per batch in a temporary table and inserted into record_terms
 *   sorted by the index key, which touches far fewer index pages than inserting in record order;
 *   the staged terms are merged whenever they reach `mergeTermBytes`. Readers are not blocked.
 */
import { sql } from 'kysely';
import type { BulkTransaction, CopyWriter } from '../../platform/db/database.ts';
import { BINARY_COPY_HEADER, BINARY_COPY_TRAILER } from '../../platform/db/copy-binary.ts';

const RECORD_COLUMNS = ['id', 'dataset_id', 'public', 'sealed', 'key_id', 'created_at', 'updated_at'] as const;
/** A term row: its key, record_term(field id, term) (migration 0019), and the record. */
const TERM_COLUMNS = ['term', 'record_id'] as const;
/** Default for `loadBatchRows`: records per batch, one COPY of records, then one of their terms. */
export const BATCH_ROWS = 25_000;
/**
 * Default for `mergeTermBytes`: the staged terms (their binary COPY rows) that the merge strategy
 * moves into record_terms at once. One sorted insert of more terms visits each leaf page of the
 * index fewer times: 1,000,000 contacts imported into a database that held as many took PostgreSQL
 * 56.8–68.5 µs a row merging at this size (18 batches of the demo's contacts, 452 bytes of term rows
 * a record) against 69.3–79.0 every four batches, in four pairs of runs taking turns (bench/README,
 * 2026-11-27). It also bounds the temporary table (about this much, plus a batch) whatever the
 * number of searchable fields.
 */
export const MERGE_TERM_BYTES = 192 * 1024 * 1024;
/** Default for `rebuildIndexUpTo`: rebuilding the index over this many existing terms takes a few seconds at most. */
export const REBUILD_INDEX_UP_TO = 1_000_000;

export type IndexStrategy = 'rebuild' | 'merge';

/** How a load is done (importRecords takes them among its options). */
export type LoaderOptions = {
  /** The most terms record_terms may already hold for the index to be rebuilt rather than maintained (default REBUILD_INDEX_UP_TO; 0: always maintain it). */
  rebuildIndexUpTo?: number;
  /** Records per load batch (default BATCH_ROWS). */
  loadBatchRows?: number;
  /** When the index is maintained: staged term bytes merged into record_terms at once (default MERGE_TERM_BYTES). */
  mergeTermBytes?: number;
};

export class RecordLoader {
  private records: CopyWriter | null = null;
  /** The batch's term rows, as the encoder produced them (written to their COPY one after the other, never concatenated). */
  private termChunks: Buffer[] = [];
  private rowsInBatch = 0;
  /** Merge strategy: bytes of term rows copied into import_terms and not yet merged. */
  private stagedTermBytes = 0;
  private previousBatch: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly bulk: BulkTransaction,
    readonly strategy: IndexStrategy,
    private readonly indexDefinition: string | null,
    private readonly batchRows: number,
    private readonly mergeTermBytes: number,
  ) {
  }

  static async open(bulk: BulkTransaction, options: LoaderOptions = {}): Promise<RecordLoader> {
    const { rebuildIndexUpTo = REBUILD_INDEX_UP_TO, loadBatchRows = BATCH_ROWS, mergeTermBytes = MERGE_TERM_BYTES } = options;
    const db = bulk.executor;
    let strategy: IndexStrategy = 'merge';
    let indexDefinition: string | null = null;
    if (rebuildIndexUpTo > 0) {
      const existing = await sql<{ n: number }>`SELECT count(*)::int AS n FROM (SELECT 1 FROM record_terms LIMIT ${rebuildIndexUpTo + 1}) t`.execute(db);
      if ((existing.rows[0]?.n ?? 0) <= rebuildIndexUpTo) {
        // The definition is read back, not repeated here, so a later migration of the index is kept.
        const def = await sql<{ def: string | null }>`SELECT pg_get_indexdef(to_regclass('record_terms_lookup_idx')) AS def`.execute(db);
        indexDefinition = def.rows[0]?.def ?? null;
        if (indexDefinition) {
          strategy = 'rebuild';
          await sql`DROP INDEX record_terms_lookup_idx`.execute(db);
        }
      }
    }
    if (strategy === 'merge') {
      // A sort of a few batches of terms fits in memory; LOCAL ends with the transaction.
      await sql`SET LOCAL work_mem = '64MB'`.execute(db);
      await sql`CREATE TEMP TABLE import_terms (term bytea NOT NULL, record_id uuid NOT NULL) ON COMMIT DROP`.execute(db);
    } else {
      // Memory for the one sort that builds the index, shared by its participants. PostgreSQL plans one
      // parallel worker beside the leader for each 32 MB, so 64 MB is the leader and one worker, each
      // sorting runs of 32 MB and merging them: 9 M terms in 5.1–6.7 s, against 8.1–11.2 s with
      // 256 MB (three participants with runs of 85 MB) and 8.8–9.8 s with 48 MB (leader alone), on two
      // cores (ADR 0013, amended).
      await sql`SET LOCAL maintenance_work_mem = '64MB'`.execute(db);
    }
    return new RecordLoader(bulk, strategy, indexDefinition, Math.max(1, loadBatchRows), mergeTermBytes);
  }

  /**
   * Adds the COPY rows of `count` records and of their terms (ImportEncoder's output). Returns a
   * promise when the caller must wait before adding more (backpressure from the database, or a batch
   * being handed over), otherwise nothing.
   */
  addRows(records: Buffer, terms: Buffer, count: number): Promise<void> | undefined {
    if (!this.records) {
      this.records = this.bulk.openCopy('records', RECORD_COLUMNS, 'binary');
      this.records.write(BINARY_COPY_HEADER).catch(() => undefined); // a failure surfaces through end()
    }
    if (terms.length > 0) this.termChunks.push(terms);
    this.rowsInBatch += count;
    if (this.rowsInBatch >= this.batchRows) {
      const written = this.records.write(records);
      written.catch(() => undefined); // end() in endBatch reports a failure
      return this.endBatch();
    }
    return this.records.write(records);
  }

  /** Loads what is left, rebuilds the index if it was dropped, and waits until everything is in (errors surface here). */
  async finish(): Promise<void> {
    await this.endBatch(true);
    if (this.indexDefinition) {
      this.previousBatch = Promise.all([this.previousBatch, this.bulk.queue(this.indexDefinition)]);
    }
    await this.previousBatch;
  }

  private async endBatch(last = false): Promise<void> {
    const records = this.records;
    if (!records || this.rowsInBatch === 0) {
      if (last && this.stagedTermBytes > 0) this.previousBatch = this.mergeTerms(this.previousBatch);
      return;
    }
    await records.write(BINARY_COPY_TRAILER);
    const terms = this.termChunks;
    this.termChunks = [];
    this.records = null;
    this.rowsInBatch = 0;
    // At most one batch in flight: wait for the one before (its failure fails the import here).
    await this.previousBatch;
    const done: Promise<unknown>[] = [records.end()];
    if (terms.length > 0) {
      // Each batch's terms are one COPY of their own.
      const copy = this.bulk.openCopy(this.strategy === 'rebuild' ? 'record_terms' : 'import_terms', TERM_COLUMNS, 'binary');
      // The bytes are already in memory: no need to wait for room; a failure surfaces through end().
      for (const b of [BINARY_COPY_HEADER, ...terms, BINARY_COPY_TRAILER]) copy.write(b).catch(() => undefined);
      done.push(copy.end());
      if (this.strategy === 'merge') for (const t of terms) this.stagedTermBytes += t.length;
    }
    if (this.stagedTermBytes > 0 && (last || this.stagedTermBytes >= this.mergeTermBytes)) done.push(this.mergeTerms());
    const batch = Promise.all(done);
    batch.catch(() => undefined);
    this.previousBatch = batch;
  }

  /** Moves the staged terms into record_terms in index order (sent now, runs after what is queued). */
  private mergeTerms(after: Promise<unknown> = Promise.resolve()): Promise<unknown> {
    this.stagedTermBytes = 0;
    const merged = Promise.all([
      after,
      this.bulk.queue('INSERT INTO record_terms (term, record_id) SELECT term, record_id FROM import_terms ORDER BY term, record_id'),
      this.bulk.queue('TRUNCATE import_terms'),
    ]);
    merged.catch(() => undefined);
    return merged;
  }
}
