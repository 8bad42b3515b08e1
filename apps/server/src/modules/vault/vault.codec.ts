/**
 * Turning a record's values into what is stored — public JSON, one sealed blob for every personal-level
 * field, and search terms — and back. Pure, apart from the random IV of the seal.
 */
import { isPersonalLevel, type FieldKind } from '@mamori/contracts';
import { BlindIndexer } from '../../platform/crypto/blind-index.ts';
import { open, seal } from '../../platform/crypto/envelope.ts';
import { mask, type MaskKind } from './vault.masking.ts';
import { normalizeForIndex, normalizePrefix, normalizeTrimmedForIndex, type SearchKind } from './vault.normalize.ts';
import type { DatasetKeys } from './vault.keys.ts';
import type { DatasetField, DatasetView } from './vault.types.ts';

export const MAX_VALUE_LENGTH = 1000;

export function searchKindOf(kind: FieldKind): SearchKind {
  switch (kind) {
    case 'address':
    case 'date':
      return 'text';
    default:
      return kind;
  }
}

export function maskKindOf(kind: FieldKind): MaskKind {
  return kind;
}

/** Why a value is not acceptable for its field; null when it is. Never echoes the value. */
export function validateValue(field: DatasetField, raw: string): string | null {
  return rawProblem(raw) ?? trimmedProblem(field.kind, raw.normalize('NFKC').trim());
}

/** The checks on the value as given: length in code points, control characters. */
function rawProblem(raw: string): string | null {
  // Code points never outnumber UTF-16 units: count them only when the string could be too long.
  if (raw.length > MAX_VALUE_LENGTH && [...raw].length > MAX_VALUE_LENGTH) return `too long (max ${MAX_VALUE_LENGTH} characters)`;
  // eslint-disable-next-line no-control-regex -- rejecting control characters is the point of this check
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(raw)) return 'contains control characters';
  return null;
}

/** The checks of the field's kind, on `raw.normalize('NFKC').trim()` (which is in NFKC: normalizeTrimmedForIndex takes it as it is). */
function trimmedProblem(kind: FieldKind, v: string): string | null {
  switch (kind) {
    case 'email':
      return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v) ? null : 'not an e-mail address';
    case 'phone': {
      const d = normalizeTrimmedForIndex('phone', v);
      return /^0\d{9,10}$/.test(d) ? null : 'not a Japanese phone number (10 or 11 digits starting with 0)';
    }
    case 'postal_code':
      return /^\d{7}$/.test(normalizeTrimmedForIndex('postal_code', v)) ? null : 'not a postal code (7 digits)';
    case 'number':
      return /^[\d\s-]+$/.test(v) ? null : 'not a number';
    case 'date':
      return /^\d{4}-\d{2}-\d{2}$/.test(v) ? null : 'not a date (YYYY-MM-DD)';
    default:
      return null;
  }
}

export type FieldProblem = { field: string; problem: string };

/** A search term: `field` is the field's database-wide id (dataset_fields.term_field). */
export type RecordTerm = { field: number; term: Buffer };

export type EncodedRecord = {
  public: string;
  sealed: Buffer | null;
  keyId: string | null;
  terms: RecordTerm[];
};

export function aadFor(datasetId: string, recordId: string): Buffer {
  return Buffer.from(`mamori/record/v1/${datasetId}/${recordId}`, 'utf8');
}

type FieldPlan = {
  name: string;
  kind: FieldKind;
  /** Position in the plan (and in the `trimmed` array of check/encode). */
  index: number;
  personal: boolean;
  /** Which term the field gets: a blind index, normalised UTF-8 bytes (exact or prefix), or none. */
  term: 'blind' | 'exact' | 'prefix' | null;
  searchKind: SearchKind;
  termField: number;
  indexer: BlindIndexer | null;
};

/**
 * A dataset's fields compiled once for encoding (imports encode millions of records with it): which
 * fields are sealed, which get which search term under which field id, and each blind-index key.
 */
export class RecordCodec {
  private readonly plan: FieldPlan[];
  private readonly byName: Map<string, FieldPlan>;

  constructor(
    private readonly view: DatasetView,
    private readonly keys: DatasetKeys,
    termFields: ReadonlyMap<string, number>,
  ) {
    this.plan = view.fields.map((f, index) => {
      const personal = isPersonalLevel(f.classification);
      const termField = termFields.get(f.name);
      if (termField === undefined) throw new Error(`field ${f.name} has no term id`);
      const term = f.search === 'exact' ? (personal ? 'blind' : 'exact') : f.search === 'prefix' && !personal ? 'prefix' : null;
      return { name: f.name, kind: f.kind, index, personal, term, searchKind: searchKindOf(f.kind), termField, indexer: term === 'blind' ? new BlindIndexer(keys.fieldKey(f.name)) : null };
    });
    this.byName = new Map(this.plan.map((p) => [p.name, p]));
  }

  /** Each field's term id, by name: with the view and keys, what builds the same codec elsewhere (an import's worker threads). */
  termFieldEntries(): [string, number][] {
    return this.plan.map((p) => [p.name, p.termField]);
  }

  /** How many fields the plan has (the length of a `trimmed` array). */
  get fieldCount(): number {
    return this.plan.length;
  }

  /**
   * checkValues (vault.records.ts) for bulk imports: the same problems in the same order, and for
   * each value that gets an exact-match term its NFKC-normalised, trimmed form in `trimmed` (by
   * field position), which encode then starts from instead of normalising the value again.
   */
  check(values: Record<string, string>, problems: FieldProblem[], trimmed: (string | undefined)[]): void {
    for (const name of Object.keys(values)) {
      const v = values[name];
      const p = this.byName.get(name);
      if (!p) problems.push({ field: name, problem: 'unknown field' });
      else if (typeof v !== 'string') problems.push({ field: name, problem: 'not a string' });
      else if (v !== '') {
        let problem = rawProblem(v);
        if (problem === null) {
          const t = v.normalize('NFKC').trim();
          trimmed[p.index] = t;
          problem = trimmedProblem(p.kind, t);
        } else trimmed[p.index] = undefined;
        if (problem) problems.push({ field: name, problem });
      }
    }
  }

  private termOf(p: FieldPlan, v: string, trimmed?: string): RecordTerm | null {
    switch (p.term) {
      case 'blind':
        return { field: p.termField, term: p.indexer!.token(this.indexForm(p, v, trimmed)) };
      case 'exact':
        return { field: p.termField, term: Buffer.from(this.indexForm(p, v, trimmed), 'utf8') };
      case 'prefix':
        return { field: p.termField, term: Buffer.from(normalizePrefix(v), 'utf8') };
      default:
        return null;
    }
  }

  private indexForm(p: FieldPlan, v: string, trimmed: string | undefined): string {
    return trimmed === undefined ? normalizeForIndex(p.searchKind, v) : normalizeTrimmedForIndex(p.searchKind, trimmed);
  }

  /** `trimmed`: what check() kept for these values (bulk imports); without it values are normalised here. */
  encode(recordId: string, values: Record<string, string>, trimmed?: readonly (string | undefined)[]): EncodedRecord {
    const pub: Record<string, string> = {};
    const personal: Record<string, string> = {};
    let hasPersonal = false;
    const terms: RecordTerm[] = [];
    for (const p of this.plan) {
      const v = values[p.name];
      if (v === undefined || v === '') continue;
      if (p.personal) {
        personal[p.name] = v;
        hasPersonal = true;
      } else pub[p.name] = v;
      const t = this.termOf(p, v, trimmed?.[p.index]);
      if (t) terms.push(t);
    }
    return {
      public: JSON.stringify(pub),
      sealed: hasPersonal ? seal(this.keys.activeDataKey, Buffer.from(JSON.stringify(personal), 'utf8'), aadFor(this.view.id, recordId)) : null,
      keyId: hasPersonal ? this.keys.activeDataKeyId : null,
      terms,
    };
  }

  /**
   * The search terms of a record's values: exactly what encode stored for them (same fields, same
   * normalisation), so an update or delete can remove a record's terms by value instead of by record id.
   */
  termsOf(values: Record<string, string>): RecordTerm[] {
    const terms: RecordTerm[] = [];
    for (const p of this.plan) {
      const v = values[p.name];
      if (v === undefined || v === '') continue;
      const t = this.termOf(p, v);
      if (t) terms.push(t);
    }
    return terms;
  }

  /** The search term for a criterion, or null when the field cannot be searched that way. */
  termFor(field: string, op: 'exact' | 'prefix', value: string): RecordTerm | null {
    const p = this.byName.get(field);
    if (!p) return null;
    if (op === 'exact' && (p.term === 'blind' || p.term === 'exact')) return this.termOf(p, value);
    if (op === 'prefix' && p.term === 'prefix') return this.termOf(p, value);
    return null;
  }

  decodePersonal(recordId: string, sealed: Buffer | null, keyId: string | null): Record<string, string> {
    return decodePersonal(this.keys, this.view.id, recordId, sealed, keyId);
  }
}

export function decodePersonal(keys: DatasetKeys, datasetId: string, recordId: string, sealed: Buffer | null, keyId: string | null): Record<string, string> {
  if (!sealed || !keyId) return {};
  return JSON.parse(open(keys.dataKey(keyId), sealed, aadFor(datasetId, recordId)).toString('utf8')) as Record<string, string>;
}

export function maskValue(field: DatasetField, value: string): string {
  return mask(maskKindOf(field.kind), value);
}
