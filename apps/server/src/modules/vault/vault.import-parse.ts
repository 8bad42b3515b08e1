/**
 * Streaming parser for import files (CSV, TSV, JSON Lines) in UTF-8 or Shift_JIS.
 *
 * Imports are all-or-nothing, so this module's job is to reject anything doubtful with a precise,
 * content-free error (code + physical line number) rather than guess: invalid bytes, ragged rows,
 * unclosed quotes and oversize values all throw ImportParseError. Rows are yielded as they are
 * parsed; the caller keeps everything in one transaction and rolls back on the first error.
 *
 * Line numbers are physical, 1-based, counted from the start of the file (the CSV header is line 1
 * unless blank lines precede it), so a user can jump to the reported line in an editor — a
 * quoted value with embedded line breaks spans several lines and the next row's number accounts
 * for them.
 */
import { Readable } from 'node:stream';
import { TextDecoder } from 'node:util';
import { CsvError, parse as parseCsv, type Options as CsvOptions } from 'csv-parse';
import { AppError } from '../../platform/errors.ts';

export type ImportFormat = 'csv' | 'tsv' | 'jsonl';

export type ImportRow = { line: number; values: Record<string, string> };

export type ImportParseOptions = {
  /** Called with the number of raw bytes read from the input, chunk by chunk (progress bars). */
  onBytes?: (n: number) => void;
  /** Longest accepted value or column name, in UTF-16 code units. Default 10,000. */
  maxFieldLength?: number;
  /** Most columns (CSV/TSV header) or keys (JSON Lines object) accepted. Default 200. */
  maxColumns?: number;
};

export type ImportParseErrorCode =
  | 'import.invalid_encoding'
  | 'import.malformed_row'
  | 'import.field_too_long'
  | 'import.no_header'
  | 'import.duplicate_header';

/**
 * An AppError (HTTP 422 via the error table) with the physical line and, when it helps, the 1-based
 * column. Messages and details never carry row content: the file is personal data.
 */
export class ImportParseError extends AppError {
  declare readonly code: ImportParseErrorCode;
  readonly line: number;
  readonly column?: number;
  constructor(code: ImportParseErrorCode, line: number, message: string, column?: number) {
    super(code, message, column === undefined ? { line } : { line, column });
    this.name = 'ImportParseError';
    this.line = line;
    if (column !== undefined) this.column = column;
  }
}

const DEFAULT_MAX_FIELD_LENGTH = 10_000;
const DEFAULT_MAX_COLUMNS = 200;
/** Encoding is decided from this much of the file. */
const HEAD_BYTES = 64 * 1024;
/**
 * Bytes are handed to the decoder in whole lines so an invalid sequence can be pinned to its line.
 * A "line" longer than this (no LF at all, e.g. a CR-only file) is decoded in streaming mode instead
 * of being buffered without bound; errors in it are then reported at the line where it started.
 */
const MAX_CARRY_BYTES = 1024 * 1024;
const LF = 0x0a;
const EMPTY = new Uint8Array(0);

type TextEncodingName = 'utf-8' | 'shift_jis';

/**
 * Length of the longest prefix of `bytes` that is valid UTF-8, an incomplete final character
 * allowed. Validity of prefixes is monotonic, so a binary search over streaming decodes finds it
 * without a hand-written validator. Only used on a head that failed to decode.
 */
function validUtf8PrefixLength(bytes: Uint8Array): number {
  let lo = 0;
  let hi = bytes.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, mid), { stream: true });
      lo = mid;
    } catch {
      hi = mid - 1;
    }
  }
  return lo;
}

/**
 * UTF-8 when the head has a UTF-8 BOM or decodes as UTF-8; otherwise Shift_JIS. The WHATWG
 * 'shift_jis' decoder is really Windows-31J (CP932), which is what Excel in Japan writes, NEC and
 * IBM extensions (①, ㈱, 髙) included. Pure ASCII is both and decodes identically either way.
 *
 * One refinement: when the head fails as UTF-8 but the part before the first bad byte already
 * holds multi-byte UTF-8 characters, the file is UTF-8 with a damaged byte, and it is read as
 * UTF-8 so the import fails on that line. Calling it Shift_JIS would usually "succeed" and import
 * mojibake. Real Shift_JIS text almost never starts with a valid UTF-8 multi-byte sequence: its
 * kana and most kanji lead bytes (0x81–0x9F) are UTF-8 continuation bytes, invalid as a start.
 */
export function detectEncoding(head: Uint8Array): TextEncodingName {
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return 'utf-8';
  try {
    // stream: true so a multi-byte character cut off at the end of the sample is not an error.
    new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true });
    return 'utf-8';
  } catch {
    const valid = new TextDecoder('utf-8').decode(head.subarray(0, validUtf8PrefixLength(head)), { stream: true });
    return /\P{ASCII}/u.test(valid) ? 'utf-8' : 'shift_jis';
  }
}

const ENCODING_LABEL: Record<TextEncodingName, string> = { 'utf-8': 'UTF-8', shift_jis: 'Shift_JIS' };

function countByte(bytes: Uint8Array, byte: number): number {
  let n = 0;
  for (let i = bytes.indexOf(byte); i !== -1; i = bytes.indexOf(byte, i + 1)) n++;
  return n;
}

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

class DecodeFailure {
  constructor(
    readonly validPrefix: string,
    readonly line: number,
  ) {}
}

/**
 * A fatal TextDecoder fed whole lines. In both UTF-8 and Shift_JIS the byte 0x0A only ever encodes
 * LF (Shift_JIS trail bytes start at 0x40), so cutting after an LF never splits a character: the
 * decoder holds no partial state between calls, and when a segment fails it can be re-decoded line
 * by line to find the first bad line and keep the good text before it.
 */
class LineAlignedDecoder {
  private readonly decoder: TextDecoder;
  private carry: Uint8Array = EMPTY;
  /** Physical line number of the first byte not yet decoded. */
  private line = 1;
  /** True while the decoder holds no partial character (the last segment ended with LF). */
  private aligned = true;
  private atStart = true;

  constructor(readonly encoding: TextEncodingName) {
    // ignoreBOM false (the default): a leading UTF-8 BOM is consumed, not returned.
    this.decoder = new TextDecoder(encoding, { fatal: true });
  }

  /** Decodes what can be decoded now; throws DecodeFailure on an invalid sequence. */
  push(chunk: Uint8Array, final: boolean): string {
    const data = concatBytes(this.carry, chunk);
    let cut = data.length;
    if (!final) {
      const lf = data.lastIndexOf(LF);
      if (lf !== -1) cut = lf + 1;
      else if (data.length <= MAX_CARRY_BYTES) {
        this.carry = data;
        return '';
      }
    }
    this.carry = data.subarray(cut);
    const segment = data.subarray(0, cut);
    let text: string;
    try {
      text = this.decoder.decode(segment, { stream: !final });
    } catch {
      throw this.locate(segment, final);
    }
    this.line += countByte(segment, LF);
    this.aligned = final || segment[segment.length - 1] === LF;
    this.atStart = false;
    return text;
  }

  /** Finds the first line of `segment` that does not decode; only runs on the error path. */
  private locate(segment: Uint8Array, final: boolean): DecodeFailure {
    // A partial character carried over from an over-long line cannot be re-decoded in isolation.
    if (!this.aligned) return new DecodeFailure('', this.line);
    const probe = new TextDecoder(this.encoding, { fatal: true, ignoreBOM: !this.atStart });
    let prefix = '';
    let line = this.line;
    let start = 0;
    while (start < segment.length) {
      const lf = segment.indexOf(LF, start);
      const end = lf === -1 ? segment.length : lf + 1;
      try {
        prefix += probe.decode(segment.subarray(start, end), { stream: !(final && end === segment.length) });
      } catch {
        return new DecodeFailure(prefix, line);
      }
      line++;
      start = end;
    }
    // Only an incomplete character at the very end is left (final flush of an empty segment).
    return new DecodeFailure(prefix, line > this.line ? line - 1 : line);
  }
}

type ByteSource = AsyncIterable<Uint8Array> | NodeJS.ReadableStream;

function toBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  // A stream with setEncoding() already yields strings; UTF-8 is the faithful way back to bytes.
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  throw new TypeError('import input must yield bytes');
}

/**
 * Raw bytes → decoded text pieces, each ending at a line break except possibly the last. On an
 * invalid byte sequence the valid text before the bad line is yielded first, then the error is
 * thrown, so rows before it are processed (and their own errors reported) in file order.
 */
async function* decodeInput(input: ByteSource, onBytes: ((n: number) => void) | undefined): AsyncGenerator<string, void, undefined> {
  let decoder: LineAlignedDecoder | undefined;
  let head: Uint8Array[] = [];
  let headLength = 0;

  function* feed(d: LineAlignedDecoder, bytes: Uint8Array, final: boolean): Generator<string, void, undefined> {
    let text: string;
    try {
      text = d.push(bytes, final);
    } catch (err) {
      if (!(err instanceof DecodeFailure)) throw err;
      if (err.validPrefix !== '') yield err.validPrefix;
      throw new ImportParseError(
        'import.invalid_encoding',
        err.line,
        `Line ${err.line}: invalid byte sequence for ${ENCODING_LABEL[d.encoding]}`,
      );
    }
    if (text !== '') yield text;
  }

  for await (const raw of input as AsyncIterable<unknown>) {
    const chunk = toBytes(raw);
    onBytes?.(chunk.byteLength);
    if (decoder !== undefined) {
      yield* feed(decoder, chunk, false);
      continue;
    }
    head.push(chunk);
    headLength += chunk.byteLength;
    if (headLength >= HEAD_BYTES) {
      const bytes = Buffer.concat(head);
      head = [];
      decoder = new LineAlignedDecoder(detectEncoding(bytes));
      yield* feed(decoder, bytes, false);
    }
  }
  if (decoder === undefined) {
    const bytes = Buffer.concat(head);
    yield* feed(new LineAlignedDecoder(detectEncoding(bytes)), bytes, true);
  } else {
    yield* feed(decoder, EMPTY, true);
  }
}

type Limits = { maxFieldLength: number; maxColumns: number };

function tooLong(line: number, column?: number): ImportParseError {
  const where = column === undefined ? '' : ` (column ${column})`;
  return new ImportParseError('import.field_too_long', line, `Line ${line}: a value is longer than allowed${where}`, column);
}

// ---------------------------------------------------------------------------------------------
// CSV / TSV

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

function readHeader(record: readonly string[], line: number, limits: Limits): string[] {
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

  constructor(private readonly limits: Limits) {}

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
    return { line, values: Object.fromEntries(entries) };
  }
}

async function* parseDelimited(
  texts: AsyncGenerator<string, void, undefined>,
  delimiter: string,
  limits: Limits,
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

  const checker = new CsvRowChecker(limits);
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

// ---------------------------------------------------------------------------------------------
// JSON Lines

function parseJsonLine(text: string, line: number, limits: Limits): ImportRow | undefined {
  if (text.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ImportParseError('import.malformed_row', line, `Line ${line}: not valid JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ImportParseError('import.malformed_row', line, `Line ${line}: not a JSON object`);
  }
  const keys = Object.keys(parsed);
  if (keys.length > limits.maxColumns) {
    throw new ImportParseError('import.malformed_row', line, `Line ${line}: more than ${limits.maxColumns} fields`);
  }
  const entries: [string, string][] = [];
  for (const key of keys) {
    const value: unknown = (parsed as Record<string, unknown>)[key];
    if (key.length > limits.maxFieldLength) throw tooLong(line);
    if (value === null) continue;
    let s: string;
    if (typeof value === 'string') s = value;
    else if (typeof value === 'number') s = String(value);
    else {
      throw new ImportParseError('import.malformed_row', line, `Line ${line}: values must be strings, numbers or null`);
    }
    if (s.length > limits.maxFieldLength) throw tooLong(line);
    entries.push([key, s]);
  }
  return { line, values: Object.fromEntries(entries) };
}

async function* parseJsonLines(texts: AsyncGenerator<string, void, undefined>, limits: Limits): AsyncGenerator<ImportRow, void, undefined> {
  // JSON escapes can take 6 characters per character (\uXXXX); anything longer cannot be valid.
  const maxLineLength = limits.maxColumns * (limits.maxFieldLength + 16) * 12;
  let pending = '';
  let line = 0;
  for await (const text of texts) {
    pending = pending === '' ? text : pending + text;
    let start = 0;
    for (let nl = pending.indexOf('\n'); nl !== -1; nl = pending.indexOf('\n', start)) {
      line++;
      const end = nl > start && pending.charCodeAt(nl - 1) === 0x0d ? nl - 1 : nl;
      const row = parseJsonLine(pending.slice(start, end), line, limits);
      start = nl + 1;
      if (row !== undefined) yield row;
    }
    pending = pending.slice(start);
    if (pending.length > maxLineLength) throw tooLong(line + 1);
  }
  if (pending !== '') {
    const row = parseJsonLine(pending.endsWith('\r') ? pending.slice(0, -1) : pending, line + 1, limits);
    if (row !== undefined) yield row;
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * Parses an import file as it streams in. CSV/TSV: the first non-blank row is the header (names
 * trimmed, BOM stripped), every row must have exactly as many columns, RFC 4180 quoting (also for
 * TSV). JSON Lines: one object per line whose values are strings, numbers (converted with String)
 * or null (field omitted). Blank lines are skipped in all formats.
 */
export async function* parseImport(
  input: ByteSource,
  format: ImportFormat,
  options: ImportParseOptions = {},
): AsyncGenerator<ImportRow, void, undefined> {
  const limits: Limits = {
    maxFieldLength: options.maxFieldLength ?? DEFAULT_MAX_FIELD_LENGTH,
    maxColumns: options.maxColumns ?? DEFAULT_MAX_COLUMNS,
  };
  const texts = decodeInput(input, options.onBytes);
  switch (format) {
    case 'csv':
      yield* parseDelimited(texts, ',', limits);
      return;
    case 'tsv':
      yield* parseDelimited(texts, '\t', limits);
      return;
    case 'jsonl':
      yield* parseJsonLines(texts, limits);
      return;
  }
}
