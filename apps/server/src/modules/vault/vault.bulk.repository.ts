/**
 * Bulk load for imports, in the caller's bulk transaction: records and their search terms go to the
 * database with binary COPY as they are encoded, in batches pipelined with the encoding (the next
 * batch is encoded while the database loads the previous one, at most one behind).
 *
 * record_terms is partitioned by dataset (migration 0022, ADR 0021), and keeping the dataset's
 * partition indexed is most of the cost. The import's terms are copied into a table of their own,
 * unindexed, as they come; at the end, knowing how many there are, the load puts them in one of two
 * ways:
 * - rebuild: when the partition holds at most `rebuildIndexUpTo` terms (e.g. the dataset's first
 *   import) or at most REBUILD_RATIO times the import's, the partition's terms are copied into that
 *   table, its index is built by one sort (several times cheaper than inserting into an index row by
 *   row), and it replaces the partition (`mamori_swap_term_partition`), last thing before commit.
 * - merge: otherwise the terms are inserted into the partition in index order, which touches far
 *   fewer index pages than inserting in record order, and the table is dropped.
 * Nobody waits while rows stream in. During a rebuild's end (the copy, the sort, the swap) the
 * dataset's record writes wait (TERM_WRITERS lock, see lockTermWriters) so that the partition cannot
 * change before it is replaced; its searches read the old partition; nothing in other datasets waits
 * but for the swap itself (ACCESS EXCLUSIVE on record_terms from the swap to the commit). A rollback
 * drops the table and leaves the partition as it was.
 */
import { sql } from 'kysely';
import type { BulkTransaction, CopyWriter, Executor } from '../../platform/db/database.ts';
import { BINARY_COPY_HEADER, BINARY_COPY_TRAILER } from '../../platform/db/copy-binary.ts';

/** Advisory lock spaces (two-int form), keyed by the dataset's term block: one import into a dataset at a time; writers of its terms. */
const IMPORTS = 7285010;
const TERM_WRITERS = 7285011;

/**
 * Taken (shared) by a transaction that writes a dataset's records, as its first statement, before it
 * touches record_terms: an import that rebuilds the dataset's partition holds it exclusively from
 * before it copies the partition until it commits, so such writes wait for it instead of writing into
 * the partition it is replacing. Taking it first
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
 * A partition holding at most this many times the import's terms is rebuilt rather than maintained.
 * 1,000,000 contacts into a dataset holding as many (9 M terms each): rebuilt 19,991–20,885 rows/s,
 * merged 13,608–15,496 (bench/README, 2026-11-27, thirteenth session); copying and sorting the partition's terms
 * costs about a third of inserting as many through the index, so the two meet near three times.
 */
export const REBUILD_RATIO = 2;
/** Default for `rebuildIndexUpTo`: rebuilding the index over this many existing terms takes a few seconds at most. */
export const REBUILD_INDEX_UP_TO = 1_000_000;

/** How a load is done (importRecords takes them among its options). */
export type LoaderOptions = {
  /** The most terms the dataset's partition may hold for its index to be rebuilt whatever the import's size (default REBUILD_INDEX_UP_TO; 0: the ratio alone decides). */
  rebuildIndexUpTo?: number;
  /** The partition is also rebuilt when it holds at most this many times the import's terms (default REBUILD_RATIO; 0 with `rebuildIndexUpTo` 0: always maintained). */
  rebuildRatio?: number;
  /** Records per load batch (default BATCH_ROWS). */
  loadBatchRows?: number;
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
  private previousBatch: Promise<unknown> = Promise.resolve();
  /** Rebuild: whether the new table replaced the partition (false when the swap's lock was not had and the terms were inserted instead). */
  swapped: boolean | null = null;

  private constructor(
    private readonly bulk: BulkTransaction,
    private readonly termBlock: number,
    /** The import's own table of terms, made by mamori_term_table. */
    private readonly termTable: string,
    private readonly options: Required<Omit<LoaderOptions, 'loadBatchRows'>> & { batchRows: number },
  ) {
  }

  /** Opens a load into the dataset whose term block is `termBlock` (datasets.term_block). */
  static async open(bulk: BulkTransaction, termBlock: number, options: LoaderOptions = {}): Promise<RecordLoader> {
    const db = bulk.executor;
    const partition = partitionOf(termBlock);
    // Imports into one dataset take turns: a second one would copy a partition the first is replacing.
    await sql`SELECT pg_advisory_xact_lock(${IMPORTS}::int, ${termBlock}::int)`.execute(db);
    const loaded = `${partition}_load`;
    await sql`SELECT mamori_term_table(${loaded}, ${termBlock})`.execute(db);
    // Memory for the one sort at the end, LOCAL to the transaction. Rebuild: PostgreSQL plans one
    // parallel worker beside the leader for each 32 MB of maintenance_work_mem, so 64 MB is the leader
    // and one worker, each sorting runs of 32 MB and merging them: 9 M terms in 5.1–6.7 s, against
    // 8.1–11.2 s with 256 MB (three participants with runs of 85 MB) and 8.8–9.8 s with 48 MB (leader
    // alone), on two cores (ADR 0013, amended). Merge: the insert's sort.
    await sql`SET LOCAL maintenance_work_mem = '64MB'`.execute(db);
    await sql`SET LOCAL work_mem = '64MB'`.execute(db);
    return new RecordLoader(bulk, termBlock, loaded, {
      rebuildIndexUpTo: options.rebuildIndexUpTo ?? REBUILD_INDEX_UP_TO,
      rebuildRatio: options.rebuildRatio ?? REBUILD_RATIO,
      batchRows: Math.max(1, options.loadBatchRows ?? BATCH_ROWS),
      swapAttempts: Math.max(1, options.swapAttempts ?? SWAP_ATTEMPTS),
      swapWaitMs: Math.max(1, options.swapWaitMs ?? SWAP_WAIT_MS),
    });
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
    if (this.rowsInBatch >= this.options.batchRows) {
      const written = this.records.write(records);
      written.catch(() => undefined); // end() in endBatch reports a failure
      return this.endBatch();
    }
    return this.records.write(records);
  }

  /**
   * Loads what is left, waits until everything is in (errors surface here), then puts the terms in
   * the partition (rebuild or merge, see above). After a rebuild the caller commits right away: the
   * swap's lock on record_terms is held until then.
   */
  async finish(): Promise<void> {
    await this.endBatch();
    await this.previousBatch;
    const db = this.bulk.executor;
    const partition = partitionOf(this.termBlock);
    const loaded = sql.table(this.termTable);
    const { rebuildIndexUpTo, rebuildRatio } = this.options;
    // Counted only as far as the decision needs: the partition up to its limit, the import's terms
    // (one scan of its table) only when the partition is past rebuildIndexUpTo.
    const atMost = async (table: string, limit: number) =>
      (await sql<{ n: number }>`SELECT count(*)::int AS n FROM (SELECT 1 FROM ${sql.table(table)} LIMIT ${limit + 1}) t`.execute(db)).rows[0]!.n <= limit;
    let rebuild = rebuildIndexUpTo > 0 && (await atMost(partition, rebuildIndexUpTo));
    if (!rebuild && rebuildRatio > 0) {
      const imported = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${loaded}`.execute(db)).rows[0]!.n;
      rebuild = await atMost(partition, Math.floor(imported * rebuildRatio));
    }
    if (!rebuild) {
      await sql`INSERT INTO record_terms (term, record_id) SELECT term, record_id FROM ${loaded} ORDER BY term, record_id`.execute(db);
      await sql`DROP TABLE ${loaded}`.execute(db);
      return;
    }
    // From here until the commit the partition must not change: the dataset's record writes wait.
    await sql`SELECT pg_advisory_xact_lock(${TERM_WRITERS}::int, ${this.termBlock}::int)`.execute(db);
    await sql`INSERT INTO ${loaded} (term, record_id) SELECT term, record_id FROM ${sql.table(partition)}`.execute(db);
    await sql`SELECT mamori_index_term_table(${this.termTable})`.execute(db);
    const r = await sql<{ swapped: boolean }>`
      SELECT mamori_swap_term_partition(${this.termBlock}::int, ${this.termTable}, ${this.options.swapAttempts}::int, ${this.options.swapWaitMs}::int) AS swapped`.execute(db);
    this.swapped = r.rows[0]?.swapped === true;
  }

  private async endBatch(): Promise<void> {
    const records = this.records;
    if (!records || this.rowsInBatch === 0) return;
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
    }
    const batch = Promise.all(done);
    batch.catch(() => undefined);
    this.previousBatch = batch;
  }
}
