// A worker thread of the import (vault.import-workers.ts). Plain JavaScript so that it can start
// without the parent's loader; it registers tsx itself and then runs the same TypeScript encoder as
// the import's own thread (vault.import-encode.ts), built from `workerData` (an EncoderSetup).
// Input: { id, rows, ids } (ImportRows), or { id, chunk, ids } (a DelimitedChunk of CSV/TSV text, parsed
// here); output: { id, rows, failure, problems, problemCount, records, terms } with the two COPY buffers
// moved, not copied (`failure`: the chunk's parse error as plain fields, or null), or { id, error }.
// `{ ready: true }` once it can take work.
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';
import { movable } from '../../platform/workers/movable.mjs';

register();
const { ImportEncoder } = await import('./vault.import-encode.ts');
const encoder = ImportEncoder.fromSetup(workerData);

parentPort.on('message', ({ id, rows, chunk, ids }) => {
  try {
    const r = chunk ? encoder.encodeText(chunk, ids) : encoder.encode(rows, ids);
    // The parse error's own fields (code, line, column, a message without content); the import rebuilds it.
    const f = r.failure;
    const failure = f ? { code: f.code, line: f.line, message: f.message, column: f.column } : null;
    if (r.records === null || r.terms === null) {
      parentPort.postMessage({ id, rows: r.rows, failure, problems: r.problems, problemCount: r.problemCount, records: null, terms: null });
      return;
    }
    const records = movable(r.records);
    const terms = movable(r.terms);
    const transfer = records.buffer === terms.buffer ? [records.buffer] : [records.buffer, terms.buffer];
    parentPort.postMessage({ id, rows: r.rows, failure, problems: r.problems, problemCount: r.problemCount, records, terms }, transfer);
  } catch {
    // A fixed message: nothing about the rows.
    parentPort.postMessage({ id, error: 'import.encode_failed' });
  }
});
parentPort.postMessage({ ready: true });
