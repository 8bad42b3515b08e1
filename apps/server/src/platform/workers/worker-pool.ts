/**
 * A small pool of worker threads running one plain-JavaScript module (workers start without the
 * parent's TypeScript loader: tsx would add seconds per worker). Each task goes to the worker with
 * the fewest tasks in hand; its ArrayBuffers can be transferred instead of copied. A worker answers
 * `{ id, … }` for the task `{ id, … }` it was given, or `{ id, error }`.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

export type WorkerPool<In, Out> = {
  readonly size: number;
  run(task: In, transfer?: readonly ArrayBuffer[]): Promise<Out>;
  close(): Promise<void>;
};

export function createWorkerPool<In extends object, Out>(url: URL, size = Math.max(1, availableParallelism())): WorkerPool<In, Out> {
  type Pending = { resolve(v: Out): void; reject(e: Error): void };
  const workers = Array.from({ length: size }, () => ({ worker: new Worker(url, { execArgv: [] }), pending: new Map<number, Pending>() }));
  let next = 0;
  for (const w of workers) {
    w.worker.on('message', (msg: { id: number; error?: string }) => {
      const p = w.pending.get(msg.id);
      w.pending.delete(msg.id);
      if (msg.error !== undefined) p?.reject(new Error(msg.error));
      else p?.resolve(msg as Out);
    });
    const fail = (err: Error) => {
      for (const p of w.pending.values()) p.reject(err);
      w.pending.clear();
    };
    w.worker.on('error', fail);
    w.worker.on('exit', (code) => fail(new Error(`worker exited (${code})`)));
  }
  return {
    size,
    run(task, transfer = []) {
      const w = workers.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
      const id = next++;
      return new Promise<Out>((resolve, reject) => {
        w.pending.set(id, { resolve, reject });
        w.worker.postMessage({ ...task, id }, [...transfer]);
      });
    },
    async close() {
      await Promise.all(workers.map((w) => w.worker.terminate()));
    },
  };
}
