import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateRawSync, constants } from 'node:zlib';
import iconv from 'iconv-lite';
import ExcelJS from 'exceljs';
import { zipSync, strToU8 } from 'fflate';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { detectEncoding, scanBuffer } from './index.ts';

const MY_NUMBER = '123456789018';
const LINE = `個人番号：${MY_NUMBER}\u3000電話 03-1234-5678\u3000メール hanako@example.jp`;
const kindsOf = (r: { findings: { kind: string }[] }): string[] => r.findings.map((f) => f.kind);

/** ISO-2022-JP from EUC-JP bytes: JIS X 0208 pairs are EUC pairs minus 0x80, between ESC $ B and ESC ( B. */
function iso2022jp(s: string): Buffer {
  const euc = iconv.encode(s, 'euc-jp');
  const out: number[] = [];
  let kanji = false;
  for (let i = 0; i < euc.length; i++) {
    const b = euc[i]!;
    if (b >= 0xa1) {
      if (!kanji) {
        out.push(0x1b, 0x24, 0x42);
        kanji = true;
      }
      out.push(b & 0x7f, euc[++i]! & 0x7f);
    } else {
      if (kanji) {
        out.push(0x1b, 0x28, 0x42);
        kanji = false;
      }
      out.push(b);
    }
  }
  if (kanji) out.push(0x1b, 0x28, 0x42);
  return Buffer.from(out);
}

void test('encodings: UTF-8 (with and without BOM), UTF-16LE, Shift_JIS/CP932, EUC-JP, ISO-2022-JP are detected and scanned alike', async () => {
  const text = `${LINE}\n髙橋\u3000ｶﾀｶﾅ ①\n`;
  const variants: [string, Buffer, string][] = [
    ['utf-8', Buffer.from(text, 'utf8'), 'utf-8'],
    ['utf-8 bom', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]), 'utf-8'],
    ['utf-16le', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]), 'utf-16le'],
    ['cp932', iconv.encode(text, 'cp932'), 'shift_jis'],
    ['euc-jp', iconv.encode(text.replace('①', ''), 'euc-jp'), 'euc-jp'],
    ['iso-2022-jp', iso2022jp(LINE + '\n'), 'iso-2022-jp'],
  ];
  for (const [label, bytes, enc] of variants) {
    assert.equal(detectEncoding(bytes), enc, label);
    const r = await scanBuffer('a.txt', bytes);
    assert.deepEqual(kindsOf(r), ['my_number', 'phone', 'email'], label);
    assert.equal(r.findings[1]!.column, LINE.indexOf('03-') + 1, label);
    assert.deepEqual(r.errors, [], label);
  }
});

void test('formats by name and magic: CSV (Shift_JIS), TSV, JSON, XLSX with header context, binary refused', async () => {
  const csv = iconv.encode(`氏名,個人番号,電話\r\n山田 太郎,${MY_NUMBER},0312345678\r\n`, 'cp932');
  const r1 = await scanBuffer('list.csv', csv);
  assert.deepEqual(r1.findings.map((f) => [f.kind, f.line, f.column]), [['my_number', 2, 2], ['phone', 2, 3]]);

  const r2 = await scanBuffer('list.tsv', Buffer.from(`name\tmy_number\nA\t${MY_NUMBER}\n`));
  assert.deepEqual(kindsOf(r2), ['my_number']);

  const r3 = await scanBuffer('x.json', Buffer.from(JSON.stringify({ employees: [{ name: '山田', myNumber: MY_NUMBER, tel: '090-1234-5678' }] })));
  assert.deepEqual(kindsOf(r3), ['my_number', 'phone']);

  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('社員');
  ws.addRow(['氏名', 'マイナンバー', '携帯']);
  ws.addRow(['山田 太郎', MY_NUMBER, '090-1234-5678']);
  ws.addRow(['佐藤 花子', '123456789010', '080-1111-2222']); // check digit wrong: no My Number
  const xlsx = Buffer.from(await wb.xlsx.writeBuffer());
  const r4 = await scanBuffer('book.xlsx', xlsx);
  assert.deepEqual(r4.findings.map((f) => [f.kind, f.file, f.line, f.column]), [
    ['my_number', 'book.xlsx/社員', 2, 2], ['phone', 'book.xlsx/社員', 2, 3], ['phone', 'book.xlsx/社員', 3, 3],
  ]);
  for (const f of r4.findings) assert.ok(!f.excerpt.includes(MY_NUMBER));

  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]);
  const r5 = await scanBuffer('photo.png', png);
  assert.deepEqual(r5.errors.map((e) => e.code), ['DLP_UNSUPPORTED']);
});

void test('e-mail: ISO-2022-JP body, subject, attachments (CSV, nested ZIP) with their paths', async () => {
  const inner = zipSync({ '名簿.csv': iconv.encode(`氏名,マイナンバー\n山田,${MY_NUMBER}\n`, 'cp932') });
  const outer = zipSync({ 'inner.zip': inner, 'memo.txt': strToU8('連絡先 hanako@example.jp') });
  const eml = await new MailComposer({
    from: 'sender@example.jp', to: 'dest@example.com', subject: '携帯 090-1234-5678 の件',
    text: `ご担当者様\n個人番号：${MY_NUMBER}\n`, textEncoding: 'base64',
    attachments: [{ filename: '資料.zip', content: Buffer.from(outer) }],
  }).compile().build();
  const r = await scanBuffer('out.eml', eml);
  assert.deepEqual(r.findings.map((f) => [f.kind, f.file]), [
    ['phone', 'out.eml/(subject)'],
    ['my_number', 'out.eml/(body)'],
    ['my_number', 'out.eml/資料.zip/inner.zip/名簿.csv'],
    ['email', 'out.eml/資料.zip/memo.txt'],
  ]);
  // The envelope's own addresses are not findings.
  assert.ok(!r.findings.some((f) => f.excerpt.includes('example.com')));

  // A Japanese mail client's ISO-2022-JP message, written by hand.
  const raw = Buffer.concat([
    Buffer.from('From: a@example.jp\r\nTo: b@example.jp\r\nSubject: test\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: 7bit\r\n\r\n'),
    iso2022jp(`${LINE}\r\n`),
  ]);
  const r2 = await scanBuffer('jis', raw);
  assert.deepEqual(kindsOf(r2), ['my_number', 'phone', 'email']);
});

void test('ZIP: encrypted entries and nesting past the depth limit are reported, not passed', async () => {
  const z = Buffer.from(zipSync({ 'a.txt': strToU8(`個人番号 ${MY_NUMBER}`) }));
  // Set the "encrypted" flag in the local and central headers.
  const enc = Buffer.from(z);
  for (let i = 0; i + 4 < enc.length; i++) {
    if (enc.readUInt32LE(i) === 0x04034b50) enc.writeUInt16LE(enc.readUInt16LE(i + 6) | 1, i + 6);
    if (enc.readUInt32LE(i) === 0x02014b50) enc.writeUInt16LE(enc.readUInt16LE(i + 8) | 1, i + 8);
  }
  const r = await scanBuffer('ppap.zip', enc);
  assert.deepEqual(r.errors.map((e) => [e.file, e.code]), [['ppap.zip/a.txt', 'DLP_UNREADABLE']]);

  let nested: Uint8Array = z;
  for (let i = 0; i < 8; i++) nested = zipSync({ [`level${i}.zip`]: nested });
  const r2 = await scanBuffer('deep.zip', nested);
  assert.deepEqual(r2.findings, []);
  assert.equal(r2.errors[0]!.code, 'DLP_LIMIT_EXCEEDED');
  assert.match(r2.errors[0]!.message, /nested deeper/);
  const r3 = await scanBuffer('deep.zip', nested, { limits: { maxDepth: 10 } });
  assert.deepEqual(kindsOf(r3), ['my_number']);
});

// ---------------------------------------------------------------------------------------------
// Decompression bombs

/** Raw deflate of `mib` MiB of zeros, built from one sync-flushed 1 MiB block repeated (no 10 GB is ever compressed). */
function zerosDeflate(mib: number): Buffer {
  const block = deflateRawSync(Buffer.alloc(1024 * 1024), { level: 9, finishFlush: constants.Z_SYNC_FLUSH });
  const parts: Buffer[] = [];
  for (let i = 0; i < mib; i++) parts.push(block);
  parts.push(Buffer.from([0x03, 0x00])); // final empty fixed-Huffman block
  return Buffer.concat(parts);
}

/** A ZIP whose entries all point at the same deflate data (overlapping entries), each claiming `size`. */
function overlappingZip(data: Buffer, entries: number, size: number): Buffer {
  const name = Buffer.from('zeros.txt');
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(8, 8);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(size >>> 0, 22);
  local.writeUInt16LE(name.length, 26);
  const central: Buffer[] = [];
  for (let i = 0; i < entries; i++) {
    const n = Buffer.from(`zeros-${i}.txt`);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(20, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(8, 10);
    c.writeUInt32LE(data.length, 20);
    c.writeUInt32LE(size >>> 0, 24);
    c.writeUInt16LE(n.length, 28);
    c.writeUInt32LE(0, 42);
    central.push(c, n);
  }
  const cd = Buffer.concat(central);
  const cdOffset = 30 + name.length + data.length;
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries, 8);
  eocd.writeUInt16LE(entries, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(cdOffset, 16);
  return Buffer.concat([local, name, data, cd, eocd]);
}

function memory(): number {
  const m = process.memoryUsage();
  return m.rss;
}

void test('a ZIP bomb inflating to 10 GiB is rejected with DLP_LIMIT_EXCEEDED without exhausting memory', async () => {
  // 10 entries × 1 GiB of zeros, ~10 MB on disk (each entry shares 1 GiB of deflate blocks).
  const data = zerosDeflate(1024);
  const bomb = overlappingZip(data, 10, 1024 * 1024 * 1024 - 1);
  globalThis.gc?.();
  const before = memory();
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, memory())), 5);
  try {
    // Default limits: the ratio check stops each entry after ~1 MiB.
    const r1 = await scanBuffer('bomb.zip', bomb);
    assert.ok(r1.errors.length >= 1);
    assert.ok(r1.errors.every((e) => e.code === 'DLP_LIMIT_EXCEEDED'), JSON.stringify(r1.errors));
    assert.match(r1.errors[0]!.message, /ratio/);
    // No ratio limit: the entry and total byte limits stop it.
    const r2 = await scanBuffer('bomb.zip', bomb, { limits: { maxRatio: Number.POSITIVE_INFINITY, maxEntryBytes: 32 * 1024 * 1024, maxTotalBytes: 64 * 1024 * 1024 } });
    assert.ok(r2.errors.length >= 2 && r2.errors.every((e) => e.code === 'DLP_LIMIT_EXCEEDED'), JSON.stringify(r2.errors));
    assert.ok(r2.errors.some((e) => /all entries together/.test(e.message)));
    assert.deepEqual(r2.findings, []);
  } finally {
    clearInterval(timer);
  }
  peak = Math.max(peak, memory());
  // 10 GiB were claimed; the scan may hold at most one entry's limit (32 MiB) plus a few 4 MiB steps.
  assert.ok(peak - before < 256 * 1024 * 1024, `memory grew by ${Math.round((peak - before) / 1048576)} MiB`);
});
