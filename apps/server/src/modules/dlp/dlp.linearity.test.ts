/**
 * No super-linear work on adversarial input, shown structurally: the scanner counts every byte
 * position any of its loops examines (scanStats), and for each 1 MB adversarial input the count must be at
 * most a constant times the input length, and doubling the input must (at most) double the count.
 * There is no regular expression in the detector core to backtrack (dlp.scanner.ts, dlp.keywords.ts);
 * the one regular expression on the path of a text scan (format sniffing of the first 4 KiB) runs on
 * a bounded prefix. No timing is measured.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { FindingBuffer, scanBytes, scanStats, scanString, type ScanMode } from './dlp.scanner.ts';
import { candidateStats, nameCandidates } from './dlp.candidates.ts';
import { scanText } from './index.ts';

const MB = 1024 * 1024;

const ADVERSARIAL: Record<string, (n: number) => string> = {
  'digits': (n) => '1'.repeat(n),
  'zeros': (n) => '0'.repeat(n),
  'full-width digits': (n) => '１'.repeat(n),
  'a': (n) => 'a'.repeat(n),
  'dots': (n) => '.'.repeat(n),
  'at signs': (n) => '@'.repeat(n),
  'a@': (n) => 'a@'.repeat(n / 2),
  'a.': (n) => 'a.'.repeat(n / 2),
  'local part then @': (n) => ('a'.repeat(63) + '@').repeat(n / 64),
  'domain labels': (n) => 'a@' + 'a.'.repeat(n / 2 - 1),
  'digit groups with spaces': (n) => '1 '.repeat(n / 2),
  'digit groups with hyphens': (n) => '12-'.repeat(n / 3),
  'phone-like runs': (n) => '090-1234-5678 '.repeat(n / 14),
  'brackets': (n) => '(0)'.repeat(n / 3),
  'plus': (n) => '+81'.repeat(n / 3),
  'prefectures': (n) => '東京都'.repeat(n / 3),
  'prefecture + municipality runs': (n) => ('東京都' + '千'.repeat(40)).repeat(n / 43),
  'keywords': (n) => 'マイナンバー'.repeat(n / 6),
  'keywords and digits': (n) => '個人番号1'.repeat(n / 5),
  'quotes': (n) => '"'.repeat(n),
  'commas': (n) => ','.repeat(n),
  'newlines': (n) => '\n'.repeat(n),
  'kanji': (n) => '山'.repeat(n),
  'dotted digits': (n) => '1.'.repeat(n / 2),
  'dotted phone-like runs': (n) => '03.1234.5678.'.repeat(n / 13),
  'designated cities': (n) => '大阪市'.repeat(n / 3),
  'city and ward runs': (n) => ('大阪市北区' + '梅'.repeat(38)).repeat(n / 43),
  'URL userinfo': (n) => '//a:b@'.repeat(n / 6),
  'colons before @': (n) => (':'.repeat(70) + 'a@b.jp').repeat(n / 76),
  'surrogate pairs': (n) => '𠮷'.repeat(n / 2),
};

function steps(text: string, mode: ScanMode): number {
  scanStats.reset();
  scanString(text, { mode }, new FindingBuffer(0));
  return scanStats.total();
}

for (const [name, make] of Object.entries(ADVERSARIAL)) {
  void test(`linear work on 1 MB of ${name}`, () => {
    for (const mode of ['text', 'csv'] as const) {
      const one = make(MB);
      const two = make(2 * MB);
      const s1 = steps(one, mode);
      const s2 = steps(two, mode);
      assert.ok(s1 <= 80 * one.length, `${mode}: ${s1} steps for ${one.length} characters`);
      assert.ok(s2 <= 2.1 * s1 + 1000, `${mode}: doubling the input took ${s2} / ${s1} steps`);
    }
    // The whole public path (format, report) finishes on it too.
    scanText('a.txt', make(MB));
  });
}

void test('scanBytes on bytes that are not UTF-8 (the public path never hands it such: they are transcoded first) ends and stays linear', () => {
  let seed = 7;
  const random = new Uint8Array(MB);
  for (let i = 0; i < MB; i++) random[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
  for (const bytes of [random, new Uint8Array(MB).fill(0xe5), new Uint8Array(MB).fill(0xef), Uint8Array.from({ length: MB }, (_, i) => (i % 2 ? 0xbc : 0xef))]) {
    for (const mode of ['text', 'csv'] as const) {
      scanStats.reset();
      scanBytes(bytes, { mode }, new FindingBuffer(0));
      assert.ok(scanStats.total() <= 80 * MB, `${mode}: ${scanStats.total()} steps`);
    }
  }
});

void test('name candidates for the vault match are linear too', () => {
  const count = (text: string): number => {
    candidateStats.steps = 0;
    let n = 0;
    nameCandidates(text, 0, text.length, () => n++);
    return candidateStats.steps + n;
  };
  for (const make of [(n: number) => '山'.repeat(n), (n: number) => '山 '.repeat(n / 2), (n: number) => 'ア'.repeat(n)]) {
    const c1 = count(make(MB));
    const c2 = count(make(2 * MB));
    assert.ok(c1 <= 20 * MB && c2 <= 2.1 * c1 + 1000, `${c1} → ${c2}`);
  }
});

void test('the detector core contains no regular expression', () => {
  for (const file of ['dlp.scanner.ts', 'dlp.keywords.ts', 'dlp.checksums.ts', 'dlp.report.ts']) {
    const src = readFileSync(new URL(`./${file}`, import.meta.url), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\/\/.*$/gm, '');
    assert.ok(!/new RegExp|[=(,:]\s*\/[^/*\s][^/\n]*\/[gimsuyd]*[.;,)]/.test(src), `${file} has a regular expression`);
  }
});
