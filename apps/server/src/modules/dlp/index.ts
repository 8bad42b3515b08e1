/**
 * The DLP engine's public API: scan bytes (any supported format) or text, get a DlpReport
 * (packages/contracts/src/dlp.ts). Findings never carry a full value; parts that could not be
 * scanned are listed in `errors` (the caller decides: the gateway holds such a message).
 *
 *   const report = await scanBuffer('mail.eml', bytes, { vault: createVaultMatcher(ctx.db, ctx.keyring) });
 *   if (report.findings.some((f) => f.kind === 'my_number')) block();
 *
 * Summary mode, for the gateway and large scans: `{ maxFindings: 20 }` lists the first 20 findings
 * (with excerpts) and counts every one in `summary` (decide on `report.summary.my_number`, not on
 * the list); `omittedFindings` says how many were not listed.
 */
import type { DlpReport } from '@mamori/contracts';
import { ScanJob, scanPart } from './dlp.scan.ts';
import type { DlpScanOptions } from './dlp.types.ts';

export { createVaultMatcher, type VaultMatcherOptions } from './dlp.vault.ts';
export { DEFAULT_LIMITS, DEFAULT_MIN_CONFIDENCE, type DlpLimits, type DlpScanOptions, type VaultCandidate, type VaultCandidateKind, type VaultMatcher } from './dlp.types.ts';
export { detectFormat, type Format as DlpFormat } from './dlp.scan.ts';
export { detectEncoding, type TextEncoding } from './dlp.encoding.ts';

/**
 * Scans a file or MIME part. The format comes from the name and the magic bytes: e-mail (.eml, or
 * RFC 5322 headers), ZIP (nested, bomb limits), XLSX, CSV, TSV, JSON, otherwise text; text in
 * UTF-8, UTF-16 (BOM), Shift_JIS/CP932, EUC-JP or ISO-2022-JP, detected. With `vault`, values
 * that are in the vault's personal fields are reported as `vault_match`.
 */
export async function scanBuffer(name: string, bytes: Uint8Array, opts: DlpScanOptions = {}): Promise<DlpReport> {
  const job = new ScanJob(opts);
  await scanPart(job, name, bytes, 0);
  return job.finish();
}

/**
 * Scans text already decoded, synchronously: CSV/TSV by the name's extension, otherwise text (JSON
 * included). Exact data match needs the database, so it is asynchronous: pass `vault` to
 * scanBuffer (Buffer.from(text)) instead — this function refuses it rather than ignore it.
 */
export function scanText(name: string, text: string, opts: DlpScanOptions = {}): DlpReport {
  if (opts.vault) throw new Error('scanText is synchronous and cannot match the vault: use scanBuffer(name, Buffer.from(text), { vault })');
  const job = new ScanJob(opts);
  const lower = name.toLowerCase();
  job.bytesScanned = Buffer.byteLength(text, 'utf8');
  job.scanDecoded(name, text, lower.endsWith('.csv') ? 'csv' : lower.endsWith('.tsv') ? 'tsv' : 'text');
  return job.report();
}
