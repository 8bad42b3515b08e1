/**
 * Scanning many files, or one large one, on every core: a pool of worker threads
 * (dlp.worker.mjs), each scanning whole files or chunks of a large text file cut at line breaks.
 * Chunks of a CSV/TSV are cut only where the number of quotes so far is even (never inside a
 * quoted field), carry the line they start at and the header row's column keywords, so findings
 * have the same lines, columns and context as a scan of the whole file.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { DlpReport } from '@mamori/contracts';
import { detectEncoding, type TextEncoding } from './dlp.encoding.ts';
import { detectFormat, headerMasks } from './dlp.scan.ts';
import type { ScanMode } from './dlp.scanner.ts';
import type { DlpScanOptions } from './dlp.types.ts';

export type PoolTask =
  | { file: string; name: string }
  | { chunk: Uint8Array; name: string; encoding: TextEncoding; mode: ScanMode; line: number; header: number[] | null };

export type DlpPool = { run(task: PoolTask): Promise<DlpReport>; close(): Promise<void>; size: number };

export async function createDlpPool(opts: Pick<DlpScanOptions, 'limits' | 'minConfidence'>, size = Math.max(1, availableParallelism())): Promise<DlpPool> {
  const url = new URL('./dlp.worker.mjs', import.meta.url);
  const workers = await Promise.all(
    Array.from({ length: size }, () => new Promise<Worker>((resolve, reject) => {
      const w = new Worker(url, { execArgv: [], workerData: opts });
      w.once('error', reject);
      w.once('message', () => resolve(w));
    })),
  );
  const idle = [...workers];
  const waiting: ((w: Worker) => void)[] = [];
  let next = 0;
  const acquire = (): Promise<Worker> => (idle.length ? Promise.resolve(idle.pop()!) : new Promise((r) => waiting.push(r)));
  const release = (w: Worker): void => {
    const r = waiting.shift();
    if (r) r(w);
    else idle.push(w);
  };
  return {
    size,
    async run(task) {
      const w = await acquire();
      const id = next++;
      try {
        return await new Promise<DlpReport>((resolve, reject) => {
          const onMessage = (m: { id: number; report?: DlpReport; error?: string }): void => {
            if (m.id !== id) return;
            w.off('message', onMessage);
            w.off('error', reject);
            if (m.report) resolve(m.report);
            else reject(new Error(m.error ?? 'worker failed'));
          };
          w.on('message', onMessage);
          w.once('error', reject);
          w.postMessage({ id, ...task });
        });
      } finally {
        release(w);
      }
    },
    async close() {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

/** Encodings in which byte 0x0A is only ever a line feed (safe to cut after). */
const CUTTABLE: ReadonlySet<TextEncoding> = new Set(['utf-8', 'shift_jis', 'euc-jp']);

export type Chunk = { bytes: Uint8Array; line: number };

/**
 * Cuts a text file into chunks of about `size` bytes at line breaks (outside quotes for CSV/TSV),
 * with the line each starts at. Null when the file should be scanned whole (a container, an
 * encoding that cannot be cut, or small enough).
 */
export function planChunks(name: string, bytes: Uint8Array, size: number): { chunks: Chunk[]; encoding: TextEncoding; mode: ScanMode; header: number[] | null } | null {
  if (bytes.length <= size) return null;
  const format = detectFormat(name, bytes);
  if (format !== 'csv' && format !== 'tsv' && format !== 'text' && format !== 'json') return null;
  const encoding = detectEncoding(bytes);
  if (!CUTTABLE.has(encoding)) return null;
  const mode: ScanMode = format === 'csv' ? 'csv' : format === 'tsv' ? 'tsv' : 'text';
  const tabular = mode !== 'text';
  const chunks: Chunk[] = [];
  let start = 0;
  let line = 1;
  let lines = 0;
  let quotes = 0;
  let header: number[] | null = null;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0x22) quotes++;
    else if (b === 0x0a && (!tabular || (quotes & 1) === 0)) {
      lines++;
      if (tabular && header === null) {
        header = headerMasks(new TextDecoder(encoding).decode(bytes.subarray(0, i + 1)), mode === 'csv' ? ',' : '\t');
      }
      if (i + 1 - start >= size) {
        chunks.push({ bytes: bytes.subarray(start, i + 1), line });
        start = i + 1;
        line = lines + 1;
      }
    }
  }
  if (start < bytes.length) chunks.push({ bytes: bytes.subarray(start), line });
  return { chunks, encoding, mode, header };
}
