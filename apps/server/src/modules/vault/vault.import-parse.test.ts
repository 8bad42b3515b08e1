import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import iconv from 'iconv-lite';
import { detectEncoding, ImportParseError, parseImport, type ImportFormat, type ImportParseOptions, type ImportRow } from './vault.import-parse.ts';
import { DEMO_CONTACT_FIELDS, generateDemoContacts, writeDemoCsv } from './vault.demo-data.ts';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const sjis = (s: string): Uint8Array => new Uint8Array(iconv.encode(s, 'Shift_JIS'));
const BOM = [0xef, 0xbb, 0xbf];
const bytes = (...parts: (Uint8Array | number[])[]): Uint8Array => new Uint8Array(parts.flatMap((p) => [...p]));

async function* chunked(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

async function collect(data: Uint8Array, format: ImportFormat, chunkSize = 4096, options: ImportParseOptions = {}): Promise<ImportRow[]> {
  const rows: ImportRow[] = [];
  for await (const row of parseImport(chunked(data, chunkSize), format, options)) rows.push(row);
  return rows;
}

async function failure(data: Uint8Array, format: ImportFormat, chunkSize = 4096, options: ImportParseOptions = {}): Promise<ImportParseError> {
  try {
    await collect(data, format, chunkSize, options);
  } catch (err) {
    assert.ok(err instanceof ImportParseError, `expected ImportParseError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the import to fail');
}

const JA_CSV = [
  '法人番号,会社名,氏名,電話',
  '7000012050002,株式会社ミライ商事,山田 太郎,03-1234-5678',
  '1010001000006,"有限会社""東和""",佐藤 花子,"052-123-4567"',
  '2010001000005,合同会社髙橋①,"鈴木, 一郎",',
  '',
].join('\r\n');

const JA_ROWS: ImportRow[] = [
  { line: 2, values: { 法人番号: '7000012050002', 会社名: '株式会社ミライ商事', 氏名: '山田 太郎', 電話: '03-1234-5678' } },
  { line: 3, values: { 法人番号: '1010001000006', 会社名: '有限会社"東和"', 氏名: '佐藤 花子', 電話: '052-123-4567' } },
  { line: 4, values: { 法人番号: '2010001000005', 会社名: '合同会社髙橋①', 氏名: '鈴木, 一郎', 電話: '' } },
];

test('UTF-8, UTF-8 with BOM and Shift_JIS (CP932) give the same rows', async () => {
  // iconv's Shift_JIS lacks the CP932 extensions, so 髙 and ① are encoded as CP932 proper.
  const cp932 = new Uint8Array(iconv.encode(JA_CSV, 'cp932'));
  assert.deepEqual(await collect(utf8(JA_CSV), 'csv'), JA_ROWS);
  assert.deepEqual(await collect(bytes(BOM, utf8(JA_CSV)), 'csv'), JA_ROWS);
  assert.deepEqual(await collect(cp932, 'csv'), JA_ROWS);
  const plainSjis = JA_CSV.replace('髙橋①', '高橋');
  const expected = structuredClone(JA_ROWS);
  (expected[2] as ImportRow).values['会社名'] = '合同会社高橋';
  assert.deepEqual(await collect(sjis(plainSjis), 'csv'), expected);
});

test('multi-byte characters split across chunks (1-byte chunks) decode correctly', async () => {
  assert.deepEqual(await collect(utf8(JA_CSV), 'csv', 1), JA_ROWS);
  assert.deepEqual(await collect(bytes(BOM, utf8(JA_CSV)), 'csv', 1), JA_ROWS);
  assert.deepEqual(await collect(new Uint8Array(iconv.encode(JA_CSV, 'cp932')), 'csv', 1), JA_ROWS);
  for (const size of [2, 3, 5, 7]) assert.deepEqual(await collect(utf8(JA_CSV), 'csv', size), JA_ROWS);
});

test('detectEncoding', () => {
  assert.equal(detectEncoding(new Uint8Array(0)), 'utf-8');
  assert.equal(detectEncoding(utf8('a,b\n1,2\n')), 'utf-8');
  assert.equal(detectEncoding(bytes(BOM, utf8('氏名'))), 'utf-8');
  assert.equal(detectEncoding(utf8('氏名,会社')), 'utf-8');
  // A sample that ends in the middle of a character is still UTF-8.
  const cut = utf8('会社名');
  assert.equal(detectEncoding(cut.subarray(0, cut.length - 1)), 'utf-8');
  assert.equal(detectEncoding(cut.subarray(0, cut.length - 2)), 'utf-8');
  assert.equal(detectEncoding(sjis('氏名,会社名\r\n山田 太郎,株式会社ミライ\r\n')), 'shift_jis');
  assert.equal(detectEncoding(sjis('name,company\r\nyamada,ｶﾌﾞｼｷｶﾞｲｼｬ\r\n')), 'shift_jis');
  // UTF-8 whose damage comes after real multi-byte text stays UTF-8 (so the import fails loudly).
  assert.equal(detectEncoding(bytes(utf8('氏名\n山田\n'), [0xff], utf8('\n'))), 'utf-8');
});

test('Shift_JIS demo data is detected as Shift_JIS and round-trips', async () => {
  const names = DEMO_CONTACT_FIELDS.map((f) => f.name);
  const contacts = [...generateDemoContacts(3000, 11)];
  const text = [names.join(','), ...contacts.map((c) => names.map((n) => c[n]).join(','))].join('\r\n') + '\r\n';
  const data = sjis(text);
  assert.equal(detectEncoding(data.subarray(0, 65536)), 'shift_jis');
  const rows = await collect(data, 'csv', 1000);
  assert.equal(rows.length, contacts.length);
  rows.forEach((row, i) => {
    assert.equal(row.line, i + 2);
    assert.deepEqual(row.values, contacts[i]);
  });
});

test('CRLF, LF and mixed line endings', async () => {
  const rows = [
    { line: 2, values: { a: '1', b: '2' } },
    { line: 3, values: { a: '3', b: '4' } },
  ];
  assert.deepEqual(await collect(utf8('a,b\r\n1,2\r\n3,4\r\n'), 'csv'), rows);
  assert.deepEqual(await collect(utf8('a,b\n1,2\n3,4'), 'csv'), rows);
  assert.deepEqual(await collect(utf8('a,b\r\n1,2\n3,4\r\n'), 'csv'), rows);
  assert.deepEqual(await collect(utf8('a\tb\r\n1\t2\r\n3\t4\r\n'), 'tsv'), rows);
});

test('quoted values with embedded line breaks keep later line numbers right', async () => {
  for (const nl of ['\n', '\r\n']) {
    const text = ['a,b', '"x', 'y",1', '2,"p', '', 'q"', '3,4', '', '5,6'].join(nl);
    const rows = await collect(utf8(text), 'csv', 3);
    assert.deepEqual(
      rows.map((r) => [r.line, r.values['a'], r.values['b']]),
      [
        [2, `x${nl}y`, '1'],
        [4, '2', `p${nl}${nl}q`],
        [7, '3', '4'],
        [9, '5', '6'],
      ],
    );
    const bad = await failure(utf8(text + `${nl}7,8,9${nl}`), 'csv', 3);
    assert.equal(bad.code, 'import.malformed_row');
    assert.equal(bad.line, 10);
  }
});

test('a row with the wrong column count in the middle reports its line', async () => {
  const lines = ['a,b,c'];
  for (let i = 0; i < 500; i++) lines.push(`${i},x,y`);
  lines[300] = '299,"only\ntwo"';
  const err = await failure(utf8(lines.join('\n')), 'csv', 100);
  assert.equal(err.code, 'import.malformed_row');
  assert.equal(err.line, 301);
  assert.equal(err.status, 422);
  assert.deepEqual(err.details, { line: 301 });

  const tsv = await failure(utf8('a\tb\n1\t2\n3\t4\t5\n'), 'tsv');
  assert.equal(tsv.code, 'import.malformed_row');
  assert.equal(tsv.line, 3);
});

test('blank lines and empty rows are skipped without shifting line numbers', async () => {
  const rows = await collect(utf8('\n\n a , b \n\n1,2\n,\n  \n3,4\n\n'), 'csv');
  assert.deepEqual(rows, [
    { line: 5, values: { a: '1', b: '2' } },
    { line: 8, values: { a: '3', b: '4' } },
  ]);
});

test('quoting errors are malformed rows at the line where the row starts', async () => {
  const unclosed = await failure(utf8('a,b\n1,2\n3,"4\n5,6\n7,8\n'), 'csv');
  assert.equal(unclosed.code, 'import.malformed_row');
  assert.equal(unclosed.line, 3);
  const stray = await failure(utf8('a,b\n1,2\n\n3,"4"x\n'), 'csv');
  assert.equal(stray.code, 'import.malformed_row');
  assert.equal(stray.line, 4);
  const tsvQuote = await failure(utf8('a\tb\n1\t"2\n'), 'tsv');
  assert.equal(tsvQuote.code, 'import.malformed_row');
  assert.equal(tsvQuote.line, 2);
});

test('header problems: none, duplicate (after trimming), unnamed column, BOM in the name', async () => {
  assert.equal((await failure(utf8(''), 'csv')).code, 'import.no_header');
  assert.equal((await failure(utf8('\r\n\r\n'), 'csv')).code, 'import.no_header');
  const dup = await failure(utf8('name, email ,email\n'), 'csv');
  assert.equal(dup.code, 'import.duplicate_header');
  assert.equal(dup.line, 1);
  assert.equal(dup.column, 3);
  assert.equal((await failure(utf8('a,,c\n1,2,3\n'), 'csv')).code, 'import.no_header');
  // A second BOM (file saved twice by a BOM-adding editor) must not end up in the column name.
  assert.deepEqual(await collect(bytes(BOM, BOM, utf8('a,b\n1,2\n')), 'csv'), [{ line: 2, values: { a: '1', b: '2' } }]);
  // Header only: a valid, empty import.
  assert.deepEqual(await collect(utf8('a,b\r\n'), 'csv'), []);
});

test('a column named __proto__ is an ordinary own property', async () => {
  const [row] = await collect(utf8('__proto__,b\nx,y\n'), 'csv');
  assert.ok(row !== undefined);
  assert.equal(Object.getPrototypeOf(row.values), Object.prototype);
  assert.deepEqual(Object.entries(row.values), [['__proto__', 'x'], ['b', 'y']]);
});

test('limits: value length and column count', async () => {
  const long = 'x'.repeat(101);
  const csv = await failure(utf8(`a,b\n1,2\n3,${long}\n`), 'csv', 4096, { maxFieldLength: 100 });
  assert.equal(csv.code, 'import.field_too_long');
  assert.equal(csv.line, 3);
  assert.equal(csv.column, 2);
  assert.equal((await collect(utf8(`a,b\n3,${'x'.repeat(100)}\n`), 'csv', 4096, { maxFieldLength: 100 })).length, 1);
  const wide = await failure(utf8('a,b,c,d\n1,2,3,4\n'), 'csv', 4096, { maxColumns: 3 });
  assert.equal(wide.code, 'import.malformed_row');
  assert.equal(wide.line, 1);
  const json = await failure(utf8(`{"a":"1"}\n{"a":"${long}"}\n`), 'jsonl', 4096, { maxFieldLength: 100 });
  assert.equal(json.code, 'import.field_too_long');
  assert.equal(json.line, 2);
  // A quote that is never closed cannot swallow the rest of a huge file into memory.
  const runaway = await failure(utf8(`a,b\n1,"${'y'.repeat(50_000)}`), 'csv', 4096, { maxFieldLength: 100, maxColumns: 2 });
  assert.equal(runaway.code, 'import.field_too_long');
  assert.equal(runaway.line, 2);
});

test('invalid UTF-8 in a file that started valid: import.invalid_encoding with the line', async () => {
  // BOM-marked file: detection is certain, the damage is on line 4.
  const withBom = bytes(BOM, utf8('a,b\n1,山田\n2,佐藤\n3,'), [0xe5, 0x28], utf8('\n4,x\n'));
  for (const size of [1, 5, 4096]) {
    const err = await failure(withBom, 'csv', size);
    assert.equal(err.code, 'import.invalid_encoding');
    assert.equal(err.line, 4);
    assert.match(err.message, /UTF-8/);
  }
  // No BOM, damage far beyond the detection sample.
  const lines = ['a,b'];
  for (let i = 0; i < 5000; i++) lines.push(`${i},会社${i}`);
  const text = lines.join('\r\n') + '\r\n';
  const big = bytes(utf8(text), utf8('5000,'), [0xc3], utf8('\r\n5001,z\r\n'));
  assert.ok(big.length > 64 * 1024);
  const err = await failure(big, 'csv', 8192);
  assert.equal(err.code, 'import.invalid_encoding');
  assert.equal(err.line, 5002);
  // Truncated multi-byte character at the very end of the file.
  const truncated = await failure(bytes(utf8('a,b\n1,山田\n2,'), utf8('佐').subarray(0, 2)), 'csv', 3);
  assert.equal(truncated.code, 'import.invalid_encoding');
  assert.equal(truncated.line, 3);
  // Inside a quoted multi-line value: the byte, not the cut-off quote, is what gets reported.
  const inQuote = await failure(bytes(BOM, utf8('a,b\n1,"x\n'), [0xff], utf8('y"\n')), 'csv');
  assert.equal(inQuote.code, 'import.invalid_encoding');
  assert.equal(inQuote.line, 3);
  // An earlier malformed row still wins over a later bad byte.
  const earlier = await failure(bytes(BOM, utf8('a,b\n1,2,3\n4,5\n'), [0xff], utf8('\n')), 'csv');
  assert.equal(earlier.code, 'import.malformed_row');
  assert.equal(earlier.line, 2);
});

test('invalid Shift_JIS byte reports its line', async () => {
  const data = bytes(sjis('氏名,会社\r\n山田,株式会社\r\n'), sjis('佐藤,'), [0x81, 0x0a], sjis('\r\n'));
  const err = await failure(data, 'csv', 2);
  assert.equal(err.code, 'import.invalid_encoding');
  assert.equal(err.line, 3);
  assert.match(err.message, /Shift_JIS/);
});

test('error messages never contain row content', async () => {
  const secret = '秘密太郎090-9999-8888';
  const cases: [string, ImportFormat][] = [
    [`a,b\n${secret}\n`, 'csv'],
    [`a,b\n1,"${secret}"x\n`, 'csv'],
    [`a,b\n1,"${secret}\n`, 'csv'],
    [`${secret},${secret}\n`, 'csv'],
    [`{"a":"${secret}"}\n["${secret}"]\n`, 'jsonl'],
    [`{"a":{"n":"${secret}"}}\n`, 'jsonl'],
    [`{"a":"${secret}"\n`, 'jsonl'],
  ];
  for (const [text, format] of cases) {
    const err = await failure(utf8(text), format);
    assert.ok(!err.message.includes('秘密') && !err.message.includes('9999'), err.message);
    assert.ok(!JSON.stringify(err.details).includes('秘密'));
  }
});

test('JSON Lines: objects of strings/numbers/null; numbers stringified, null omitted', async () => {
  const text = '{"a":"x","n":12,"f":1.5,"z":null}\r\n\r\n  \n{"a":"日本語","n":-3e2}\n{}';
  assert.deepEqual(await collect(utf8(text), 'jsonl', 2), [
    { line: 1, values: { a: 'x', n: '12', f: '1.5' } },
    { line: 4, values: { a: '日本語', n: '-300' } },
    { line: 5, values: {} },
  ]);
  assert.deepEqual(await collect(bytes(BOM, utf8('{"a":"1"}\n')), 'jsonl'), [{ line: 1, values: { a: '1' } }]);
  assert.deepEqual(await collect(sjis('{"氏名":"山田"}\r\n'), 'jsonl'), [{ line: 1, values: { 氏名: '山田' } }]);
  assert.deepEqual(await collect(utf8(''), 'jsonl'), []);
});

test('JSON Lines: a line that is not an object of scalars fails with its line', async () => {
  const good = '{"a":"1"}\n{"a":"2"}\n\n';
  for (const bad of ['[1,2]', '"text"', '42', 'null', '{"a":true}', '{"a":{"b":"c"}}', '{"a":["x"]}', '{"a":', 'not json']) {
    const err = await failure(utf8(`${good}${bad}\n{"a":"5"}\n`), 'jsonl', 3);
    assert.equal(err.code, 'import.malformed_row', bad);
    assert.equal(err.line, 4, bad);
  }
});

test('onBytes reports every raw byte; Node streams and files work as input', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mamori-import-'));
  try {
    const path = join(dir, 'contacts.csv');
    await writeDemoCsv(path, 5000, 3);
    let seen = 0;
    const rows: ImportRow[] = [];
    for await (const row of parseImport(createReadStream(path, { highWaterMark: 4096 }), 'csv', { onBytes: (n) => (seen += n) })) {
      rows.push(row);
    }
    assert.equal(seen, (await stat(path)).size);
    const contacts = [...generateDemoContacts(5000, 3)];
    assert.equal(rows.length, 5000);
    rows.forEach((row, i) => {
      assert.equal(row.line, i + 2);
      assert.deepEqual(row.values, contacts[i]);
    });
    const fromBuffer = await (async () => {
      const out: ImportRow[] = [];
      for await (const row of parseImport(Readable.from([Buffer.from('a,b\n1,2\n')]), 'csv')) out.push(row);
      return out;
    })();
    assert.deepEqual(fromBuffer, [{ line: 2, values: { a: '1', b: '2' } }]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('stopping early releases the input', async () => {
  const finished = new Set<string>();
  async function* endless(format: ImportFormat): AsyncGenerator<Uint8Array> {
    try {
      if (format === 'csv') yield utf8('a,b\n');
      for (let i = 0; ; i++) yield utf8(format === 'csv' ? `${i},x\n` : `{"i":${i}}\n`);
    } finally {
      finished.add(format);
    }
  }
  for (const format of ['csv', 'jsonl'] as const) {
    let n = 0;
    for await (const _ of parseImport(endless(format), format)) if (++n === 10) break;
    assert.equal(n, 10);
    // Readable.from closes its iterator asynchronously after destroy().
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(finished.has(format), format);
  }
});
