/** Limits, options and the vault-matcher contract of the DLP engine. */

export type DlpLimits = {
  /** Containers inside containers (mail → ZIP → ZIP …): deeper parts are refused. */
  maxDepth: number;
  /** ZIP entries and mail attachments over the whole scan. */
  maxEntries: number;
  /** Most bytes one ZIP entry may inflate to (it is scanned whole, so this bounds memory). */
  maxEntryBytes: number;
  /** Most bytes all ZIP entries together may inflate to. */
  maxTotalBytes: number;
  /** Most inflated/compressed ratio of a ZIP entry, checked once it passes 1 MiB. */
  maxRatio: number;
  /** Most distinct values sent to the vault matcher per scan. */
  maxVaultCandidates: number;
  /** Largest single input the scanner reads (a bigger mail or file is refused, not truncated). */
  maxInputBytes: number;
};

export const DEFAULT_LIMITS: DlpLimits = {
  maxDepth: 5,
  maxEntries: 10_000,
  maxEntryBytes: 64 * 1024 * 1024,
  maxTotalBytes: 512 * 1024 * 1024,
  maxRatio: 200,
  maxVaultCandidates: 200_000,
  maxInputBytes: 1024 * 1024 * 1024,
};

/**
 * Default report threshold: findings below it (a bare 12-digit number that only passes the My
 * Number check digit, a 10-digit number without context…) are left out of reports.
 */
export const DEFAULT_MIN_CONFIDENCE = 0.5;

/** What a vault candidate is: a value found as an e-mail or phone, a name-like run of text, or a whole table cell (any field kind). */
export type VaultCandidateKind = 'email' | 'phone' | 'name' | 'kana' | 'any';
export type VaultCandidate = { kind: VaultCandidateKind; value: string };

/**
 * Exact data match against the vault. The implementation normalises each candidate per field kind,
 * computes the field's blind index and looks the index up (dlp.vault.ts): it never holds or reads
 * plaintext of the vault. `match` returns, per candidate, a label of the first field it matched
 * ("contacts.email") or null.
 */
export interface VaultMatcher {
  match(candidates: readonly VaultCandidate[]): Promise<(string | null)[]>;
}

export type DlpScanOptions = {
  vault?: VaultMatcher | null;
  limits?: Partial<DlpLimits>;
  /** Findings below this confidence (0..1) are left out; default DEFAULT_MIN_CONFIDENCE. */
  minConfidence?: number;
  /**
   * Summary mode: list at most this many findings (the first ones, with excerpts); every finding
   * is still counted in `summary`, and `omittedFindings` says how many were not listed. For the
   * gateway and large scans, where thousands of finding objects would cost more than the scan.
   * Default: all.
   */
  maxFindings?: number;
};
