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
 */
import type { AppContext } from '../../platform/context.ts';
import { AppError } from '../../platform/errors.ts';
import { newId } from '../../platform/ids.ts';
import type { Actor } from '../identity/index.ts';
import { authorize, evaluate } from '../access-policy/index.ts';
import { appendAudit, appendAuditAlone } from '../audit/index.ts';
import { RecordLoader } from './vault.bulk.repository.ts';
import { loadDataset } from './vault.datasets.ts';
import { ImportParseError, type ImportRow } from './vault.import-parse.ts';
import type { FieldProblem } from './vault.codec.ts';

export const MAX_REPORTED_PROBLEMS = 100;
const PROGRESS_EVERY = 5000;

/** Rows read (and, while the file is valid, written) so far. */
export type ImportProgress = { phase: 'write'; rows: number };
export type ImportProblem = { line: number; field?: string; problem: string };
export type ImportResult = { imported: number; firstId: string | null; lastId: string | null };
export type ImportOptions = {
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
  try {
    await ctx.database.bulkTransaction(async (bulk) => {
      const loader = await RecordLoader.open(bulk, ds.view.id, ctx.clock.now(), options.rebuildIndexUpTo);
      // Per row, reused: its problems, and the normalised values validation and encoding share.
      const rowProblems: FieldProblem[] = [];
      const trimmed: (string | undefined)[] = new Array<string | undefined>(ds.codec.fieldCount).fill(undefined);
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
            rowProblems.length = 0;
            ds.codec.check(row.values, rowProblems, trimmed);
            for (const p of rowProblems) {
              problemCount++;
              if (problems.length < MAX_REPORTED_PROBLEMS) problems.push({ line: row.line, field: p.field, problem: p.problem });
            }
            if (problemCount === 0) {
              const id = newId<'RecordId'>();
              firstId ??= id;
              lastId = id;
              // A promise only when the database wants us to wait (a batch or piece handed over).
              const wait = loader.add(id, ds.codec.encode(id, row.values, trimmed));
              if (wait) await wait;
            }
            if (rows % PROGRESS_EVERY === 0) onProgress({ phase: 'write', rows });
          }
        }
      } catch (e) {
        if (!(e instanceof ImportParseError)) throw e;
        problemCount++;
        problems.push({ line: e.line, problem: e.message });
      }
      if (problemCount > 0) throw new InvalidRows();
      await loader.finish();
      await appendAudit(bulk.executor, ctx.clock, actor, {
        action: 'record.import', decision: 'allow', rule: decision.rule, reason: decision.reason.en, result: 'ok',
        datasetId: ds.view.id, fields: [...columns], grantIds: decision.grantIds,
        // Ids are UUIDv7 minted in order: the range names every imported record without listing a million ids.
        details: { rows, firstId, lastId },
      });
    });
  } catch (e) {
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
  onProgress({ phase: 'write', rows });
  return { imported: rows, firstId, lastId };
}
