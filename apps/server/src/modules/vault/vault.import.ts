/**
 * All-or-nothing import. Pass 1 reads the whole source and validates every row, collecting a report
 * of bad lines (nothing is written); pass 2 re-reads it and writes every row in ONE transaction,
 * streaming the encoded rows to the database as they are produced, with progress. A failure anywhere
 * in pass 2 rolls everything back.
 */
import type { AppContext } from '../../platform/context.ts';
import { AppError } from '../../platform/errors.ts';
import { newId } from '../../platform/ids.ts';
import type { Actor } from '../identity/index.ts';
import { authorize } from '../access-policy/index.ts';
import { appendAudit, appendAuditAlone } from '../audit/index.ts';
import { encodeRecord } from './vault.codec.ts';
import { loadDataset } from './vault.datasets.ts';
import { ImportParseError, type ImportRow } from './vault.import-parse.ts';
import { checkValues } from './vault.records.ts';
import { RecordLoader } from './vault.repository.ts';

export const MAX_REPORTED_PROBLEMS = 100;
const PROGRESS_EVERY = 5000;

export type ImportProgress = { phase: 'validate' | 'write'; rows: number };
export type ImportProblem = { line: number; field?: string; problem: string };
export type ImportResult = { imported: number; firstId: string | null; lastId: string | null };

export async function importRecords(
  ctx: AppContext,
  actor: Actor,
  datasetName: string,
  openRows: () => AsyncIterable<ImportRow>,
  onProgress: (p: ImportProgress) => void = () => undefined,
): Promise<ImportResult> {
  const ds = await loadDataset(ctx, datasetName);
  await authorize(ctx, { actor, action: 'record.import', dataset: ds.policy, fields: [] });

  // Pass 1: validate everything; write nothing.
  const problems: ImportProblem[] = [];
  let problemCount = 0;
  const columns = new Set<string>();
  let rows = 0;
  try {
    for await (const row of openRows()) {
      rows++;
      for (const k of Object.keys(row.values)) columns.add(k);
      for (const p of checkValues(ds, row.values)) {
        problemCount++;
        if (problems.length < MAX_REPORTED_PROBLEMS) problems.push({ line: row.line, field: p.field, problem: p.problem });
      }
      if (rows % 5000 === 0) onProgress({ phase: 'validate', rows });
    }
  } catch (e) {
    if (!(e instanceof ImportParseError)) throw e;
    problemCount++;
    problems.push({ line: e.line, problem: e.message });
  }
  onProgress({ phase: 'validate', rows });
  const fields = [...columns];
  if (problemCount > 0) {
    await appendAuditAlone(ctx.db, ctx.clock, actor, {
      action: 'record.import', decision: 'allow', rule: 'import.validation', reason: 'Import rejected: invalid lines', result: 'invalid',
      datasetId: ds.view.id, fields, details: { rows, invalidLines: problemCount },
    });
    throw new AppError('import.invalid', `${problemCount} problem(s) found; nothing was imported.`, { problems, problemCount, truncated: problemCount > problems.length });
  }
  const decision = await authorize(ctx, { actor, action: 'record.import', dataset: ds.policy, fields });

  // Pass 2: one transaction, written as it is read (see RecordLoader).
  let imported = 0;
  let firstId: string | null = null;
  let lastId: string | null = null;
  await ctx.database.bulkTransaction(async (bulk) => {
    const loader = await RecordLoader.open(bulk, ds.view.id, ctx.clock.now());
    for await (const row of openRows()) {
      const id = newId<'RecordId'>();
      firstId ??= id;
      lastId = id;
      await loader.add(id, encodeRecord(ds.view, ds.keys, id, row.values));
      imported++;
      if (imported % PROGRESS_EVERY === 0) onProgress({ phase: 'write', rows: imported });
    }
    if (imported !== rows) throw new AppError('import.invalid', 'The source changed between validation and writing; nothing was imported.');
    await loader.finish();
    await appendAudit(bulk.executor, ctx.clock, actor, {
      action: 'record.import', decision: 'allow', rule: decision.rule, reason: decision.reason.en, result: 'ok',
      datasetId: ds.view.id, fields, grantIds: decision.grantIds,
      // Ids are UUIDv7 minted in order: the range names every imported record without listing a million ids.
      details: { rows: imported, firstId, lastId },
    });
  });
  onProgress({ phase: 'write', rows: imported });
  return { imported, firstId, lastId };
}
