/**
 * Watermarks of an export, pure: synthetic canary contacts unique to the export, placed at keyed
 * positions, and a keyed per-export fingerprint: in every name with one space, that space is either
 * an ASCII space or an ideographic space (U+3000), chosen by a keyed bit of the name. Both look
 * ordinary to a reader, survive re-encoding (U+3000 exists in Shift_JIS/CP932), column reordering
 * and dropping, XLSX→CSV, and can be checked again on a fragment of a few dozen rows.
 */
import { createHmac, hkdfSync } from 'node:crypto';
import type { DatasetField } from '@mamori/contracts';
import { generateDemoContacts, type DemoContact } from '../vault/vault.demo-data.ts';

export type ExportKeys = { fileKey: Buffer; fingerprintKey: Buffer; placementKey: Buffer };

export function exportKeys(secret: Buffer): ExportKeys {
  const derive = (info: string) => Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), `mamori/export/v1/${info}`, 32));
  return { fileKey: derive('file'), fingerprintKey: derive('fingerprint'), placementKey: derive('placement') };
}

/** What a value is reduced to before it is marked or compared: case, width, spaces and dashes do not count. */
export function normalizeMark(v: string): string {
  return v.normalize('NFKC').toLowerCase().replace(/^'/, '').replace(/[\s\-‐‑–—−]/gu, '');
}

/** A keyed mark of a value (canary values are recorded only as these). */
export function markOf(canaryKey: Buffer, v: string): Buffer {
  return createHmac('sha256', canaryKey).update(normalizeMark(v), 'utf8').digest().subarray(0, 16);
}

/** Kinds whose values carry the fingerprint (one space between family and given name). */
const FINGERPRINT_KINDS = new Set(['name', 'kana']);
const ONE_SPACE = /^([^\s]+)[ \u3000]([^\s]+)$/u;

/** The keyed per-export variation, with a cache: names repeat, and a keyed hash per row costs. */
export class Fingerprinter {
  private readonly cache = new Map<string, boolean>();
  constructor(private readonly key: Buffer) {}

  /** True: this name gets an ideographic space in this export. */
  bit(joined: string): boolean {
    let b = this.cache.get(joined);
    if (b === undefined) {
      b = (createHmac('sha256', this.key).update(joined, 'utf8').digest()[0]! & 1) === 1;
      if (this.cache.size < 500_000) this.cache.set(joined, b);
    }
    return b;
  }

  /** The value as this export writes it. */
  apply(kind: string, value: string): string {
    if (!FINGERPRINT_KINDS.has(kind)) return value;
    const m = ONE_SPACE.exec(value);
    if (!m) return value;
    return `${m[1]}${this.bit(m[1]! + m[2]!) ? '\u3000' : ' '}${m[2]}`;
  }

  /** For a cell of a leaked file: undefined when it carries no bit, else whether it matches this export. */
  check(cell: string): boolean | undefined {
    const m = ONE_SPACE.exec(cell.trim());
    if (!m) return undefined;
    const ideographic = cell.trim().includes('\u3000');
    return this.bit(m[1]! + m[2]!) === ideographic;
  }
}

/** Deterministic bytes from a key and a label (placement, canary seeds). */
function prf(key: Buffer, label: string): Buffer {
  return createHmac('sha256', key).update(label, 'utf8').digest();
}

/** How many canaries an export of `rows` real rows carries: 3 to 5, fewer for tiny exports. */
export function canaryCount(key: Buffer, rows: number): number {
  const n = 3 + (prf(key, 'count')[0]! % 3);
  return Math.max(1, Math.min(n, Math.ceil(rows / 10)));
}

/** Keyed, distinct row positions (0-based, among rows + n output rows) for n canaries. */
export function canaryPositions(key: Buffer, rows: number, n: number): number[] {
  const total = rows + n;
  const out = new Set<number>();
  for (let i = 0; out.size < n; i++) out.add(prf(key, `pos/${i}`).readUInt32BE(0) % total);
  return [...out].sort((a, b) => a - b);
}

const FIELD_BY_KIND: Record<string, keyof DemoContact> = {
  name: 'person_name', kana: 'person_name_kana', email: 'email', phone: 'mobile_phone', postal_code: 'office_postal_code', address: 'company_address',
};

/**
 * A plausible Japanese contact for the export's fields, from the demo generator's vocabulary, made
 * unique by fresh digits in its e-mail and phone numbers (`attempt` varies it after a collision).
 */
export function canaryRow(key: Buffer, index: number, attempt: number, fields: readonly DatasetField[]): Record<string, string> {
  const seed = prf(key, `canary/${index}/${attempt}`);
  const c = generateDemoContacts(1, seed.readUInt32BE(0)).next().value as DemoContact;
  const d = (i: number, n: number) => String(seed.readUInt32BE(4 + 4 * i) % 10 ** n).padStart(n, '0');
  const [local, domain] = c.email.split('@') as [string, string];
  const made: Record<string, string> = {
    ...c,
    email: `${local}${d(0, 2)}@${domain}`,
    mobile_phone: `${c.mobile_phone.slice(0, 3)}-${d(1, 4)}-${d(2, 4)}`,
    direct_phone: c.direct_phone.replace(/\d{4}$/, d(3, 4)),
  };
  const row: Record<string, string> = {};
  for (const f of fields) row[f.name] = made[f.name] ?? made[FIELD_BY_KIND[f.kind] ?? ''] ?? (f.kind === 'number' ? c.corporate_number : c.company_name);
  return row;
}

/** The values of a canary that are recorded (as marks): e-mail and phone, else names and addresses. */
export function markedValues(row: Record<string, string>, fields: readonly DatasetField[]): string[] {
  const strong = fields.filter((f) => f.kind === 'email' || f.kind === 'phone');
  const chosen = strong.length > 0 ? strong : fields.filter((f) => f.kind === 'name' || f.kind === 'kana' || f.kind === 'address');
  return chosen.map((f) => row[f.name] ?? '').filter((v) => v !== '');
}
