/**
 * Scanning many files, or one large one, on several cores: a pool of worker threads
 * (dlp.worker.mjs), each scanning whole files or chunks of a large text file cut at line breaks.
 * Chunks of a CSV/TSV are cut only where the number of quotes so far is even (never inside a
 * quoted field), carry the line they start at and the header row's column keywords, so findings
 * have the same lines, columns and context as a scan of the whole file.
 *
 * Results come back packed (packReport): the numbers of every finding in one Int32Array whose
 * buffer is transferred (moved, not copied), the excerpts in one string, file names once. A
 * structured clone of the DlpFinding objects themselves cost more than the scan.
 *
 * The pool is off by default (`mamori dlp scan --workers N` turns it on): measured on the 2-core
 * machine this project runs on, it did not make a folder faster (bench/dlp-folder.bench.ts,
 * module README).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { readFile } from 'node:fs/promises';
import { DLP_KINDS, type DlpFinding, type DlpReport } from '@mamori/contracts';
import { scanBuffer } from './index.ts';
import { detectEncoding, type TextEncoding } from './dlp.encoding.ts';
import { detectFormat, headerMasks } from './dlp.scan.ts';
import type { ScanMode } from './dlp.scanner.ts';
import type { DlpScanOptions } from './dlp.types.ts';

export type PoolTask =
  | { file: string; name: string }
  | { chunk: Uint8Array; name: string; encoding: TextEncoding; mode: ScanMode; line: number; header: number[] | null };

export type DlpPool = { run(task: PoolTask): Promise<DlpReport>; close(): Promise<void>; size: number };

/** A DlpReport as sent between threads: see packReport. */
export type PackedReport = {
  /** Per finding, PACKED_SLOTS numbers: kind code, index into files, line, column, length, confidence (percent). */
  ints: Int32Array;
  /** Every excerpt, one after the other; excerpt k ends at ends[k]. */
  excerpts: string;
  ends: Int32Array;
  files: string[];
  summary: DlpReport['summary'];
  errors: DlpReport['errors'];
  bytesScanned: number;
  omittedFindings: number;
};

const PACKED_SLOTS = 6;
const KIND_CODE = new Map<string, number>(DLP_KINDS.map((k, i) => [k, i]));

/** Packs a report for postMessage; transfer the returned buffers (they are the report's own). */
export function packReport(r: DlpReport): { packed: PackedReport; transfer: ArrayBuffer[] } {
  const n = r.findings.length;
  const ints = new Int32Array(n * PACKED_SLOTS);
  const ends = new Int32Array(n);
  const files: string[] = [];
  const fileIndex = new Map<string, number>();
  let excerpts = '';
  for (let k = 0; k < n; k++) {
    const f = r.findings[k]!;
    let fi = fileIndex.get(f.file);
    if (fi === undefined) {
      fi = files.length;
      files.push(f.file);
      fileIndex.set(f.file, fi);
    }
    const o = k * PACKED_SLOTS;
    ints[o] = KIND_CODE.get(f.kind)!;
    ints[o + 1] = fi;
    ints[o + 2] = f.line;
    ints[o + 3] = f.column;
    ints[o + 4] = f.length;
    ints[o + 5] = Math.round(f.confidence * 100);
    excerpts += f.excerpt;
    ends[k] = excerpts.length;
  }
  return {
    packed: { ints, excerpts, ends, files, summary: r.summary, errors: r.errors, bytesScanned: r.bytesScanned, omittedFindings: r.omittedFindings ?? 0 },
    transfer: [ints.buffer as ArrayBuffer, ends.buffer as ArrayBuffer],
  };
}

export function unpackReport(p: PackedReport): DlpReport {
  const n = p.ends.length;
  const findings: DlpFinding[] = new Array<DlpFinding>(n);
  let from = 0;
  for (let k = 0; k < n; k++) {
    const o = k * PACKED_SLOTS;
    const to = p.ends[k]!;
    findings[k] = {
      kind: DLP_KINDS[p.ints[o]!]!,
      file: p.files[p.ints[o + 1]!]!,
      line: p.ints[o + 2]!,
      column: p.ints[o + 3]!,
      length: p.ints[o + 4]!,
      confidence: p.ints[o + 5]! / 100,
      excerpt: p.excerpts.slice(from, to),
    };
    from = to;
  }
  return { findings, summary: p.summary, errors: p.errors, bytesScanned: p.bytesScanned, ...(p.omittedFindings > 0 ? { omittedFindings: p.omittedFindings } : {}) };
}

export async function createDlpPool(opts: Pick<DlpScanOptions, 'limits' | 'minConfidence' | 'maxFindings'>, size = Math.max(1, availableParallelism())): Promise<DlpPool> {
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
          const onMessage = (m: { id: number; packed?: PackedReport; error?: string }): void => {
            if (m.id !== id) return;
            w.off('message', onMessage);
            w.off('error', reject);
            if (m.packed) resolve(unpackReport(m.packed));
            else reject(new Error(m.error ?? 'worker failed'));
          };
          w.on('message', onMessage);
          w.once('error', reject);
          // A chunk owns its buffer (scanFiles copies it out of the file): moved, not copied.
          if ('chunk' in task && task.chunk.byteOffset === 0 && task.chunk.byteLength === task.chunk.buffer.byteLength) w.postMessage({ id, ...task }, [task.chunk.buffer as ArrayBuffer]);
          else w.postMessage({ id, ...task });
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

/** Below this much in total, a worker pool costs more (its start-up) than it could save. */
export const POOL_MIN_BYTES = 16 * 1024 * 1024;
const CHUNK_BYTES = 8 * 1024 * 1024;

export type ScanFilesOptions = {
  scan: DlpScanOptions;
  /** Worker threads: 0 (the default) scans in this thread, one file after the other. */
  workers?: number;
  /** Each file's (or chunk's) report, in file order. */
  onReport(r: DlpReport): void;
  /** Bytes of input done so far. */
  onProgress?(done: number): void;
  /** The pool is used from this many bytes in total (default POOL_MIN_BYTES). */
  poolMinBytes?: number;
  /** Text files larger than this are cut into chunks of about this size (default 8 MiB). */
  chunkBytes?: number;
  /** A pool already started (the caller closes it); otherwise one of `workers` is started and closed. */
  pool?: DlpPool;
};

/**
 * Scans files (the CLI and the folder bench): in this thread, or with `workers` > 0 and at least
 * POOL_MIN_BYTES in total on a pool, whole files per task and large text files in chunks. Reports
 * are handed on in file order either way.
 */
export async function scanFiles(files: readonly { file: string; size: number }[], o: ScanFilesOptions): Promise<void> {
  const total = files.reduce((a, f) => a + f.size, 0);
  let done = 0;
  const progress = (n: number): void => {
    done += n;
    o.onProgress?.(done);
  };
  const chunkBytes = o.chunkBytes ?? CHUNK_BYTES;
  if (!o.pool && (!o.workers || total < (o.poolMinBytes ?? POOL_MIN_BYTES))) {
    for (const f of files) {
      o.onReport(await scanBuffer(f.file, await readFile(f.file), o.scan));
      progress(f.size);
    }
    return;
  }
  const { vault: _vault, ...poolOpts } = o.scan;
  const pool = o.pool ?? (await createDlpPool(poolOpts, o.workers));
  try {
    // Tasks run in parallel; reports are handed on in file order (a promise chain).
    let chain: Promise<void> = Promise.resolve();
    for (const f of files) {
      let parts: Promise<DlpReport>[];
      const content = f.size > chunkBytes ? await readFile(f.file) : null;
      const plan = content ? planChunks(f.file, content, chunkBytes) : null;
      if (plan) {
        // Each chunk copied into a buffer of its own, which is then moved to the worker: a view
        // into the file's buffer would be cloned together with the whole file.
        parts = plan.chunks.map((c) => pool.run({ chunk: new Uint8Array(c.bytes), name: f.file, encoding: plan.encoding, mode: plan.mode, line: c.line, header: plan.header }).then((r) => {
          progress(c.bytes.length);
          return r;
        }));
      } else {
        parts = [pool.run({ file: f.file, name: f.file }).then((r) => {
          progress(f.size);
          return r;
        })];
      }
      const all = Promise.all(parts);
      chain = chain.then(async () => {
        for (const r of await all) o.onReport(r);
      });
    }
    await chain;
  } finally {
    if (!o.pool) await pool.close();
  }
}
