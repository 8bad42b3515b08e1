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
 *
 * For the import the text is first cut into chunks of whole records (splitDelimited: the header is
 * read, then only where records end is found, by the same rules without building values), and each
 * chunk is parsed on its own by whichever thread encodes its rows (parseDelimitedChunk; ADR 0013,
 * amended). parseDelimited is that, in one thread; the differential test holds it, at several chunk
 * sizes, to the reference.
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

  /**
   * A parser that starts at the beginning of a record on physical line `line`, after the header
   * `header`: what parses one chunk of text cut at record ends (parseDelimitedChunk).
   */
  static resume(delimiter: ',' | '\t', limits: ImportLimits, header: readonly string[], line: number): DelimitedParser {
    const parser = new DelimitedParser(delimiter, limits);
    parser.header = [...header];
    parser.plainKeys = !header.includes('__proto__');
    parser.line = line;
    parser.recordLine = line;
    return parser;
  }

  get hasHeader(): boolean {
    return this.header !== undefined;
  }

  /** The header's column names, once read. */
  get columns(): readonly string[] | undefined {
    return this.header;
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

/** Most records (blank lines included) in a chunk of text cut by splitDelimited: the import's chunk of rows. */
export const CHUNK_RECORDS = 2000;
/** A chunk is cut at the first record end after this many characters, however few records it holds. */
const CHUNK_CHARS = 4 << 20;

/**
 * Delimited text cut at record ends, with what parsing it needs: the header, the physical line of its
 * first character and the limits. Parsed by parseDelimitedChunk on whichever thread encodes its rows
 * (ADR 0013, amended): the import's thread then only finds where records end. Plain data, so it can
 * be sent to a worker thread; `encodingError` is only ever set on the last chunk.
 */
export type DelimitedChunk = {
  readonly delimiter: ',' | '\t';
  readonly limits: ImportLimits;
  readonly header: readonly string[];
  /**
   * Whole records from the start of one, ending after a record delimiter, or at the end of the file
   * when `last`: the decoder's pieces of text, as they came (joining them into one string costs more
   * than parsing them one after the other).
   */
  readonly texts: readonly string[];
  /** Physical line (1-based) of the text's first character. */
  readonly line: number;
  /** Record delimiters in the text (blank lines included), plus one when `last`: at least as many as its rows. */
  readonly records: number;
  /** The end of the file's text: its last record may lack a delimiter, and the decoder's error may follow it. */
  readonly last: boolean;
  readonly encodingError?: ImportParseError;
};

/** A chunk's rows, and the first error in it (after those rows, as DelimitedParser reports it). */
export function parseDelimitedChunk(chunk: DelimitedChunk): { rows: ImportRow[]; failure: ImportParseError | undefined } {
  const parser = DelimitedParser.resume(chunk.delimiter, chunk.limits, chunk.header, chunk.line);
  let rows: ImportRow[] = [];
  for (const text of chunk.texts) {
    const more = parser.push(text);
    if (rows.length === 0) rows = more;
    else for (const row of more) rows.push(row);
    if (parser.failure !== undefined) break;
  }
  // A chunk that is not the last ends at a record end, so end() finds nothing pending there.
  if (parser.failure === undefined) for (const row of parser.end(chunk.last ? chunk.encodingError : undefined)) rows.push(row);
  return { rows, failure: parser.failure ?? (chunk.last ? chunk.encodingError : undefined) };
}

/**
 * Where records end in delimited text, as DelimitedParser cuts them, without building any value: the
 * same four states, quote rules and line counting, over pieces of text cut anywhere. `scan` fills
 * `ends` with the position just after each record delimiter (empty lines included) in the piece and
 * `lines` with the physical line that follows it. At a quote the parser refuses it stops and sets
 * `invalid`: from there the text goes to the parser itself, which reports the error.
 */
class RecordEnds {
  private state = FIELD_START;
  /** Physical line of the next character. */
  line = 1;
  /** The previous piece ended with CR (a following LF belongs to it). */
  lastWasCR = false;
  invalid = false;
  /** Characters of all pieces before this one, and the absolute position just after the last record delimiter. */
  private before = 0;
  lastEnd = 0;
  readonly ends: number[] = [];
  readonly lines: number[] = [];

  constructor(private readonly delimiter: number) {}

  scan(text: string): void {
    const ends = this.ends;
    const lines = this.lines;
    ends.length = 0;
    lines.length = 0;
    const len = text.length;
    const delimiter = this.delimiter;
    let state = this.state;
    let line = this.line;
    // The LF of a CRLF whose CR ended the previous piece: in a quoted value, data on the CR's line; else the rest of a record delimiter.
    let i = this.lastWasCR && text.charCodeAt(0) === LF ? 1 : 0;
    // The next quote, LF and CR at or after i (len: none), found by indexOf: most records have no quote.
    const next = (c: string, from: number) => {
      const at = text.indexOf(c, from);
      return at < 0 ? len : at;
    };
    let quote = next('"', i);
    let lf = next('\n', i);
    let cr = next('\r', i);
    while (i < len) {
      if (state === QUOTED) {
        if (quote < i) quote = next('"', i);
        // Line breaks inside the quoted value: CR, and LF unless it ends a CRLF.
        if (lf < i) lf = next('\n', i);
        if (cr < i) cr = next('\r', i);
        if (lf < quote || cr < quote) {
          for (let j = i; j < quote; j++) {
            const c = text.charCodeAt(j);
            if (c === CR) line++;
            else if (c === LF && (j > 0 ? text.charCodeAt(j - 1) !== CR : !this.lastWasCR)) line++;
          }
        }
        if (quote === len) break;
        state = AFTER_QUOTE;
        i = quote + 1;
        continue;
      }
      let end: number;
      if (state === AFTER_QUOTE) {
        const c = text.charCodeAt(i);
        if (c === QUOTE) {
          state = QUOTED; // an escaped quote
          quote = next('"', ++i);
          continue;
        }
        if (c === NUL) {
          state = UNQUOTED; // csv-parse's quirk (see DelimitedParser)
          i++;
          continue;
        }
        if (c === delimiter) {
          state = FIELD_START;
          i++;
          continue;
        }
        if (c !== LF && c !== CR) {
          this.invalid = true;
          break;
        }
        end = i;
      } else {
        // FIELD_START or UNQUOTED: up to the next line break, where only a quote matters.
        if (quote < i) quote = next('"', i);
        if (lf < i) lf = next('\n', i);
        if (cr < i) cr = next('\r', i);
        end = lf < cr ? lf : cr;
        if (quote < end) {
          // Only a value's first character may open a quote: after a delimiter, or where a value starts.
          if (quote > i ? text.charCodeAt(quote - 1) !== delimiter : state !== FIELD_START) {
            this.invalid = true;
            break;
          }
          state = QUOTED;
          i = quote + 1;
          quote = next('"', i);
          continue;
        }
        if (end === len) {
          // The piece ends inside a record.
          state = text.charCodeAt(len - 1) === delimiter ? FIELD_START : UNQUOTED;
          break;
        }
      }
      // A record delimiter at `end` (CRLF is one).
      if (text.charCodeAt(end) === CR && end + 1 < len && text.charCodeAt(end + 1) === LF) end++;
      state = FIELD_START;
      i = end + 1;
      ends.push(i);
      lines.push(++line);
    }
    this.state = state;
    this.line = line;
    this.lastWasCR = len > 0 && text.charCodeAt(len - 1) === CR;
    if (ends.length > 0) this.lastEnd = this.before + ends[ends.length - 1]!;
    this.before += len;
  }

  /** Characters read since the last record delimiter. */
  get sinceLastEnd(): number {
    return this.before - this.lastEnd;
  }
}

/**
 * Cuts delimited text into chunks of whole records (see splitDelimited), a piece at a time: `push`
 * returns what the piece completed, `end` what is left. The first error stops it: it is kept in
 * `failure`, after the rows and chunks before it.
 */
class DelimitedSplitter {
  /** Reads the blank lines and the header, one record at a time; and, once the finder gives up, everything left. */
  private parser: DelimitedParser;
  private sequential = false;
  private header: readonly string[] | undefined;
  private readonly ends: RecordEnds;
  /** The bound on one record the parser enforces (its max_record_size), in characters. */
  private readonly longestRecord: number;
  /** The current chunk's text from earlier pieces, its first line and its record delimiters so far. */
  private parts: string[] = [];
  private partsLength = 0;
  private line = 1;
  private records = 0;
  /** The current chunk starts with the LF of a CRLF whose CR ended the previous chunk: not its text. */
  private skipLF = false;
  private out: (ImportRow[] | DelimitedChunk)[] = [];
  failure: ImportParseError | undefined;

  constructor(
    private readonly delimiter: ',' | '\t',
    private readonly limits: ImportLimits,
    private readonly chunkRecords: number,
  ) {
    this.parser = new DelimitedParser(delimiter, limits);
    this.ends = new RecordEnds(delimiter.charCodeAt(0));
    this.longestRecord = limits.maxColumns * (limits.maxFieldLength + 1) * 4;
  }

  push(text: string): (ImportRow[] | DelimitedChunk)[] {
    this.out = [];
    if (text === '' || this.failure !== undefined) return this.out;
    if (this.sequential) {
      this.parsed(this.parser.push(text));
      return this.out;
    }
    const ends = this.ends;
    // (While the header is being read the parser itself skips that LF.)
    let from = this.header !== undefined && this.skipLF && text.charCodeAt(0) === LF ? 1 : 0;
    this.skipLF = false;
    ends.scan(text);
    const n = ends.ends.length;
    let k = 0;
    // The blank lines and the header, one record at a time.
    for (; k < n && this.header === undefined; k++) {
      const end = ends.ends[k]!;
      if (!this.parsed(this.parser.push(text.slice(from, end)))) return this.out;
      from = end;
      this.line = ends.lines[k]!;
      this.header = this.parser.columns;
    }
    for (; k < n; k++) {
      const end = ends.ends[k]!;
      if (++this.records < this.chunkRecords && this.partsLength + end - from < CHUNK_CHARS) continue;
      this.parts.push(from === 0 && end === text.length ? text : text.slice(from, end));
      this.out.push({ delimiter: this.delimiter, limits: this.limits, header: this.header!, texts: this.parts, line: this.line, records: this.records, last: false });
      this.parts = [];
      this.partsLength = 0;
      from = end;
      this.line = ends.lines[k]!;
      this.records = 0;
    }
    if (from === text.length) this.skipLF = ends.lastWasCR;
    if (ends.invalid || ends.sinceLastEnd > this.longestRecord) {
      // The parser takes over from the start of the current chunk (or goes on reading the header).
      if (this.header !== undefined) this.parser = DelimitedParser.resume(this.delimiter, this.limits, this.header, this.line);
      this.sequential = true;
      const parts = this.parts;
      this.parts = [];
      for (const part of parts) if (!this.parsed(this.parser.push(part))) return this.out;
      this.parsed(this.parser.push(text.slice(from)));
    } else if (this.header === undefined) {
      // The rest of a record that may be the header: the parser keeps it until the record ends.
      this.parsed(this.parser.push(text.slice(from)));
    } else if (from < text.length) {
      this.parts.push(from === 0 ? text : text.slice(from));
      this.partsLength += text.length - from;
    }
    return this.out;
  }

  /** The text is complete: what is left, the decoder's error (if any) with the last chunk. */
  end(encodingError?: ImportParseError): (ImportRow[] | DelimitedChunk)[] {
    this.out = [];
    if (this.failure !== undefined) return this.out;
    if (this.header === undefined || this.sequential) {
      if (this.parsed(this.parser.end(encodingError))) {
        this.failure = encodingError ?? (this.parser.hasHeader ? undefined : new ImportParseError('import.no_header', 1, 'The file has no header row'));
      }
      return this.out;
    }
    if (this.parts.length > 0 || encodingError !== undefined) {
      this.out.push({
        delimiter: this.delimiter, limits: this.limits, header: this.header, texts: this.parts, line: this.line, records: this.records + 1, last: true,
        ...(encodingError ? { encodingError } : {}),
      });
    }
    return this.out;
  }

  /** Keeps the rows the parser gave for the caller; false once the parser has failed (its error is then `failure`). */
  private parsed(rows: ImportRow[]): boolean {
    if (rows.length > 0) this.out.push(rows);
    this.failure = this.parser.failure;
    return this.failure === undefined;
  }
}

/**
 * CSV (delimiter ",") or TSV (TAB) from decoded text, as the import takes it: the header is read here,
 * then the text comes out in chunks of whole records (DelimitedChunk, at most `chunkRecords` records)
 * for parseDelimitedChunk. Only where the records end is found here, by the parser's own rules
 * (RecordEnds). Text where that finder meets a quote the parser refuses, or a record longer than the
 * parser accepts, is parsed here from the start of its chunk on and comes out as rows (the rows
 * before the error, then the error): the outcome is exactly that of one parser over the whole text
 * (tested against the csv-parse-based reference, vault.import-csv.test.ts). The text source runs
 * ahead of the parser, so an encoding error found there is held back until the valid text before it
 * is parsed: errors come out in file order, and the rows before an error come out before it.
 */
export async function* splitDelimited(
  texts: AsyncIterable<string>,
  delimiter: ',' | '\t',
  limits: ImportLimits,
  chunkRecords = CHUNK_RECORDS,
): AsyncGenerator<readonly ImportRow[] | DelimitedChunk, void, undefined> {
  let encodingError: ImportParseError | undefined;
  async function* holdEncodingError(): AsyncGenerator<string, void, undefined> {
    try {
      yield* texts;
    } catch (err) {
      if (err instanceof ImportParseError && err.code === 'import.invalid_encoding') encodingError = err;
      else throw err;
    }
  }
  const splitter = new DelimitedSplitter(delimiter, limits, chunkRecords);
  for await (const text of holdEncodingError()) {
    yield* splitter.push(text);
    if (splitter.failure !== undefined) throw splitter.failure;
  }
  yield* splitter.end(encodingError);
  if (splitter.failure !== undefined) throw splitter.failure;
}

/** CSV or TSV rows from decoded text, in arrays: splitDelimited's chunks parsed as they come. */
export async function* parseDelimited(
  texts: AsyncIterable<string>,
  delimiter: ',' | '\t',
  limits: ImportLimits,
  chunkRecords = CHUNK_RECORDS,
): AsyncGenerator<ImportRow[], void, undefined> {
  for await (const batch of splitDelimited(texts, delimiter, limits, chunkRecords)) {
    if (Array.isArray(batch)) {
      yield batch as ImportRow[];
      continue;
    }
    const { rows, failure } = parseDelimitedChunk(batch as DelimitedChunk);
    if (rows.length > 0) yield rows;
    if (failure !== undefined) throw failure;
  }
}
