/**
 * Scanning a file, a mail or an archive: the format is recognised by name and magic bytes, text is
 * decoded (dlp.encoding.ts) and handed to the detector core (dlp.scanner.ts); containers (ZIP,
 * XLSX, e-mail) are opened part by part under the limits of DlpLimits. A part that cannot be
 * scanned (over a limit, encrypted, corrupt, unknown binary) is reported as an error, never
 * passed silently: the gateway holds what the scanner could not read.
 */
import { DLP_KINDS, type DlpFinding, type DlpKind, type DlpReport, type DlpScanError } from '@mamori/contracts';
import { nameCandidates, type CandidateOccurrence } from './dlp.candidates.ts';
import { decodeText, detectEncoding, looksBinary, type TextEncoding } from './dlp.encoding.ts';
import { materialize } from './dlp.report.ts';
import { FindingBuffer, K_VAULT, scanBytes, type ScanMode } from './dlp.scanner.ts';
import { decode, utf8 } from './dlp.utf8.ts';
import { DEFAULT_LIMITS, DEFAULT_MIN_CONFIDENCE, type DlpLimits, type DlpScanOptions, type VaultMatcher } from './dlp.types.ts';
import { readXlsx } from './dlp.xlsx.ts';
import { entryData, inflateEntry, isZip, listZip, ZipFormatError, type ZipEntry } from './dlp.zip.ts';
import { maskOf } from './dlp.keywords.ts';
import { mask as vaultMask } from '../vault/vault.masking.ts';

export type Format = 'eml' | 'zip' | 'xlsx' | 'csv' | 'tsv' | 'json' | 'text';

const MiB = 1024 * 1024;

function ext(name: string): string {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot < 0 ? '' : base.slice(dot + 1).toLowerCase();
}

/** The first header block looks like RFC 5322 headers with a MIME or routing header. */
function looksLikeMail(b: Uint8Array): boolean {
  const head = new TextDecoder('latin1').decode(b.subarray(0, 4096));
  if (!/^[A-Za-z][A-Za-z0-9-]{0,40}:[ \t]/.test(head)) return false;
  return /^(mime-version|received|message-id|return-path|content-type|delivered-to):/im.test(head);
}

export function detectFormat(name: string, b: Uint8Array): Format {
  const e = ext(name);
  if (isZip(b)) {
    if (e === 'xlsx' || e === 'xlsm') return 'xlsx';
    return 'zip';
  }
  if (e === 'eml' || (e === 'msg' && looksLikeMail(b))) return 'eml';
  if (e === 'csv') return 'csv';
  if (e === 'tsv' || e === 'tab') return 'tsv';
  if (e === 'json' || e === 'jsonl' || e === 'ndjson') return 'json';
  if (e === '' && looksLikeMail(b)) return 'eml';
  return 'text';
}

const MAGIC_UNSUPPORTED: [number[], string][] = [
  [[0x25, 0x50, 0x44, 0x46], 'PDF'],
  [[0x89, 0x50, 0x4e, 0x47], 'PNG image'],
  [[0xff, 0xd8, 0xff], 'JPEG image'],
  [[0x47, 0x49, 0x46, 0x38], 'GIF image'],
  [[0xd0, 0xcf, 0x11, 0xe0], 'legacy Office (OLE2) document'],
  [[0x1f, 0x8b], 'gzip archive'],
  [[0x52, 0x61, 0x72, 0x21], 'RAR archive'],
  [[0x37, 0x7a, 0xbc, 0xaf], '7-Zip archive'],
];

function unsupportedKind(b: Uint8Array): string | null {
  for (const [magic, label] of MAGIC_UNSUPPORTED) if (magic.every((v, i) => b[i] === v)) return label;
  return looksBinary(b) ? 'binary data' : null;
}

/** State of one scan: the report being built, the budgets spent, the vault candidates. */
export class ScanJob {
  readonly limits: DlpLimits;
  readonly minConfidence: number;
  readonly findings: DlpFinding[] = [];
  readonly errors: DlpScanError[] = [];
  readonly summary = new Int32Array(DLP_KINDS.length);
  /** Summary mode: the report lists at most this many findings (all are counted in `summary`). */
  readonly maxFindings: number;
  /** Findings counted but not listed (summary mode). */
  omitted = 0;
  bytesScanned = 0;
  inflated = 0;
  entries = 0;
  readonly vault: VaultMatcher | null;
  readonly candidates: CandidateOccurrence[] = [];
  private readonly distinct = new Set<string>();
  candidatesDropped = false;

  constructor(opts: DlpScanOptions = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...(opts.limits ?? {}) };
    this.minConfidence = opts.minConfidence ?? DEFAULT_MIN_CONFIDENCE;
    this.maxFindings = opts.maxFindings ?? Number.POSITIVE_INFINITY;
    this.vault = opts.vault ?? null;
  }

  error(file: string, code: DlpScanError['code'], message: string): void {
    this.errors.push({ file, code, message });
  }

  candidate(c: CandidateOccurrence): void {
    const key = `${c.kind}\u0000${c.value}`;
    if (!this.distinct.has(key)) {
      if (this.distinct.size >= this.limits.maxVaultCandidates) {
        this.candidatesDropped = true;
        return;
      }
      this.distinct.add(key);
    }
    this.candidates.push(c);
  }

  /** Scans decoded text (one part): its UTF-8 bytes go to the detector core. */
  scanDecoded(file: string, text: string, mode: ScanMode, chunk?: { line: number; header: number[] | null }): void {
    this.scanUtf8(file, utf8(text), mode, chunk);
  }

  /**
   * Scans one part given as UTF-8 bytes. `chunk`: the bytes are a piece of a larger file cut at a
   * line break (worker pool), starting at line `line`; for CSV/TSV `header` has the file's column
   * keywords.
   */
  scanUtf8(file: string, t: Uint8Array, mode: ScanMode, chunk?: { line: number; header: number[] | null }): void {
    // About one finding per 64 bytes in dense data: sized so it rarely grows.
    const buf = new FindingBuffer(this.minConfidence, t.length >> 6, this.room());
    const vault = this.vault;
    scanBytes(t, {
      mode,
      ...(chunk ? { line: chunk.line, ...(chunk.header ? { header: chunk.header } : { firstRowIsHeader: chunk.line === 1 }) } : {}),
      candidates: vault
        ? (kind, start, end, line, column) => {
          const value = decode(t, start, end);
          this.candidate({ kind, value, file, line, column, length: value.length });
        }
        : null,
    }, buf);
    this.collect(t, buf, file, mode === 'csv' ? 0x2c : mode === 'tsv' ? 0x09 : -1);
    if (vault) {
      const text = decode(t, 0, t.length);
      if (mode === 'csv' || mode === 'tsv') {
        forEachCell(text, mode === 'csv' ? 0x2c : 0x09, (value, row, col) => this.cellCandidate(file, value, row, col));
      } else {
        const lineOf = lineIndex(text);
        nameCandidates(text, 0, text.length, (kind, start, end) => {
          const { line, column } = lineOf(start);
          this.candidate({ kind, value: text.slice(start, end), file, line, column, length: end - start });
        });
      }
    }
  }

  /** How many more findings the report may list (summary mode: maxFindings). */
  private room(): number {
    return Math.max(0, this.maxFindings - this.findings.length);
  }

  /** Counts a part's findings and materialises those the report lists. */
  private collect(t: Uint8Array, buf: FindingBuffer, file: string, delimiter: number): void {
    for (let k = 0; k < DLP_KINDS.length; k++) this.summary[k]! += buf.perKind[k]!;
    const listed = Math.min(buf.count, this.room());
    this.omitted += buf.total - listed;
    materialize(t, buf, file, delimiter, this.findings, 0, listed);
  }

  cellCandidate(file: string, raw: string, row: number, col: number): void {
    const value = raw.trim();
    if (value.length >= 2 && value.length <= 200) this.candidate({ kind: 'any', value, file, line: row, column: col, length: value.length });
  }

  /** Scans a table (XLSX sheet): each cell with its column header as context. */
  scanTable(file: string, rows: { row: number; cells: { col: number; value: string }[] }[]): void {
    const header = new Map<number, number>();
    if (rows[0]) for (const c of rows[0].cells) header.set(c.col, maskOf(c.value));
    for (const r of rows) {
      for (const c of r.cells) {
        const t = utf8(c.value);
        const buf = new FindingBuffer(this.minConfidence, 4, this.room());
        scanBytes(t, { mode: 'cell', line: r.row, column: c.col, context: r === rows[0] ? 0 : header.get(c.col) ?? 0 }, buf);
        if (buf.perKind.some((n) => n > 0)) this.collect(t, buf, file, -1);
        if (this.vault) this.cellCandidate(file, c.value, r.row, c.col);
      }
    }
  }

  async finish(): Promise<DlpReport> {
    if (this.vault && this.candidates.length > 0) await this.matchVault(this.vault);
    if (this.candidatesDropped) this.error('', 'DLP_LIMIT_EXCEEDED', `more than ${this.limits.maxVaultCandidates} distinct values to match against the vault: the rest were not matched`);
    return this.report();
  }

  report(): DlpReport {
    const summary: Partial<Record<DlpKind, number>> = {};
    for (let k = 0; k < DLP_KINDS.length; k++) if (this.summary[k]! > 0) summary[DLP_KINDS[k]!] = this.summary[k]!;
    return { findings: this.findings, summary, errors: this.errors, bytesScanned: this.bytesScanned, ...(this.omitted > 0 ? { omittedFindings: this.omitted } : {}) };
  }

  private async matchVault(vault: VaultMatcher): Promise<void> {
    const keys = new Map<string, number>();
    const list: { kind: CandidateOccurrence['kind']; value: string }[] = [];
    for (const c of this.candidates) {
      const key = `${c.kind}\u0000${c.value}`;
      if (!keys.has(key)) {
        keys.set(key, list.length);
        list.push({ kind: c.kind, value: c.value });
      }
    }
    const hits = await vault.match(list);
    // Occurrences in document order (detector candidates and name candidates were gathered apart).
    const order = new Map<string, number>();
    for (const c of this.candidates) if (!order.has(c.file)) order.set(c.file, order.size);
    this.candidates.sort((x, y) => order.get(x.file)! - order.get(y.file)! || x.line - y.line || x.column - y.column || y.length - x.length);
    // One finding per occurrence; overlapping name substrings of one run report the longest match only.
    let last: DlpFinding | null = null;
    for (const c of this.candidates) {
      const label = hits[keys.get(`${c.kind}\u0000${c.value}`)!];
      if (!label) continue;
      if (last && last.file === c.file && last.line === c.line && c.column < last.column + last.length && c.kind === 'name') {
        if (c.length > last.length && c.column === last.column) {
          last.length = c.length;
          last.excerpt = `${label}: ${maskCandidate(c)}`;
        }
        continue;
      }
      last = { kind: 'vault_match', file: c.file, line: c.line, column: c.column, length: c.length, confidence: 0.99, excerpt: `${label}: ${maskCandidate(c)}` };
      if (this.findings.length < this.maxFindings) this.findings.push(last);
      else this.omitted++;
      this.summary[K_VAULT]!++;
    }
  }
}

function maskCandidate(c: CandidateOccurrence): string {
  switch (c.kind) {
    case 'email':
      return vaultMask('email', c.value);
    case 'phone':
      return vaultMask('phone', c.value);
    case 'name':
    case 'kana':
      return vaultMask('name', c.value);
    default:
      return vaultMask('name', c.value.replace(/[0-9０-９]/g, '＊'));
  }
}

/** Offset → 1-based line and column, by binary search over line starts (built once per part). */
function lineIndex(text: string): (offset: number) => { line: number; column: number } {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - starts[lo]! + 1 };
  };
}

/** RFC 4180 cells (quotes, "" escapes, newlines inside quotes), 1-based row and column. */
export function forEachCell(text: string, delim: number, cb: (value: string, row: number, col: number) => void): void {
  let row = 1;
  let col = 1;
  let i = 0;
  const n = text.length;
  while (i <= n) {
    if (i < n && text.charCodeAt(i) === 0x22) {
      let v = '';
      let j = i + 1;
      for (;;) {
        const q = text.indexOf('"', j);
        if (q < 0) {
          v += text.slice(j);
          j = n;
          break;
        }
        v += text.slice(j, q);
        if (text.charCodeAt(q + 1) === 0x22) {
          v += '"';
          j = q + 2;
        } else {
          j = q + 1;
          break;
        }
      }
      cb(v, row, col);
      i = j;
      // Skip to the delimiter or line end.
      while (i < n && text.charCodeAt(i) !== delim && text.charCodeAt(i) !== 0x0a) i++;
    } else {
      let j = i;
      while (j < n && text.charCodeAt(j) !== delim && text.charCodeAt(j) !== 0x0a) j++;
      const end = j > i && text.charCodeAt(j - 1) === 0x0d ? j - 1 : j;
      if (end > i) cb(text.slice(i, end), row, col);
      i = j;
    }
    if (i >= n) break;
    if (text.charCodeAt(i) === delim) col++;
    else {
      row++;
      col = 1;
    }
    i++;
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * The UTF-8 bytes of a text part: UTF-8 input as it is (without its BOM), no decoding; any other
 * encoding decoded and encoded again.
 */
export function utf8Of(bytes: Uint8Array, encoding: TextEncoding): Uint8Array {
  if (encoding === 'utf-8') return bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes;
  return utf8(decodeText(bytes, encoding).text);
}

export async function scanPart(job: ScanJob, name: string, bytes: Uint8Array, depth: number): Promise<void> {
  if (bytes.length > job.limits.maxInputBytes) {
    job.error(name, 'DLP_LIMIT_EXCEEDED', `larger than ${job.limits.maxInputBytes} bytes`);
    return;
  }
  const format = detectFormat(name, bytes);
  if (format === 'zip' || format === 'xlsx' || format === 'eml') {
    if (depth >= job.limits.maxDepth) {
      job.error(name, 'DLP_LIMIT_EXCEEDED', `nested deeper than ${job.limits.maxDepth} containers`);
      return;
    }
  }
  switch (format) {
    case 'zip':
      return scanZip(job, name, bytes, depth);
    case 'xlsx':
      return scanXlsx(job, name, bytes);
    case 'eml':
      return scanEml(job, name, bytes, depth);
    default: {
      const kind = unsupportedKind(bytes);
      if (kind) {
        job.error(name, 'DLP_UNSUPPORTED', `${kind} cannot be scanned`);
        job.bytesScanned += bytes.length;
        return;
      }
      job.bytesScanned += bytes.length;
      job.scanUtf8(name, utf8Of(bytes, detectEncoding(bytes)), format === 'csv' ? 'csv' : format === 'tsv' ? 'tsv' : 'text');
    }
  }
}

/** Inflates one ZIP entry under the limits, or reports why not (null). */
function readEntry(job: ScanJob, path: string, archive: Uint8Array, e: ZipEntry): Uint8Array | null {
  if (e.encrypted) {
    job.error(path, 'DLP_UNREADABLE', 'encrypted (password-protected) entry: its content cannot be scanned');
    return null;
  }
  if (e.method !== 0 && e.method !== 8) {
    job.error(path, 'DLP_UNSUPPORTED', `compression method ${e.method} is not supported`);
    return null;
  }
  const remaining = job.limits.maxTotalBytes - job.inflated;
  const maxBytes = Math.min(job.limits.maxEntryBytes, remaining);
  let data: Uint8Array;
  try {
    data = entryData(archive, e);
  } catch (err) {
    job.error(path, 'DLP_UNREADABLE', err instanceof Error ? err.message : 'corrupt entry');
    return null;
  }
  const r = inflateEntry(data, e.method, { maxBytes, maxRatio: job.limits.maxRatio, ratioFloor: MiB });
  if (!r.ok) {
    job.inflated += r.inflated;
    if (r.reason === 'corrupt') job.error(path, 'DLP_UNREADABLE', 'corrupt compressed data');
    else if (r.reason === 'ratio') job.error(path, 'DLP_LIMIT_EXCEEDED', `compression ratio above ${job.limits.maxRatio}:1 (decompression bomb?)`);
    else if (maxBytes === remaining && remaining < job.limits.maxEntryBytes) job.error(path, 'DLP_LIMIT_EXCEEDED', `all entries together inflate past ${job.limits.maxTotalBytes} bytes (decompression bomb?)`);
    else job.error(path, 'DLP_LIMIT_EXCEEDED', `inflates past ${job.limits.maxEntryBytes} bytes`);
    return null;
  }
  job.inflated += r.bytes.length;
  return r.bytes;
}

async function scanZip(job: ScanJob, name: string, bytes: Uint8Array, depth: number): Promise<void> {
  job.bytesScanned += bytes.length;
  let entries: ZipEntry[];
  try {
    entries = listZip(bytes, job.limits.maxEntries);
  } catch (err) {
    job.error(name, 'DLP_UNREADABLE', err instanceof ZipFormatError ? `not a readable ZIP: ${err.message}` : 'not a readable ZIP');
    return;
  }
  for (const e of entries) {
    if (e.isDirectory) continue;
    const path = `${name}/${e.name}`;
    if (++job.entries > job.limits.maxEntries) {
      job.error(name, 'DLP_LIMIT_EXCEEDED', `more than ${job.limits.maxEntries} entries`);
      return;
    }
    if (job.inflated >= job.limits.maxTotalBytes) {
      job.error(name, 'DLP_LIMIT_EXCEEDED', `all entries together inflate past ${job.limits.maxTotalBytes} bytes (decompression bomb?)`);
      return;
    }
    const content = readEntry(job, path, bytes, e);
    if (content) await scanPart(job, path, content, depth + 1);
  }
}

async function scanXlsx(job: ScanJob, name: string, bytes: Uint8Array): Promise<void> {
  job.bytesScanned += bytes.length;
  let entries: ZipEntry[];
  try {
    entries = listZip(bytes, job.limits.maxEntries);
  } catch {
    job.error(name, 'DLP_UNREADABLE', 'not a readable XLSX (ZIP) file');
    return;
  }
  if (entries.length > job.limits.maxEntries) {
    job.error(name, 'DLP_LIMIT_EXCEEDED', `more than ${job.limits.maxEntries} entries`);
    return;
  }
  const read = (path: string): string | null => {
    const e = entries.find((x) => x.name === path);
    if (!e) return null;
    const b = readEntry(job, `${name}/${path}`, bytes, e);
    return b ? new TextDecoder('utf-8').decode(b) : null;
  };
  try {
    for (const sheet of readXlsx(read)) job.scanTable(`${name}/${sheet.name}`, sheet.rows);
  } catch (err) {
    job.error(name, 'DLP_UNREADABLE', err instanceof Error ? err.message : 'unreadable workbook');
  }
}

async function scanEml(job: ScanJob, name: string, bytes: Uint8Array, depth: number): Promise<void> {
  job.bytesScanned += bytes.length;
  const { simpleParser } = await import('mailparser');
  let mail: Awaited<ReturnType<typeof simpleParser>>;
  try {
    mail = await simpleParser(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { skipImageLinks: true, skipTextToHtml: true });
  } catch {
    job.error(name, 'DLP_UNREADABLE', 'not a readable e-mail message');
    return;
  }
  if (mail.subject) job.scanDecoded(`${name}/(subject)`, mail.subject, 'text');
  if (mail.text) job.scanDecoded(`${name}/(body)`, mail.text, 'text');
  else if (typeof mail.html === 'string') job.scanDecoded(`${name}/(html)`, mail.html, 'text');
  let n = 0;
  for (const a of mail.attachments) {
    n++;
    if (++job.entries > job.limits.maxEntries) {
      job.error(name, 'DLP_LIMIT_EXCEEDED', `more than ${job.limits.maxEntries} parts`);
      return;
    }
    const fname = (a.filename ?? `attachment-${n}${a.contentType === 'message/rfc822' ? '.eml' : ''}`).replace(/\//g, '／');
    await scanPart(job, `${name}/${fname}`, a.content, depth + 1);
  }
}

/** Keyword masks of a CSV/TSV header line (the columns' context for chunks scanned without it). */
export function headerMasks(line: string, delimiter: ',' | '\t'): number[] {
  const masks: number[] = [];
  forEachCell(line.replace(/\r?\n$/, ''), delimiter.charCodeAt(0), (value, _row, col) => {
    masks[col - 1] = maskOf(value);
  });
  for (let i = 0; i < masks.length; i++) masks[i] ??= 0;
  return masks;
}

/** Scans one chunk of a large text file (cut at a line break): the worker pool's unit of work. */
export function scanChunk(file: string, bytes: Uint8Array, encoding: TextEncoding, mode: ScanMode, line: number, header: number[] | null, opts: DlpScanOptions): DlpReport {
  const job = new ScanJob(opts);
  job.bytesScanned = bytes.length;
  job.scanUtf8(file, utf8Of(bytes, encoding), mode, { line, header });
  return job.report();
}
