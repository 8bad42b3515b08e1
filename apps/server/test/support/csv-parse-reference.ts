/**
 * The reference for the CSV/TSV parser's differential test (vault.import-csv.test.ts): the
 * csv-parse-based implementation that vault.import-parse.ts used before ADR 0011, kept verbatim
 * apart from two additions marked "Added for the reference" (it records every row it produced, in
 * parse order, and takes the text source as its caller builds it). Not used by the product.
 */
import { Readable } from 'node:stream';
import { CsvError, parse as parseCsv, type Options as CsvOptions } from 'csv-parse';
import { decodeInput, type ByteSource } from '../../src/modules/vault/vault.import-decode.ts';
import { ImportParseError, tooLong, type ImportLimits, type ImportRow } from '../../src/modules/vault/vault.import-errors.ts';

/** CRLF, LF and lone CR each end one physical line (the parser accepts all three as row ends). */
function countLineBreaks(values: readonly string[]): number {
  let n = 0;
  for (const v of values) {
    if (v.indexOf('\n') === -1 && v.indexOf('\r') === -1) continue;
    for (let i = 0; i < v.length; i++) {
      const c = v.charCodeAt(i);
      if (c === 0x0a) n++;
      else if (c === 0x0d) {
        n++;
        if (v.charCodeAt(i + 1) === 0x0a) i++;
      }
    }
  }
  return n;
}

/** Lines like ",,," (Excel leaves them after deleted rows) or only spaces carry no data. */
function isBlankRecord(record: readonly string[]): boolean {
  for (const v of record) if (v.trim() !== '') return false;
  return true;
}

function readHeader(record: readonly string[], line: number, limits: ImportLimits): string[] {
  if (record.length > limits.maxColumns) {
    throw new ImportParseError('import.malformed_row', line, `Line ${line}: more than ${limits.maxColumns} columns`);
  }
  const names = record.map((name, i) => (i === 0 ? name.replace(/^\uFEFF/, '') : name).trim());
  const seen = new Map<string, number>();
  names.forEach((name, i) => {
    if (name.length > limits.maxFieldLength) throw tooLong(line, i + 1);
    // Columns are reported by position, never by name: a file without a header row would make
    // its first data row — personal values — the "names".
    if (name === '') {
      throw new ImportParseError('import.no_header', line, `Line ${line}: column ${i + 1} of the header row has no name`, i + 1);
    }
    const first = seen.get(name);
    if (first !== undefined) {
      throw new ImportParseError(
        'import.duplicate_header',
        line,
        `Line ${line}: column ${i + 1} has the same name as column ${first}`,
        i + 1,
      );
    }
    seen.set(name, i + 1);
  });
  return names;
}

function csvErrorToImportError(err: CsvError, line: number): ImportParseError {
  switch (err.code) {
    case 'CSV_MAX_RECORD_SIZE':
      return tooLong(line);
    case 'CSV_QUOTE_NOT_CLOSED':
      return new ImportParseError('import.malformed_row', line, `Line ${line}: a quoted value is never closed`);
    default:
      // csv-parse's own message quotes the offending value, so it is deliberately not passed on.
      return new ImportParseError('import.malformed_row', line, `Line ${line}: invalid quoting`);
  }
}

/**
 * Tracks physical lines and validates rows inside csv-parse's on_record hook, which runs in parse
 * order as each record completes. Doing it there rather than in the consumer matters: when the
 * parser fails, its stream drops the records still buffered, so any check made downstream could
 * be skipped and a later error reported instead of an earlier one.
 */
class CsvRowChecker {
  private header: string[] | undefined;
  private lastEndLine = 0;
  private lastEmptyLines = 0;

  constructor(
    private readonly limits: ImportLimits,
    /** Added for the reference: every row in parse order, including those the stream drops on an error. */
    private readonly seen: ImportRow[],
  ) {}

  get hasHeader(): boolean {
    return this.header !== undefined;
  }

  /** First line of the record being parsed; blank lines show only in csv-parse's running count. */
  startOfNext(emptyLines: number): number {
    return this.lastEndLine + 1 + (emptyLines - this.lastEmptyLines);
  }

  onRecord(record: string[], emptyLines: number): ImportRow | null {
    const line = this.startOfNext(emptyLines);
    this.lastEndLine = line + countLineBreaks(record);
    this.lastEmptyLines = emptyLines;
    if (isBlankRecord(record)) return null;
    const header = this.header;
    if (header === undefined) {
      this.header = readHeader(record, line, this.limits);
      return null;
    }
    if (record.length !== header.length) {
      throw new ImportParseError('import.malformed_row', line, `Line ${line}: expected ${header.length} columns, found ${record.length}`);
    }
    const entries: [string, string][] = [];
    for (let i = 0; i < record.length; i++) {
      const value = record[i] as string;
      if (value.length > this.limits.maxFieldLength) throw tooLong(line, i + 1);
      entries.push([header[i] as string, value]);
    }
    // fromEntries defines own properties, so a column named "__proto__" is just a column.
    const row = { line, values: Object.fromEntries(entries) };
    this.seen.push(row);
    return row;
  }
}

export async function* referenceParseDelimited(
  texts: AsyncGenerator<string, void, undefined>,
  delimiter: string,
  limits: ImportLimits,
  seen: ImportRow[],
): AsyncGenerator<ImportRow, void, undefined> {
  // The text source runs ahead of the parser, so an encoding error found there is held back until
  // the parser has consumed the valid text before it: errors come out in file order.
  let encodingError: ImportParseError | undefined;
  async function* holdEncodingError(): AsyncGenerator<string, void, undefined> {
    try {
      yield* texts;
    } catch (err) {
      if (err instanceof ImportParseError && err.code === 'import.invalid_encoding') encodingError = err;
      else throw err;
    }
  }

  const checker = new CsvRowChecker(limits, seen);
  const source = Readable.from(holdEncodingError(), { objectMode: false });
  const csvOptions: CsvOptions<ImportRow, string[]> = {
    delimiter,
    quote: '"',
    escape: '"',
    // Fixed rather than auto-detected, so a file mixing CRLF and LF still splits on both.
    record_delimiter: ['\r\n', '\n', '\r'],
    // Column counts are checked by the checker, against the header, to report the row's first line.
    relax_column_count: true,
    skip_empty_lines: true,
    // A memory bound for a runaway quoted value; exact per-value limits are checked per row.
    max_record_size: limits.maxColumns * (limits.maxFieldLength + 1) * 4,
    on_record: (record, context) => checker.onRecord(record, context.empty_lines),
  };
  // parse()'s non-generic overload types records as string[]; on_record turns them into rows.
  const parser = parseCsv(csvOptions as unknown as CsvOptions);
  source.on('error', (err) => parser.destroy(err));
  source.pipe(parser);

  try {
    for await (const row of parser as AsyncIterable<ImportRow>) yield row;
  } catch (err) {
    if (err instanceof CsvError) {
      // Text cut short before an invalid byte can leave a quote open: the byte is the real cause.
      if (encodingError !== undefined && err.code === 'CSV_QUOTE_NOT_CLOSED') throw encodingError;
      const empty = err['empty_lines'];
      throw csvErrorToImportError(err, checker.startOfNext(typeof empty === 'number' ? empty : 0));
    }
    throw err;
  } finally {
    source.destroy();
    parser.destroy();
  }
  if (encodingError !== undefined) throw encodingError;
  if (!checker.hasHeader) throw new ImportParseError('import.no_header', 1, 'The file has no header row');
}

/**
 * Added for the reference: parseImport's CSV/TSV path as it was (the decoder is unchanged and shared).
 * `seen` receives every row produced, in parse order.
 */
export function referenceParseImport(input: ByteSource, delimiter: ',' | '\t', limits: ImportLimits, seen: ImportRow[]): AsyncGenerator<ImportRow, void, undefined> {
  return referenceParseDelimited(decodeInput(input, undefined), delimiter, limits, seen);
}
