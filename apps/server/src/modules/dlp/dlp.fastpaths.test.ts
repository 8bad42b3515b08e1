/**
 * The shortcuts of the detector core (dlp.scanner.ts) against the general paths they skip: each
 * input is scanned once in a shape that takes the shortcut and once in a shape that cannot, and the
 * findings must be the same (kind, place, length, confidence). The shortcuts: one ASCII hyphen
 * between digit groups (the general separator walk reads any hyphen, dash or bracket), a number of
 * one segment classified directly (the segment loop tries combinations of space-separated parts), a
 * CSV value filling its cell (no keyword window: only the column's context), the file-extension
 * TLDs checked by shape before the set, and 3-byte characters skipped by their first two bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DlpFinding } from '@mamori/contracts';
import { scanText } from './index.ts';

type Seen = Pick<DlpFinding, 'kind' | 'line' | 'column' | 'length' | 'confidence'>;

function seen(name: string, text: string): Seen[] {
  return scanText(name, text, { minConfidence: 0 }).findings.map(({ kind, line, column, length, confidence }) => ({ kind, line, column, length, confidence }));
}

/** U+2010 HYPHEN: a separator of the general walk only, one UTF-16 unit like '-'. */
const general = (s: string): string => s.replaceAll('-', '\u2010');

const NUMBERS = [
  '090-1234-5678', '03-1234-5678', '0120-123-456', '050-1234-5678', '0570-123-456', '+81-90-1234-5678', '+81-3-1234-5678',
  '〒100-0001', '住所 100-0001', '品番 100-0001', '100-0001 東京都千代田区千代田1-1',
  '口座番号 0005-123-1234567', 'ゆうちょ 12345-12345678', 'カード 4111-1111-1111-1111', 'カード 3782-822463-10005',
  'マイナンバー 1234-5678-9018', '運転免許 1234-5678-9012',
  // Ends and limits: a hyphen at the end, a hyphen before a letter, twelve groups, a code.
  '090-1234-', '090-1234-5678-', '090-1234-5678-x', '12-', '1-2-3-4-5-6-7-8-9-10-11-12-13-14', 'AB-1234567', 'X1-234-5678',
  // Several segments: the segment loop, after one-segment tokens.
  '090-1234-5678 03-1234-5678', '03-1234-5678 1234', '電話 090-1234-5678　携帯 080-1111-2222',
];

void test('number tokens: the ASCII-hyphen and one-segment shortcuts give what the general separator walk gives', () => {
  for (const s of NUMBERS) {
    for (const [name, text] of [['a.txt', s], ['a.txt', `前 ${s} 後`], ['a.csv', `電話,備考\n${s},x\n`]] as const) {
      const fast = seen(name, text);
      assert.deepEqual(fast, seen(name, general(text)), `${name}: ${text}`);
    }
  }
  // The shortcut shapes are found at all (the comparison above is not between two empty lists).
  assert.deepEqual(seen('a.txt', '電話 090-1234-5678').map((f) => f.kind), ['phone']);
  assert.deepEqual(seen('a.txt', '〒100-0001').map((f) => f.kind), ['postal_code']);
});

void test('CSV: a value filling its cell takes its column context as a value inside a keyword window does', () => {
  const values = ['090-1234-5678', '100-0001', '7000012050002', 'taro@example.co.jp', '東京都千代田区千代田1-1'];
  for (const v of values) {
    // The shortcut: the value ends at LF, CR LF, the delimiter or the end of the input.
    const shapes = [`電話,住所\n${v},x\n`, `電話,住所\r\n${v},x\r\n`, `住所,電話\r\nx,${v}\r\n`, `住所,電話\nx,${v}\n`, `住所,電話\nx,${v}`, `住所,電話\r\nx,${v}\r`];
    // The general path: a window after the value (a space; a CR not before a line feed).
    const windows = [`電話,住所\n${v} ,x\n`, `住所,電話\nx,${v}\r \n`];
    const expect = (text: string): Seen[] => seen('a.csv', text).map((f) => ({ ...f, line: 0, column: 0 }));
    const want = expect(shapes[0]!);
    assert.equal(want.length, 1, v);
    for (const t of [...shapes, ...windows]) assert.deepEqual(expect(t).map((f) => [f.kind, f.confidence, f.length]), want.map((f) => [f.kind, f.confidence, f.length]), JSON.stringify(t));
  }
});

void test('e-mail: file extensions are no top-level domain in any case; domains of the same length, first and last letter are', () => {
  for (const ext of ['png', 'PNG', 'jpeg', 'js', 'Json', 'html', 'css', 'webp', 'tiff', 'docx', 'pdf']) {
    assert.deepEqual(seen('a.txt', `logo@2x.${ext}`), [], ext);
    assert.deepEqual(seen('a.txt', `user@example.${ext}`), [], ext);
  }
  // Same shape as png, js, html, css, pdf, docx: mailboxes.
  for (const tld of ['pig', 'jp', 'hall', 'cas', 'pof', 'dorx', 'JP']) {
    assert.deepEqual(seen('a.txt', `user@example.${tld}`).map((f) => f.kind), ['email'], tld);
  }
});

void test('kanji in the blocks of 都道府県 and 市 (the same first two bytes) neither hide nor fake an address', () => {
  // 部 (U+90E8) shares 都's block, 違 (U+9055) 道's, 常 (U+5E38) 市's, 県 stands between 眞 and 眠.
  const cases: [string, string[]][] = [
    ['本部東京都千代田区千代田1-1', ['address']],
    ['部都部', []],
    ['違北海道札幌市中央区北1条西2丁目', ['address']],
    ['常大阪市北区梅田1-1', ['address']],
    ['帯常市師', []],
    ['眞県眠', []],
    ['ＡＢ電話０９０－１２３４－５６７８', ['phone']],
  ];
  for (const [text, want] of cases) {
    assert.deepEqual(seen('a.txt', text).filter((f) => f.confidence >= 0.5).map((f) => f.kind), want, text);
    assert.deepEqual(seen('a.csv', `住所\n${text}\n`).filter((f) => f.confidence >= 0.5).map((f) => f.kind), want, `csv ${text}`);
  }
});
