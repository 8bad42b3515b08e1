// A worker thread of the import (vault.import-workers.ts). Plain JavaScript so that it can start
// without the parent's loader; it registers tsx itself and then runs the same TypeScript encoder as
// the import's own thread (vault.import-encode.ts), built from `workerData` (an EncoderSetup).
// Input: { id, lines, values, ids }; output: { id, problems, problemCount, records, terms } with the
// two COPY buffers moved, not copied, or { id, error }. `{ ready: true }` once it can take work.
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';
import { movable } from '../../platform/workers/movable.mjs';

register();
const { ImportEncoder } = await import('./vault.import-encode.ts');
const encoder = ImportEncoder.fromSetup(workerData);

parentPort.on('message', ({ id, lines, values, ids }) => {
  try {
    const r = encoder.encode(lines, values, ids);
    if (r.records === null || r.terms === null) {
      parentPort.postMessage({ id, problems: r.problems, problemCount: r.problemCount, records: null, terms: null });
      return;
    }
    const records = movable(r.records);
    const terms = movable(r.terms);
    const transfer = records.buffer === terms.buffer ? [records.buffer] : [records.buffer, terms.buffer];
    parentPort.postMessage({ id, problems: r.problems, problemCount: r.problemCount, records, terms }, transfer);
  } catch {
    // A fixed message: nothing about the rows.
    parentPort.postMessage({ id, error: 'import.encode_failed' });
  }
});
parentPort.postMessage({ ready: true });
