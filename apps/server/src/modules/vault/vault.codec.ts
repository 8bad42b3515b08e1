/**
 * Turning a record's values into what is stored — public JSON, one sealed blob for every personal-level
 * field, and search terms — and back. Pure, apart from the random IV of the seal.
 */
import { isPersonalLevel, type FieldKind } from '@mamori/contracts';
import { blindIndex } from '../../platform/crypto/blind-index.ts';
import { open, seal } from '../../platform/crypto/envelope.ts';
import { mask, type MaskKind } from './vault.masking.ts';
import { normalizeForIndex, normalizePrefix, type SearchKind } from './vault.normalize.ts';
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
  // Code points never outnumber UTF-16 units: count them only when the string could be too long.
  if (raw.length > MAX_VALUE_LENGTH && [...raw].length > MAX_VALUE_LENGTH) return `too long (max ${MAX_VALUE_LENGTH} characters)`;
  // eslint-disable-next-line no-control-regex -- rejecting control characters is the point of this check
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(raw)) return 'contains control characters';
  const v = raw.normalize('NFKC').trim();
  switch (field.kind) {
    case 'email':
      return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v) ? null : 'not an e-mail address';
    case 'phone': {
      const d = normalizeForIndex('phone', v);
      return /^0\d{9,10}$/.test(d) ? null : 'not a Japanese phone number (10 or 11 digits starting with 0)';
    }
    case 'postal_code':
      return /^\d{7}$/.test(normalizeForIndex('postal_code', v)) ? null : 'not a postal code (7 digits)';
    case 'number':
      return /^[\d\s-]+$/.test(v) ? null : 'not a number';
    case 'date':
      return /^\d{4}-\d{2}-\d{2}$/.test(v) ? null : 'not a date (YYYY-MM-DD)';
    default:
      return null;
  }
}

export type RecordTerm = { field: string; term: Buffer };

export type EncodedRecord = {
  public: string;
  sealed: Buffer | null;
  keyId: string | null;
  terms: RecordTerm[];
};

export function aadFor(datasetId: string, recordId: string): Buffer {
  return Buffer.from(`mamori/record/v1/${datasetId}/${recordId}`, 'utf8');
}

function termOf(field: DatasetField, keys: DatasetKeys, isPersonal: boolean, v: string): RecordTerm | null {
  if (field.search === 'exact') {
    const n = normalizeForIndex(searchKindOf(field.kind), v);
    return { field: field.name, term: isPersonal ? blindIndex(keys.fieldKey(field.name), n) : Buffer.from(n, 'utf8') };
  }
  if (field.search === 'prefix' && !isPersonal) return { field: field.name, term: Buffer.from(normalizePrefix(v), 'utf8') };
  return null;
}

export function encodeRecord(dataset: DatasetView, keys: DatasetKeys, recordId: string, values: Record<string, string>): EncodedRecord {
  const pub: Record<string, string> = {};
  const personal: Record<string, string> = {};
  let hasPersonal = false;
  const terms: RecordTerm[] = [];
  for (const f of dataset.fields) {
    const v = values[f.name];
    if (v === undefined || v === '') continue;
    const isPersonal = isPersonalLevel(f.classification);
    if (isPersonal) {
      personal[f.name] = v;
      hasPersonal = true;
    } else pub[f.name] = v;
    const t = termOf(f, keys, isPersonal, v);
    if (t) terms.push(t);
  }
  return {
    public: JSON.stringify(pub),
    sealed: hasPersonal ? seal(keys.activeDataKey, Buffer.from(JSON.stringify(personal), 'utf8'), aadFor(dataset.id, recordId)) : null,
    keyId: hasPersonal ? keys.activeDataKeyId : null,
    terms,
  };
}

/**
 * The search terms of a record's values: exactly what encodeRecord stored for them (same fields, same
 * normalisation), so an update or delete can remove a record's terms by value instead of by record id.
 */
export function termsOf(dataset: DatasetView, keys: DatasetKeys, values: Record<string, string>): RecordTerm[] {
  const terms: RecordTerm[] = [];
  for (const f of dataset.fields) {
    const v = values[f.name];
    if (v === undefined || v === '') continue;
    const t = termOf(f, keys, isPersonalLevel(f.classification), v);
    if (t) terms.push(t);
  }
  return terms;
}

export function decodePersonal(keys: DatasetKeys, datasetId: string, recordId: string, sealed: Buffer | null, keyId: string | null): Record<string, string> {
  if (!sealed || !keyId) return {};
  return JSON.parse(open(keys.dataKey(keyId), sealed, aadFor(datasetId, recordId)).toString('utf8')) as Record<string, string>;
}

/** The search term for a criterion, or null when the field cannot be searched that way. */
export function termFor(field: DatasetField, keys: DatasetKeys, op: 'exact' | 'prefix', value: string): Buffer | null {
  const personal = isPersonalLevel(field.classification);
  if (op === 'exact' && field.search === 'exact') {
    const n = normalizeForIndex(searchKindOf(field.kind), value);
    return personal ? blindIndex(keys.fieldKey(field.name), n) : Buffer.from(n, 'utf8');
  }
  if (op === 'prefix' && field.search === 'prefix' && !personal) return Buffer.from(normalizePrefix(value), 'utf8');
  return null;
}

export function maskValue(field: DatasetField, value: string): string {
  return mask(maskKindOf(field.kind), value);
}
