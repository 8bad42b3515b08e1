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
 * worker threads (vault.import-workers.ts) while this thread parses and feeds the database. Ids are
 * minted here and chunk results applied here in file order, so the outcome is the same (ADR 0013).
 */
import type { AppContext } from '../../platform/context.ts';
import { AppError } from '../../platform/errors.ts';
import { newId } from '../../platform/ids.ts';
import type { Actor } from '../identity/index.ts';
import { authorize, evaluate } from '../access-policy/index.ts';
import { appendAudit, appendAuditAlone } from '../audit/index.ts';
import { availableParallelism } from 'node:os';
import { RecordLoader } from './vault.bulk.repository.ts';
import { ImportEncoder, type EncodedChunk } from './vault.import-encode.ts';
import { ImportWorkers } from './vault.import-workers.ts';
import { loadDataset } from './vault.datasets.ts';
import { ImportParseError, type ImportRow } from './vault.import-parse.ts';

export const MAX_REPORTED_PROBLEMS = 100;
const PROGRESS_EVERY = 5000;
/** Rows encoded together (on a worker, or on the import's thread). */
const CHUNK_ROWS = 2000;
/**
 * Chunks each worker may have to do before the import's thread encodes the next chunk itself (at
 * 1,000,000 rows on two cores: 23,081–23,619 rows/s with 3, 20,823–23,060 with 2; ADR 0013).
 */
const WORKER_QUEUE = 3;
/** A file this long is worth the workers' start-up (about a second). */
export const WORKERS_AFTER_ROWS = 20_000;

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
 * `index` — every row is in and the search index is being rebuilt (only when the load dropped it,
 * RecordLoader's `rebuild`: the longest part after the rows, seconds per million rows); `commit` — the
 * import's audit event and the commit; `done` — committed. A file with problems ends in an error
 * after `write`, without the later phases. `rows`: rows read so far; `workerRows`: how many of the rows
 * written were encoded on worker threads.
 */
export type ImportProgress = { phase: 'write' | 'index' | 'commit' | 'done'; rows: number; workerRows: number };
export type ImportProblem = { line: number; field?: string; problem: string };
export type ImportResult = { imported: number; firstId: string | null; lastId: string | null };
export type ImportOptions = {
  /** Worker threads that encode rows beside the import's thread (default: see defaultWorkers; 0: none). */
  workers?: number;
  /** Rows read before the workers are started (default WORKERS_AFTER_ROWS; 0: from the first row, waiting for them to start). */
  workersAfterRows?: number;
  /** Chunks each worker may have to do before the import's thread encodes the next one itself (default WORKER_QUEUE). */
  workerQueue?: number;
  /** Most terms record_terms may already hold for the load to rebuild its index instead of maintaining it (RecordLoader). */
  rebuildIndexUpTo?: number;
};

/** Ends the transaction (rolling it back) once the whole source was read and some rows were invalid. */
class InvalidRows extends Error {}
/** Ends the transaction when the columns seen are more than the policy allows; authorize() then audits and refuses. */
class FieldsDenied extends Error {}

export async function importRecords(
  ctx: AppContext,
  actor: Actor,
  datasetName: string,
  /** The rows, in arrays (parseImportBatches yields one per chunk of the file). */
  openRows: () => AsyncIterable<readonly ImportRow[]>,
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
    await ctx.database.bulkTransaction(async (bulk) => {
      const loader = await RecordLoader.open(bulk, options.rebuildIndexUpTo);
      // Chunks encoded or being encoded (on a worker or on this thread), in the order they were read; applied in that order.
      // `done`: the result is there (set when it settles), so applying it will not wait.
      const inFlight: { ids: string[] | null; result: Promise<EncodedChunk>; onWorker: boolean; done: boolean }[] = [];
      if (workersAfterRows === 0 && workerCount > 0) {
        workers = new ImportWorkers(ImportEncoder.setup(ds.view, ds.keys, ds.codec, at), workerCount);
        await workers.ready;
      }
      let lines: number[] = [];
      let values: Record<string, string>[] = [];

      /** Takes a chunk's result into the report, and while the file is valid, into the database. */
      const apply = async (ids: string[] | null, r: EncodedChunk, onWorker: boolean): Promise<void> => {
        problemCount += r.problemCount;
        for (const p of r.problems) if (problems.length < MAX_REPORTED_PROBLEMS) problems.push(p);
        if (problemCount > 0 || ids === null || r.records === null || r.terms === null || ids.length === 0) return;
        if (onWorker) workerRows += ids.length;
        firstId ??= ids[0]!;
        lastId = ids[ids.length - 1]!;
        const wait = loader.addRows(r.records, r.terms, ids.length);
        if (wait) await wait;
      };
      const dispatch = async (): Promise<void> => {
        if (values.length === 0) return;
        // Ids are minted here, in reading order, so that they ascend through the file whichever thread encodes it.
        const ids = problemCount === 0 ? values.map(() => newId<'RecordId'>()) : null;
        const chunkLines = lines;
        const chunkValues = values;
        lines = [];
        values = [];
        // The workers, once ready, take chunks while they have fewer than `workerQueue` each to do; past
        // that (and without workers) this thread encodes the chunk itself rather than wait idle for them
        // (it has CPU to spare: parsing and feeding PostgreSQL take a fraction of what encoding does).
        const ready = workers?.isReady ? workers : null;
        const share = ready ? ready.size * workerQueue : 0;
        if (ready && inFlight.length < share) {
          const job = { ids, result: ready.run(chunkLines, chunkValues, ids), onWorker: true, done: false };
          job.result.then(() => (job.done = true), () => (job.done = true)); // a failure surfaces when applied, in order
          inFlight.push(job);
        } else {
          inFlight.push({ ids, result: Promise.resolve(encoder.encode(chunkLines, chunkValues, ids)), onWorker: false, done: true });
        }
        // Apply, in order, what is ready; wait for the oldest only when more than one chunk beyond the workers' share is held.
        while (inFlight.length > 0 && (inFlight[0]!.done || inFlight.length > share + 1)) await drainOne();
      };
      const drainOne = async (): Promise<void> => {
        const c = inFlight.shift()!;
        await apply(c.ids, await c.result, c.onWorker);
      };

      let parseError: ImportParseError | null = null;
      try {
        for await (const batch of openRows()) {
          for (const row of batch) {
            rows++;
            let newColumn = false;
            for (const k in row.values) {
              if (!columns.has(k)) {
                columns.add(k);
                newColumn = true;
              }
            }
            // The fields being imported must be allowed, as they become known (a header names them all;
            // JSON Lines rows may add some). Evaluated purely here: a denial is audited after the rollback.
            if (newColumn) {
              const d = evaluate({ actor, action: 'record.import', dataset: ds.policy, fields: [...columns], now: ctx.clock.now() });
              if (d.effect !== 'allow') throw new FieldsDenied();
              decision = d;
            }
            lines.push(row.line);
            values.push(row.values);
            if (values.length >= CHUNK_ROWS) await dispatch();
            if (rows % PROGRESS_EVERY === 0) onProgress({ phase: 'write', rows, workerRows });
            // A large file: start the workers (about a second), going on alone until they are ready.
            if (rows === workersAfterRows + 1 && workerCount > 0 && workers === null) {
              workers = new ImportWorkers(ImportEncoder.setup(ds.view, ds.keys, ds.codec, at), workerCount);
            }
          }
        }
      } catch (e) {
        if (!(e instanceof ImportParseError)) throw e;
        parseError = e;
      }
      // The rows read before the end (or before a parse error) are checked, and reported, in any case.
      await dispatch();
      while (inFlight.length > 0) await drainOne();
      if (parseError) {
        problemCount++;
        problems.push({ line: parseError.line, problem: parseError.message });
      }
      if (problemCount > 0) throw new InvalidRows();
      if (loader.strategy === 'rebuild') onProgress({ phase: 'index', rows, workerRows });
      await loader.finish();
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
