/**
 * The export file: rows serialised as CSV (UTF-8 with BOM, or Shift_JIS/CP932 for Excel in Japan)
 * or XLSX (exceljs, streaming), and stored encrypted at rest under the export's own key: a sequence
 * of AES-256-GCM sealed chunks, each bound to the export, its index and whether it is the last, so a
 * truncated, reordered or swapped file does not open.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { PassThrough } from 'node:stream';
import type ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import type { ExportFormat } from '@mamori/contracts';
import { open, seal } from '../../platform/crypto/envelope.ts';

const MAGIC = Buffer.from('MMX1');
const CHUNK = 1024 * 1024;

function chunkAad(exportId: string, index: number, last: boolean): Buffer {
  return Buffer.from(`mamori/export-file/v1/${exportId}/${index}/${last ? 1 : 0}`, 'utf8');
}

export class EncryptedFileWriter {
  // The chunk being filled: written bytes are copied here (the caller may reuse its buffer at once).
  private readonly stage = Buffer.allocUnsafeSlow(CHUNK);
  private staged = 0;
  private index = 0;
  private bytes = 0;
  private readonly hash = createHash('sha256');
  private readonly out: WriteStream;
  private readonly failed: Promise<never>;
  /** Settles once the stream is closed, however (one listener for the writer's life, not one per wait). */
  private readonly closed: Promise<void>;
  private aborted = false;

  constructor(path: string, private readonly key: Buffer, private readonly exportId: string) {
    this.out = createWriteStream(path, { mode: 0o600 });
    this.failed = new Promise<never>((_, reject) => this.out.once('error', reject));
    this.failed.catch(() => undefined);
    this.closed = new Promise<void>((resolve) => this.out.once('close', () => resolve()));
    this.out.write(MAGIC);
  }

  /** Takes a copy of `b` (the caller may reuse it once this resolves). */
  async write(b: Buffer): Promise<void> {
    if (this.aborted) throw new Error('export.file_aborted');
    this.hash.update(b);
    this.bytes += b.length;
    // Every chunk but the last holds exactly CHUNK bytes, however the input is cut.
    for (let off = 0; off < b.length; ) {
      const n = b.copy(this.stage, this.staged, off, Math.min(b.length, off + CHUNK - this.staged));
      this.staged += n;
      off += n;
      if (this.staged >= CHUNK) await this.flush(false);
    }
  }

  private async flush(last: boolean): Promise<void> {
    const sealed = seal(this.key, this.stage.subarray(0, this.staged), chunkAad(this.exportId, this.index++, last));
    this.staged = 0;
    const len = Buffer.allocUnsafe(4);
    len.writeUInt32BE(sealed.length, 0);
    this.out.write(len);
    if (!this.out.write(sealed)) {
      await Promise.race([once(this.out, 'drain'), this.closed, this.failed]);
      if (this.aborted) throw new Error('export.file_aborted');
    }
  }

  /** Seals the rest (the last chunk is marked as such) and closes; returns plaintext size and hash. */
  async close(): Promise<{ bytes: number; sha256: Buffer }> {
    await this.flush(true);
    this.out.end();
    await Promise.race([this.closed, this.failed]);
    return { bytes: this.bytes, sha256: this.hash.digest() };
  }

  /**
   * Gives the file up: later writes are refused and the descriptor is closed. Resolves once it is
   * closed, so the caller's `rm` comes after the stream's own (deferred) open, never before it: a
   * removal that raced the open would leave the file behind.
   */
  async abort(): Promise<void> {
    this.aborted = true;
    this.out.destroy();
    await this.closed;
  }
}

/** Opens the chunks in order; refuses a file that was cut short or tampered with. */
export async function* decryptFile(path: string, key: Buffer, exportId: string): AsyncGenerator<Buffer> {
  let buf = Buffer.alloc(0);
  let index = 0;
  let sawLast = false;
  let headerSeen = false;
  for await (const piece of createReadStream(path)) {
    buf = Buffer.concat([buf, piece as Buffer]);
    if (!headerSeen) {
      if (buf.length < 4) continue;
      if (!buf.subarray(0, 4).equals(MAGIC)) throw new Error('export.bad_file');
      buf = buf.subarray(4);
      headerSeen = true;
    }
    while (buf.length >= 4) {
      const len = buf.readUInt32BE(0);
      if (buf.length < 4 + len) break;
      const sealed = buf.subarray(4, 4 + len);
      buf = buf.subarray(4 + len);
      if (sawLast) throw new Error('export.bad_file');
      let plain: Buffer;
      try {
        plain = open(key, sealed, chunkAad(exportId, index, false));
      } catch {
        plain = open(key, sealed, chunkAad(exportId, index, true));
        sawLast = true;
      }
      index++;
      if (plain.length > 0) yield plain;
    }
  }
  if (!sawLast || buf.length > 0) throw new Error('export.bad_file');
}

/** Where serialised rows go. */
export interface RowSink {
  row(values: readonly string[]): Promise<void>;
  /** CSV only: lines already quoted and encoded (by the export's worker threads), each ending in CRLF. */
  bytes?(chunk: Buffer): Promise<void>;
  /** CSV only: the encoding `bytes` must be in. */
  readonly encoding?: 'utf8' | 'cp932';
  finish(): Promise<void>;
}

const NEEDS_QUOTING = /[",\r\n]/;
function csvField(v: string): string {
  return NEEDS_QUOTING.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

/** One CSV line (RFC 4180 quoting), without its line break. */
export function csvLine(values: readonly string[]): string {
  let line = '';
  for (let i = 0; i < values.length; i++) line += (i === 0 ? '' : ',') + csvField(values[i]!);
  return line;
}

const PIECE = 256 * 1024;

class CsvSink implements RowSink {
  private text = '';
  constructor(private readonly out: EncryptedFileWriter, private readonly encode: (s: string) => Buffer, readonly encoding: 'utf8' | 'cp932') {}
  async row(values: readonly string[]): Promise<void> {
    return this.line(csvLine(values));
  }
  async bytes(chunk: Buffer): Promise<void> {
    if (this.text) await this.out.write(this.encode(this.text));
    this.text = '';
    if (chunk.length > 0) await this.out.write(chunk);
  }
  private async line(text: string): Promise<void> {
    this.text += text + '\r\n';
    if (this.text.length >= PIECE) {
      const s = this.text;
      this.text = '';
      await this.out.write(this.encode(s));
    }
  }
  async finish(): Promise<void> {
    if (this.text) await this.out.write(this.encode(this.text));
    this.text = '';
  }
}

class XlsxSink implements RowSink {
  private readonly pass = new PassThrough();
  private readonly wb: ExcelJS.stream.xlsx.WorkbookWriter;
  private readonly ws: ExcelJS.Worksheet;
  private readonly drained: Promise<void>;
  constructor(out: EncryptedFileWriter, excel: typeof ExcelJS) {
    this.wb = new excel.stream.xlsx.WorkbookWriter({ stream: this.pass, useStyles: false, useSharedStrings: false });
    this.ws = this.wb.addWorksheet('export');
    this.drained = (async () => {
      for await (const chunk of this.pass) await out.write(chunk as Buffer);
    })();
    this.drained.catch(() => undefined);
  }
  async row(values: readonly string[]): Promise<void> {
    this.ws.addRow([...values]).commit();
  }
  async finish(): Promise<void> {
    this.ws.commit();
    await this.wb.commit();
    await this.drained;
  }
}

export async function sinkFor(format: ExportFormat, out: EncryptedFileWriter): Promise<RowSink> {
  switch (format) {
    case 'csv_utf8': {
      // Excel opens UTF-8 CSV correctly only with a byte-order mark.
      void out.write(Buffer.from([0xef, 0xbb, 0xbf]));
      return new CsvSink(out, (s) => Buffer.from(s, 'utf8'), 'utf8');
    }
    case 'csv_sjis':
      return new CsvSink(out, (s) => iconv.encode(s, 'cp932'), 'cp932');
    case 'xlsx':
      // exceljs is loaded when a workbook is first written: it is a third of the command's start-up otherwise.
      return new XlsxSink(out, (await import('exceljs')).default);
  }
}

export const FILE_EXTENSION: Record<ExportFormat, string> = { csv_utf8: 'csv', csv_sjis: 'csv', xlsx: 'xlsx' };
