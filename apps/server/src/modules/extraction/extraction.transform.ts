/**
 * The export's worker threads: decryption, fingerprint, CSV quoting, canary placement and encoding.
 * Each packed batch (extraction.repository.ts `PackedBatch`: the records as PostgreSQL's binary COPY
 * wrote them, one buffer) is moved to one worker whole — transferred, not copied — and comes back as one
 * transferred buffer of encoded CSV, so the main thread only fetches batches and writes the
 * (encrypted) file. Batches go to the workers in turn; results are taken in batch order.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { dropCopyBuffers, recycleCopyBuffer } from '../../platform/db/copy-out.ts';
import { AppError } from '../../platform/errors.ts';
import { movable } from '../../platform/workers/movable.mjs';
import type { PackedBatch } from './extraction.repository.ts';

export type TransformSetup = {
  datasetId: string; dataKeys: [string, Buffer][]; fields: { name: string; kind: string }[]; fingerprintKey: Buffer; needsPersonal: boolean;
  encoding: 'utf8' | 'cp932';
};
/** A canary line (quoted, fingerprinted) that follows the batch's row `after` (0-based). */
export type PlacedLine = { after: number; line: string };
export type TransformPool = {
  /** Workers in the pool: as many batches can be in work at once. */
  readonly size: number;
  /**
   * The batch as encoded CSV (CRLF after every line), canaries in place. The batch's buffer is
   * transferred to the worker when it owns its memory: unusable here afterwards.
   */
  transform(batch: PackedBatch, canaries?: readonly PlacedLine[]): Promise<Buffer>;
  /**
   * Gives a result's memory back once its bytes have been used (copied into the file), so that the
   * next batch's CSV is written into it instead of new memory. The buffer is unusable afterwards.
   */
  release(result: Buffer): void;
  close(): Promise<void>;
};

export function createTransformPool(setup: TransformSetup, size = Math.max(1, availableParallelism())): TransformPool {
  const url = new URL('./extraction.transform.worker.mjs', import.meta.url);
  const workerData = { ...setup, dataKeys: setup.dataKeys.map(([id, k]) => [id, new Uint8Array(k)]), fingerprintKey: new Uint8Array(setup.fingerprintKey) };
  // Plain JS: started without the parent's loaders (tsx would add seconds per worker). A larger young
  // generation: each record leaves a few short-lived strings and objects, and fewer scavenges cost less.
  const workers = Array.from({ length: size }, () => new Worker(url, { execArgv: [], workerData, resourceLimits: { maxYoungGenerationSizeMb: 64 } }));
  const pending = new Map<number, { resolve: (bytes: Buffer) => void; reject: (e: Error) => void }>();
  // Memory moves in turns and is reused (no large buffer per batch is left to the collector): a batch's
  // COPY buffer goes to a worker and comes back for the next COPY; a released result's buffer goes to
  // a worker with the next batch, which writes its CSV into it.
  const freeOut: ArrayBuffer[] = [];
  let next = 0;
  for (const w of workers) {
    w.on('message', (m: { id: number; bytes?: Uint8Array; spare?: ArrayBuffer | null; error?: string }) => {
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (m.spare) recycleCopyBuffer(m.spare);
      // One code for every record that does not open or batch that does not read: nothing about the record.
      if (m.error || !m.bytes) p?.reject(new AppError('extraction.record_unreadable', m.error ?? 'export worker failed'));
      else p?.resolve(Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength));
    });
    w.on('error', (e) => {
      for (const p of pending.values()) p.reject(e);
      pending.clear();
    });
  }
  return {
    size,
    transform(batch, canaries = []) {
      if (batch.rows === 0) return Promise.resolve(Buffer.alloc(0));
      const id = next++;
      const w = workers[id % workers.length]!;
      return new Promise<Buffer>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        const data = movable(batch.data);
        const out = freeOut.pop();
        w.postMessage({ id, data, canaries, out: out ? new Uint8Array(out) : null }, out ? [data.buffer as ArrayBuffer, out] : [data.buffer as ArrayBuffer]);
      });
    },
    release(result) {
      const memory = result.buffer as ArrayBuffer;
      if (memory.byteLength > Buffer.poolSize && freeOut.length <= size && !freeOut.includes(memory)) freeOut.push(memory);
    },
    async close() {
      dropCopyBuffers();
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
