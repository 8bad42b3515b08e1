/**
 * The export's CSV UTF-8 fast path reads the stored JSON in place (ObjectScan) instead of JSON.parse:
 * differential tests against JSON.parse and against the main thread's own CSV writing, on random
 * records with quotes, backslashes, escapes, commas, line breaks, unicode (astral, lone surrogates),
 * empty and missing fields, duplicate keys, jsonb's spacing and values that are not strings; and every
 * record still authenticated: a tampered sealed record fails the batch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { seal } from '../../platform/crypto/envelope.ts';
import { aadFor } from '../vault/vault.codec.ts';
import { csvLine } from './extraction.file.ts';
import { Fingerprinter } from './extraction.watermark.ts';
import { createTransformPool } from './extraction.transform.ts';
import { framePacked } from './extraction.repository.ts';
// @ts-expect-error plain JS (the workers' module)
import { CellCache, createTransform, FieldKeys, ObjectScan } from './extraction.transform.core.mjs';

type Scan = { kind: Uint8Array; start: Int32Array; end: Int32Array; decoded: string[]; scan(b: Buffer, from: number, to: number, keys: unknown): boolean };
type Transform = (data: Buffer, canaries: { after: number; line: string }[]) => Buffer;

const FIELDS = [
  { name: 'company', kind: 'text' }, { name: 'person', kind: 'name' }, { name: 'kana', kind: 'kana' }, { name: 'email', kind: 'email' },
  { name: 'note', kind: 'text' }, { name: '住所', kind: 'address' }, { name: 'x', kind: 'text' },
];
const NAMES = FIELDS.map((f) => f.name);

// Strings that exercise every branch: JSON escapes, CSV specials, multi-byte and astral characters,
// lone surrogates (JSON.stringify escapes them), the two spaces of the fingerprint, other whitespace.
const piece = fc.constantFrom('a', 'Z', '9', ' ', '\u3000', ',', '"', '\\', '/', '\n', '\r', '\t', '\u0001', '\u007f', 'é', '山田', 'ﾔﾏﾀﾞ', '😀', '\ud800', '\udfff', '\u2028', '\u00a0', '太郎', '{', '}', ':', "'");
const value = fc.oneof(
  { weight: 6, arbitrary: fc.array(piece, { maxLength: 8 }).map((a) => a.join('')) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom('山田', 'Yamada', 'ヤマダ', 'a,b', 'x"y'), fc.constantFrom(' ', '\u3000', '  ', ''), fc.constantFrom('太郎', 'Taro', 'タロウ', '')).map(([a, s, b]) => a + s + b) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
);
const record = fc.dictionary(fc.constantFrom(...NAMES, 'other', 'company2', ''), value, { maxKeys: 9 });

/** As PostgreSQL's jsonb text writes an object: keys by length then bytes, ", " and ": ". */
function jsonbText(o: Record<string, unknown>): string {
  const keys = Object.keys(o).sort((a, b) => Buffer.byteLength(a) - Buffer.byteLength(b) || Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return `{${keys.map((k) => `${JSON.stringify(k)}: ${JSON.stringify(o[k])}`).join(', ')}}`;
}

const fieldKeys = (): unknown => new FieldKeys(NAMES);

void test('ObjectScan reads every field of a JSON object of strings exactly as JSON.parse does', () => {
  const scan = new ObjectScan(NAMES.length) as Scan;
  const keys = fieldKeys();
  fc.assert(
    fc.property(record, fc.boolean(), (o, spaced) => {
      const text = spaced ? jsonbText(o) : JSON.stringify(o);
      const b = Buffer.from(`  ${text} `, 'utf8');
      const parsed = JSON.parse(b.toString('utf8')) as Record<string, string>;
      const ok = scan.scan(b, 0, b.length, keys);
      // Only an escape in a key that is not exported sends an object of strings to JSON.parse.
      const escapedOther = Object.keys(o).some((k) => !NAMES.includes(k) && JSON.stringify(o[k]).includes('\\'));
      assert.equal(ok, !escapedOther, text);
      if (!ok) return;
      NAMES.forEach((n, f) => {
        const kind = scan.kind[f]!;
        if (!Object.hasOwn(parsed, n)) return assert.equal(kind, 0, `${n} absent in ${text}`);
        const got = kind === 3 ? scan.decoded[f] : b.toString('utf8', scan.start[f], scan.end[f]);
        assert.equal(got, parsed[n], `${n} in ${text}`);
        assert.equal(kind === 2, kind !== 3 && got!.includes(','), 'a comma is flagged for quoting');
      });
    }),
    { numRuns: 3000 },
  );
});

void test('ObjectScan declines what is not an object of strings (JSON.parse then decides)', () => {
  const scan = new ObjectScan(NAMES.length) as Scan;
  const keys = fieldKeys();
  const declined = ['{"company": 1}', '{"company": null}', '{"company": ["a"]}', '{"company": {"a": "b"}}', '{"comp\\u0061ny": "a"}', '{"company": "a",}', '{"company": "a"} x',
    '{"company" "a"}', '{"company": "a\u0001"}', '{"other": "\\n"}', '{"company": "a"', '[]', '', '{"company": "a" "x": "b"}'];
  for (const text of declined) {
    const b = Buffer.from(text, 'utf8');
    assert.equal(scan.scan(b, 0, b.length, keys), false, text);
  }
  // A bad escape in an exported field fails as JSON.parse fails.
  const bad = Buffer.from('{"company": "\\x"}');
  assert.throws(() => scan.scan(bad, 0, bad.length, keys), SyntaxError);
  const dup = Buffer.from('{"company": "first", "company": "last"}');
  assert.equal(scan.scan(dup, 0, dup.length, keys), true);
  assert.equal(dup.toString('utf8', scan.start[0], scan.end[0]), 'last', 'the last of a repeated key counts, as in JSON.parse');
});

type Rec = { id: string; public: string; sealed: Buffer | null; keyId: string | null };

function pack(rows: readonly Rec[]) {
  const int = (n: number, size: 2 | 4) => {
    const b = Buffer.alloc(size);
    if (size === 2) b.writeInt16BE(n);
    else b.writeInt32BE(n);
    return b;
  };
  const field = (b: Buffer | null) => (b === null ? [int(-1, 4)] : [int(b.length, 4), b]);
  const data = Buffer.concat([
    Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), int(0, 4), int(0, 4),
    ...rows.flatMap((r) => [int(4, 2), ...field(Buffer.from(r.id.replaceAll('-', ''), 'hex')), ...field(Buffer.from(r.public, 'utf8')), ...field(r.sealed), ...field(r.keyId === null ? null : Buffer.from(r.keyId))]),
    int(-1, 2),
  ]);
  return framePacked(Buffer.from(new Uint8Array(data).buffer), true);
}

const idOf = (i: number) => `0190a2b4-aaaa-4bbb-8ccc-${String(i).padStart(12, '0')}`;

void test('the fast path writes exactly the CSV of JSON.parse + fingerprint + RFC 4180 quoting, record by record', () => {
  const dataKey = randomBytes(32);
  const fpKey = randomBytes(32);
  const fp = new Fingerprinter(fpKey);
  const transform = createTransform({ datasetId: 'ds-1', dataKeys: [['dk1', dataKey]], fields: FIELDS, fingerprintKey: fpKey, needsPersonal: true, encoding: 'utf8' }) as Transform;
  // Values that are not strings never come from the vault; they still come out as JSON.parse reads them.
  const odd = fc.dictionary(fc.constantFrom(...NAMES), fc.oneof(fc.integer(), fc.constant(null), fc.boolean()), { maxKeys: 2 });
  const row = fc.tuple(record, fc.option(record, { nil: null }), fc.boolean(), fc.option(odd, { nil: undefined }));
  fc.assert(
    fc.property(fc.array(row, { minLength: 1, maxLength: 12 }), (rows) => {
      const recs: Rec[] = rows.map(([pub, personal, spaced, weird], i) => {
        const p = { ...pub, ...(weird ?? {}) };
        return {
          id: idOf(i), public: spaced ? jsonbText(p) : JSON.stringify(p), keyId: personal ? 'dk1' : null,
          sealed: personal ? seal(dataKey, Buffer.from(JSON.stringify(personal), 'utf8'), aadFor('ds-1', idOf(i))) : null,
        };
      });
      const expected = recs.map((r, i) => {
        const pub = JSON.parse(r.public) as Record<string, unknown>;
        const personal = (rows[i]![1] ?? {}) as Record<string, unknown>;
        return csvLine(FIELDS.map((f) => String(fp.apply(f.kind, (personal[f.name] ?? pub[f.name] ?? '') as string)))) + '\r\n';
      }).join('');
      // Compared as bytes: a lone surrogate is written as U+FFFD, by either path.
      assert.equal(transform(pack(recs).data, []).toString('hex'), Buffer.from(expected, 'utf8').toString('hex'), expected);
    }),
    { numRuns: 400 },
  );
});

void test('a tampered sealed record fails its batch: flipped bytes, a blob moved to another record, a cut blob, another version', async () => {
  const dataKey = randomBytes(32);
  const fpKey = randomBytes(32);
  const good = (i: number): Rec => ({ id: idOf(i), public: '{"company": "会社"}', keyId: 'dk1', sealed: seal(dataKey, Buffer.from(JSON.stringify({ person: `山田${i} 太郎` })), aadFor('ds-1', idOf(i))) });
  const rows = Array.from({ length: 5 }, (_, i) => good(i));
  const setup = { datasetId: 'ds-1', dataKeys: [['dk1', dataKey]] as [string, Buffer][], fields: FIELDS, fingerprintKey: fpKey, needsPersonal: true, encoding: 'utf8' as const };
  const transform = createTransform(setup) as Transform;
  assert.equal(transform(pack(rows).data, []).toString('utf8').split('\r\n').length, 6, 'the untouched batch reads');
  const flip = (b: Buffer, at: number) => {
    const c = Buffer.from(b);
    c[at < 0 ? c.length + at : at]! ^= 1;
    return c;
  };
  const s = rows[2]!.sealed!;
  const tampered: [string, Buffer][] = [
    ['a ciphertext byte', flip(s, 14)], ['a tag byte', flip(s, -1)], ['an IV byte', flip(s, 3)], ['the version', flip(s, 0)],
    ['the blob of another record', rows[3]!.sealed!], ['a cut blob', s.subarray(0, s.length - 1)], ['a blob of nothing but a tag', s.subarray(0, 29)],
  ];
  const pool = createTransformPool(setup, 1);
  try {
    for (const [what, sealed] of tampered) {
      const bad = rows.map((r, i) => (i === 2 ? { ...r, sealed } : r));
      assert.throws(() => transform(pack(bad).data, []), /bad_ciphertext|Unsupported state|unable to authenticate/, what);
      await assert.rejects(pool.transform(pack(bad)), (e: Error & { code?: string }) => e.code === 'extraction.record_unreadable' && !e.message.includes('山田'), what);
    }
  } finally {
    await pool.close();
  }
});

void test('CellCache gives back exactly the cell remembered for the same bytes, and nothing for other bytes or past its size', () => {
  type Cache = { find(b: Buffer, s: number, e: number): number; copyTo(x: number, out: Buffer, pos: number): number; add(b: Buffer, s: number, e: number, out: Buffer, from: number, to: number): void };
  const cache = new CellCache(256) as Cache;
  const values = [...new Set(Array.from({ length: 600 }, (_, i) => `山田${i % 450} ${'太郎'.repeat(i % 3)}${i % 7 === 0 ? '' : 'x'}`))];
  const cellOf = (v: string) => `<${v.length}:${v}>`;
  const stored = new Map<string, string>();
  for (const v of values) {
    const key = Buffer.from(`..${v}..`);
    if (cache.find(key, 2, key.length - 2) >= 0) continue;
    const out = Buffer.alloc(200);
    const to = out.write(cellOf(v), 7);
    cache.add(key, 2, key.length - 2, out, 7, 7 + to);
    if (stored.size < 256) stored.set(v, cellOf(v));
  }
  for (const v of values) {
    const key = Buffer.from(v);
    const x = cache.find(key, 0, key.length);
    if (!stored.has(v)) {
      assert.equal(x, -1, 'not remembered past the size');
      continue;
    }
    const out = Buffer.alloc(200);
    const end = cache.copyTo(x, out, 3);
    assert.equal(out.toString('utf8', 3, end), stored.get(v));
  }
  assert.equal(cache.find(Buffer.from(''), 0, 0), -1);
});

void test('memory goes round: a COPY buffer comes back for the next COPY, a released CSV buffer is written into again', async () => {
  const { PgCopyOutCursor } = await import('../../platform/db/copy-out.ts');
  const dataKey = randomBytes(32);
  const fpKey = randomBytes(32);
  const fp = new Fingerprinter(fpKey);
  const recs = (from: number): Rec[] => Array.from({ length: 4000 }, (_, k) => {
    const i = from + k;
    return { id: idOf(i), public: JSON.stringify({ company: `会社${i}`, note: 'x'.repeat(200) }), keyId: 'dk1', sealed: seal(dataKey, Buffer.from(JSON.stringify({ person: `山田${i % 50} 太郎` })), aadFor('ds-1', idOf(i))) };
  });
  const csv = (rows: Rec[]) => rows.map((r) => {
    const pub = JSON.parse(r.public) as Record<string, string>;
    return csvLine(FIELDS.map((f) => fp.apply(f.kind, f.name === 'person' ? `山田${Number(r.id.slice(-12)) % 50} 太郎` : pub[f.name] ?? ''))) + '\r\n';
  }).join('');
  const pool = createTransformPool({ datasetId: 'ds-1', dataKeys: [['dk1', dataKey]], fields: FIELDS, fingerprintKey: fpKey, needsPersonal: true, encoding: 'utf8' }, 1);
  const spares = PgCopyOutCursor.spare.length;
  try {
    const a = recs(0);
    const first = pack(a);
    assert.ok(first.data.buffer.byteLength >= 1 << 20, 'a batch as large as a COPY buffer');
    const r1 = await pool.transform(first);
    assert.equal(r1.toString('utf8'), csv(a));
    assert.equal(PgCopyOutCursor.spare.length, Math.min(4, spares + 1), 'the batch memory is back, for the next COPY');
    pool.release(r1);
    const b = recs(4000);
    const r2 = await pool.transform(pack(b));
    assert.equal(r1.buffer.byteLength, 0, 'the released CSV memory went to the worker');
    assert.equal(r2.toString('utf8'), csv(b), 'and the next CSV was written into it correctly');
  } finally {
    await pool.close();
  }
  assert.equal(PgCopyOutCursor.spare.length, 0, 'closing the export lets the spares go');
});
