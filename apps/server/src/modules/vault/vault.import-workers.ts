/**
 * Worker threads for a large import: each runs the import's encoder (vault.import-encode.ts) on the
 * chunks it is sent, CSV/TSV text it parses itself or rows, so that parsing, validation, sealing,
 * blind indexes and COPY rows (most of the import's CPU time in Node) run beside the thread that
 * reads the file and feeds PostgreSQL. Results come back in whatever order the workers finish; the
 * import applies them in the order it sent them.
 *
 * Workers take about a second to start (they load TypeScript through tsx), so the import starts them
 * only once a file proves large and goes on with its own thread meanwhile (vault.import.ts).
 */
import { Worker } from 'node:worker_threads';
import type { DelimitedChunk } from './vault.import-csv.ts';
import type { EncodedChunk, EncoderSetup } from './vault.import-encode.ts';
import { ImportParseError, type ImportParseErrorCode, type ImportRow } from './vault.import-errors.ts';

const WORKER_URL = new URL('./vault.import.worker.mjs', import.meta.url);

type Pending = { resolve(v: EncodedChunk): void; reject(e: Error): void };
type Failure = { code: ImportParseErrorCode; line: number; message: string; column?: number };
type Answer = {
  id: number; error?: string; ready?: true; rows: number; failure: Failure | null;
  problems: EncodedChunk['problems']; problemCount: number; records: Uint8Array | null; terms: Uint8Array | null;
};

function asBuffer(u: Uint8Array | null): Buffer | null {
  return u === null ? null : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

export class ImportWorkers {
  private readonly workers: { worker: Worker; pending: Map<number, Pending> }[];
  private next = 0;
  private failed: Error | null = null;
  /** True once every worker is ready, false if one failed to start (the import then goes on without them). */
  readonly ready: Promise<boolean>;
  isReady = false;

  constructor(setup: EncoderSetup, size: number) {
    let readyCount = 0;
    let settle: (ok: boolean) => void = () => undefined;
    this.ready = new Promise<boolean>((resolve) => (settle = resolve));
    // A larger young generation: each row leaves short-lived strings and objects, and fewer scavenges cost less.
    this.workers = Array.from({ length: size }, () => ({ worker: new Worker(WORKER_URL, { execArgv: [], workerData: setup, resourceLimits: { maxYoungGenerationSizeMb: 64 } }), pending: new Map<number, Pending>() }));
    for (const w of this.workers) {
      w.worker.on('message', (msg: Answer) => {
        if (msg.ready) {
          if (++readyCount === size && !this.failed) {
            this.isReady = true;
            settle(true);
          }
          return;
        }
        const p = w.pending.get(msg.id);
        w.pending.delete(msg.id);
        if (msg.error !== undefined) p?.reject(new Error(msg.error));
        else {
          const f = msg.failure;
          p?.resolve({
            rows: msg.rows, failure: f === null ? undefined : new ImportParseError(f.code, f.line, f.message, f.column),
            problems: msg.problems, problemCount: msg.problemCount, records: asBuffer(msg.records), terms: asBuffer(msg.terms),
          });
        }
      });
      const fail = (err: Error) => {
        this.failed ??= err;
        this.isReady = false;
        settle(false);
        for (const p of w.pending.values()) p.reject(err);
        w.pending.clear();
      };
      w.worker.on('error', fail);
      w.worker.on('exit', (code) => fail(new Error(`import worker exited (${code})`)));
    }
  }

  get size(): number {
    return this.workers.length;
  }

  /** Sends a chunk of rows to the worker with the fewest in hand. */
  run(rows: readonly ImportRow[], ids: string[] | null): Promise<EncodedChunk> {
    return this.send({ rows, ids });
  }

  /** Sends a chunk of CSV/TSV text to be parsed and encoded there (not one that carries the decoder's error: it stays on the import's thread). */
  runText(chunk: DelimitedChunk, ids: string[] | null): Promise<EncodedChunk> {
    if (chunk.encodingError) return Promise.reject(new Error('a chunk with an encoding error is encoded on the import thread'));
    return this.send({ chunk, ids });
  }

  private send(message: { rows?: readonly ImportRow[]; chunk?: DelimitedChunk; ids: string[] | null }): Promise<EncodedChunk> {
    if (this.failed) return Promise.reject(this.failed);
    const w = this.workers.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    const id = this.next++;
    return new Promise<EncodedChunk>((resolve, reject) => {
      w.pending.set(id, { resolve, reject });
      w.worker.postMessage({ id, ...message });
    });
  }

  async close(): Promise<void> {
    this.failed ??= new Error('import workers closed');
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }
}
