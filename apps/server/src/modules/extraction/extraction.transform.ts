/**
 * The export's worker threads: decryption, fingerprint, CSV quoting, canary placement and encoding of
 * each batch are split across them, so the main thread only reads from the database and writes the
 * (encrypted) file. Their output comes back as one transferred buffer per slice.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { BulkRow } from './extraction.repository.ts';

export type TransformSetup = {
  datasetId: string; dataKeys: [string, Buffer][]; fields: { name: string; kind: string }[]; fingerprintKey: Buffer; needsPersonal: boolean;
  encoding: 'utf8' | 'cp932';
};
/** A canary line (quoted, fingerprinted) that follows the batch's row `after` (0-based). */
export type PlacedLine = { after: number; line: string };
export type TransformPool = {
  /** The batch as encoded CSV (CRLF after every line), canaries in place, one buffer per worker slice, in order. */
  chunks(rows: readonly BulkRow[], canaries?: readonly PlacedLine[]): Promise<Buffer[]>;
  close(): Promise<void>;
};

export function createTransformPool(setup: TransformSetup, size = Math.max(1, availableParallelism())): TransformPool {
  const url = new URL('./extraction.transform.worker.mjs', import.meta.url);
  const workerData = { ...setup, dataKeys: setup.dataKeys.map(([id, k]) => [id, new Uint8Array(k)]), fingerprintKey: new Uint8Array(setup.fingerprintKey) };
  // Plain JS: started without the parent's loaders (tsx would add seconds per worker).
  const workers = Array.from({ length: size }, () => new Worker(url, { execArgv: [], workerData }));
  const pending = new Map<number, { resolve: (bytes: Buffer) => void; reject: (e: Error) => void }>();
  let next = 0;
  for (const w of workers) {
    w.on('message', (m: { id: number; bytes?: Uint8Array; error?: string }) => {
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (m.error || !m.bytes) p?.reject(new Error(m.error ?? 'export worker failed'));
      else p?.resolve(Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength));
    });
    w.on('error', (e) => {
      for (const p of pending.values()) p.reject(e);
      pending.clear();
    });
  }
  return {
    chunks(rows, canaries = []) {
      const chunk = Math.ceil(rows.length / workers.length);
      return Promise.all(workers.map((w, i) => {
        const from = i * chunk;
        const slice = rows.slice(from, from + chunk);
        if (slice.length === 0) return Promise.resolve(Buffer.alloc(0));
        const placed = canaries.filter((c) => c.after >= from && c.after < from + slice.length).map((c) => ({ after: c.after - from, line: c.line }));
        const id = next++;
        return new Promise<Buffer>((resolve, reject) => {
          pending.set(id, { resolve, reject });
          w.postMessage({ id, ids: slice.map((r) => r.id), publics: slice.map((r) => r.public), sealed: slice.map((r) => r.sealed), keyIds: slice.map((r) => r.key_id), canaries: placed });
        });
      }));
    },
    async close() {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
