import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { normalizeForIndex, normalizePrefix, normalizeTrimmedForIndex, type SearchKind } from './vault.normalize.ts';

const KINDS: SearchKind[] = ['text', 'name', 'kana', 'phone', 'email', 'postal_code', 'number'];

// Characters that exercise the tricky paths: Unicode spaces, combining marks that NFKC composes,
// compatibility characters that decompose to a space or to several letters, half-width katakana,
// full-width digits and letters, hiragana and its iteration marks, case-changing letters.
const TRICKY = [
  ' ', '\u3000', '\t', '\u00a0', '\u0301', '\u0308', '\u3099', '\u309a', '\u00a8', '\u00b4',
  'ｶ', 'ﾞ', 'ﾟ', 'ﾊ', '０', '９', 'Ａ', 'ｚ', 'か', 'ゝ', 'ゞ', 'ゟ', 'ヿ', 'İ', 'ß', 'Σ', 'ǅ', 'ﬀ',
  'e', 'A', 'a', '1', '8', '+', '-', '(', '）', '@', '㍻', '①', 'Å', 'K',
];
const trickyString = fc.array(fc.constantFrom(...TRICKY), { maxLength: 12 }).map((a) => a.join(''));
const anyString = fc.oneof(trickyString, fc.string({ unit: 'binary', maxLength: 24 }), fc.string({ maxLength: 24 }));

void test('normalizeForIndex is idempotent for every kind', () => {
  fc.assert(
    fc.property(fc.constantFrom(...KINDS), anyString, (kind, s) => {
      const once = normalizeForIndex(kind, s);
      assert.equal(normalizeForIndex(kind, once), once);
    }),
    { numRuns: 3000 },
  );
});

void test('normalizePrefix is idempotent', () => {
  fc.assert(
    fc.property(anyString, (s) => {
      const once = normalizePrefix(s);
      assert.equal(normalizePrefix(once), once);
    }),
    { numRuns: 2000 },
  );
});

void test('all kinds: NFKC, trim, whitespace runs collapse to one ASCII space', () => {
  assert.equal(normalizeForIndex('text', '  Ａｂｃ　\t １２３  '), 'Abc 123');
  assert.equal(normalizeForIndex('text', 'ｶﾀｶﾅ'), 'カタカナ');
  assert.equal(normalizeForIndex('text', 'ｶﾞｷﾞ'), 'ガギ');
});

void test('name: spacing does not matter', () => {
  const want = normalizeForIndex('name', '山田太郎');
  assert.equal(want, '山田太郎');
  assert.equal(normalizeForIndex('name', '山田 太郎'), want);
  assert.equal(normalizeForIndex('name', '山田　太郎'), want);
  assert.equal(normalizeForIndex('name', ' 山田 \u3000 太郎 '), want);
  assert.notEqual(normalizeForIndex('name', '山田花子'), want);
});

void test('kana: hiragana, katakana and half-width katakana match', () => {
  const want = 'ヤマダタロウ';
  assert.equal(normalizeForIndex('kana', 'やまだ たろう'), want);
  assert.equal(normalizeForIndex('kana', 'ヤマダ　タロウ'), want);
  assert.equal(normalizeForIndex('kana', 'ﾔﾏﾀﾞ ﾀﾛｳ'), 'ヤマダタロウ');
  assert.equal(normalizeForIndex('kana', 'さゞえ'), 'サヾエ');
});

void test('phone: separators, full-width digits and +81 all normalize to the domestic form', () => {
  const want = '0312345678';
  for (const v of ['03-1234-5678', '+81 3-1234-5678', '81-3-1234-5678', '０３（１２３４）５６７８', '＋８１　３　１２３４　５６７８', '(03) 1234 5678']) {
    assert.equal(normalizeForIndex('phone', v), want, v);
  }
  assert.equal(normalizeForIndex('phone', '+81 90-1234-5678'), '09012345678');
  // 81 followed by 0 is not rewritten (not the country-code pattern).
  assert.equal(normalizeForIndex('phone', '8101234'), '8101234');
});

void test('phone: full-width and half-width digits normalize equal (property)', () => {
  const toFullWidth = (s: string): string => s.replace(/[0-9]/g, (d) => String.fromCharCode(d.charCodeAt(0) + 0xfee0));
  const phone = fc
    .array(fc.stringMatching(/^[0-9]{1,5}$/), { minLength: 1, maxLength: 4 })
    .chain((groups) => fc.constantFrom('-', ' ', '', '\u3000', '－').map((sep) => groups.join(sep)));
  fc.assert(
    fc.property(fc.constantFrom('', '+81 ', '+'), phone, (prefix, p) => {
      const half = prefix + p;
      assert.equal(normalizeForIndex('phone', toFullWidth(half)), normalizeForIndex('phone', half));
      assert.match(normalizeForIndex('phone', half), /^[0-9]*$/);
    }),
  );
});

void test('email: lower-cased, full-width folded', () => {
  assert.equal(normalizeForIndex('email', ' Taro.Yamada@Example.CO.JP '), 'taro.yamada@example.co.jp');
  assert.equal(normalizeForIndex('email', 'ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ'), 'taro@example.jp');
});

void test('postal_code and number: digits only', () => {
  assert.equal(normalizeForIndex('postal_code', '〒100-0001'), '1000001');
  assert.equal(normalizeForIndex('postal_code', '１００－０００１'), '1000001');
  assert.equal(normalizeForIndex('number', '1,234,567'), '1234567');
});

void test('normalizePrefix: NFKC, no whitespace, ASCII lower case', () => {
  assert.equal(normalizePrefix(' Ｍａｍｏｒｉ 株式会社 '), 'mamori株式会社');
  assert.equal(normalizePrefix('ABC　Corp'), 'abccorp');
  // Only ASCII is lower-cased.
  assert.equal(normalizePrefix('Σ'), 'Σ');
});

// The definitions as they were before normalisation skipped NFKC passes after edits that change
// nothing (2026-11-27). Stored search terms were derived with them: the functions must give exactly
// their results, for every input, or stored terms stop matching.
const v1 = (() => {
  const nfkc = (s: string) => s.normalize('NFKC');
  const ws = /\s+/gu;
  const strip = (s: string) => nfkc(s.replace(ws, ''));
  const digits = (s: string) => s.replace(/[^0-9]/g, '');
  const lower = (s: string) => {
    let cur = s;
    for (let i = 0; i < 4; i++) {
      const next = nfkc(cur.toLowerCase());
      if (next === cur) return cur;
      cur = next;
    }
    return cur;
  };
  const forIndex = (kind: SearchKind, value: string): string => {
    const v = nfkc(nfkc(value).trim().replace(ws, ' '));
    switch (kind) {
      case 'text': return v;
      case 'name': return strip(v);
      case 'kana': return nfkc(strip(v).replace(/[\u3041-\u3096\u309D\u309E]/gu, (c) => String.fromCharCode(c.charCodeAt(0) + 0x60)));
      case 'phone': { const d = digits(v); return /^81[1-9]/.test(d) ? '0' + d.slice(2) : d; }
      case 'email': return lower(v);
      case 'postal_code':
      case 'number': return digits(v);
    }
  };
  const prefix = (value: string) => strip(strip(value).replace(/[A-Z]+/g, (m) => m.toLowerCase()));
  return { forIndex, prefix };
})();

void test('normalisation gives exactly the results of its first definition (stored terms keep matching)', () => {
  fc.assert(
    fc.property(fc.constantFrom(...KINDS), anyString, (kind, s) => {
      assert.equal(normalizeForIndex(kind, s), v1.forIndex(kind, s));
      assert.equal(normalizeTrimmedForIndex(kind, s.normalize('NFKC').trim()), v1.forIndex(kind, s));
      assert.equal(normalizePrefix(s), v1.prefix(s));
    }),
    { numRuns: 5000 },
  );
  for (const s of ['J\u030c', 'Ǆ', 'ǅ\u0301', 'A\u030a', ' \u0301x', 'ｶ\uff9e ｷ', 'ＡＢＣ　ｄｅｆ', 'İstanbul', 'ΣΑΣ', '\u00a8a', 'a\u00a0b']) {
    for (const kind of KINDS) assert.equal(normalizeForIndex(kind, s), v1.forIndex(kind, s), `${kind} ${JSON.stringify(s)}`);
    assert.equal(normalizePrefix(s), v1.prefix(s), JSON.stringify(s));
  }
});

void test('trimming a string in NFKC leaves it in NFKC (what normalizeTrimmedForIndex relies on)', () => {
  fc.assert(
    fc.property(anyString, (s) => {
      const t = s.normalize('NFKC').trim();
      assert.equal(t.normalize('NFKC'), t);
    }),
    { numRuns: 5000 },
  );
});
