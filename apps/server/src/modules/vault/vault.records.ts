/**
 * Records: audited, policy-checked, masked reads and searches; explicit unmasking of one field;
 * writes. Every path goes through `authorize` and leaves exactly one audit event in the same
 * statement or transaction as its effect.
 */
import type { AppContext } from '../../platform/context.ts';
import { AppError } from '../../platform/errors.ts';
import { isUuid, newId } from '../../platform/ids.ts';
import { invalidateActors, type Actor } from '../identity/index.ts';
import { authorize, type Decision } from '../access-policy/index.ts';
import { appendAudit, auditColumns, buildAuditPayload, type AuditEventInput } from '../audit/index.ts';
import { maskValue, validateValue } from './vault.codec.ts';
import { lockTermWriters } from './vault.bulk.repository.ts';
import { loadDataset, type LoadedDataset } from './vault.datasets.ts';
import { vaultRepository, type RecordRow } from './vault.repository.ts';
import { AuditedReadBatcher, type AuditedRead, type ReadBatchStats } from './vault.read-batch.ts';
import type { RecordView, SearchCriterion } from './vault.types.ts';

export const MAX_PAGE_SIZE = 100;

/** Statements of batched audited reads running at once on PostgreSQL (ADR 0004); PGlite has one connection. */
const READ_STATEMENTS_IN_FLIGHT = 4;
const batchers = new WeakMap<AppContext, AuditedReadBatcher>();

/** Reads one record, re-checks the credential and appends the audit event, atomically (ADR 0001, 0004). */
function readAudited(ctx: AppContext, actor: Actor, datasetId: string, recordId: string, event: AuditEventInput): Promise<AuditedRead> {
  let b = batchers.get(ctx);
  if (!b) batchers.set(ctx, (b = new AuditedReadBatcher(ctx.database, ctx.database.engine === 'pglite' ? 1 : READ_STATEMENTS_IN_FLIGHT)));
  const at = ctx.clock.now();
  return b.read(datasetId, recordId, buildAuditPayload(actor, at, event, { result: true }), actor.credential, auditColumns(actor, at, event));
}

/**
 * Sets how many batched read statements may run at once for this context (before its first read;
 * the gate bench measures the choice with BENCH_READ_STATEMENTS). The default: READ_STATEMENTS_IN_FLIGHT.
 */
export function configureReadBatching(ctx: AppContext, opts: { maxInFlight: number }): void {
  if (!Number.isInteger(opts.maxInFlight) || opts.maxInFlight < 1) throw new Error('maxInFlight must be a positive integer');
  batchers.set(ctx, new AuditedReadBatcher(ctx.database, ctx.database.engine === 'pglite' ? 1 : opts.maxInFlight));
}

/** How many batched read statements this context sent and how many reads they carried (null: none yet). */
export function readBatchStats(ctx: AppContext): ReadBatchStats | null {
  return batchers.get(ctx)?.stats() ?? null;
}

/** The credential was revoked after this process cached it (e.g. by another node): drop it and refuse. */
function revoked(ctx: AppContext): AppError {
  invalidateActors(ctx);
  return new AppError('auth.session_revoked', 'This session or token has been revoked.');
}

function shape(ds: LoadedDataset, decision: Decision, row: RecordRow): RecordView {
  let needsPersonal = false;
  for (const how of decision.visible.values()) if (how === 'masked') needsPersonal = true;
  const personal = needsPersonal ? ds.codec.decodePersonal(row.id, row.sealed, row.key_id) : {};
  const values: Record<string, string> = {};
  const masked: string[] = [];
  for (const [name, how] of decision.visible) {
    const field = ds.fieldByName.get(name)!;
    const v = how === 'masked' ? personal[name] : row.public[name];
    if (v === undefined) continue;
    if (how === 'masked') {
      values[name] = maskValue(field, v);
      masked.push(name);
    } else values[name] = v;
  }
  return { id: row.id, version: row.version, updatedAt: (row.updated_at instanceof Date ? row.updated_at : new Date(row.updated_at)).toISOString(), values, masked };
}

export type SearchInput = { purpose: string; criteria: SearchCriterion[]; after?: string | null; limit?: number };
export type SearchResult = { records: RecordView[]; next: string | null };

export async function searchRecords(ctx: AppContext, actor: Actor, datasetName: string, input: SearchInput): Promise<SearchResult> {
  const ds = await loadDataset(ctx, datasetName);
  const limit = Math.min(Math.max(input.limit ?? 50, 1), MAX_PAGE_SIZE);
  const searchedFields = input.criteria.map((c) => c.field);
  const decision = await authorize(ctx, { actor, action: 'record.search', dataset: ds.policy, purpose: input.purpose }, { fields: searchedFields });
  const criteria = input.criteria.map((c) => {
    const field = ds.fieldByName.get(c.field);
    // Searching by a field you may not see would be an oracle on its values.
    if (!field || !decision.visible.has(c.field)) throw new AppError('request.invalid', 'You cannot search by this field.', { field: c.field });
    const term = ds.codec.termFor(field.name, c.op, c.value);
    if (!term) throw new AppError('request.invalid', `This field does not support ${c.op} search.`, { field: c.field });
    return { fieldId: term.field, op: c.op, term: term.term };
  });
  if (input.after && !isUuid(input.after)) throw new AppError('request.invalid', 'Bad cursor.', { field: 'after' });
  const at = ctx.clock.now();
  const event: AuditEventInput = {
    action: 'record.search', decision: 'allow', rule: decision.rule, reason: decision.reason.en, result: 'ok',
    datasetId: ds.view.id, fields: [...decision.visible.keys()], purpose: input.purpose, grantIds: decision.grantIds,
    details: { criteria: input.criteria.map((c) => ({ field: c.field, op: c.op })) },
  };
  const template = buildAuditPayload(actor, at, event, { records: true, result: true });
  const { live, rows, hasMore } = await vaultRepository(ctx.db).searchAudited(ds.view.id, criteria, input.after ?? null, limit, template, auditColumns(actor, at, event), actor.credential);
  if (!live) throw revoked(ctx);
  const records = rows.map((r) => shape(ds, decision, r));
  return { records, next: hasMore ? (records.at(-1)?.id ?? null) : null };
}

export async function readRecord(ctx: AppContext, actor: Actor, datasetName: string, recordId: string, purpose: string): Promise<RecordView> {
  const ds = await loadDataset(ctx, datasetName);
  const decision = await authorize(ctx, { actor, action: 'record.read', dataset: ds.policy, purpose }, { recordIds: isUuid(recordId) ? [recordId] : [] });
  if (!isUuid(recordId)) throw new AppError('not_found', 'No such record.');
  const { live, row } = await readAudited(ctx, actor, ds.view.id, recordId, {
    action: 'record.read', decision: 'allow', rule: decision.rule, reason: decision.reason.en, result: 'ok',
    datasetId: ds.view.id, recordIds: [recordId], fields: [...decision.visible.keys()], purpose, grantIds: decision.grantIds,
  });
  if (!live) throw revoked(ctx);
  if (!row) throw new AppError('not_found', 'No such record.');
  return shape(ds, decision, row);
}

export async function unmaskField(ctx: AppContext, actor: Actor, datasetName: string, recordId: string, field: string, purpose: string): Promise<{ field: string; value: string | null }> {
  const ds = await loadDataset(ctx, datasetName);
  const ids = isUuid(recordId) ? [recordId] : [];
  const decision = await authorize(ctx, { actor, action: 'record.unmask', dataset: ds.policy, purpose, fields: [field] }, { recordIds: ids });
  if (!isUuid(recordId)) throw new AppError('not_found', 'No such record.');
  const { live, row } = await readAudited(ctx, actor, ds.view.id, recordId, {
    action: 'record.unmask', decision: 'allow', rule: decision.rule, reason: decision.reason.en, result: 'ok',
    datasetId: ds.view.id, recordIds: [recordId], fields: [field], purpose, grantIds: decision.grantIds,
  });
  if (!live) throw revoked(ctx);
  if (!row) throw new AppError('not_found', 'No such record.');
  const personal = ds.codec.decodePersonal(row.id, row.sealed, row.key_id);
  return { field, value: personal[field] ?? null };
}

/** Validates values against the dataset: unknown fields and bad values are named, never echoed. */
export function checkValues(ds: LoadedDataset, values: Record<string, string>): { field: string; problem: string }[] {
  const problems: { field: string; problem: string }[] = [];
  for (const [name, v] of Object.entries(values)) {
    const f = ds.fieldByName.get(name);
    if (!f) problems.push({ field: name, problem: 'unknown field' });
    else if (typeof v !== 'string') problems.push({ field: name, problem: 'not a string' });
    else if (v !== '') {
      const p = validateValue(f, v);
      if (p) problems.push({ field: name, problem: p });
    }
  }
  return problems;
}

export async function createRecord(ctx: AppContext, actor: Actor, datasetName: string, values: Record<string, string>): Promise<{ id: string }> {
  const ds = await loadDataset(ctx, datasetName);
  const fields = Object.keys(values);
  const decision = await authorize(ctx, { actor, action: 'record.create', dataset: ds.policy, fields });
  const problems = checkValues(ds, values);
  if (problems.length > 0) throw new AppError('record.invalid', 'Some values are not valid.', { problems });
  const id = newId<'RecordId'>();
  const enc = ds.codec.encode(id, values);
  await ctx.db.transaction().execute(async (tx) => {
    await lockTermWriters(tx, ds.termBlock);
    await vaultRepository(tx).insertRecords(ds.view.id, [{ id, ...enc }], ctx.clock.now());
    await appendAudit(tx, ctx.clock, actor, {
      action: 'record.create', decision: 'allow', rule: decision.rule, reason: decision.reason.en, result: 'ok',
      datasetId: ds.view.id, recordIds: [id], fields, grantIds: decision.grantIds,
    });
  });
  return { id };
}

export async function updateRecord(ctx: AppContext, actor: Actor, datasetName: string, recordId: string, values: Record<string, string>, expectedVersion?: number): Promise<{ id: string; version: number }> {
  const ds = await loadDataset(ctx, datasetName);
  const fields = Object.keys(values);
  const decision = await authorize(ctx, { actor, action: 'record.update', dataset: ds.policy, fields }, { recordIds: isUuid(recordId) ? [recordId] : [] });
  if (!isUuid(recordId)) throw new AppError('not_found', 'No such record.');
  const problems = checkValues(ds, values);
  if (problems.length > 0) throw new AppError('record.invalid', 'Some values are not valid.', { problems });
  return ctx.db.transaction().execute(async (tx) => {
    await lockTermWriters(tx, ds.termBlock);
    const repo = vaultRepository(tx);
    const row = await repo.recordForUpdate(ds.view.id, recordId);
    if (!row) throw new AppError('not_found', 'No such record.');
    if (expectedVersion !== undefined && expectedVersion !== row.version) throw new AppError('conflict', 'The record was changed meanwhile; reload and try again.');
    // Merge: fields not named keep their value; an empty string clears a field.
    const current = { ...row.public, ...ds.codec.decodePersonal(row.id, row.sealed, row.key_id) };
    const merged = { ...current, ...values };
    const enc = ds.codec.encode(recordId, merged);
    await repo.updateRecord(ds.view.id, { id: recordId, ...enc }, ds.codec.termsOf(current), row.version, ctx.clock.now());
    await appendAudit(tx, ctx.clock, actor, {
      action: 'record.update', decision: 'allow', rule: decision.rule, reason: decision.reason.en, result: 'ok',
      datasetId: ds.view.id, recordIds: [recordId], fields, grantIds: decision.grantIds,
    });
    return { id: recordId, version: row.version + 1 };
  });
}

export async function deleteRecord(ctx: AppContext, actor: Actor, datasetName: string, recordId: string): Promise<void> {
  const ds = await loadDataset(ctx, datasetName);
  // Deleting a record touches every field of it: the write grant must cover them all, and a dispatch
  // worker cannot delete records of a dataset that holds personal data.
  const fields = ds.view.fields.map((f) => f.name);
  const decision = await authorize(ctx, { actor, action: 'record.delete', dataset: ds.policy, fields }, { recordIds: isUuid(recordId) ? [recordId] : [] });
  if (!isUuid(recordId)) throw new AppError('not_found', 'No such record.');
  await ctx.db.transaction().execute(async (tx) => {
    await lockTermWriters(tx, ds.termBlock);
    const repo = vaultRepository(tx);
    const row = await repo.recordForUpdate(ds.view.id, recordId);
    if (!row) throw new AppError('not_found', 'No such record.');
    // Its search terms are found by value (see the repository): recompute them from the stored values.
    const terms = ds.codec.termsOf({ ...row.public, ...ds.codec.decodePersonal(row.id, row.sealed, row.key_id) });
    if (!(await repo.deleteRecord(ds.view.id, recordId, terms))) throw new AppError('not_found', 'No such record.');
    await appendAudit(tx, ctx.clock, actor, {
      action: 'record.delete', decision: 'allow', rule: decision.rule, reason: decision.reason.en, result: 'ok',
      datasetId: ds.view.id, recordIds: [recordId], grantIds: decision.grantIds,
    });
  });
}
