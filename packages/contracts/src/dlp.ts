/**
 * DLP (data-loss prevention) findings: the shape the scanner, the `mamori dlp scan --json` CLI,
 * the transmission gateway and the console share. A finding never carries the full value.
 */
export const DLP_KINDS = [
  'my_number',
  'corporate_number',
  'phone',
  'email',
  'postal_code',
  'address',
  'credit_card',
  'bank_account',
  'passport',
  'drivers_license',
  'vault_match',
] as const;
export type DlpKind = (typeof DLP_KINDS)[number];

export type DlpFinding = {
  kind: DlpKind;
  /** The scanned file or MIME part, as a path inside its container ("mail.eml/添付.zip/a.csv"). */
  file: string;
  /** 1-based line (text) or row (CSV/XLSX). */
  line: number;
  /** 1-based column in characters (text) or cell column (CSV/XLSX). */
  column: number;
  /** Length of the match in characters. */
  length: number;
  /** 0..1: validation plus context (keywords nearby, column header). */
  confidence: number;
  /** A masked excerpt: never the full value. */
  excerpt: string;
};

/** A part that could not be scanned (bomb limits, bad encoding, unsupported format): never silently passed. */
export type DlpScanError = { file: string; code: 'DLP_LIMIT_EXCEEDED' | 'DLP_UNREADABLE' | 'DLP_UNSUPPORTED'; message: string };

export type DlpReport = {
  findings: DlpFinding[];
  summary: Partial<Record<DlpKind, number>>;
  errors: DlpScanError[];
  bytesScanned: number;
  /**
   * Summary mode (scan option maxFindings): findings counted in `summary` but not listed in
   * `findings`. Absent when every finding is listed.
   */
  omittedFindings?: number;
};
