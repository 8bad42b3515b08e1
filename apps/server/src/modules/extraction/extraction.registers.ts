/**
 * The registers beside extraction: the opt-out suppression list (entries keyed by the dataset's
 * blind indexes, never the value; kept by the CPO's staff; every change audited) and the APPI
 * Art. 29 provision records (read by the CPO and auditors, per data subject).
 */
import { SUPPRESSION_KINDS, type ProvisionRecordView, type SuppressionEntryView, type SuppressionKind } from '@mamori/contracts';
import type { AppContext } from '../../platform/context.ts';
import type { Executor } from '../../platform/db/database.ts';
import { AppError } from '../../platform/errors.ts';
import { isUuid, newId } from '../../platform/ids.ts';
import type { Actor } from '../identity/index.ts';
import { authorize } from '../access-policy/index.ts';
import { appendAudit } from '../audit/index.ts';
import { loadDataset, maskValue, validateValue, termOf } from '../vault/index.ts';
import { extractionRepository } from './extraction.repository.ts';

export type SuppressionInput = { dataset: string; kind: SuppressionKind; value: string; note: string };

export async function addSuppression(ctx: AppContext, actor: Actor, input: SuppressionInput): Promise<SuppressionEntryView> {
  const ds = await loadDataset(ctx, input.dataset);
  const d = await authorize(ctx, { actor, action: 'suppression.manage' }, { datasetId: ds.view.id, details: { kind: input.kind } });
  if (!(SUPPRESSION_KINDS as readonly string[]).includes(input.kind)) throw new AppError('request.invalid', 'Unknown kind.', { field: 'kind' });
  const note = input.note.trim();
  if (note.length > 500) throw new AppError('request.invalid', 'The note is at most 500 characters.', { field: 'note' });
  // Every exact-searchable field of that kind: an opt-out by phone covers the direct line and the mobile.
  const fields = ds.view.fields.filter((f) => f.kind === input.kind && f.search === 'exact');
  if (fields.length === 0) throw new AppError('request.invalid', 'This dataset has no exactly searchable field of this kind.', { field: 'kind' });
  const problem = validateValue(fields[0]!, input.value);
  if (problem || input.value.trim() === '') throw new AppError('request.invalid', `The value is ${problem ?? 'empty'}.`, { field: 'value' });
  const terms = fields.map((f) => ({ field: f.name, term: termOf(ds, f, 'exact', input.value)! }));
  const id = newId();
  const now = ctx.clock.now();
  await ctx.db.transaction().execute(async (tx) => {
    await extractionRepository(tx).insertSuppression({ id, dataset_id: ds.view.id, kind: input.kind, hint: maskValue(fields[0]!, input.value.trim()), note, added_by: actor.userId!, added_at: now, removed_by: null, removed_at: null, removed_reason: null }, terms);
    await appendAudit(tx, ctx.clock, actor, {
      action: 'suppression.manage', decision: 'allow', rule: d.rule, reason: 'Opt-out added to the suppression list', result: 'ok', datasetId: ds.view.id,
      fields: fields.map((f) => f.name), details: { entryId: id, kind: input.kind, change: 'add' },
    });
  });
  return (await listSuppression(ctx, actor, input.dataset, { skipAuth: true })).find((e) => e.id === id)!;
}

export async function removeSuppression(ctx: AppContext, actor: Actor, id: string, reason: string): Promise<void> {
  const d = await authorize(ctx, { actor, action: 'suppression.manage' }, { details: { entryId: id.slice(0, 64), change: 'remove' } });
  if (!isUuid(id)) throw new AppError('not_found', 'No such entry.');
  await ctx.db.transaction().execute(async (tx) => {
    if (!(await extractionRepository(tx).removeSuppression(id, actor.userId!, ctx.clock.now(), reason.trim().slice(0, 500)))) throw new AppError('not_found', 'No such entry (or already removed).');
    await appendAudit(tx, ctx.clock, actor, {
      action: 'suppression.manage', decision: 'allow', rule: d.rule, reason: reason.trim().slice(0, 500) || 'Opt-out removed from the suppression list', result: 'ok', details: { entryId: id, change: 'remove' },
    });
  });
}

export async function listSuppression(ctx: AppContext, actor: Actor, dataset: string | null, opts: { skipAuth?: boolean } = {}): Promise<SuppressionEntryView[]> {
  if (!opts.skipAuth) await authorize(ctx, { actor, action: 'suppression.read' });
  const datasetId = dataset ? (await loadDataset(ctx, dataset)).view.id : null;
  const repo = extractionRepository(ctx.db);
  const rows = await repo.suppressionEntries(datasetId, 1000);
  const people = await repo.people(rows.map((r) => r.added_by));
  return rows.map((r) => ({
    id: r.id, dataset: r.dataset, kind: r.kind, hint: r.hint, note: r.note, addedBy: people.get(r.added_by)!,
    addedAt: new Date(r.added_at).toISOString(), removedAt: r.removed_at ? new Date(r.removed_at).toISOString() : null,
  }));
}

/** Provision records, all or those concerning one data subject (record id). */
export async function listProvisionRecords(ctx: AppContext, actor: Actor, recordId: string | null): Promise<ProvisionRecordView[]> {
  await authorize(ctx, { actor, action: 'provision.read' }, recordId && isUuid(recordId) ? { recordIds: [recordId] } : {});
  if (recordId !== null && !isUuid(recordId)) throw new AppError('request.invalid', 'Bad record id.', { field: 'recordId' });
  const rows = await extractionRepository(ctx.db).provisions(recordId, 500);
  return rows.map((p) => ({
    id: p.id, extractionId: p.extraction_id, transmissionId: p.transmission_id, dataset: p.dataset, providedAt: new Date(p.provided_at).toISOString(), recipientName: p.recipient_name,
    recipientAddress: p.recipient_address, recipientRepresentative: p.recipient_representative, dataItems: p.data_items, recordCount: p.record_count,
    retainUntil: new Date(p.retain_until).toISOString(),
  }));
}

/** How long a provision record is kept (APPI Rule 21: up to 3 years by the mode of provision; the longest). */
export const PROVISION_RETENTION_YEARS = 3;

export type TransmissionProvisionInput = {
  transmissionId: string;
  providedAt: Date;
  /** Who received it: for a mail, the external recipients as addressed (the name of the third party). */
  recipientName: string;
  recipientAddress: string;
  recipientRepresentative: string;
  /** The kinds of personal data it carried (DLP finding kinds). */
  dataItems: string[];
  /** How many personal-data items were found in it. */
  recordCount: number;
};

/**
 * The Art. 29 record of a transmission of personal data to a third party, written in the caller's
 * transaction (the one that records the delivery): the same register as extractions, one row per
 * transmission. Returns the record's id.
 */
export async function recordTransmissionProvision(tx: Executor, input: TransmissionProvisionInput): Promise<string> {
  const id = newId();
  const retain = new Date(input.providedAt);
  retain.setUTCFullYear(retain.getUTCFullYear() + PROVISION_RETENTION_YEARS);
  await extractionRepository(tx).insertProvision({
    id, extraction_id: null, transmission_id: input.transmissionId, dataset_id: null, provided_at: input.providedAt,
    recipient_name: input.recipientName.slice(0, 2000), recipient_address: input.recipientAddress.slice(0, 2000),
    recipient_representative: input.recipientRepresentative.slice(0, 300), data_items: input.dataItems, record_count: input.recordCount, retain_until: retain,
  }, []);
  return id;
}
