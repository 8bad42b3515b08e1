// A worker thread of the export (extraction.transform.ts): runs the transform of
// extraction.transform.core.mjs on each packed batch it is sent.
// Input: { id, data, canaries } (data transferred); output: { id, bytes }
// (transferred) or { id, error }.
import { parentPort, workerData } from 'node:worker_threads';
import { createTransform } from './extraction.transform.core.mjs';

const transform = createTransform(workerData);

parentPort.on('message', ({ id, data, canaries }) => {
  try {
    const b = transform(Buffer.from(data.buffer, data.byteOffset, data.byteLength), canaries);
    // A view of its own (not the shared pool of small buffers), so it can be transferred, not copied.
    const bytes = b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : Buffer.from(b);
    parentPort.postMessage({ id, bytes }, [bytes.buffer]);
  } catch {
    // One code for every failure, as envelope.open: nothing about the record.
    parentPort.postMessage({ id, error: 'crypto.bad_ciphertext' });
  }
});
