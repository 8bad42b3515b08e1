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
 *
 * The pieces: vault.import-decode.ts (bytes → text, encoding detection, bad bytes pinned to their
 * line), vault.import-csv.ts (the CSV/TSV state machine, ADR 0011, and the splitter that cuts CSV/TSV
 * text into chunks of records for the import), JSON Lines here. parseImportBatches gives rows;
 * splitImportBatches, what importRecords takes, gives CSV/TSV as chunks of text instead.
 */
import { decodeInput, type ByteSource } from './vault.import-decode.ts';
import { parseDelimited, splitDelimited, type DelimitedChunk } from './vault.import-csv.ts';
import { ImportParseError, tooLong, type ImportLimits, type ImportRow } from './vault.import-errors.ts';

export { detectEncoding } from './vault.import-decode.ts';
export { parseDelimitedChunk, type DelimitedChunk } from './vault.import-csv.ts';
export { ImportParseError, type ImportParseErrorCode, type ImportRow } from './vault.import-errors.ts';

export type ImportFormat = 'csv' | 'tsv' | 'jsonl';

export type ImportParseOptions = {
  /** Called with the number of raw bytes read from the input, chunk by chunk (progress bars). */
  onBytes?: (n: number) => void;
  /** Longest accepted value or column name, in UTF-16 code units. Default 10,000. */
  maxFieldLength?: number;
  /** Most columns (CSV/TSV header) or keys (JSON Lines object) accepted. Default 200. */
  maxColumns?: number;
};

const DEFAULT_MAX_FIELD_LENGTH = 10_000;
const DEFAULT_MAX_COLUMNS = 200;

// ---------------------------------------------------------------------------------------------
// JSON Lines

function parseJsonLine(text: string, line: number, limits: ImportLimits): ImportRow | undefined {
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

/** One array of rows per text chunk; the rows before an error come out before it. */
async function* parseJsonLines(texts: AsyncIterable<string>, limits: ImportLimits): AsyncGenerator<ImportRow[], void, undefined> {
  // JSON escapes can take 6 characters per character (\uXXXX); anything longer cannot be valid.
  const maxLineLength = limits.maxColumns * (limits.maxFieldLength + 16) * 12;
  let pending = '';
  let line = 0;
  for await (const text of texts) {
    pending = pending === '' ? text : pending + text;
    const rows: ImportRow[] = [];
    let start = 0;
    try {
      for (let nl = pending.indexOf('\n'); nl !== -1; nl = pending.indexOf('\n', start)) {
        line++;
        const end = nl > start && pending.charCodeAt(nl - 1) === 0x0d ? nl - 1 : nl;
        const row = parseJsonLine(pending.slice(start, end), line, limits);
        start = nl + 1;
        if (row !== undefined) rows.push(row);
      }
    } catch (err) {
      if (rows.length > 0) yield rows;
      throw err;
    }
    if (rows.length > 0) yield rows;
    pending = pending.slice(start);
    if (pending.length > maxLineLength) throw tooLong(line + 1);
  }
  if (pending !== '') {
    const row = parseJsonLine(pending.endsWith('\r') ? pending.slice(0, -1) : pending, line + 1, limits);
    if (row !== undefined) yield [row];
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * Parses an import file as it streams in, yielding the rows in arrays (one per chunk of input; the
 * import consumes them so). CSV/TSV: the first non-blank row is the header (names trimmed, BOM
 * stripped), every row must have exactly as many columns, RFC 4180 quoting (also for TSV). JSON
 * Lines: one object per line whose values are strings, numbers (converted with String) or null
 * (field omitted). Blank lines are skipped in all formats.
 */
/** What the import takes: rows, or CSV/TSV text cut at record ends, parsed where its rows are encoded (parseDelimitedChunk). */
export type ImportBatch = readonly ImportRow[] | DelimitedChunk;

function importLimits(options: ImportParseOptions): ImportLimits {
  return { maxFieldLength: options.maxFieldLength ?? DEFAULT_MAX_FIELD_LENGTH, maxColumns: options.maxColumns ?? DEFAULT_MAX_COLUMNS };
}

/**
 * As parseImportBatches, for importRecords: JSON Lines come out as rows, CSV and TSV as chunks of
 * text cut at record ends (splitDelimited), which the import parses on whichever thread encodes them.
 * The outcome, rows and errors, is the same.
 */
export async function* splitImportBatches(
  input: ByteSource,
  format: ImportFormat,
  options: ImportParseOptions = {},
): AsyncGenerator<ImportBatch, void, undefined> {
  const limits = importLimits(options);
  const texts = decodeInput(input, options.onBytes);
  if (format === 'jsonl') yield* parseJsonLines(texts, limits);
  else yield* splitDelimited(texts, format === 'csv' ? ',' : '\t', limits);
}

export async function* parseImportBatches(
  input: ByteSource,
  format: ImportFormat,
  options: ImportParseOptions = {},
): AsyncGenerator<ImportRow[], void, undefined> {
  const limits = importLimits(options);
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

/** parseImportBatches, one row at a time. */
export async function* parseImport(
  input: ByteSource,
  format: ImportFormat,
  options: ImportParseOptions = {},
): AsyncGenerator<ImportRow, void, undefined> {
  for await (const rows of parseImportBatches(input, format, options)) {
    for (const row of rows) yield row;
  }
}
