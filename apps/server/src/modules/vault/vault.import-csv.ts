/**
 * CSV and TSV: a hand-written, streaming RFC 4180 state machine (ADR 0011). It replaced csv-parse,
 * which cost 17–20 µs of the import's ~30 µs of parsing per row (its per-byte Buffer handling and
 * the record/info objects it builds for every row); this loop costs a few µs. It reproduces
 * exactly what the csv-parse-based parser accepted, rejected and reported (rows, error codes and
 * physical line numbers); a differential property test keeps the old implementation as the
 * reference (`vault.import-csv.test.ts`).
 *
 * The rules, all of them csv-parse's with `{ delimiter, quote: '"', escape: '"', record_delimiter:
 * ['\r\n', '\n', '\r'], skip_empty_lines, relax_column_count, max_record_size }`:
 * - A value is quoted only if its first character is `"`; inside, `""` is one quote and line breaks
 *   are data. A quote anywhere else in an unquoted value is an error ("invalid opening quote").
 * - After a closing quote comes the delimiter, a line break or the end of the text; anything else
 *   is an error ("invalid closing quote"). One quirk kept for equivalence: csv-parse tests the byte
 *   after a closing quote for truthiness, so a NUL there is accepted and it and what follows join
 *   the value. Such a value is refused later anyway (control character).
 * - CRLF, LF and lone CR each end a record; empty lines are skipped.
 * - max_record_size bounds memory for a runaway value: a value fails when, while it is being read,
 *   its UTF-8 bytes plus the UTF-16 lengths of the record's earlier values exceed the bound (csv-parse
 *   counts the value in progress in bytes and completed ones by string length; kept as is).
 * Then, per record (formerly csv-parse's on_record hook): line accounting, blank records skipped,
 * the first non-blank record is the header, every later one needs as many values as the header has
 * names, and each value at most `maxFieldLength` UTF-16 units.
 *
 * Rows come out in arrays, one per text chunk, so the import pays the async iteration once per
 * chunk instead of once per row.
 */
import { ImportParseError, tooLong, type ImportLimits, type ImportRow } from './vault.import-errors.ts';

const QUOTE = 0x22;
const CR = 0x0d;
const LF = 0x0a;
const NUL = 0x00;

// Parser states (plain numbers: the hot loop compares them).
/** At the first character of a value (nothing of it read yet). */
const FIELD_START = 0;
/** Inside an unquoted value. */
const UNQUOTED = 1;
/** Inside a quoted value. */
const QUOTED = 2;
/** Just after a quote inside a quoted value: an escaped quote or the closing one, the next character decides. */
const AFTER_QUOTE = 3;

/** Lines like ",,," (Excel leaves them after deleted rows) or only spaces carry no data. */
export function isBlankRecord(record: readonly string[]): boolean {
  for (const v of record) if (v.trim() !== '') return false;
  return true;
}

export function readHeader(record: readonly string[], line: number, limits: ImportLimits): string[] {
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

function invalidQuoting(line: number): ImportParseError {
  return new ImportParseError('import.malformed_row', line, `Line ${line}: invalid quoting`);
}

function unclosedQuote(line: number): ImportParseError {
  return new ImportParseError('import.malformed_row', line, `Line ${line}: a quoted value is never closed`);
}

/**
 * The state machine. `push` takes decoded text in pieces cut anywhere (a quoted value, a CRLF or an
 * escaped quote may straddle two pieces) and returns the rows completed in it; `end` finishes the
 * last record. The first error stops it: it is kept in `failure`, after the rows before it.
 */
export class DelimitedParser {
  private readonly delimiter: number;
  private readonly maxRecordSize: number;
  private state = FIELD_START;
  /** The record's values completed so far. */
  private fields: string[] = [];
  /** UTF-16 length of those values (csv-parse's record_length). */
  private recordLength = 0;
  /** The current value's text from earlier pieces and from before an escaped quote. */
  private partial = '';
  /** Physical line (1-based) of the next character. CRLF, LF and lone CR each end a line. */
  private line = 1;
  /** Physical line where the record being read starts: the line of every error in it. */
  private recordLine = 1;
  /** The previous piece ended with CR (a following LF belongs to it). */
  private lastWasCR = false;
  private header: string[] | undefined;
  /** The header has no column named "__proto__", so values can be set by plain assignment. */
  private plainKeys = true;
  private rows: ImportRow[] = [];
  failure: ImportParseError | undefined;

  constructor(
    delimiter: ',' | '\t',
    private readonly limits: ImportLimits,
  ) {
    this.delimiter = delimiter.charCodeAt(0);
    // The bound the csv-parse-based parser used (0 there meant none).
    this.maxRecordSize = limits.maxColumns * (limits.maxFieldLength + 1) * 4;
  }

  get hasHeader(): boolean {
    return this.header !== undefined;
  }

  /** Parses one piece of text; returns the rows it completed. After a failure it does nothing. */
  push(text: string): ImportRow[] {
    this.rows = [];
    if (this.failure === undefined && text.length > 0) {
      try {
        this.scan(text);
      } catch (err) {
        if (!(err instanceof ImportParseError)) throw err;
        this.failure = err;
      }
    }
    return this.rows;
  }

  /**
   * The text is complete: finishes the last record. `encodingError` (the decoder's, held back until
   * the valid text before it was parsed) replaces an unclosed quote: the text cut short before the bad
   * byte is what left it open.
   */
  end(encodingError?: ImportParseError): ImportRow[] {
    this.rows = [];
    if (this.failure !== undefined) return this.rows;
    try {
      switch (this.state) {
        case FIELD_START:
          // A record cut off after a delimiter ends with an empty value; otherwise nothing is pending.
          if (this.fields.length > 0) this.endRecord('');
          break;
        case QUOTED:
          // (The value so far passed the size check at the end of the last piece.)
          throw encodingError ?? unclosedQuote(this.recordLine);
        default:
          this.endRecord(this.partial);
      }
    } catch (err) {
      if (!(err instanceof ImportParseError)) throw err;
      this.failure = err;
    }
    return this.rows;
  }

  private scan(text: string): void {
    const len = text.length;
    const delimiter = this.delimiter;
    let state = this.state;
    let i = 0;
    // The LF of a CRLF whose CR ended the previous piece (outside quotes: the rest of a record delimiter).
    if (this.lastWasCR && state !== QUOTED && text.charCodeAt(0) === LF) i = 1;
    /** Start in `text` of the current value's text not yet in `partial`. */
    let start = i;
    while (i < len) {
      if (state === FIELD_START) {
        if (text.charCodeAt(i) === QUOTE) {
          state = QUOTED;
          start = ++i;
          continue;
        }
        state = UNQUOTED;
        start = i;
      }
      if (state === UNQUOTED) {
        for (;;) {
          const c = text.charCodeAt(i);
          if (c === delimiter) {
            this.endValue(this.take(text, start, i));
            state = FIELD_START;
            start = ++i;
            break;
          }
          if (c === LF || c === CR) {
            if (this.fields.length === 0 && i === start && this.partial === '') this.skipEmptyLine();
            else this.endRecord(this.take(text, start, i));
            // A CRLF is one record delimiter.
            if (c === CR && i + 1 < len && text.charCodeAt(i + 1) === LF) i++;
            state = FIELD_START;
            start = ++i;
            break;
          }
          if (c === QUOTE) {
            // Only a value's first character may open a quote.
            this.checkSize(this.take(text, start, i));
            throw invalidQuoting(this.recordLine);
          }
          if (++i === len) break;
        }
        continue;
      }
      if (state === QUOTED) {
        for (;;) {
          const c = text.charCodeAt(i);
          if (c === QUOTE) {
            this.partial += text.slice(start, i);
            state = AFTER_QUOTE;
            start = ++i;
            break;
          }
          if (c === CR) this.line++;
          else if (c === LF && (i > 0 ? text.charCodeAt(i - 1) !== CR : !this.lastWasCR)) this.line++;
          if (++i === len) break;
        }
        continue;
      }
      // AFTER_QUOTE: the quote before this character was either half of "" or the closing one.
      const c = text.charCodeAt(i);
      if (c === QUOTE) {
        // An escaped quote: the value goes on, this quote included.
        state = QUOTED;
        start = i++;
      } else if (c === delimiter) {
        this.endValue(this.takePartial());
        state = FIELD_START;
        start = ++i;
      } else if (c === LF || c === CR) {
        this.endRecord(this.takePartial());
        if (c === CR && i + 1 < len && text.charCodeAt(i + 1) === LF) i++;
        state = FIELD_START;
        start = ++i;
      } else if (c === NUL) {
        // csv-parse's quirk (see the top of the file): the value goes on, unquoted, from this NUL.
        state = UNQUOTED;
        start = i++;
      } else {
        this.checkSize(this.partial);
        throw invalidQuoting(this.recordLine);
      }
    }
    // The piece ends inside a value: keep its text (bounded by the record size check).
    if (state === UNQUOTED || state === QUOTED) {
      this.partial += text.slice(start);
      this.checkSize(this.partial);
    }
    this.state = state;
    this.lastWasCR = text.charCodeAt(len - 1) === CR;
  }

  /** The current value's text: what earlier pieces held plus text[start, end). Clears `partial`. */
  private take(text: string, start: number, end: number): string {
    const s = text.slice(start, end);
    if (this.partial === '') return s;
    const v = this.partial + s;
    this.partial = '';
    return v;
  }

  private takePartial(): string {
    const v = this.partial;
    this.partial = '';
    return v;
  }

  /**
   * csv-parse's max_record_size: it checked before appending each byte of a value that the bytes so
   * far plus the completed values' lengths did not exceed the bound. A value of B bytes thus passes iff
   * B <= bound - recordLength + 1. A UTF-16 unit is at most 3 UTF-8 bytes, so the exact count is only
   * needed for long values.
   */
  private checkSize(value: string): void {
    const room = this.maxRecordSize - this.recordLength + 1;
    if (this.maxRecordSize !== 0 && value.length * 3 > room && Buffer.byteLength(value, 'utf8') > room) {
      throw tooLong(this.recordLine);
    }
  }

  private endValue(value: string): void {
    this.checkSize(value);
    this.fields.push(value);
    this.recordLength += value.length;
  }

  private skipEmptyLine(): void {
    this.recordLine = ++this.line;
  }

  /** Completes a record with its last value, checks it and, if it is a data row, adds it to `rows`. */
  private endRecord(last: string): void {
    this.endValue(last);
    const record = this.fields;
    const line = this.recordLine;
    this.fields = [];
    this.recordLength = 0;
    this.recordLine = ++this.line;
    if (isBlankRecord(record)) return;
    const header = this.header;
    if (header === undefined) {
      this.header = readHeader(record, line, this.limits);
      this.plainKeys = !this.header.includes('__proto__');
      return;
    }
    if (record.length !== header.length) {
      throw new ImportParseError('import.malformed_row', line, `Line ${line}: expected ${header.length} columns, found ${record.length}`);
    }
    const max = this.limits.maxFieldLength;
    let values: Record<string, string>;
    if (this.plainKeys) {
      values = {};
      for (let i = 0; i < record.length; i++) {
        const value = record[i] as string;
        if (value.length > max) throw tooLong(line, i + 1);
        values[header[i] as string] = value;
      }
    } else {
      // fromEntries defines own properties, so a column named "__proto__" is just a column.
      const entries: [string, string][] = [];
      for (let i = 0; i < record.length; i++) {
        const value = record[i] as string;
        if (value.length > max) throw tooLong(line, i + 1);
        entries.push([header[i] as string, value]);
      }
      values = Object.fromEntries(entries);
    }
    this.rows.push({ line, values });
  }
}

/**
 * CSV (delimiter ",") or TSV (TAB) rows from decoded text, in arrays. The text source runs ahead of
 * the parser, so an encoding error found there is held back until the valid text before it is
 * parsed: errors come out in file order, and the rows before an error come out before it.
 */
export async function* parseDelimited(
  texts: AsyncIterable<string>,
  delimiter: ',' | '\t',
  limits: ImportLimits,
): AsyncGenerator<ImportRow[], void, undefined> {
  let encodingError: ImportParseError | undefined;
  async function* holdEncodingError(): AsyncGenerator<string, void, undefined> {
    try {
      yield* texts;
    } catch (err) {
      if (err instanceof ImportParseError && err.code === 'import.invalid_encoding') encodingError = err;
      else throw err;
    }
  }

  const parser = new DelimitedParser(delimiter, limits);
  for await (const text of holdEncodingError()) {
    const rows = parser.push(text);
    if (rows.length > 0) yield rows;
    if (parser.failure !== undefined) throw parser.failure;
  }
  const rows = parser.end(encodingError);
  if (rows.length > 0) yield rows;
  if (parser.failure !== undefined) throw parser.failure;
  if (encodingError !== undefined) throw encodingError;
  if (!parser.hasHeader) throw new ImportParseError('import.no_header', 1, 'The file has no header row');
}
