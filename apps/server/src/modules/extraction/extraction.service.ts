/**
 * Building and filing an extraction: the handler names dataset, filter, fields, format, purpose and
 * recipient; Mamori checks the handler's grants for every field and the purpose, counts the rows
 * (without the subjects who opted out when the recipient is a third party), shows a masked preview,
 * and files the approval request whose scope approvers see — never personal data.
 */
import { EXPORT_FORMATS, isPersonalLevel, type ExtractionInput, type ExtractionPreview, type ExtractionView, type Recipient } from '@mamori/contracts';
import type { AppContext } from '../../platform/context.ts';
import { AppError } from '../../platform/errors.ts';
import { isUuid, newId } from '../../platform/ids.ts';
import type { Actor } from '../identity/index.ts';
import { authorize, type Decision } from '../access-policy/index.ts';
import { appendAudit } from '../audit/index.ts';
import { authorizeFiling, fileRequest } from '../approvals/index.ts';
import { decodePersonal, loadDataset, maskValue, type LoadedDataset, termOf } from '../vault/index.ts';
import { extractionRepository, type ExtractionRow, type StoredCriterion } from './extraction.repository.ts';

const PREVIEW_ROWS = 5;
const TEXT_MAX = 300;

type Prepared = { ds: LoadedDataset; decision: Decision; criteria: StoredCriterion[]; recipient: Recipient; suppress: boolean };

function invalid(message: string, field: string): AppError {
  return new AppError('extraction.invalid', message, { field });
}

function checkRecipient(r: Recipient): Recipient {
  if (r.kind === 'internal') return { kind: 'internal' };
  const clean = { name: r.name.trim(), address: r.address.trim(), representative: r.representative.trim() };
  for (const [k, v] of Object.entries(clean)) if (v.length === 0 || v.length > TEXT_MAX) throw invalid(`The recipient's ${k} is 1 to ${TEXT_MAX} characters.`, `recipient.${k}`);
  return { kind: 'third_party', ...clean };
}

/** Validates the input and authorizes it (refusals audited); nothing is written. */
async function prepare(ctx: AppContext, actor: Actor, input: ExtractionInput): Promise<Prepared> {
  const ds = await loadDataset(ctx, input.dataset);
  const fields = [...new Set(input.fields)];
  if (fields.length === 0 || fields.length !== input.fields.length) throw invalid('Name each field once, at least one.', 'fields');
  for (const f of fields) if (!ds.fieldByName.has(f)) throw invalid('Unknown field.', 'fields');
  if (!(EXPORT_FORMATS as readonly string[]).includes(input.format)) throw invalid('Unknown format.', 'format');
  const decision = await authorize(ctx, { actor, action: 'extraction.request', dataset: ds.policy, purpose: input.purpose, fields }, { details: { format: input.format, recipient: input.recipient.kind } });
  const criteria = input.criteria.map((c) => {
    const field = ds.fieldByName.get(c.field);
    // Filtering by a field you may not see would be an oracle on its values.
    if (!field || !decision.visible.has(c.field)) throw invalid('You cannot filter by this field.', 'criteria');
    const term = termOf(ds, field, c.op, c.value);
    if (!term) throw invalid(`This field does not support ${c.op} search.`, 'criteria');
    return { field: c.field, op: c.op, term: term.toString('hex'), shown: isPersonalLevel(field.classification) ? maskValue(field, c.value) : c.value };
  });
  const recipient = checkRecipient(input.recipient);
  return { ds, decision, criteria, recipient, suppress: recipient.kind === 'third_party' };
}

export async function previewExtraction(ctx: AppContext, actor: Actor, input: ExtractionInput): Promise<ExtractionPreview> {
  const p = await prepare(ctx, actor, input);
  const repo = extractionRepository(ctx.db);
  const rows = await repo.count(p.ds.view.id, p.criteria, p.suppress);
  const suppressed = p.suppress ? (await repo.count(p.ds.view.id, p.criteria, false)) - rows : 0;
  const fields = input.fields.map((n) => p.ds.fieldByName.get(n)!);
  // The preview is a masked read of a few records: read and audited in one transaction.
  const sample = await ctx.db.transaction().execute(async (tx) => {
    const batch = await extractionRepository(tx).batch(p.ds.view.id, p.criteria, p.suppress, null, PREVIEW_ROWS);
    await appendAudit(tx, ctx.clock, actor, {
      action: 'extraction.request', decision: 'allow', rule: p.decision.rule, reason: 'Extraction preview (masked)', result: 'ok',
      datasetId: p.ds.view.id, recordIds: batch.map((r) => r.id), fields: input.fields, purpose: input.purpose, grantIds: p.decision.grantIds, details: { preview: true, rows, suppressed },
    });
    return batch.map((r) => {
      const values = { ...(JSON.parse(r.public) as Record<string, string>), ...decodePersonal(p.ds.keys, p.ds.view.id, r.id, r.sealed, r.key_id) };
      const out: Record<string, string> = {};
      for (const f of fields) {
        const v = values[f.name] ?? '';
        out[f.name] = isPersonalLevel(f.classification) ? maskValue(f, v) : v;
      }
      return out;
    });
  });
  return { rows, suppressed, sample };
}

/** Files the extraction and its approval request in one transaction. */
export async function requestExtraction(ctx: AppContext, actor: Actor, input: ExtractionInput): Promise<ExtractionView> {
  const p = await prepare(ctx, actor, input);
  await authorizeFiling(ctx, actor, 'extraction');
  const repo = extractionRepository(ctx.db);
  const rows = await repo.count(p.ds.view.id, p.criteria, p.suppress);
  if (rows === 0) throw invalid('The filter selects no rows.', 'criteria');
  const suppressed = p.suppress ? (await repo.count(p.ds.view.id, p.criteria, false)) - rows : 0;
  const id = newId<'ExtractionId'>();
  const now = ctx.clock.now();
  const sensitive = input.fields.filter((n) => {
    const c = p.ds.fieldByName.get(n)!.classification;
    return c === 'confidential' || c === 'special_care';
  });
  const r = p.recipient;
  await ctx.db.transaction().execute(async (tx) => {
    await extractionRepository(tx).insert({
      id, dataset_id: p.ds.view.id, requester_id: actor.userId!, approval_request_id: null, state: 'pending_approval', purpose: input.purpose,
      fields: input.fields, format: input.format, filter: JSON.stringify(p.criteria), recipient_kind: r.kind,
      recipient_name: r.kind === 'third_party' ? r.name : null, recipient_address: r.kind === 'third_party' ? r.address : null,
      recipient_representative: r.kind === 'third_party' ? r.representative : null, rows_total: rows, suppressed, master_key_id: null, wrapped_key: null,
      file_name: null, file_bytes: null, sha256: null, created_at: now, started_at: null, completed_at: null, download_until: null, downloaded_at: null, error: null,
    });
    const request = await fileRequest(ctx, tx, actor, {
      kind: 'extraction',
      summary: `${p.ds.view.labelJa}: ${rows}件 / ${r.kind === 'third_party' ? `第三者提供 ${r.name}` : '社内利用'}`.slice(0, 300),
      subjectRef: id,
      scope: {
        dataset: p.ds.view.name,
        filter: p.criteria.length === 0 ? ['(all)'] : p.criteria.map((c) => `${c.field} ${c.op === 'exact' ? '=' : 'starts with'} ${c.shown}`.slice(0, 200)),
        fields: input.fields,
        sensitiveFields: sensitive,
        rowCount: rows,
        suppressedOptOuts: suppressed,
        purpose: input.purpose,
        format: input.format,
        recipient: r.kind === 'third_party' ? r.name : 'internal',
        ...(r.kind === 'third_party' ? { recipientAddress: r.address, recipientRepresentative: r.representative } : {}),
      },
    });
    await tx.updateTable('extractions').set({ approval_request_id: request.id }).where('id', '=', id).execute();
    await appendAudit(tx, ctx.clock, actor, {
      action: 'extraction.request', decision: 'allow', rule: p.decision.rule, reason: p.decision.reason.en, result: 'ok', datasetId: p.ds.view.id,
      fields: input.fields, purpose: input.purpose, grantIds: p.decision.grantIds,
      details: { extractionId: id, requestId: request.id, rows, suppressed, format: input.format, recipient: r.kind },
    });
  });
  return getExtraction(ctx, actor, id, { skipAuth: true });
}

export async function viewsOf(ctx: AppContext, rows: readonly ExtractionRow[]): Promise<ExtractionView[]> {
  const repo = extractionRepository(ctx.db);
  const approvals = await repo.approverIds(rows.flatMap((r) => (r.approval_request_id ? [r.approval_request_id] : [])));
  const people = await repo.people([...rows.map((r) => r.requester_id), ...approvals.map((a) => a.approver_id)]);
  const names = await repo.datasetNames(rows.map((r) => r.dataset_id));
  const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);
  return rows.map((r) => ({
    id: r.id,
    dataset: names.get(r.dataset_id) ?? '',
    requester: people.get(r.requester_id)!,
    approvers: approvals.filter((a) => a.request_id === r.approval_request_id).map((a) => people.get(a.approver_id)!),
    approvalRequestId: r.approval_request_id,
    state: r.state,
    purpose: r.purpose,
    fields: r.fields,
    format: r.format,
    filter: (r.filter as StoredCriterion[]).map((c) => ({ field: c.field, op: c.op, shown: c.shown })),
    recipient: r.recipient_kind === 'third_party'
      ? { kind: 'third_party', name: r.recipient_name!, address: r.recipient_address!, representative: r.recipient_representative! }
      : { kind: 'internal' },
    rowsTotal: r.rows_total,
    rowsDone: r.rows_done,
    suppressed: r.suppressed,
    createdAt: new Date(r.created_at).toISOString(),
    completedAt: iso(r.completed_at),
    downloadUntil: iso(r.download_until),
    downloadedAt: iso(r.downloaded_at),
    attempt: r.attempt,
    error: r.error,
  }));
}

export async function getExtraction(ctx: AppContext, actor: Actor, id: string, opts: { skipAuth?: boolean } = {}): Promise<ExtractionView> {
  const row = isUuid(id) ? await extractionRepository(ctx.db).get(id) : undefined;
  if (!opts.skipAuth) await authorize(ctx, { actor, action: 'extraction.read', extractionRequesterId: row?.requester_id ?? '' }, { details: { extractionId: id.slice(0, 64) } });
  if (!row) throw new AppError('not_found', 'No such extraction.');
  return (await viewsOf(ctx, [row]))[0]!;
}

export async function myExtractions(ctx: AppContext, actor: Actor): Promise<ExtractionView[]> {
  await authorize(ctx, { actor, action: 'extraction.read' });
  if (!actor.userId) return [];
  return viewsOf(ctx, await extractionRepository(ctx.db).byRequester(actor.userId, 200));
}
