import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mask, type MaskKind } from './vault.masking.ts';

const ALL_KINDS: MaskKind[] = ['name', 'kana', 'phone', 'email', 'postal_code', 'address', 'text', 'number', 'date'];

void test('name: keeps the family name (first token), masks each code point of the rest', () => {
  assert.equal(mask('name', '山田 太郎'), '山田 ＊＊');
  assert.equal(mask('name', '山田　太郎'), '山田　＊＊');
  assert.equal(mask('name', '山田太郎'), '山＊＊＊');
  assert.equal(mask('name', '長谷川 一'), '長谷川 ＊');
  assert.equal(mask('name', 'Yamada Taro Jiro'), 'Yamada ＊＊＊＊＊＊＊＊＊');
  // A single-character name would be shown whole if its first code point were kept.
  assert.equal(mask('name', '林'), '＊');
});

void test('kana: same rule as name', () => {
  assert.equal(mask('kana', 'ヤマダ タロウ'), 'ヤマダ ＊＊＊');
  assert.equal(mask('kana', 'やまだたろう'), 'や＊＊＊＊＊');
});

void test('name: code-point aware, surrogate pairs are not split', () => {
  // 𠮷 (U+20BB7) is one code point but two UTF-16 units.
  assert.equal(mask('name', '𠮷野 𠮷子'), '𠮷野 ＊＊');
  assert.equal(mask('name', '𠮷野家'), '𠮷＊＊');
  assert.equal(mask('name', '山田𠮷'), '山＊＊');
});

void test('phone: keeps first group and last 4 digits, keeps separators', () => {
  assert.equal(mask('phone', '03-1234-5678'), '03-＊＊＊＊-5678');
  assert.equal(mask('phone', '090-1234-5678'), '090-＊＊＊＊-5678');
  assert.equal(mask('phone', '09012345678'), '090＊＊＊＊5678');
  assert.equal(mask('phone', '045-123-4567'), '045-＊＊＊-4567');
  assert.equal(mask('phone', '０３－１２３４－５６７８'), '０３－＊＊＊＊－５６７８');
  assert.equal(mask('phone', '(03) 1234-5678'), '(03) ＊＊＊＊-5678');
});

void test('phone: short numbers still mask digits; letters and no-digit values are masked', () => {
  assert.equal(mask('phone', '1234'), '123＊');
  assert.equal(mask('phone', '12-34'), '12-＊4');
  assert.equal(mask('phone', '03-1234-5678 yamada'), '03-＊＊＊＊-5678 ＊＊＊＊＊＊');
  assert.equal(mask('phone', 'unknown'), '＊＊＊＊');
});

void test('email: first character of the local part, exactly three ＊, domain kept', () => {
  assert.equal(mask('email', 'taro.yamada@example.co.jp'), 't＊＊＊@example.co.jp');
  assert.equal(mask('email', 'a@example.jp'), 'a＊＊＊@example.jp');
  assert.equal(mask('email', '𠮷田@example.jp'), '𠮷＊＊＊@example.jp');
  assert.equal(mask('email', 'not-an-address'), '＊＊＊＊');
  assert.equal(mask('email', '@example.jp'), '＊＊＊＊');
  assert.equal(mask('email', 'taro@'), '＊＊＊＊');
});

void test('postal_code: keeps the first 3 digits', () => {
  assert.equal(mask('postal_code', '100-0001'), '100-＊＊＊＊');
  assert.equal(mask('postal_code', '1000001'), '100＊＊＊＊');
  assert.equal(mask('postal_code', '〒100-0001'), '〒100-＊＊＊＊');
  assert.equal(mask('postal_code', '１００－０００１'), '１００－＊＊＊＊');
});

void test('address: keeps prefecture and municipality', () => {
  assert.equal(mask('address', '東京都千代田区丸の内1-2-3'), '東京都千代田区＊＊＊');
  assert.equal(mask('address', '北海道札幌市中央区北1条西2丁目'), '北海道札幌市＊＊＊');
  assert.equal(mask('address', '神奈川県横浜市中区日本大通1'), '神奈川県横浜市＊＊＊');
  assert.equal(mask('address', '京都府京都市中京区寺町通'), '京都府京都市＊＊＊');
  assert.equal(mask('address', '大阪府大阪市北区梅田1-1'), '大阪府大阪市＊＊＊');
  assert.equal(mask('address', '千葉県市川市八幡1-1'), '千葉県市川市＊＊＊');
  assert.equal(mask('address', '東京都 町田市 森野2-2-22'), '東京都 町田市＊＊＊');
  assert.equal(mask('address', '横浜市中区日本大通1'), '横浜市＊＊＊');
  assert.equal(mask('address', '1-2-3 Marunouchi, Chiyoda-ku'), '＊＊＊');
});

void test('text, number, date: fixed-length placeholder', () => {
  assert.equal(mask('text', '社内の機微なメモ'), '＊＊＊＊');
  assert.equal(mask('text', 'a'), '＊＊＊＊');
  assert.equal(mask('number', '1234567890'), '＊＊＊＊');
  assert.equal(mask('date', '1980-01-01'), '＊＊＊＊');
});

void test('empty string stays empty for every kind', () => {
  for (const k of ALL_KINDS) assert.equal(mask(k, ''), '', k);
});

const anyUnicode = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ maxLength: 40 }),
  // Lone surrogates and Japanese-ish content mixed with separators.
  fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 20 }).map((a) => String.fromCharCode(...a)),
  fc.array(fc.constantFrom('山', '田', ' ', '　', '@', '-', '0', '９', '都', '市', '𠮷', '\ud800', '.'), { maxLength: 20 }).map((a) => a.join('')),
);

void test('masking never throws on arbitrary unicode', () => {
  fc.assert(
    fc.property(fc.constantFrom(...ALL_KINDS), anyUnicode, (kind, s) => {
      assert.equal(typeof mask(kind, s), 'string');
    }),
    { numRuns: 3000 },
  );
});

void test('masked output never contains the full input (>= 4 code points) for name, phone, email, text', () => {
  fc.assert(
    fc.property(fc.constantFrom<MaskKind>('name', 'kana', 'phone', 'email', 'text'), anyUnicode, (kind, s) => {
      // An input made of ＊ has nothing to leak and could trivially appear in any output.
      fc.pre(Array.from(s).length >= 4 && !s.includes('＊'));
      assert.ok(!mask(kind, s).includes(s), `${kind} leaked its input`);
    }),
    { numRuns: 5000 },
  );
});

void test('masked output never contains the full input for realistic values', () => {
  const digits = fc.stringMatching(/^[0-9]{2,4}$/);
  const phone = fc.tuple(digits, digits, digits).map(([a, b, c]) => `${a}-${b}-${c}`);
  const email = fc.emailAddress();
  const name = fc
    .tuple(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 4 }), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 4 }))
    .map(([a, b]) => `${a.trim() || '山'} ${b.trim() || '郎'}`);
  fc.assert(
    fc.property(
      fc.oneof(phone.map((v) => ['phone', v] as const), email.map((v) => ['email', v] as const), name.map((v) => ['name', v] as const)),
      ([kind, v]) => {
        fc.pre(Array.from(v).length >= 4 && !v.includes('＊'));
        assert.ok(!mask(kind, v).includes(v));
      },
    ),
  );
});
