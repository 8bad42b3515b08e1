/**
 * The error type, row shape and limits shared by the import parsers (vault.import-parse.ts and the
 * CSV/TSV state machine in vault.import-csv.ts). Everything here is content-free by construction:
 * an error carries a code, a physical line and at most a column number, never a value.
 */
import { AppError } from '../../platform/errors.ts';

export type ImportRow = { line: number; values: Record<string, string> };

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

export type ImportLimits = { maxFieldLength: number; maxColumns: number };

export function tooLong(line: number, column?: number): ImportParseError {
  const where = column === undefined ? '' : ` (column ${column})`;
  return new ImportParseError('import.field_too_long', line, `Line ${line}: a value is longer than allowed${where}`, column);
}
