/**
 * The export job and the one-time download. An approved extraction is taken by the system worker:
 * the approval is consumed (counted again now: an approver retired meanwhile no longer counts) in the
 * transaction that starts the job; rows are streamed in id-ordered batches, decrypted, watermarked
 * (canaries + fingerprint) and written encrypted under a per-export key; the completion, the canary
 * marks and — for a third party — the Art. 29 provision record commit together.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { isPersonalLevel, type DatasetField } from '@mamori/contracts';
import type { AppContext } from '../../platform/context.ts';
import { unwrapDataKey, wrapDataKey } from '../../platform/crypto/envelope.ts';
import { AppError, isAppError } from '../../platform/errors.ts';
import { isUuid, newId } from '../../platform/ids.ts';
import { systemActor, type Actor } from '../identity/index.ts';
import { authorize } from '../access-policy/index.ts';
import { appendAudit, appendAuditAlone } from '../audit/index.ts';
import { withApproval } from '../approvals/index.ts';
import { decodePersonal, loadDataset, type LoadedDataset, termOf } from '../vault/index.ts';
import { csvLine, decryptFile, EncryptedFileWriter, FILE_EXTENSION, sinkFor } from './extraction.file.ts';
import { extractionRepository, type ExtractionRow, type StoredCriterion } from './extraction.repository.ts';
import { createTransformPool, type PlacedLine } from './extraction.transform.ts';
import { PROVISION_RETENTION_YEARS } from './extraction.registers.ts';
import { canaryCount, canaryPositions, canaryRow, exportKeys, Fingerprinter, markOf, markedValues } from './extraction.watermark.ts';

export type ExtractionSettings = {
  /** Where encrypted export files live (under the data folder). */
  dir: string;
  /** How long the one-time download stays available after completion. */
  downloadHours?: number;
  /** Records read per database round trip (keyset batches); default 10,000. */
  batchRows?: number;
};

const BATCH = 10_000;
/** A running export's lease: renewed every `HEARTBEAT_MS`; a run silent for `LEASE_MS` is taken over. */
export const LEASE_MS = 60_000;
const HEARTBEAT_MS = 10_000;
/** Runs of one export (the first and the take-overs) before it is given up as failed. */
export const MAX_ATTEMPTS = 3;
const system = () => systemActor({ ip: null, userAgent: 'mamori-extraction', deviceId: null });

/** Each attempt writes its own file; only the attempt that completes renames it into place. */
const partFile = (dir: string, id: string, attempt: number) => path.join(dir, `${id}.${attempt}.part`);
const finalFile = (dir: string, id: string) => path.join(dir, `${id}.mmx`);

function keyAad(id: string): string {
  return `mamori/export-key/v1/${id}`;
}

/** The key that marks canary values of a dataset (a derivation of its blind-index key). */
export function canaryKeyOf(ds: LoadedDataset): Buffer {
  return ds.keys.fieldKey('~canary');
}

/**
 * Picks up approved extractions and runs them; closes those whose request was rejected, cancelled or
 * expired. Returns how many exports it completed. Safe to run on several nodes: each step is a
 * conditional update.
 */
export async function runDueExtractions(ctx: AppContext, settings: ExtractionSettings): Promise<number> {
  const repo = extractionRepository(ctx.db);
  let done = 0;
  done += await resumeInterrupted(ctx, settings);
  for (const w of await repo.waiting()) {
    if (w.request_state === 'approved') {
      if (await runExtraction(ctx, settings, w.id)) done++;
    } else if (['rejected', 'cancelled', 'expired'].includes(w.request_state)) {
      await repo.update(w.id, ['pending_approval'], { state: w.request_state as 'rejected' | 'cancelled' | 'expired' });
    }
  }
  // Files never fetched within their window are expired and deleted (encrypted data does not linger).
  for (const r of await repo.readyPast(ctx.clock.now())) {
    const expired = await ctx.db.transaction().execute(async (tx) => {
      if (!(await extractionRepository(tx).update(r.id, ['ready'], { state: 'expired' }))) return false;
      await appendAudit(tx, ctx.clock, system(), {
        action: 'extraction.run', decision: 'allow', rule: 'system.operator', reason: 'Download window passed: file deleted', result: 'ok', datasetId: r.dataset_id,
        subjectUserId: r.requester_id, details: { extractionId: r.id, phase: 'expire' },
      });
      return true;
    });
    if (expired) await rm(finalFile(settings.dir, r.id), { force: true });
  }
  return done;
}

/** Consumes the approval and runs one export; false when the approval could not be used. */
export async function runExtraction(ctx: AppContext, settings: ExtractionSettings, id: string): Promise<boolean> {
  const secret = await startExtraction(ctx, id);
  return secret ? runAttempt(ctx, settings, id, secret, 1) : false;
}

/**
 * The start of a run: uses the approval, stores the wrapped export key and takes the lease of
 * attempt 1, in one transaction. Returns the export key, or null when the approval could not be used.
 */
export async function startExtraction(ctx: AppContext, id: string): Promise<Buffer | null> {
  const actor = system();
  const row = await extractionRepository(ctx.db).get(id);
  if (!row || row.state !== 'pending_approval' || !row.approval_request_id) return null;
  const secret = randomBytes(32);
  try {
    await withApproval(ctx, actor, row.approval_request_id, { kind: 'extraction', ref: id }, async (tx) => {
      const w = wrapDataKey(ctx.keyring, secret, keyAad(id));
      if (!(await extractionRepository(tx).update(id, ['pending_approval'], { state: 'running', started_at: ctx.clock.now(), heartbeat_at: ctx.clock.now(), attempt: 1, master_key_id: w.masterKeyId, wrapped_key: w.wrapped }))) {
        throw new AppError('conflict', 'The extraction was taken by another worker.');
      }
      await appendAudit(tx, ctx.clock, actor, {
        action: 'extraction.run', decision: 'allow', rule: 'system.operator', reason: 'Approved extraction started', result: 'ok', datasetId: row.dataset_id,
        fields: row.fields, purpose: row.purpose, subjectUserId: row.requester_id, details: { extractionId: id, requestId: row.approval_request_id, phase: 'start' },
      });
    });
  } catch (e) {
    if (!isAppError(e)) throw e;
    const rule = (e.details as { rule?: string } | undefined)?.rule;
    if (rule === 'approval.expired') await extractionRepository(ctx.db).update(id, ['pending_approval'], { state: 'expired' });
    return null;
  }
  return secret;
}

/**
 * Exports whose worker died (its lease ran out) are taken over and run again from the start with the
 * same export key: the approval was used once, for this extraction, and nothing of the interrupted
 * run was delivered. After `MAX_ATTEMPTS` runs the export fails. Returns how many it completed.
 */
export async function resumeInterrupted(ctx: AppContext, settings: ExtractionSettings): Promise<number> {
  const repo = extractionRepository(ctx.db);
  const now = ctx.clock.now();
  const cutoff = new Date(now.getTime() - LEASE_MS);
  let done = 0;
  for (const s of await repo.stale(cutoff)) {
    const attempt = await repo.takeOver(s.id, s.attempt, cutoff, now);
    if (attempt === undefined) continue;
    for (let a = 1; a < attempt; a++) await rm(partFile(settings.dir, s.id, a), { force: true });
    const row = (await repo.get(s.id))!;
    if (attempt > MAX_ATTEMPTS) {
      await failAttempt(ctx, row, attempt, 'extraction.interrupted', `Extraction given up after ${MAX_ATTEMPTS} interrupted runs`);
      continue;
    }
    await appendAuditAlone(ctx.db, ctx.clock, system(), {
      action: 'extraction.run', decision: 'allow', rule: 'system.operator', reason: 'Interrupted extraction taken over and started again', result: 'ok',
      datasetId: row.dataset_id, fields: row.fields, purpose: row.purpose, subjectUserId: row.requester_id,
      details: { extractionId: row.id, phase: 'resume', attempt },
    });
    const secret = unwrapDataKey(ctx.keyring, row.master_key_id!, row.wrapped_key!, keyAad(row.id));
    if (await runAttempt(ctx, settings, row.id, secret, attempt)) done++;
  }
  return done;
}

/** One run of an export by the worker holding `attempt`; false when it failed or was superseded. */
async function runAttempt(ctx: AppContext, settings: ExtractionSettings, id: string, secret: Buffer, attempt: number): Promise<boolean> {
  const row = (await extractionRepository(ctx.db).get(id))!;
  const part = partFile(settings.dir, id, attempt);
  try {
    await writeExport(ctx, settings, row, secret, part, attempt);
    return true;
  } catch (e) {
    await rm(part, { force: true });
    const code = isAppError(e) ? e.code : 'internal';
    // A superseded worker leaves the export to the attempt that replaced it.
    if (code !== 'extraction.superseded') await failAttempt(ctx, row, attempt, code, 'Extraction failed');
    ctx.logger.error({ extractionId: id, attempt, err: { message: (e as Error).message } }, 'extraction failed');
    return false;
  }
}

async function failAttempt(ctx: AppContext, row: ExtractionRow, attempt: number, code: string, reason: string): Promise<void> {
  await ctx.db.transaction().execute(async (tx) => {
    if (!(await extractionRepository(tx).finishAttempt(row.id, attempt, { state: 'failed', error: code }))) return;
    await appendAudit(tx, ctx.clock, system(), {
      action: 'extraction.run', decision: 'allow', rule: 'system.operator', reason, result: 'error', datasetId: row.dataset_id, subjectUserId: row.requester_id,
      details: { extractionId: row.id, error: code, attempt },
    });
  });
}

type Canary = { position: number; values: Record<string, string>; marks: Buffer[] };

/** Canary rows for the export: unique against the dataset's blind indexes and every recorded mark. */
async function makeCanaries(ctx: AppContext, ds: LoadedDataset, fields: readonly DatasetField[], placementKey: Buffer, rows: number): Promise<Canary[]> {
  const repo = extractionRepository(ctx.db);
  const n = canaryCount(placementKey, rows);
  const positions = canaryPositions(placementKey, rows, n);
  const canaryKey = canaryKeyOf(ds);
  const out: Canary[] = [];
  for (let i = 0; i < n; i++) {
    for (let attempt = 0; ; attempt++) {
      if (attempt > 20) throw new AppError('internal', 'Could not make a unique canary.');
      const values = canaryRow(placementKey, i, attempt, fields);
      const marks = markedValues(values, fields).map((v) => markOf(canaryKey, v));
      let clash = false;
      for (const m of marks) if (await repo.markExists(m)) clash = true;
      for (const f of fields) {
        if (clash || f.search !== 'exact' || !(f.kind === 'email' || f.kind === 'phone')) continue;
        const term = termOf(ds, f, 'exact', values[f.name] ?? '');
        if (term && (await repo.termExists(ds.view.id, f.name, term))) clash = true;
      }
      if (!clash) {
        out.push({ position: positions[i]!, values, marks });
        break;
      }
    }
  }
  return out;
}

async function writeExport(ctx: AppContext, settings: ExtractionSettings, row: ExtractionRow, secret: Buffer, file: string, attempt: number): Promise<void> {
  const repo = extractionRepository(ctx.db);
  // The lease: renewed between batches and on a timer (counting and canaries can take a while).
  let superseded = false;
  const renew = async (rowsDone: number | null) => {
    if (!(await repo.progress(row.id, attempt, rowsDone, ctx.clock.now()))) superseded = true;
    if (superseded) throw new AppError('extraction.superseded', 'Another worker took this extraction over.');
  };
  const heartbeat = setInterval(() => void renew(null).catch(() => undefined), HEARTBEAT_MS);
  heartbeat.unref();
  try {
    await writeAttempt(ctx, settings, row, secret, file, attempt, renew);
  } finally {
    clearInterval(heartbeat);
  }
}

async function writeAttempt(
  ctx: AppContext, settings: ExtractionSettings, row: ExtractionRow, secret: Buffer, file: string, attempt: number,
  renew: (rowsDone: number | null) => Promise<void>,
): Promise<void> {
  const ds = await loadDatasetById(ctx, row.dataset_id);
  const repo = extractionRepository(ctx.db);
  const criteria = row.filter as StoredCriterion[];
  const suppress = row.recipient_kind === 'third_party';
  const fields = row.fields.map((n) => ds.fieldByName.get(n)!);
  const keys = exportKeys(secret);
  // Rows may have changed since filing: the count now decides where the canaries go.
  const total = await repo.count(ds.view.id, criteria, suppress);
  const canaries = await makeCanaries(ctx, ds, fields, keys.placementKey, total);

  await mkdir(settings.dir, { recursive: true, mode: 0o700 });
  const writer = new EncryptedFileWriter(file, keys.fileKey, row.id);
  // Whatever fails while the file is written, it is closed before the caller removes it.
  const { written, recordIds, bytes, sha256 } = await fillFile(
    { ds, repo, criteria, suppress, fields, canaries, fingerprintKey: keys.fingerprintKey, batchRows: settings.batchRows ?? BATCH, format: row.format, renew },
    writer,
  ).catch(async (e: unknown) => {
    await writer.abort();
    throw e;
  });

  const now = ctx.clock.now();
  const actor = system();
  await ctx.db.transaction().execute(async (tx) => {
    const trepo = extractionRepository(tx);
    const ok = await trepo.finishAttempt(row.id, attempt, {
      state: 'ready', rows_done: written, rows_total: written, completed_at: now, download_until: new Date(now.getTime() + (settings.downloadHours ?? 24) * 3_600_000),
      file_name: `mamori-${ds.view.name}-${now.toISOString().slice(0, 10)}-${row.id.slice(0, 8)}.${FILE_EXTENSION[row.format]}`, file_bytes: bytes, sha256,
    });
    if (!ok) throw new AppError('extraction.superseded', 'Another worker took this extraction over.');
    // Only the attempt that completes puts its file in place, inside its completing transaction.
    await rename(file, finalFile(settings.dir, row.id));
    await trepo.insertCanaries(canaries.flatMap((c) => c.marks.map((mark) => ({ extraction_id: row.id, position: c.position, mark }))));
    let provisionId: string | null = null;
    if (row.recipient_kind === 'third_party') {
      provisionId = newId();
      const retain = new Date(now);
      retain.setUTCFullYear(retain.getUTCFullYear() + PROVISION_RETENTION_YEARS);
      await trepo.insertProvision({
        id: provisionId, extraction_id: row.id, dataset_id: ds.view.id, provided_at: now, recipient_name: row.recipient_name!, recipient_address: row.recipient_address!,
        recipient_representative: row.recipient_representative!, data_items: row.fields, record_count: recordIds.length, retain_until: retain,
      }, recordIds);
    }
    await appendAudit(tx, ctx.clock, actor, {
      action: 'extraction.run', decision: 'allow', rule: 'system.operator', reason: 'Extraction written (encrypted, watermarked)', result: 'ok', datasetId: ds.view.id,
      fields: row.fields, purpose: row.purpose, subjectUserId: row.requester_id,
      details: { extractionId: row.id, phase: 'complete', attempt, rows: written, canaries: canaries.length, suppressed: row.suppressed, provisionId, bytes },
    });
  });
}

/** What `fillFile` writes: the export's rows (read in keyset batches) and canaries, fingerprinted. */
type FillJob = {
  ds: LoadedDataset; repo: ReturnType<typeof extractionRepository>; criteria: StoredCriterion[]; suppress: boolean;
  fields: DatasetField[]; canaries: Canary[]; fingerprintKey: Buffer;
  batchRows: number; format: ExtractionRow['format']; renew: (rowsDone: number | null) => Promise<void>;
};

/**
 * Writes the header, every row and the canaries in their places into `writer` and closes it; the
 * rows written, the ids of the records provided (third parties only), and the file's size and hash.
 */
async function fillFile(job: FillJob, writer: EncryptedFileWriter): Promise<{ written: number; recordIds: string[]; bytes: number; sha256: Buffer }> {
  const { ds, repo, criteria, suppress, fields, canaries, batchRows, renew } = job;
  const fp = new Fingerprinter(job.fingerprintKey);
  const kinds = fields.map((f) => f.kind);
  const needsPersonal = fields.some((f) => isPersonalLevel(f.classification));
  let written = 0;
  const recordIds: string[] = [];
  const sink = await sinkFor(job.format, writer);
  await sink.row(fields.map((f) => f.labelJa));
  let position = 0;
  let nextCanary = 0;
  // A row's values as written: each fingerprinted by its field's kind.
  const marked = (values: Record<string, string>) => fields.map((f, i) => fp.apply(kinds[i]!, values[f.name] ?? ''));
  const canaryValues = (c: Canary) => marked(c.values);
  // The canaries placed at the current position (and right after each other), written in turn.
  const placeDue = async () => {
    while (nextCanary < canaries.length && canaries[nextCanary]!.position === position) {
      await sink.row(canaryValues(canaries[nextCanary]!));
      nextCanary++;
      position++;
    }
  };
  const emit = async (values: Record<string, string>) => {
    await sink.row(marked(values));
    position++;
    await placeDue();
  };
  // CSV: decryption, fingerprint, quoting and encoding run on worker threads; XLSX goes through exceljs here.
  const pool = sink.bytes && sink.encoding
    ? createTransformPool({ datasetId: ds.view.id, dataKeys: ds.keys.dataKeyEntries(), fields: fields.map((f) => ({ name: f.name, kind: f.kind })), fingerprintKey: job.fingerprintKey, needsPersonal, encoding: sink.encoding })
    : null;
  // A canary placed at position 0 comes before the first real row.
  await placeDue();
  const take = async (batchLength: number, ids: () => string[]) => {
    if (suppress) for (const id of ids()) recordIds.push(id);
    written += batchLength;
    await renew(written);
  };
  try {
    if (pool) {
      // CSV: batches arrive packed (one value each), go whole to the workers in turn, and their CSV is
      // written in batch order. The next batch is fetched while the workers have theirs (keyset: its
      // start is the last id of this one); at most one batch per worker is in work.
      const fetch = (after: string | null) => {
        const p = repo.packedBatch(ds.view.id, criteria, suppress, after, batchRows, suppress);
        p.catch(() => undefined);
        return p;
      };
      let pending = fetch(null);
      const inWork: Promise<Buffer>[] = [];
      // The file writer copies what it is given: the CSV's memory goes back to the workers.
      const write = async (csv: Buffer) => {
        await sink.bytes!(csv);
        pool.release(csv);
      };
      for (;;) {
        const batch = await pending;
        if (batch.rows === 0) break;
        pending = batch.rows < batchRows ? Promise.resolve({ rows: 0, lastId: null, data: Buffer.alloc(0) }) : fetch(batch.lastId);
        // Canary k (0-based) at position P follows real row P - k (1-based): rows and earlier canaries
        // each take one position. Those that fall in this batch go to the worker with their place.
        const placed: PlacedLine[] = [];
        while (nextCanary < canaries.length && canaries[nextCanary]!.position - nextCanary <= written + batch.rows) {
          const c = canaries[nextCanary]!;
          placed.push({ after: c.position - nextCanary - written - 1, line: csvLine(canaryValues(c)) });
          nextCanary++;
        }
        const { rows, ids } = batch;
        const csv = pool.transform(batch, placed);
        csv.catch(() => undefined);
        inWork.push(csv);
        await take(rows, () => ids ?? []);
        if (inWork.length >= pool.size) await write(await inWork.shift()!);
      }
      while (inWork.length > 0) await write(await inWork.shift()!);
    } else {
      // XLSX goes through exceljs on this thread, row by row; the next batch is fetched meanwhile.
      const fetch = (after: string | null) => {
        const p = repo.batch(ds.view.id, criteria, suppress, after, batchRows);
        p.catch(() => undefined);
        return p;
      };
      let pending = fetch(null);
      for (;;) {
        const batch = await pending;
        if (batch.length === 0) break;
        pending = batch.length < batchRows ? Promise.resolve([]) : fetch(batch.at(-1)!.id);
        for (const r of batch) {
          const pub = JSON.parse(r.public) as Record<string, string>;
          await emit(needsPersonal ? Object.assign(pub, openRecord(ds, r)) : pub);
        }
        await take(batch.length, () => batch.map((r) => r.id));
      }
    }
  } finally {
    await pool?.close();
  }
  // Canaries whose position lies past the last real row (fewer rows than counted) go at the end.
  while (nextCanary < canaries.length) {
    await sink.row(canaryValues(canaries[nextCanary]!));
    nextCanary++;
  }
  await sink.finish();
  const { bytes, sha256 } = await writer.close();
  return { written, recordIds, bytes, sha256 };
}

/** A record's sealed values (XLSX path); one stable code when it does not open, as on the workers. */
function openRecord(ds: LoadedDataset, r: { id: string; sealed: Buffer | null; key_id: string | null }): Record<string, string> {
  try {
    return decodePersonal(ds.keys, ds.view.id, r.id, r.sealed, r.key_id);
  } catch {
    throw new AppError('extraction.record_unreadable', 'A stored record could not be opened.');
  }
}

async function loadDatasetById(ctx: AppContext, datasetId: string): Promise<LoadedDataset> {
  const name = (await extractionRepository(ctx.db).datasetNames([datasetId])).get(datasetId);
  if (!name) throw new AppError('not_found', 'No such dataset.');
  return loadDataset(ctx, name);
}

export type Download = { fileName: string; contentType: string; body: AsyncGenerator<Buffer> };

const CONTENT_TYPES = { csv_utf8: 'text/csv; charset=utf-8', csv_sjis: 'text/csv; charset=shift_jis', xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' } as const;

/**
 * The one-time download: only the requester, only once, only before the link expires. The use is
 * recorded (and audited) before the first byte leaves; every refusal is audited.
 */
export async function downloadExtraction(ctx: AppContext, actor: Actor, id: string, settings: ExtractionSettings): Promise<Download> {
  const row = isUuid(id) ? await extractionRepository(ctx.db).get(id) : undefined;
  await authorize(ctx, { actor, action: 'extraction.download', extractionRequesterId: row?.requester_id ?? '' }, { datasetId: row?.dataset_id ?? null, details: { extractionId: id.slice(0, 64) } });
  if (!row) throw new AppError('not_found', 'No such extraction.');
  const now = ctx.clock.now();
  const file = finalFile(settings.dir, row.id);
  const refuse = async (rule: string, message: string): Promise<never> => {
    await appendAuditAlone(ctx.db, ctx.clock, actor, {
      action: 'extraction.download', decision: 'deny', rule, reason: message, result: 'denied', datasetId: row.dataset_id, details: { extractionId: row.id, state: row.state },
    });
    throw new AppError('extraction.not_downloadable', message, { rule, state: row.state });
  };
  if (row.state === 'downloaded' || row.downloaded_at) return refuse('extraction.downloaded', 'This file has already been downloaded; the link works once.');
  if (row.state === 'ready' && row.download_until && now >= new Date(row.download_until)) {
    await extractionRepository(ctx.db).update(row.id, ['ready'], { state: 'expired' });
    await rm(file, { force: true });
    return refuse('extraction.link_expired', 'The download link has expired.');
  }
  if (row.state !== 'ready') return refuse('extraction.not_ready', 'This extraction is not ready for download.');
  const taken = await ctx.db.transaction().execute(async (tx) => {
    if (!(await extractionRepository(tx).update(row.id, ['ready'], { state: 'downloaded', downloaded_at: now }))) return false;
    await appendAudit(tx, ctx.clock, actor, {
      action: 'extraction.download', decision: 'allow', rule: 'extraction.requester', reason: 'One-time download of an approved extraction', result: 'ok', datasetId: row.dataset_id,
      fields: row.fields, purpose: row.purpose, details: { extractionId: row.id, rows: row.rows_done, sha256: row.sha256?.toString('hex') ?? null },
    });
    return true;
  });
  if (!taken) return refuse('extraction.downloaded', 'This file has already been downloaded; the link works once.');
  const secret = unwrapDataKey(ctx.keyring, row.master_key_id!, row.wrapped_key!, keyAad(row.id));
  const body = (async function* () {
    try {
      yield* decryptFile(file, exportKeys(secret).fileKey, row.id);
    } finally {
      // Once delivered the encrypted copy has served its purpose.
      await rm(file, { force: true });
    }
  })();
  return { fileName: row.file_name ?? `${row.id}.${FILE_EXTENSION[row.format]}`, contentType: CONTENT_TYPES[row.format], body };
}

/** For trace: the per-export fingerprint key of a completed extraction. */
export function fingerprintKeyOf(ctx: AppContext, row: Pick<ExtractionRow, 'id' | 'master_key_id' | 'wrapped_key'>): Buffer | null {
  if (!row.master_key_id || !row.wrapped_key) return null;
  return exportKeys(unwrapDataKey(ctx.keyring, row.master_key_id, row.wrapped_key, keyAad(row.id))).fingerprintKey;
}
