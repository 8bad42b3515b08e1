/**
 * The export's worker threads: decryption, fingerprint and CSV quoting of each batch are split across
 * them, so the main thread only reads from the database and writes the (encrypted) file.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { BulkRow } from './extraction.repository.ts';

export type TransformSetup = { datasetId: string; dataKeys: [string, Buffer][]; fields: { name: string; kind: string }[]; fingerprintKey: Buffer; needsPersonal: boolean };
export type TransformPool = { lines(rows: readonly BulkRow[]): Promise<string[]>; close(): Promise<void> };

export function createTransformPool(setup: TransformSetup, size = Math.max(1, availableParallelism())): TransformPool {
  const url = new URL('./extraction.transform.worker.mjs', import.meta.url);
  const workerData = { ...setup, dataKeys: setup.dataKeys.map(([id, k]) => [id, new Uint8Array(k)]), fingerprintKey: new Uint8Array(setup.fingerprintKey) };
  // Plain JS: started without the parent's loaders (tsx would add seconds per worker).
  const workers = Array.from({ length: size }, () => new Worker(url, { execArgv: [], workerData }));
  const pending = new Map<number, { resolve: (lines: string[]) => void; reject: (e: Error) => void }>();
  let next = 0;
  for (const w of workers) {
    w.on('message', (m: { id: number; lines?: string[]; error?: string }) => {
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (m.error || !m.lines) p?.reject(new Error(m.error ?? 'export worker failed'));
      else p?.resolve(m.lines);
    });
    w.on('error', (e) => {
      for (const p of pending.values()) p.reject(e);
      pending.clear();
    });
  }
  return {
    async lines(rows) {
      const chunk = Math.ceil(rows.length / workers.length);
      const parts = await Promise.all(workers.map((w, i) => {
        const slice = rows.slice(i * chunk, (i + 1) * chunk);
        if (slice.length === 0) return Promise.resolve([] as string[]);
        const id = next++;
        return new Promise<string[]>((resolve, reject) => {
          pending.set(id, { resolve, reject });
          w.postMessage({ id, ids: slice.map((r) => r.id), publics: slice.map((r) => r.public), sealed: slice.map((r) => r.sealed), keyIds: slice.map((r) => r.key_id) });
        });
      }));
      return parts.flat();
    },
    async close() {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
