/**
 * All-or-nothing import in ONE pass over the source and ONE transaction. Each row is parsed, validated,
 * encoded (sealed, blind-indexed) and streamed to the database as it is read (see RecordLoader). The
 * first invalid row stops the writing but not the reading: every later row is still validated, so the
 * report names each bad line; the transaction is then rolled back and nothing is imported. A failure
 * anywhere (parse, policy, database) rolls everything back too.
 *
 * Reading the source once (instead of a validation pass, then a writing pass) halves the parsing,
 * which was a third of the import's CPU time. The price: an invalid file costs the database the
 * work done up to its first bad line, which the rollback discards.
 *
 * Rows are validated and encoded in chunks (vault.import-encode.ts); once a file is long enough, on
 * worker threads (vault.import-workers.ts) while this thread reads and feeds the database. CSV and TSV
 * reach the import as text cut at record ends (splitImportBatches), parsed on whichever thread encodes
 * the chunk, so rows never cross threads (ADR 0013, amended). Ids are minted here and chunk results
 * applied here in file order, so the outcome is the same.
 */
import type { AppContext } from '../../platform/context.ts';
import { AppError } from '../../platform/errors.ts';
import { newId } from '../../platform/ids.ts';
import type { Actor } from '../identity/index.ts';
import { authorize, evaluate } from '../access-policy/index.ts';
import { appendAudit, appendAuditAlone } from '../audit/index.ts';
import { availableParallelism } from 'node:os';
import { RecordLoader, type LoaderOptions } from './vault.bulk.repository.ts';
import { CHUNK_RECORDS, type DelimitedChunk } from './vault.import-csv.ts';
import { ImportEncoder, type EncodedChunk } from './vault.import-encode.ts';
import { ImportWorkers } from './vault.import-workers.ts';
import { loadDataset } from './vault.datasets.ts';
import { ImportParseError, type ImportBatch, type ImportRow } from './vault.import-parse.ts';

export const MAX_REPORTED_PROBLEMS = 100;
const PROGRESS_EVERY = 5000;
/** Rows encoded together (on a worker, or on the import's thread): as many as a chunk of CSV text holds. */
const CHUNK_ROWS = CHUNK_RECORDS;
/**
 * Chunks each worker may have to do before the import's thread encodes the next chunk itself (at
 * 1,000,000 rows on two cores: 23,081–23,619 rows/s with 3, 20,823–23,060 with 2; ADR 0013).
 */
const WORKER_QUEUE = 3;
/** A file this long (rows, or records in chunks of text) is worth the workers' start-up (about a second). */
export const WORKERS_AFTER_ROWS = 20_000;
/** A file known to be this large (about 15,000 contacts) starts the workers before its first row. */
export const WORKERS_FROM_BYTES = 4 << 20;

/**
 * The thread that parses and feeds PostgreSQL takes little (~7 µs of CPU a row once the encoding is
 * elsewhere); the encoding is most of Node's work (~31 µs a row). One worker on two cores lets the
 * encoding, the feeding and PostgreSQL's backend share both cores instead of leaving one of them half
 * idle: at 1,000,000 rows on a quiet two-core machine, 19,716–21,512 rows/s with one worker against
 * 18,495–20,340 without (ADR 0013, amended). Larger machines get the cores beyond two, at most four.
 * One core gets none.
 */
function defaultWorkers(): number {
  const n = availableParallelism();
  return n < 2 ? 0 : Math.min(4, Math.max(1, n - 2));
}

async function closeWorkers(workers: ImportWorkers | null): Promise<void> {
  if (workers) await workers.close();
}

/**
 * Where an import is: `write` — rows read, checked and written so far (every PROGRESS_EVERY rows);
 * `index` — every row is in and its search terms are being put into the dataset's index (RecordLoader's
 * rebuild or merge: the longest part after the rows, seconds per million rows); `commit` — the
 * import's audit event and the commit; `done` — committed. A file with problems ends in an error
 * after `write`, without the later phases. `rows`: rows parsed and checked so far (and written, while
 * the file is valid); `workerRows`: how many of the rows written were encoded on worker threads.
 */
export type ImportProgress = { phase: 'write' | 'index' | 'commit' | 'done'; rows: number; workerRows: number };
export type ImportProblem = { line: number; field?: string; problem: string };
export type ImportResult = { imported: number; firstId: string | null; lastId: string | null };
export type ImportOptions = LoaderOptions & {
  /** Worker threads that encode rows beside the import's thread (default: see defaultWorkers; 0: none). */
  workers?: number;
  /** Rows read before the workers are started (default WORKERS_AFTER_ROWS; 0: from the first row, waiting for them to start). */
  workersAfterRows?: number;
  /**
   * The file's size in bytes, when the caller knows it (the CLI, a spooled upload): from
   * WORKERS_FROM_BYTES on, the workers start with the import, not after WORKERS_AFTER_ROWS rows, and
   * their start-up overlaps the import's own.
   */
  sourceBytes?: number;
  /** Chunks each worker may have to do before the import's thread encodes the next one itself (default WORKER_QUEUE). */
  workerQueue?: number;
};

/** Ends the transaction (rolling it back) once the whole source was read and some rows were invalid. */
class InvalidRows extends Error {}
/** Ends the transaction when the columns seen are more than the policy allows; authorize() then audits and refuses. */
class FieldsDenied extends Error {}

export async function importRecords(
  ctx: AppContext,
  actor: Actor,
  datasetName: string,
  /** The file: rows in arrays, or CSV/TSV text in chunks (splitImportBatches; parseImportBatches gives rows only). */
  openRows: () => AsyncIterable<ImportBatch>,
  onProgress: (p: ImportProgress) => void = () => undefined,
  options: ImportOptions = {},
): Promise<ImportResult> {
  const ds = await loadDataset(ctx, datasetName);
  let decision = await authorize(ctx, { actor, action: 'record.import', dataset: ds.policy, fields: [] });

  const problems: ImportProblem[] = [];
  let problemCount = 0;
  const columns = new Set<string>();
  let rows = 0;
  let firstId: string | null = null;
  let lastId: string | null = null;
  const at = ctx.clock.now();
  const encoder = new ImportEncoder(ds.codec, ds.view.id, at);
  const workerCount = options.workers ?? defaultWorkers();
  const workersAfterRows = options.workersAfterRows ?? WORKERS_AFTER_ROWS;
  const workerQueue = Math.max(1, options.workerQueue ?? WORKER_QUEUE);
  let workers: ImportWorkers | null = null;
  let workerRows = 0;
  try {
    if (workerCount > 0 && workersAfterRows > 0 && (options.sourceBytes ?? 0) >= WORKERS_FROM_BYTES) {
      workers = new ImportWorkers(ImportEncoder.setup(ds.view, ds.keys, ds.codec, at), workerCount);
    }
    await ctx.database.bulkTransaction(async (bulk) => {
      const loader = await RecordLoader.open(bulk, ds.termBlock, options);
      // Chunks encoded or being encoded (on a worker or on this thread), in the order they were read; applied in that order.
      // `done`: the result is there (set when it settles), so applying it will not wait.
      const inFlight: { ids: string[] | null; result: Promise<EncodedChunk>; onWorker: boolean; done: boolean }[] = [];
      if (workersAfterRows === 0 && workerCount > 0) {
        workers = new ImportWorkers(ImportEncoder.setup(ds.view, ds.keys, ds.codec, at), workerCount);
        await workers.ready;
      }
      /** Rows read and not yet encoded (rows come as rows from JSON Lines; CSV and TSV come as text). */
      let pending: ImportRow[] = [];
      /** Records read (rows, and the records chunks of text count): when to start the workers. */
      let recordsRead = 0;
      /** The first parse error in file order: nothing after it is read or reported, as one parser would stop there. */
      let parseError: ImportParseError | null = null;

      /** Takes a chunk's result into the count and the report, and while the file is valid, into the database. */
      const apply = async (ids: string[] | null, r: EncodedChunk, onWorker: boolean): Promise<void> => {
        if (parseError) return;
        const before = rows;
        rows += r.rows;
        problemCount += r.problemCount;
        for (const p of r.problems) if (problems.length < MAX_REPORTED_PROBLEMS) problems.push(p);
        if (r.failure) parseError = r.failure;
        if (!(problemCount > 0 || parseError || ids === null || r.records === null || r.terms === null || r.rows === 0)) {
          if (onWorker) workerRows += r.rows;
          firstId ??= ids[0]!;
          lastId = ids[r.rows - 1]!;
          const wait = loader.addRows(r.records, r.terms, r.rows);
          if (wait) await wait;
        }
        if (Math.floor(rows / PROGRESS_EVERY) !== Math.floor(before / PROGRESS_EVERY)) onProgress({ phase: 'write', rows, workerRows });
      };
      const drainOne = async (): Promise<void> => {
        const c = inFlight.shift()!;
        await apply(c.ids, await c.result, c.onWorker);
      };
      /**
       * Encodes a chunk of `count` rows or records: on a worker while the workers, once ready, have fewer
       * than `workerQueue` chunks each to do; past that (and without workers) on this thread rather than
       * wait idle for them (it has CPU to spare: reading and feeding PostgreSQL take a fraction of what
       * encoding does).
       */
      const encode = async (count: number, onWorker: ((w: ImportWorkers, ids: string[] | null) => Promise<EncodedChunk>) | null, here: (ids: string[] | null) => EncodedChunk): Promise<void> => {
        // Ids are minted here, in reading order, so that they ascend through the file whichever thread encodes it.
        const ids = problemCount === 0 && !parseError ? Array.from({ length: count }, () => newId<'RecordId'>()) : null;
        const ready = workers?.isReady ? workers : null;
        const share = ready ? ready.size * workerQueue : 0;
        if (ready && onWorker && inFlight.length < share) {
          const job = { ids, result: onWorker(ready, ids), onWorker: true, done: false };
          job.result.then(() => (job.done = true), () => (job.done = true)); // a failure surfaces when applied, in order
          inFlight.push(job);
        } else {
          inFlight.push({ ids, result: Promise.resolve(here(ids)), onWorker: false, done: true });
        }
        // Apply, in order, what is ready; wait for the oldest only when more than one chunk beyond the workers' share is held.
        while (inFlight.length > 0 && (inFlight[0]!.done || inFlight.length > share + 1)) await drainOne();
      };
      /** Encodes the rows gathered so far. */
      const dispatch = async (): Promise<void> => {
        if (pending.length === 0) return;
        const batch = pending;
        pending = [];
        await encode(batch.length, (w, ids) => w.run(batch, ids), (ids) => encoder.encode(batch, ids));
      };
      /** The fields being imported must be allowed, as they become known (a header names them all; JSON Lines rows may add some). */
      const allowColumns = (names: Iterable<string>): void => {
        let newColumn = false;
        for (const k of names) {
          if (!columns.has(k)) {
            columns.add(k);
            newColumn = true;
          }
        }
        // Evaluated purely here: a denial is audited after the rollback.
        if (newColumn) {
          const d = evaluate({ actor, action: 'record.import', dataset: ds.policy, fields: [...columns], now: ctx.clock.now() });
          if (d.effect !== 'allow') throw new FieldsDenied();
          decision = d;
        }
      };
      const startWorkers = (): void => {
        // A large file: start the workers (about a second), going on alone until they are ready.
        if (recordsRead > workersAfterRows && workerCount > 0 && workers === null) {
          workers = new ImportWorkers(ImportEncoder.setup(ds.view, ds.keys, ds.codec, at), workerCount);
        }
      };

      let readError: ImportParseError | null = null;
      try {
        for await (const batch of openRows()) {
          if (Array.isArray(batch)) {
            for (const row of batch as readonly ImportRow[]) {
              allowColumns(Object.keys(row.values));
              pending.push(row);
              recordsRead++;
              if (pending.length >= CHUNK_ROWS) await dispatch();
            }
          } else {
            const chunk = batch as DelimitedChunk;
            allowColumns(chunk.header);
            await dispatch(); // rows before it, in order
            recordsRead += chunk.records;
            // The file's last chunk may carry the decoder's error, which stays on this thread.
            await encode(chunk.records, chunk.encodingError ? null : (w, ids) => w.runText(chunk, ids), (ids) => encoder.encodeText(chunk, ids));
          }
          startWorkers();
          if (parseError) break;
        }
      } catch (e) {
        if (!(e instanceof ImportParseError)) throw e;
        readError = e;
      }
      // The rows read before the end (or before a parse error) are checked, and reported, in any case.
      await dispatch();
      while (inFlight.length > 0) await drainOne();
      // An error in a chunk comes before one the reading met after it.
      parseError ??= readError;
      if (parseError) {
        problemCount++;
        problems.push({ line: parseError.line, problem: parseError.message });
      }
      if (problemCount > 0) throw new InvalidRows();
      onProgress({ phase: 'index', rows, workerRows });
      await loader.finish();
      if (loader.swapped === false) {
        ctx.logger.warn({ datasetId: ds.view.id, rows }, 'import: the term partition could not be swapped (its lock was held by long readers); the terms were inserted into it through its index');
      }
      onProgress({ phase: 'commit', rows, workerRows });
      await appendAudit(bulk.executor, ctx.clock, actor, {
        action: 'record.import', decision: 'allow', rule: decision.rule, reason: decision.reason.en, result: 'ok',
        datasetId: ds.view.id, fields: [...columns], grantIds: decision.grantIds,
        // Ids are UUIDv7 minted in order: the range names every imported record without listing a million ids.
        details: { rows, firstId, lastId },
      });
    });
  } catch (e) {
    await closeWorkers(workers);
    if (e instanceof FieldsDenied) {
      await authorize(ctx, { actor, action: 'record.import', dataset: ds.policy, fields: [...columns] });
      throw new AppError('internal', 'The import was refused by policy.');
    }
    if (!(e instanceof InvalidRows)) throw e;
    await appendAuditAlone(ctx.db, ctx.clock, actor, {
      action: 'record.import', decision: 'allow', rule: 'import.validation', reason: 'Import rejected: invalid lines', result: 'invalid',
      datasetId: ds.view.id, fields: [...columns], details: { rows, invalidLines: problemCount },
    });
    throw new AppError('import.invalid', `${problemCount} problem(s) found; nothing was imported.`, { problems, problemCount, truncated: problemCount > problems.length });
  }
  await closeWorkers(workers);
  onProgress({ phase: 'done', rows, workerRows });
  return { imported: rows, firstId, lastId };
}
