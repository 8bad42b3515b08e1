import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { DlpFinding } from '@mamori/contracts';
import { cardIssuer, corporateNumberCheckDigit, digitsOf, driversLicenseCheckLooksValid, isValidCorporateNumber, isValidMyNumber, luhnValid, myNumberCheckDigit } from './dlp.checksums.ts';
import { isValidCorporateNumber as vaultCorporate } from '../vault/vault.corporate-number.ts';
import { scanText } from './index.ts';

const all = (text: string, name = 'a.txt'): DlpFinding[] => scanText(name, text, { minConfidence: 0 }).findings;
const reported = (text: string, name = 'a.txt'): DlpFinding[] => scanText(name, text).findings;
const kinds = (text: string, name = 'a.txt'): string[] => reported(text, name).map((f) => f.kind);

/** A 12-digit My Number with a correct check digit from 11 base digits. */
function myNumber(base11: string): string {
  return base11 + myNumberCheckDigit(digitsOf(base11 + '0'));
}
function corporate(base12: string): string {
  return corporateNumberCheckDigit(digitsOf('0' + base12)) + base12;
}

void test('My Number check digit: the official formula (施行令 第八条) on known numbers', () => {
  // Worked example: P = 1,0,9,8,7,6,5,4,3,2,1 from the right, Q = 2..7,2..6 → Σ = 212, 212 mod 11 = 3 → 11 − 3 = 8.
  assert.equal(myNumberCheckDigit(digitsOf('123456789010')), 8);
  assert.ok(isValidMyNumber(digitsOf('123456789018')));
  for (let d = 0; d <= 9; d++) if (d !== 8) assert.ok(!isValidMyNumber(digitsOf(`12345678901${d}`)));
  // Remainder 0 or 1 gives check digit 0.
  assert.ok(isValidMyNumber(digitsOf('000000000000')));
  // A changed check digit is always caught; generated numbers are valid.
  fc.assert(fc.property(fc.stringMatching(/^[0-9]{11}$/), fc.integer({ min: 1, max: 9 }), (base, delta) => {
    const d = digitsOf(myNumber(base));
    if (!isValidMyNumber(d)) return false;
    d[11] = (d[11]! + delta) % 10;
    return !isValidMyNumber(d);
  }));
});

void test('法人番号 check digit: the NTA formula, identical to the vault validator', () => {
  // National Tax Agency (国税庁) 法人番号 7000012050002.
  assert.ok(isValidCorporateNumber(digitsOf('7000012050002')));
  assert.ok(!isValidCorporateNumber(digitsOf('8000012050002')));
  fc.assert(fc.property(fc.stringMatching(/^[0-9]{13}$/), (s) => isValidCorporateNumber(digitsOf(s)) === vaultCorporate(s)));
});

void test('Luhn and issuer ranges; the driver-licence check digit is only a hint', () => {
  assert.ok(luhnValid(digitsOf('4111111111111111'), 0, 16));
  assert.ok(!luhnValid(digitsOf('4111111111111112'), 0, 16));
  assert.equal(cardIssuer(digitsOf('4111111111111111'), 0, 16), 'visa');
  assert.equal(cardIssuer(digitsOf('5500000000000004'), 0, 16), 'mastercard');
  assert.equal(cardIssuer(digitsOf('2221000000000009'), 0, 16), 'mastercard');
  assert.equal(cardIssuer(digitsOf('378282246310005'), 0, 15), 'amex');
  assert.equal(cardIssuer(digitsOf('3530111333300000'), 0, 16), 'jcb');
  assert.equal(cardIssuer(digitsOf('1234567812345670'), 0, 16), null);
  assert.equal(typeof driversLicenseCheckLooksValid(digitsOf('123456789012')), 'boolean');
});

void test('My Number: context makes it certain, a bare 12-digit number that passes the check digit stays below the report threshold', () => {
  const n = myNumber('98765432101');
  assert.deepEqual(kinds(`マイナンバー：${n}`), ['my_number']);
  assert.deepEqual(kinds(`個人番号 ${n.slice(0, 4)} ${n.slice(4, 8)} ${n.slice(8)}`), ['my_number']);
  assert.deepEqual(kinds(`マイナンバー:\n${n}`), ['my_number'], 'keyword on the line before');
  const bare = all(`${n}`);
  assert.equal(bare.length, 1);
  assert.ok(bare[0]!.confidence < 0.5);
  assert.deepEqual(kinds(`${n}`), []);
  // Failing the check digit: never a My Number, even with the keyword.
  const bad = n.slice(0, 11) + ((Number(n[11]) + 1) % 10);
  assert.deepEqual(kinds(`マイナンバー：${bad}`), []);
  // Part of a longer number or code: not a candidate.
  assert.deepEqual(kinds(`マイナンバー：${n}5`), []);
  assert.deepEqual(kinds(`マイナンバー：A${n}`), []);
  // Full-width digits.
  const fw = n.replace(/[0-9]/g, (d) => String.fromCharCode(0xff10 + Number(d)));
  assert.deepEqual(kinds(`個人番号\u3000${fw}`), ['my_number']);
  // In a CSV column whose header says so.
  assert.deepEqual(kinds(`氏名,個人番号\n山田,${n}\n`, 'a.csv'), ['my_number']);
});

void test('法人番号 with context, T-numbers (invoice registration), bare numbers low', () => {
  const c = corporate('000012050002');
  assert.equal(c, '7000012050002');
  assert.deepEqual(kinds(`法人番号: ${c}`), ['corporate_number']);
  assert.deepEqual(kinds(`登録番号 T${c}`), ['corporate_number']);
  assert.deepEqual(kinds(`${c}`), []);
  assert.deepEqual(kinds(`法人番号: 8000012050002`), []);
});

void test('phones: fixed, mobile, IP, free dial; hyphens, spaces, brackets, full-width, +81; not dates or prices', () => {
  const cases: [string, boolean][] = [
    ['TEL 03-1234-5678', true],
    ['電話：0312345678', true],
    ['携帯 090-1234-5678', true],
    ['080 1234 5678', true],
    ['070(1234)5678', true],
    ['(03)1234-5678', true],
    ['03(1234)5678', true],
    ['050-1234-5678', true],
    ['0120-123-456', true],
    ['0800-123-4567', true],
    ['０９０－１２３４－５６７８', true],
    ['+81-90-1234-5678', true],
    ['+81 3 1234 5678', true],
    ['0956-84-4762', true],
    ['2024-01-15', false],
    ['価格 12,345,678円', false],
    ['090-1234-567', false],
    ['0901234567', false], // 10 digits starting 090: no such number
    ['03-1234-56789', false],
    ['バージョン 1.0312345678', false],
    ['ID 12-0312345678', false],
  ];
  for (const [text, yes] of cases) assert.deepEqual(kinds(text), yes ? ['phone'] : [], text);
  // Two numbers separated by a space are two findings.
  assert.deepEqual(kinds('03-1234-5678 090-1234-5678'), ['phone', 'phone']);
  // An ungrouped fixed number without context is a weak signal; with 注文番号 even weaker.
  assert.ok(all('0312345678')[0]!.confidence < 0.5);
  assert.deepEqual(kinds('注文番号 09012345678'), []);
});

void test('e-mail: common forms; not handles, versions or bare @', () => {
  assert.deepEqual(kinds('連絡先 taro.yamada+dlp@example.co.jp まで'), ['email']);
  assert.deepEqual(kinds('メール：Taro_Y@Sub.Example.COM。'), ['email']);
  assert.deepEqual(kinds('a@b.jp'), ['email']);
  for (const t of ['@tanaka', 'user@localhost', 'pkg@1.2.3', 'a@@b.com', 'x@-bad.com', 'foo@bar.c']) assert.deepEqual(kinds(t), [], t);
  const f = reported('問い合わせ: hanako.suzuki@example.co.jp')[0]!;
  assert.equal(f.length, 'hanako.suzuki@example.co.jp'.length);
  assert.equal(f.column, 8);
});

void test('postal codes: 〒 or keyword certain; NNN-NNNN alone medium; 7 digits only with context; order numbers not', () => {
  assert.deepEqual(kinds('〒100-0001'), ['postal_code']);
  assert.deepEqual(kinds('〒 1000001'), ['postal_code']);
  assert.deepEqual(kinds('郵便番号：530-0001'), ['postal_code']);
  assert.deepEqual(kinds('530-0001 大阪府大阪市北区梅田1-1'), ['postal_code', 'address']);
  assert.deepEqual(kinds('1000001'), []);
  assert.deepEqual(kinds('注文番号 123-4567'), []);
  assert.deepEqual(kinds('000-0000'), []);
});

void test('addresses: prefecture and municipality (and more); not a prefecture alone or in passing', () => {
  assert.deepEqual(kinds('住所：東京都千代田区丸の内1-1-1'), ['address']);
  assert.deepEqual(kinds('北海道札幌市中央区北1条西2丁目'), ['address']);
  assert.deepEqual(kinds('神奈川県横浜市西区みなとみらい2-2-1'), ['address']);
  assert.deepEqual(kinds('京都府京都市下京区烏丸通七条下ル'), ['address']);
  assert.deepEqual(kinds('千葉県市川市八幡1-1-1'), ['address']);
  assert.deepEqual(kinds('東京都'), []);
  assert.deepEqual(kinds('東京都知事選挙'), []);
  assert.deepEqual(kinds('大阪府大阪市で開催'), [], 'a city named in passing is not an address');
  const f = reported('送付先 東京都千代田区丸の内1-1-1 ビル')[0]!;
  assert.equal(f.excerpt.includes('丸の内'), false);
  assert.ok(f.excerpt.includes('東京都千代田区'));
});

void test('credit cards: Luhn and issuer; grouped or with context; not 16-digit numbers failing either', () => {
  assert.deepEqual(kinds('カード番号 4111 1111 1111 1111'), ['credit_card']);
  assert.deepEqual(kinds('4111-1111-1111-1111'), ['credit_card']);
  assert.deepEqual(kinds('AMEX 3782 822463 10005'), ['credit_card']);
  assert.deepEqual(kinds('card: 3530111333300000'), ['credit_card']);
  assert.deepEqual(kinds('4111 1111 1111 1112'), []);
  assert.deepEqual(kinds('1234 5678 1234 5670'), [], 'Luhn-valid but no issuer');
  assert.deepEqual(kinds('注文番号 4111111111111111'), []);
  const f = reported('カード 4111 1111 1111 1111')[0]!;
  assert.ok(f.excerpt.endsWith('1111') && !f.excerpt.includes('4111'));
});

void test('bank accounts need their context; passports and licences need theirs; licence check digit never rejects', () => {
  assert.deepEqual(kinds('三井住友銀行 本店営業部 普通 1234567'), ['bank_account']);
  assert.deepEqual(kinds('口座番号：7654321'), ['bank_account']);
  assert.deepEqual(kinds('振込先 0001-123-1234567'), ['bank_account']);
  assert.deepEqual(kinds('ゆうちょ銀行 記号番号 12345-12345678'), ['bank_account']);
  assert.deepEqual(kinds('1234567'), []);
  assert.deepEqual(kinds('旅券番号 TK1234567'), ['passport']);
  assert.deepEqual(kinds('passport: MZ7654321'), ['passport']);
  assert.deepEqual(kinds('品番 AB1234567'), []);
  // A licence number whose unofficial check digit is wrong is still reported (with context).
  const numbers = ['301234567890', '301234567800', '301234567810'];
  const found = numbers.map((n) => kinds(`運転免許証番号 ${n}`));
  for (const k of found) assert.deepEqual(k, ['drivers_license']);
  const conf = numbers.map((n) => reported(`免許証 ${n}`)[0]!.confidence);
  assert.ok(conf.every((c) => c >= 0.8));
});

void test('excerpts never contain the full value; locations are 1-based line and column (text) or row and column (CSV)', () => {
  const n = myNumber('11122233344');
  const text = `件名\n 個人番号：${n}、電話 090-1111-2222、mail hanako@example.jp、カード 4111111111111111`;
  const found = reported(text);
  assert.deepEqual(found.map((f) => f.kind), ['my_number', 'phone', 'email', 'credit_card']);
  for (const f of found) {
    const value = text.split('\n')[f.line - 1]!.slice(f.column - 1, f.column - 1 + f.length);
    assert.ok(!f.excerpt.includes(value), `${f.kind}: ${f.excerpt}`);
    assert.ok(/[＊]/.test(f.excerpt));
  }
  assert.equal(found[0]!.line, 2);
  assert.equal(found[0]!.column, 7);
  const csv = reported('名前,電話\n山田,03-1234-5678\n', 'x.csv');
  assert.deepEqual(csv.map((f) => [f.kind, f.line, f.column]), [['phone', 2, 2]]);
});

void test('CSV: quoted fields with delimiters and line breaks inside; TSV; header context per column', () => {
  const n = myNumber('55566677788');
  const csv = `"備考","個人番号"\n"a, ""b""\nc",${n}\n"x",${n}\n`;
  const f = reported(csv, 'q.csv');
  assert.deepEqual(f.map((x) => [x.kind, x.line, x.column]), [['my_number', 2, 2], ['my_number', 3, 2]]);
  const tsv = reported(`会員\t電話番号\n1\t0312345678\n`, 'a.tsv');
  assert.deepEqual(tsv.map((x) => [x.kind, x.line, x.column, x.confidence >= 0.9]), [['phone', 2, 2, true]]);
});

void test('the summary counts findings per kind', () => {
  const r = scanText('a.txt', 'TEL 03-1234-5678 / 090-1234-5678 / a@b.jp');
  assert.deepEqual(r.summary, { phone: 2, email: 1 });
  assert.deepEqual(r.errors, []);
});

void test('hard negatives found by the untuned corpus: e-mail-like strings in code and URLs, amounts after 振込, part numbers', () => {
  for (const t of ['<img src="logo@2x.png">', 'icon@3x.webp', 'git clone git@github.com:org/repo.git', 'https://deploy:s3cret@git.example.com/app.git', 'https://user@example.com/path']) {
    assert.deepEqual(kinds(t), [], t);
  }
  // Real addresses next to those shapes stay e-mails.
  assert.deepEqual(kinds('mailto:taro@example.co.jp'), ['email']);
  assert.deepEqual(kinds('連絡先: hanako@example.jp: 担当'), ['email']);
  assert.deepEqual(kinds('report@example.zip'), ['email'], '.zip is a real TLD');
  assert.deepEqual(kinds('振込金額 1234567円'), []);
  assert.deepEqual(kinds('振込先 普通 1234567'), ['bank_account']);
  assert.deepEqual(kinds('部品コード 123-4567'), []);
  assert.deepEqual(kinds('Part No. 123-4567'), []);
  assert.deepEqual(kinds('〒123-4567'), ['postal_code']);
});

void test('byte scanning: columns and lengths stay in UTF-16 units (full width, surrogate pairs), excerpts whole characters', () => {
  const text = '𠮷野家 ＴＥＬ：０３－１２３４－５６７８ mail 𠮷@example.jp a@b.jp';
  const found = reported(text);
  const at = (v: string): number => text.indexOf(v) + 1;
  assert.deepEqual(found.map((f) => [f.kind, f.column, f.length]), [['phone', at('０３'), 12], ['email', at('a@b'), 6]]);
  assert.equal(at('０３'), 10, '𠮷 is two UTF-16 units');
  for (const f of found) assert.ok(!/[\ud800-\udfff]/.test(f.excerpt.replace(/[\ud800-\udbff][\udc00-\udfff]/g, '')), `no broken surrogate pair: ${f.excerpt}`);
});

void test('summary mode: the first N findings are listed, every one is counted', () => {
  const text = Array.from({ length: 50 }, (_, i) => `TEL 03-1234-${String(1000 + i)}`).join('\n');
  const r = scanText('a.txt', text, { maxFindings: 3 });
  assert.equal(r.findings.length, 3);
  assert.deepEqual(r.summary, { phone: 50 });
  assert.equal(r.omittedFindings, 47);
  assert.deepEqual(r.findings, scanText('a.txt', text).findings.slice(0, 3));
  assert.equal(scanText('a.txt', text).omittedFindings, undefined);
});

void test('misses found by the untuned corpus: dotted phone numbers, designated cities written without their prefecture', () => {
  assert.deepEqual(kinds('TEL 03.1234.5678 / 携帯 090.1234.5678'), ['phone', 'phone']);
  // '.' joins digit groups for phones only: no decimals, versions, dates or IP addresses.
  for (const t of ['v1.0312345678', '2024.12.25', '192.168.100.200', '3.14159265358', '円周率 3.1415926535']) assert.deepEqual(kinds(t), [], t);
  assert.deepEqual(kinds('住所：大阪市北区梅田1-1-1'), ['address']);
  assert.deepEqual(kinds('横浜市西区みなとみらい2-2-1'), ['address']);
  assert.deepEqual(kinds('大阪市北区で開催'), [], 'a city and ward named in passing');
  assert.deepEqual(kinds('東大阪市役所'), [], 'not a designated city, no ward');
  const f = reported('送付先 名古屋市中区栄3-5-1')[0]!;
  assert.ok(f.excerpt.includes('名古屋市') && !f.excerpt.includes('栄'), f.excerpt);
});
