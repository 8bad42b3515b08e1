// A worker thread of the export (extraction.transform.ts): runs the transform of
// extraction.transform.core.mjs on each packed batch it is sent.
// Input: { id, data, out } (both moved here: the batch, and memory for the CSV or null); output:
// { id, bytes, spare } (moved back: the CSV, a view into `out` when it was large enough, and the
// batch's memory for the next COPY) or { id, error }.
import { parentPort, workerData } from 'node:worker_threads';
import { movable } from '../../platform/workers/movable.mjs';
import { createTransform } from './extraction.transform.core.mjs';

const transform = createTransform(workerData);

parentPort.on('message', ({ id, data, canaries, out }) => {
  try {
    const b = transform(Buffer.from(data.buffer, data.byteOffset, data.byteLength), canaries, out ? Buffer.from(out.buffer, out.byteOffset, out.byteLength) : null);
    // The transform's buffers are its own: moved, never copied (platform/workers/movable.mjs).
    const bytes = movable(b);
    const spare = data.buffer.byteLength > 0 && data.buffer !== bytes.buffer ? data.buffer : null;
    parentPort.postMessage({ id, bytes, spare }, spare ? [bytes.buffer, spare] : [bytes.buffer]);
  } catch {
    // One code for every failure, as envelope.open: nothing about the record.
    parentPort.postMessage({ id, error: 'crypto.bad_ciphertext' });
  }
});
