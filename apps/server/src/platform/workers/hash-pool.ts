/**
 * A small pool of worker threads that compute RFC 6962 leaf hashes, so that verification uses every
 * core: the main thread reads from the database and builds the tree while the workers hash.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

export type LeafHashPool = { hash(payloads: string[]): Promise<Buffer[]>; close(): Promise<void> };

export function createLeafHashPool(size = Math.max(1, availableParallelism())): LeafHashPool {
  const url = new URL('./leaf-hash.worker.mjs', import.meta.url);
  // The worker is plain JS: start it without the parent's loaders (tsx would add seconds per worker).
  const workers = Array.from({ length: size }, () => new Worker(url, { execArgv: [] }));
  const pending = new Map<number, (hashes: Buffer[]) => void>();
  let next = 0;
  for (const w of workers) {
    w.on('message', ({ id, hashes }: { id: number; hashes: ArrayBuffer }) => {
      const buf = Buffer.from(hashes);
      const out: Buffer[] = [];
      for (let i = 0; i < buf.length; i += 32) out.push(buf.subarray(i, i + 32));
      pending.get(id)?.(out);
      pending.delete(id);
    });
  }
  return {
    /** Splits the batch across the workers and returns the hashes in input order. */
    async hash(payloads) {
      const chunk = Math.ceil(payloads.length / workers.length);
      const parts = await Promise.all(
        workers.map((w, i) => {
          const slice = payloads.slice(i * chunk, (i + 1) * chunk);
          if (slice.length === 0) return Promise.resolve([] as Buffer[]);
          const id = next++;
          return new Promise<Buffer[]>((resolve) => {
            pending.set(id, resolve);
            w.postMessage({ id, payloads: slice });
          });
        }),
      );
      return parts.flat();
    },
    async close() {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
