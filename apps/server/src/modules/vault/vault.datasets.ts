/**
 * Datasets: their fields and classifications, their keys, and an in-process cache of both (datasets
 * change rarely; every record operation needs them).
 */
import { CLASSIFICATIONS, FIELD_KINDS, SEARCH_MODES, isPersonalLevel, type Classification, type FieldKind, type SearchMode } from '@mamori/contracts';
import { generateDataKey, unwrapDataKey, wrapDataKey } from '../../platform/crypto/envelope.ts';
import type { AppContext } from '../../platform/context.ts';
import { AppError } from '../../platform/errors.ts';
import { newId } from '../../platform/ids.ts';
import type { Actor } from '../identity/index.ts';
import { authorize, type DatasetPolicyView } from '../access-policy/index.ts';
import { appendAudit } from '../audit/index.ts';
import { RecordCodec } from './vault.codec.ts';
import { DatasetKeys, keyAad } from './vault.keys.ts';
import { vaultRepository } from './vault.repository.ts';
import type { DatasetField, DatasetView } from './vault.types.ts';

export type LoadedDataset = {
  view: DatasetView;
  /** The dataset's block of field ids, which names its partition of record_terms (datasets.term_block, migration 0022). */
  termBlock: number;
  keys: DatasetKeys;
  /** The fields compiled for encoding, decoding and search terms. */
  codec: RecordCodec;
  policy: DatasetPolicyView;
  fieldByName: ReadonlyMap<string, DatasetField>;
};

const caches = new WeakMap<AppContext, Map<string, LoadedDataset>>();

function cacheOf(ctx: AppContext): Map<string, LoadedDataset> {
  let c = caches.get(ctx);
  if (!c) caches.set(ctx, (c = new Map()));
  return c;
}

export function forgetDataset(ctx: AppContext, name: string): void {
  cacheOf(ctx).delete(name);
}

type DatasetRow = NonNullable<Awaited<ReturnType<ReturnType<typeof vaultRepository>['datasetById']>>>;
type FieldRow = Awaited<ReturnType<ReturnType<typeof vaultRepository>['fieldsOf']>>[number];

function toView(d: DatasetRow, fields: FieldRow[]): DatasetView {
  return {
    id: d.id,
    name: d.name,
    labelJa: d.label_ja,
    labelEn: d.label_en,
    description: d.description,
    ownerUserId: d.owner_user_id,
    departmentId: d.department_id,
    purposes: d.purposes,
    source: d.source,
    storageLocation: d.storage_location,
    vdiOnly: d.vdi_only,
    createdAt: new Date(d.created_at).toISOString(),
    version: d.version,
    fields: fields.map((f) => ({
      name: f.name, position: f.position, labelJa: f.label_ja, labelEn: f.label_en,
      classification: f.classification as Classification, kind: f.kind as FieldKind, search: f.search as SearchMode,
    })),
  };
}

/** Loads a dataset by name (cached). Unknown names are `not_found`. */
export async function loadDataset(ctx: AppContext, name: string): Promise<LoadedDataset> {
  const cache = cacheOf(ctx);
  const hit = cache.get(name);
  if (hit) return hit;
  const repo = vaultRepository(ctx.db);
  const d = await repo.datasetByName(name);
  if (!d) throw new AppError('not_found', 'No such dataset.');
  const fieldRows = await repo.fieldsOf(d.id);
  const view = toView(d, fieldRows);
  const keys = DatasetKeys.fromRows(ctx.keyring, d.id, await repo.keysOf(d.id));
  const loaded: LoadedDataset = {
    view,
    termBlock: d.term_block,
    keys,
    codec: new RecordCodec(view, keys, new Map(fieldRows.map((f) => [f.name, f.term_field]))),
    policy: { id: view.id, ownerUserId: view.ownerUserId, purposes: view.purposes, fields: view.fields.map((f) => ({ name: f.name, classification: f.classification })) },
    fieldByName: new Map(view.fields.map((f) => [f.name, f])),
  };
  cache.set(name, loaded);
  return loaded;
}

/** The most fields a dataset has (the route's limit too). */
export const MAX_FIELDS = 200;

export type CreateDatasetInput = {
  name: string;
  labelJa: string;
  labelEn: string;
  description?: string;
  ownerUserId: string;
  departmentId?: string | null;
  purposes: string[];
  source?: string;
  storageLocation?: string;
  vdiOnly?: boolean;
  fields: Omit<DatasetField, 'position'>[];
};

export async function createDataset(ctx: AppContext, actor: Actor, input: CreateDatasetInput): Promise<DatasetView> {
  await authorize(ctx, { actor, action: 'dataset.create' });
  // A dataset's fields are numbered within its block of 256 field ids (migration 0022).
  if (input.fields.length === 0 || input.fields.length > MAX_FIELDS) throw new AppError('request.invalid', `A dataset has 1 to ${MAX_FIELDS} fields.`, { field: 'fields' });
  const names = new Set<string>();
  for (const f of input.fields) {
    if (!/^[a-z][a-z0-9_]{0,62}$/.test(f.name)) throw new AppError('dataset.invalid_field', 'Field names are lower-case letters, digits and _.', { field: f.name });
    if (names.has(f.name)) throw new AppError('dataset.invalid_field', 'Duplicate field name.', { field: f.name });
    names.add(f.name);
    if (!CLASSIFICATIONS.includes(f.classification) || !FIELD_KINDS.includes(f.kind) || !SEARCH_MODES.includes(f.search)) {
      throw new AppError('dataset.invalid_field', 'Unknown classification, kind or search mode.', { field: f.name });
    }
    if (f.search === 'prefix' && isPersonalLevel(f.classification)) {
      throw new AppError('dataset.invalid_field', 'Personal fields can only be searched exactly (blind index), not by prefix.', { field: f.name });
    }
  }
  if (input.purposes.length === 0) throw new AppError('request.invalid', 'A dataset needs at least one purpose of use.', { field: 'purposes' });
  const repo = vaultRepository(ctx.db);
  if (await repo.datasetByName(input.name)) throw new AppError('dataset.exists', 'A dataset with this name exists.');
  const owner = await ctx.db.selectFrom('users').select(['id', 'status']).where('id', '=', input.ownerUserId).executeTakeFirst();
  if (!owner || owner.status !== 'active') throw new AppError('request.invalid', 'The owner must be an active user.', { field: 'ownerUserId' });
  const id = newId<'DatasetId'>();
  const now = ctx.clock.now();
  await ctx.db.transaction().execute(async (tx) => {
    await tx.insertInto('datasets').values({
      id, name: input.name, label_ja: input.labelJa, label_en: input.labelEn, description: input.description ?? '',
      owner_user_id: input.ownerUserId, department_id: input.departmentId ?? null, purposes: input.purposes,
      source: input.source ?? '', storage_location: input.storageLocation ?? 'JP', vdi_only: input.vdiOnly ?? false,
      created_at: now, updated_at: now,
    }).execute();
    await vaultRepository(tx).insertFields(id, input.fields.map((f, i) => ({ ...f, position: i })));
    for (const purpose of ['data', 'index'] as const) {
      const keyId = `${purpose === 'data' ? 'dk' : 'ik'}_${newId<'Key'>().replace(/-/g, '').slice(0, 16)}`;
      const w = wrapDataKey(ctx.keyring, generateDataKey(), keyAad(id, purpose, keyId));
      await tx.insertInto('dataset_keys').values({ dataset_id: id, key_id: keyId, purpose, master_key_id: w.masterKeyId, wrapped: w.wrapped, active: true, created_at: now }).execute();
    }
    await appendAudit(tx, ctx.clock, actor, {
      action: 'dataset.create', decision: 'allow', rule: 'role.allowed', reason: 'Dataset created', result: 'ok', datasetId: id,
      fields: input.fields.map((f) => f.name), details: { purposes: input.purposes },
    });
  });
  return (await loadDataset(ctx, input.name)).view;
}

export async function listDatasets(ctx: AppContext, actor: Actor): Promise<DatasetView[]> {
  await authorize(ctx, { actor, action: 'dataset.read' });
  const repo = vaultRepository(ctx.db);
  const rows = await repo.listDatasets();
  return Promise.all(rows.map(async (d) => toView(d, await repo.fieldsOf(d.id))));
}

export async function getDataset(ctx: AppContext, actor: Actor, name: string): Promise<DatasetView> {
  await authorize(ctx, { actor, action: 'dataset.read' });
  return (await loadDataset(ctx, name)).view;
}

/**
 * Re-wraps every dataset key under the keyring's active master key (after `mamori keys rotate` added
 * a new master key). Old master keys can then be retired from the keyring.
 */
export async function rewrapAllDatasetKeys(ctx: AppContext, actor: Actor): Promise<{ rewrapped: number }> {
  await authorize(ctx, { actor, action: 'dataset.key.rotate' });
  let rewrapped = 0;
  await ctx.db.transaction().execute(async (tx) => {
    const rows = await tx.selectFrom('dataset_keys').selectAll().forUpdate().execute();
    for (const r of rows) {
      if (r.master_key_id === ctx.keyring.activeId) continue;
      const aad = keyAad(r.dataset_id, r.purpose, r.key_id);
      const w = wrapDataKey(ctx.keyring, unwrapDataKey(ctx.keyring, r.master_key_id, r.wrapped, aad), aad);
      await tx.updateTable('dataset_keys').set({ master_key_id: w.masterKeyId, wrapped: w.wrapped }).where('dataset_id', '=', r.dataset_id).where('key_id', '=', r.key_id).execute();
      rewrapped++;
    }
    await appendAudit(tx, ctx.clock, actor, { action: 'dataset.key.rotate', decision: 'allow', rule: 'role.allowed', reason: 'Dataset keys re-wrapped under the active master key', result: 'ok', details: { rewrapped, masterKeyId: ctx.keyring.activeId } });
  });
  cacheOf(ctx).clear();
  return { rewrapped };
}

/** The search term (blind index or normalised value) of `value` in `field`, or null when the field cannot be searched that way. */
export function termOf(ds: LoadedDataset, field: { name: string }, op: 'exact' | 'prefix', value: string): Buffer | null {
  return ds.codec.termFor(field.name, op, value)?.term ?? null;
}
