/**
 * The hand-written CSV/TSV parser (ADR 0011) against the csv-parse-based one it replaced, kept as
 * the reference in test/support/csv-parse-reference.ts: over random text from an alphabet made of
 * the characters that matter (quote, both delimiters, CR, LF, space, BOM, NUL, one- two- and
 * four-byte characters), cut into random pieces, both must produce the same rows (line and values)
 * or the same error (code, line, column, message), and the same rows before that error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { referenceParseDelimited, referenceParseImport } from '../../../test/support/csv-parse-reference.ts';
import { CHUNK_RECORDS, DelimitedParser, parseDelimited, parseDelimitedChunk, splitDelimited, type DelimitedChunk } from './vault.import-csv.ts';
import { ImportParseError, type ImportLimits, type ImportRow } from './vault.import-errors.ts';
import { parseImportBatches } from './vault.import-parse.ts';

const SEED = 20261126;
const DEFAULT_LIMITS: ImportLimits = { maxFieldLength: 10_000, maxColumns: 200 };

type Delimiter = ',' | '\t';
type Failure = { code: string; line: number; column: number | undefined; message: string };
type Outcome = { rows: ImportRow[]; error: Failure | null };

// The characters that steer a CSV parser, and a letter of each UTF-8 length (1, 3 and 4 bytes: the
// record size bound counts bytes). Letters are repeated so values are not all punctuation.
const ALPHABET = ['a', 'あ', ',', '\t', '"', '\n', '\r', ' ', '\uFEFF', '\u0000', '𠮷'];
const VALUE_ALPHABET = ['a', 'a', 'a', 'あ', 'あ', '𠮷', ' ', '\uFEFF', '\u0000', ',', '\t', '"', '"', '\n', '\r'];

const limitsArb: fc.Arbitrary<ImportLimits> = fc.oneof(
  { weight: 2, arbitrary: fc.constant(DEFAULT_LIMITS) },
  // Small limits make the value length, column count and record size checks fire.
  { weight: 1, arbitrary: fc.record({ maxFieldLength: fc.integer({ min: 1, max: 12 }), maxColumns: fc.integer({ min: 0, max: 5 }) }) },
);

const delimiterArb = fc.constantFrom<Delimiter>(',', '\t');

/** Any text over the alphabet. */
const randomTextArb = fc.array(fc.constantFrom(...ALPHABET), { maxLength: 80 }).map((cs) => cs.join(''));

/** Text shaped like a file (a header, rows of about as many values, some quoted), with damage. */
const fileTextArb = (delimiter: Delimiter): fc.Arbitrary<string> =>
  fc.integer({ min: 1, max: 4 }).chain((columns) => {
    const value = fc.tuple(
      fc.array(fc.constantFrom(...VALUE_ALPHABET), { maxLength: 6 }).map((cs) => cs.join('')),
      fc.constantFrom('plain', 'plain', 'plain', 'plain', 'plain', 'quoted', 'quoted', 'quoted', 'unescaped', 'trailing', 'long'),
    ).map(([text, style]) => {
      switch (style) {
        case 'quoted':
          return `"${text.replaceAll('"', '""')}"`;
        case 'unescaped':
          return `"${text}"`; // inner quotes not doubled
        case 'long':
          return `"${text.repeat(5).replaceAll('"', '""')}"`; // for the length limits and the record size bound
        case 'trailing':
          return `"${text.replaceAll('"', '""')}"${text.slice(0, 1)}`; // something after the closing quote
        default:
          return text.replace(/["\r\n,\t]/g, ''); // plain letters, spaces, BOM, NUL
      }
    });
    const width = fc.oneof({ weight: 12, arbitrary: fc.constant(columns) }, { weight: 1, arbitrary: fc.constantFrom(columns - 1, columns + 1) });
    const record = width.chain((n) => fc.array(value, { minLength: n, maxLength: n }));
    // Mostly distinct names, so that rows get read; sometimes values (blank, duplicate, quoted names).
    const header = fc.oneof(
      { weight: 4, arbitrary: fc.constant(Array.from({ length: columns }, (_, i) => `h${i}`)) },
      // The last name repeats the first once trimmed.
      { weight: 1, arbitrary: fc.constant(Array.from({ length: columns }, (_, i) => (i > 0 && i === columns - 1 ? ' h0' : `h${i}`))) },
      { weight: 1, arbitrary: record },
    );
    const otherDelimiter = delimiter === ',' ? '\t' : ',';
    const lineBreak = fc.constantFrom('\n', '\r\n', '\r', '\r\n', '\n\n', '\r\n\r\n', ' \n');
    return fc.tuple(header, fc.array(record, { maxLength: 6 }), fc.array(lineBreak, { minLength: 7, maxLength: 7 }), fc.boolean(), fc.integer({ min: 0, max: 19 }))
      .map(([names, records, breaks, endsWithBreak, wrongDelimiter]) => {
        const lines = [names, ...records].map((r) => r.join(wrongDelimiter === 0 ? otherDelimiter : delimiter));
        let text = '';
        lines.forEach((l, i) => (text += (i > 0 ? breaks[i - 1] : '') + l));
        return endsWithBreak ? text + (breaks[6] as string) : text;
      });
  });

/** The line of an encoding error after the text, in about one run of five. */
const encodingErrorArb = fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 40 }) });

/** Cut points in [0, length]: never inside a surrogate pair (a TextDecoder never splits one). */
function cutText(text: string, points: number[]): string[] {
  const cuts = [...new Set(points.map((p) => p % (text.length + 1)))]
    .map((p) => (p > 0 && p < text.length && text.charCodeAt(p - 1) >= 0xd800 && text.charCodeAt(p - 1) <= 0xdbff ? p + 1 : p))
    .sort((a, b) => a - b);
  const pieces: string[] = [];
  let from = 0;
  for (const c of cuts) {
    pieces.push(text.slice(from, c));
    from = c;
  }
  pieces.push(text.slice(from));
  return pieces.filter((p) => p !== '');
}

function cutBytes(bytes: Uint8Array, points: number[]): Uint8Array[] {
  const cuts = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let from = 0;
  for (const c of cuts) {
    pieces.push(bytes.subarray(from, c));
    from = c;
  }
  pieces.push(bytes.subarray(from));
  return pieces;
}

/** Text pieces, then (optionally) the decoder's error for an invalid byte after them. */
async function* textSource(pieces: string[], encodingErrorLine: number | null): AsyncGenerator<string, void, undefined> {
  for (const p of pieces) yield p;
  if (encodingErrorLine !== null) {
    throw new ImportParseError('import.invalid_encoding', encodingErrorLine, `Line ${encodingErrorLine}: invalid byte sequence for UTF-8`);
  }
}

async function* byteSource(pieces: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const p of pieces) yield p;
}

function failureOf(err: unknown): Failure {
  if (!(err instanceof ImportParseError)) throw err;
  return { code: err.code, line: err.line, column: err.column, message: err.message };
}

async function newOutcome(batches: AsyncIterable<ImportRow[]>): Promise<Outcome> {
  const rows: ImportRow[] = [];
  try {
    for await (const batch of batches) rows.push(...batch);
    return { rows, error: null };
  } catch (err) {
    return { rows, error: failureOf(err) };
  }
}

async function referenceOutcome(run: (seen: ImportRow[]) => AsyncIterable<ImportRow>): Promise<Outcome> {
  const seen: ImportRow[] = [];
  const yielded: ImportRow[] = [];
  let error: Failure | null = null;
  try {
    for await (const row of run(seen)) yielded.push(row);
  } catch (err) {
    error = failureOf(err);
  }
  // The csv-parse stream may drop rows still buffered when it fails; the rows it produced are `seen`.
  assert.deepEqual(yielded, seen.slice(0, yielded.length));
  if (error === null) assert.equal(yielded.length, seen.length);
  return { rows: seen, error };
}

/** Outcome kinds met, to show the generators reach every rule (and the test is not vacuous). */
const met = new Map<string, number>();
function tally(o: Outcome): void {
  const kind = o.error === null ? (o.rows.length >= 2 ? 'rows>=2' : 'rows<2') : `${o.error.code}: ${o.error.message.replace(/\d+/g, 'N')}`;
  met.set(kind, (met.get(kind) ?? 0) + 1);
}

async function compareOnText(text: string, cuts: number[], delimiter: Delimiter, limits: ImportLimits, encodingErrorLine: number | null): Promise<void> {
  const pieces = cutText(text, cuts);
  const expected = await referenceOutcome((seen) => referenceParseDelimited(textSource(pieces, encodingErrorLine), delimiter, limits, seen));
  tally(expected);
  // As the import reads it too: cut into chunks of whole records (the default, and one or two
  // records a chunk so that most texts are cut), each chunk parsed on its own.
  for (const chunkRecords of [CHUNK_RECORDS, 1, 2]) {
    assert.deepEqual(await splitOutcome(splitDelimited(textSource(pieces, encodingErrorLine), delimiter, limits, chunkRecords), chunkRecords !== CHUNK_RECORDS), expected);
  }
}

/**
 * How the splitter handed texts on, with chunks of one or two records: in several chunks; with an error found by
 * parsing a chunk; with an error thrown by the splitter itself (the header, or the parser after it took
 * over at a quote it refuses or an overlong record); with rows from that parser.
 */
const splits = new Map<string, number>();
function count(kind: string): void {
  splits.set(kind, (splits.get(kind) ?? 0) + 1);
}

/** The rows and error of splitDelimited's output, its chunks parsed one by one as the import does. */
async function splitOutcome(batches: AsyncIterable<readonly ImportRow[] | DelimitedChunk>, tallied: boolean): Promise<Outcome> {
  const rows: ImportRow[] = [];
  let chunks = 0;
  const seen = (kind: string) => tallied && count(kind);
  try {
    for await (const batch of batches) {
      if (Array.isArray(batch)) {
        seen('rows from the parser');
        rows.push(...(batch as ImportRow[]));
        continue;
      }
      const chunk = batch as DelimitedChunk;
      if (++chunks === 3) seen('3 or more chunks');
      // A chunk that is not the last ends just after a record delimiter.
      if (!chunk.last) assert.match(chunk.texts.at(-1)!, /[\r\n]$/);
      assert.ok(chunk.texts.every((t) => t !== ''), 'no empty piece');
      const parsed = parseDelimitedChunk(chunk);
      assert.ok(parsed.rows.length <= chunk.records, 'a chunk holds at most as many rows as it counts records');
      rows.push(...parsed.rows);
      if (parsed.failure !== undefined) {
        seen('error in a chunk');
        return { rows, error: failureOf(parsed.failure) };
      }
    }
    return { rows, error: null };
  } catch (err) {
    seen('error from the splitter');
    return { rows, error: failureOf(err) };
  }
}

const cutsArb = fc.oneof(
  fc.array(fc.nat(), { maxLength: 8 }),
  fc.constant(Array.from({ length: 200 }, (_, i) => i)), // one character per piece
);

test('differential: random text over the edge-case alphabet, random pieces, both delimiters (3,000 runs)', async () => {
  await fc.assert(
    fc.asyncProperty(randomTextArb, cutsArb, delimiterArb, limitsArb, encodingErrorArb, compareOnText),
    { seed: SEED, numRuns: 3000 },
  );
});

test('differential: file-shaped text (header, rows, quoting, damage), random pieces, both delimiters (3,000 runs)', async () => {
  await fc.assert(
    fc.asyncProperty(
      delimiterArb.chain((d) => fc.tuple(fc.constant(d), fileTextArb(d))),
      cutsArb,
      limitsArb,
      encodingErrorArb,
      async ([delimiter, text], cuts, limits, encodingErrorLine) => compareOnText(text, cuts, delimiter, limits, encodingErrorLine),
    ),
    { seed: SEED + 1, numRuns: 3000 },
  );
});

test('differential: bytes through parseImport (BOM, an invalid byte anywhere, random chunks) (2,000 runs)', async () => {
  const encoder = new TextEncoder();
  await fc.assert(
    fc.asyncProperty(
      delimiterArb.chain((d) => fc.tuple(fc.constant(d), fc.oneof(fileTextArb(d), randomTextArb))),
      fc.array(fc.nat(), { maxLength: 8 }),
      limitsArb,
      fc.boolean(),
      fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.nat() }),
      async ([delimiter, text], cuts, limits, bom, badByteAt) => {
        let bytes = encoder.encode(text);
        if (badByteAt !== null) {
          const at = badByteAt % (bytes.length + 1);
          bytes = new Uint8Array([...bytes.subarray(0, at), 0xff, ...bytes.subarray(at)]);
        }
        if (bom) bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...bytes]);
        const pieces = cutBytes(bytes, cuts);
        const expected = await referenceOutcome((seen) => referenceParseImport(byteSource(pieces), delimiter, limits, seen));
        const format = delimiter === ',' ? 'csv' : 'tsv';
        const actual = await newOutcome(parseImportBatches(byteSource(pieces), format, limits));
        tally(expected);
        assert.deepEqual(actual, expected);
      },
    ),
    { seed: SEED + 2, numRuns: 2000 },
  );
});

test('differential: the record size bound, values of 1- to 4-byte characters near it (1,000 runs)', async () => {
  const sizeCase = fc.integer({ min: 1, max: 3 }).chain((columns) =>
    fc.record({
      columns: fc.constant(columns),
      limits: fc.record({ maxFieldLength: fc.integer({ min: 2, max: 4 }), maxColumns: fc.integer({ min: columns, max: 3 }) }),
      rows: fc.array(
        fc.array(
          fc
            .tuple(fc.array(fc.constantFrom('a', 'é', 'あ', '𠮷', '""', '\n'), { maxLength: 40, size: 'max' }), fc.boolean(), fc.constantFrom('', '', '', '"', 'x'))
            .map(([cs, quoted, damage]) =>
              // Damage after the value: which error wins, the bound or the quoting, depends on where each is met.
              quoted ? `"${cs.join('')}${damage === '"' ? '' : '"'}${damage}` : cs.filter((c) => c !== '""' && c !== '\n').join('') + damage,
            ),
          { minLength: columns, maxLength: columns },
        ),
        { maxLength: 4 },
      ),
    }),
  );
  await fc.assert(
    fc.asyncProperty(sizeCase, cutsArb, delimiterArb, async ({ columns, limits, rows }, cuts, delimiter) => {
      const header = Array.from({ length: columns }, (_, i) => `h${i}`).join(delimiter);
      const text = [header, ...rows.map((r) => r.join(delimiter))].join('\r\n');
      await compareOnText(text, cuts, delimiter, limits, null);
    }),
    { seed: SEED + 3, numRuns: 1000 },
  );
});

test('a value that never ends fails once it passes the record size bound, without reading on', async () => {
  let pulled = 0;
  async function* endless(): AsyncGenerator<string, void, undefined> {
    yield 'a,b\n1,"';
    for (;;) {
      pulled++;
      yield 'y'.repeat(1000);
    }
  }
  // Bound 2 × 101 × 4 = 808: the first piece of 1,000 passes it.
  const outcome = await newOutcome(parseDelimited(endless(), ',', { maxFieldLength: 100, maxColumns: 2 }));
  assert.deepEqual(outcome.error, { code: 'import.field_too_long', line: 2, column: undefined, message: 'Line 2: a value is longer than allowed' });
  assert.equal(pulled, 1);
});

test('the differential runs met every outcome', (t) => {
  t.diagnostic(JSON.stringify(Object.fromEntries(met)));
  // Each rule of the old parser was exercised many times, so agreement above means something.
  const at = (kind: string) => met.get(kind) ?? 0;
  const kinds = [
    'rows>=2',
    'import.malformed_row: Line N: invalid quoting',
    'import.malformed_row: Line N: a quoted value is never closed',
    'import.malformed_row: Line N: expected N columns, found N',
    'import.malformed_row: Line N: more than N columns',
    'import.field_too_long: Line N: a value is longer than allowed',
    'import.field_too_long: Line N: a value is longer than allowed (column N)',
    'import.no_header: The file has no header row',
    'import.no_header: Line N: column N of the header row has no name',
    'import.duplicate_header: Line N: column N has the same name as column N',
    'import.invalid_encoding: Line N: invalid byte sequence for UTF-N',
  ];
  for (const kind of kinds) assert.ok(at(kind) >= 20, `${kind}: met ${at(kind)} times\n${JSON.stringify([...met.entries()], null, 1)}`);
  // Cut into one-record chunks, texts were split into several chunks, and the parser took over from the splitter.
  t.diagnostic(JSON.stringify(Object.fromEntries(splits)));
  for (const kind of ['3 or more chunks', 'error in a chunk', 'error from the splitter', 'rows from the parser']) {
    assert.ok((splits.get(kind) ?? 0) >= 20, `${kind}: ${splits.get(kind) ?? 0}`);
  }
});

test('rows come out per piece of text, and the rows before an error come out before it', async () => {
  const parser = new DelimitedParser(',', DEFAULT_LIMITS);
  assert.deepEqual(parser.push('a,b\r'), []);
  assert.deepEqual(parser.push('\n1,"x'), []);
  // The LF after the CR that ended a piece is part of that record delimiter, not an empty line.
  assert.deepEqual(parser.push('""y"\r\n2,z\r\n3'), [
    { line: 2, values: { a: '1', b: 'x"y' } },
    { line: 3, values: { a: '2', b: 'z' } },
  ]);
  assert.deepEqual(parser.push(',w\n4,5,6\n7,8\n'), [{ line: 4, values: { a: '3', b: 'w' } }]);
  assert.equal(parser.failure?.code, 'import.malformed_row');
  assert.equal(parser.failure?.line, 5);
  // Nothing after the first error.
  assert.deepEqual(parser.push('9,10\n'), []);
});

test('the record size bound counts the value in progress in UTF-8 bytes, as csv-parse did', async () => {
  // maxColumns 1, maxFieldLength 2: bound 1 × 3 × 4 = 12; a value may have 13 bytes while being read.
  const limits = { maxFieldLength: 2, maxColumns: 1 };
  const outcome = async (text: string) => newOutcome(parseDelimited(textSource([text], null), ',', limits));
  // 4 × 'あ' = 12 bytes (4 UTF-16 units): read fully, then too long as a value (column given).
  assert.deepEqual((await outcome('h\nああああ\n')).error, { code: 'import.field_too_long', line: 2, column: 1, message: 'Line 2: a value is longer than allowed (column 1)' });
  // 5 × 'あ' = 15 bytes: the record bound stops the reading (no column).
  assert.deepEqual((await outcome('h\nあああああ\n')).error, { code: 'import.field_too_long', line: 2, column: undefined, message: 'Line 2: a value is longer than allowed' });
});

test('a NUL after a closing quote continues the value (csv-parse quirk kept); anything else is invalid quoting', async () => {
  const outcome = async (text: string) => newOutcome(parseDelimited(textSource([text], null), ',', DEFAULT_LIMITS));
  assert.deepEqual((await outcome('a,b\n"x"\u0000y,z\n')).rows, [{ line: 2, values: { a: 'x\u0000y', b: 'z' } }]);
  assert.equal((await outcome('a,b\n"x"\u0000"y",z\n')).error?.message, 'Line 2: invalid quoting');
  assert.equal((await outcome('a,b\n"x" ,z\n')).error?.message, 'Line 2: invalid quoting');
});
