/**
 * Bulk load for imports, in the caller's bulk transaction: records and their search terms go to the
 * database with binary COPY as they are encoded, in batches pipelined with the encoding (the next
 * batch is encoded while the database loads the previous one, at most one behind).
 *
 * record_terms is partitioned by dataset (migration 0022, ADR 0021), and keeping the dataset's
 * partition indexed is most of the cost. Two ways, chosen when the load opens:
 * - rebuild: when the dataset's partition holds few terms (at most `rebuildIndexUpTo`, e.g. the
 *   dataset's first import), its terms and the import's are copied into a new table, unindexed; its
 *   index is built by one sort before commit (several times cheaper than inserting into an index row by
 *   row), and the new table replaces the partition, last thing before commit. Searches in the dataset
 *   read the old partition meanwhile; record writes in the dataset wait for the import (TERM_WRITERS
 *   lock, see lockTermWriters); nothing in other datasets waits but for the swap itself (milliseconds
 *   of ACCESS EXCLUSIVE on record_terms). A rollback drops the new table and leaves the partition.
 * - merge: otherwise terms are staged per batch in a temporary table and inserted into record_terms
 *   sorted by the index key, which touches far fewer index pages than inserting in record order;
 *   the staged terms are merged whenever they reach `mergeTermBytes`. Nobody waits.
 */
import { sql } from 'kysely';
import type { BulkTransaction, CopyWriter, Executor } from '../../platform/db/database.ts';
import { BINARY_COPY_HEADER, BINARY_COPY_TRAILER } from '../../platform/db/copy-binary.ts';

/** Advisory lock spaces (two-int form), keyed by the dataset's term block: one import into a dataset at a time; writers of its terms. */
const IMPORTS = 7285010;
const TERM_WRITERS = 7285011;

/**
 * Taken (shared) by a transaction that writes a dataset's records, as its first statement, before it
 * touches record_terms: an import that rebuilds the dataset's partition holds it exclusively, so such
 * writes wait for the import instead of writing into the partition it is replacing. Taking it first
 * keeps the order of locks the same as the import's (lock, then record_terms), so the two cannot
 * deadlock.
 */
export async function lockTermWriters(db: Executor, termBlock: number): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock_shared(${TERM_WRITERS}::int, ${termBlock}::int)`.execute(db);
}

/** The dataset's partition of record_terms (migration 0022). */
function partitionOf(termBlock: number): string {
  if (!Number.isSafeInteger(termBlock) || termBlock < 1) throw new Error('invalid term block');
  return `record_terms_${termBlock}`;
}

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
  /** The most terms the dataset's partition may already hold for its index to be rebuilt rather than maintained (default REBUILD_INDEX_UP_TO; 0: always maintain it). */
  rebuildIndexUpTo?: number;
  /** Records per load batch (default BATCH_ROWS). */
  loadBatchRows?: number;
  /** When the index is maintained: staged term bytes merged into record_terms at once (default MERGE_TERM_BYTES). */
  mergeTermBytes?: number;
  /** Rebuild: times the swap asks for its lock, each waiting at most `swapWaitMs`, before the terms go into the partition through its index instead (defaults SWAP_ATTEMPTS, SWAP_WAIT_MS). */
  swapAttempts?: number;
  swapWaitMs?: number;
};

/**
 * Defaults for the swap's lock: while it waits, searches queue behind it, so it waits half a second at
 * most, then lets them through for a while (longer each time) and asks again.
 */
export const SWAP_ATTEMPTS = 8;
export const SWAP_WAIT_MS = 500;

export class RecordLoader {
  private records: CopyWriter | null = null;
  /** The batch's term rows, as the encoder produced them (written to their COPY one after the other, never concatenated). */
  private termChunks: Buffer[] = [];
  private rowsInBatch = 0;
  /** Merge strategy: bytes of term rows copied into import_terms and not yet merged. */
  private stagedTermBytes = 0;
  private previousBatch: Promise<unknown> = Promise.resolve();
  /** Rebuild: whether the new table replaced the partition (false when the swap's lock was not had and the terms were inserted instead). */
  swapped: boolean | null = null;

  private constructor(
    private readonly bulk: BulkTransaction,
    readonly strategy: IndexStrategy,
    private readonly termBlock: number,
    /** Where the terms are copied: the new table (rebuild) or the staging table (merge). */
    private readonly termTable: string,
    private readonly batchRows: number,
    private readonly mergeTermBytes: number,
    private readonly swap: { attempts: number; waitMs: number },
  ) {
  }

  /** Opens a load into the dataset whose term block is `termBlock` (datasets.term_block). */
  static async open(bulk: BulkTransaction, termBlock: number, options: LoaderOptions = {}): Promise<RecordLoader> {
    const { rebuildIndexUpTo = REBUILD_INDEX_UP_TO, loadBatchRows = BATCH_ROWS, mergeTermBytes = MERGE_TERM_BYTES } = options;
    const swap = { attempts: Math.max(1, options.swapAttempts ?? SWAP_ATTEMPTS), waitMs: Math.max(1, options.swapWaitMs ?? SWAP_WAIT_MS) };
    const db = bulk.executor;
    const partition = partitionOf(termBlock);
    // Imports into one dataset take turns: a second one would copy a partition the first is replacing.
    await sql`SELECT pg_advisory_xact_lock(${IMPORTS}::int, ${termBlock}::int)`.execute(db);
    let strategy: IndexStrategy = 'merge';
    if (rebuildIndexUpTo > 0) {
      const existing = await sql<{ n: number }>`SELECT count(*)::int AS n FROM (SELECT 1 FROM ${sql.table(partition)} LIMIT ${rebuildIndexUpTo + 1}) t`.execute(db);
      if ((existing.rows[0]?.n ?? 0) <= rebuildIndexUpTo) strategy = 'rebuild';
    }
    if (strategy === 'merge') {
      // A sort of a few batches of terms fits in memory; LOCAL ends with the transaction.
      await sql`SET LOCAL work_mem = '64MB'`.execute(db);
      await sql`CREATE TEMP TABLE import_terms (term bytea NOT NULL, record_id uuid NOT NULL) ON COMMIT DROP`.execute(db);
      return new RecordLoader(bulk, strategy, termBlock, 'import_terms', Math.max(1, loadBatchRows), mergeTermBytes, swap);
    }
    // From here on the partition must not change: the dataset's record writes wait for the import.
    await sql`SELECT pg_advisory_xact_lock(${TERM_WRITERS}::int, ${termBlock}::int)`.execute(db);
    const loaded = `${partition}_load`;
    await sql`SELECT mamori_term_table(${loaded}, ${termBlock})`.execute(db);
    await sql`INSERT INTO ${sql.table(loaded)} (term, record_id) SELECT term, record_id FROM ${sql.table(partition)}`.execute(db);
    // Memory for the one sort that builds the index, shared by its participants. PostgreSQL plans one
    // parallel worker beside the leader for each 32 MB, so 64 MB is the leader and one worker, each
    // sorting runs of 32 MB and merging them: 9 M terms in 5.1–6.7 s, against 8.1–11.2 s with
    // 256 MB (three participants with runs of 85 MB) and 8.8–9.8 s with 48 MB (leader alone), on two
    // cores (ADR 0013, amended).
    await sql`SET LOCAL maintenance_work_mem = '64MB'`.execute(db);
    return new RecordLoader(bulk, strategy, termBlock, loaded, Math.max(1, loadBatchRows), mergeTermBytes, swap);
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

  /**
   * Loads what is left and waits until everything is in (errors surface here). Rebuild: then builds
   * the new table's index and swaps it in for the partition, so the caller commits right after (the
   * swap's lock on record_terms is held until then).
   */
  async finish(): Promise<void> {
    await this.endBatch(true);
    await this.previousBatch;
    if (this.strategy !== 'rebuild') return;
    const db = this.bulk.executor;
    await sql`SELECT mamori_index_term_table(${this.termTable})`.execute(db);
    const r = await sql<{ swapped: boolean }>`SELECT mamori_swap_term_partition(${this.termBlock}::int, ${this.termTable}, ${this.swap.attempts}::int, ${this.swap.waitMs}::int) AS swapped`.execute(db);
    this.swapped = r.rows[0]?.swapped === true;
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
      const copy = this.bulk.openCopy(this.termTable, TERM_COLUMNS, 'binary');
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
