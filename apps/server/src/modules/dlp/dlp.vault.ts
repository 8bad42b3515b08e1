/**
 * Exact data match against the vault through its blind indexes. The matcher holds, per searchable
 * personal-level field (classification personal, confidential or special_care; search 'exact'),
 * the field's HMAC key (derived from the dataset's index key, unwrapped with the master keyring)
 * and its database-wide term id (dataset_fields.term_field). For each candidate it normalises the
 * value as the vault does for that field kind (vault.normalize.ts), computes the 16-byte blind
 * index and looks it up in record_terms — one statement per batch of 2,000 (field, term) pairs.
 * It never reads a record, never decrypts, never holds plaintext of the vault: it only learns
 * "this value of the scanned document is in field X".
 *
 * Fields and keys are loaded on first use and reloaded after `refreshMs` (new datasets, key
 * rotation).
 */
import { isPersonalLevel, type Classification, type FieldKind } from '@mamori/contracts';
import { sql, type Kysely } from 'kysely';
import { BlindIndexer } from '../../platform/crypto/blind-index.ts';
import type { MasterKeyring } from '../../platform/crypto/keyring.ts';
import type { DB } from '../../platform/db/schema.ts';
import { searchKindOf } from '../vault/vault.codec.ts';
import { DatasetKeys, type KeyRow } from '../vault/vault.keys.ts';
import { normalizeForIndex, type SearchKind } from '../vault/vault.normalize.ts';
import type { VaultCandidate, VaultCandidateKind, VaultMatcher } from './dlp.types.ts';

type MatchField = { label: string; termField: number; kind: SearchKind; indexer: BlindIndexer };

const BATCH = 2000;

/** Whether a normalised value is worth a lookup for this field kind (too short values match by accident). */
function plausible(kind: SearchKind, v: string): boolean {
  switch (kind) {
    case 'email':
      return v.length >= 6 && v.includes('@') && v.includes('.');
    case 'phone':
      return /^0\d{9,10}$/.test(v);
    case 'postal_code':
      return v.length === 7;
    case 'number':
      return v.length >= 6;
    case 'name':
    case 'kana':
      return v.length >= 2 && v.length <= 40;
    case 'text':
      return v.length >= 6 && v.length <= 200;
  }
}

function relevant(c: VaultCandidateKind, f: SearchKind): boolean {
  if (c === 'any') return true;
  return c === f;
}

export type VaultMatcherOptions = { refreshMs?: number; now?: () => number };

export function createVaultMatcher(db: Kysely<DB>, keyring: MasterKeyring, opts: VaultMatcherOptions = {}): VaultMatcher & { fields(): Promise<string[]> } {
  const refreshMs = opts.refreshMs ?? 60_000;
  const now = opts.now ?? Date.now;
  let loaded: { at: number; fields: MatchField[] } | null = null;
  let loading: Promise<MatchField[]> | null = null;

  async function load(): Promise<MatchField[]> {
    const rows = await db
      .selectFrom('dataset_fields as f')
      .innerJoin('datasets as d', 'd.id', 'f.dataset_id')
      .select(['d.id as dataset_id', 'd.name as dataset', 'f.name', 'f.kind', 'f.classification', 'f.search', 'f.term_field'])
      .where('f.search', '=', 'exact')
      .orderBy('d.name')
      .orderBy('f.position')
      .execute();
    const personal = rows.filter((r) => isPersonalLevel(r.classification as Classification));
    const keys = new Map<string, DatasetKeys>();
    const fields: MatchField[] = [];
    for (const r of personal) {
      let k = keys.get(r.dataset_id);
      if (!k) {
        const keyRows = (await db.selectFrom('dataset_keys').select(['key_id', 'purpose', 'master_key_id', 'wrapped', 'active']).where('dataset_id', '=', r.dataset_id).execute()) as KeyRow[];
        k = DatasetKeys.fromRows(keyring, r.dataset_id, keyRows);
        keys.set(r.dataset_id, k);
      }
      fields.push({ label: `${r.dataset}.${r.name}`, termField: r.term_field, kind: searchKindOf(r.kind as FieldKind), indexer: new BlindIndexer(k.fieldKey(r.name)) });
    }
    return fields;
  }

  async function current(): Promise<MatchField[]> {
    if (loaded && now() - loaded.at < refreshMs) return loaded.fields;
    loading ??= load().finally(() => {
      loading = null;
    });
    const fields = await loading;
    loaded = { at: now(), fields };
    return fields;
  }

  return {
    async fields() {
      return (await current()).map((f) => f.label);
    },
    async match(candidates: readonly VaultCandidate[]) {
      const out: (string | null)[] = candidates.map(() => null);
      const fields = await current();
      if (fields.length === 0 || candidates.length === 0) return out;
      // (field, term) pairs, each with the candidates it stands for.
      const pairs = new Map<string, { field: MatchField; term: Buffer; who: number[] }>();
      candidates.forEach((c, i) => {
        const normalised = new Map<SearchKind, string>();
        for (const f of fields) {
          if (!relevant(c.kind, f.kind)) continue;
          let v = normalised.get(f.kind);
          if (v === undefined) normalised.set(f.kind, (v = normalizeForIndex(f.kind, c.value)));
          if (!plausible(f.kind, v)) continue;
          const term = f.indexer.token(v);
          const key = `${f.termField}:${term.toString('base64')}`;
          const p = pairs.get(key);
          if (p) p.who.push(i);
          else pairs.set(key, { field: f, term, who: [i] });
        }
      });
      const list = [...pairs.values()];
      for (let b = 0; b < list.length; b += BATCH) {
        const batch = list.slice(b, b + BATCH);
        const found = await sql<{ f: number; t: Buffer }>`
          SELECT u.f, u.t
          FROM unnest(${batch.map((p) => p.field.termField)}::int[], ${batch.map((p) => p.term)}::bytea[]) AS u(f, t)
          WHERE EXISTS (SELECT 1 FROM record_terms rt WHERE rt.term = record_term(u.f, u.t))`.execute(db);
        for (const r of found.rows) {
          const p = pairs.get(`${r.f}:${Buffer.from(r.t).toString('base64')}`);
          if (!p) continue;
          for (const i of p.who) out[i] ??= p.field.label;
        }
      }
      return out;
    },
  };
}
