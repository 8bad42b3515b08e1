// Worker of the DLP pool (dlp.pool.ts): the scanner is TypeScript, so the worker registers tsx
// first (the pool starts a few workers once per scan, so the loader's start-up cost is paid once
// per worker, not per file). Messages: { id, file: path, name } → scanBuffer of the file;
// { id, chunk: bytes, name, encoding, mode, line, header } → one chunk of a large text file.
// Reply: { id, packed } (packReport: the findings' numbers in transferred typed arrays) or { id, error }.
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { scanBuffer } = await import('./index.ts');
const { scanChunk } = await import('./dlp.scan.ts');
const { packReport } = await import('./dlp.pool.ts');
const { readFile } = await import('node:fs/promises');
const opts = workerData ?? {};

parentPort.on('message', async (m) => {
  try {
    let report;
    if (m.file) report = await scanBuffer(m.name, await readFile(m.file), opts);
    else report = scanChunk(m.name, m.chunk, m.encoding, m.mode, m.line, m.header, opts);
    const { packed, transfer } = packReport(report);
    parentPort.postMessage({ id: m.id, packed }, transfer);
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: err instanceof Error ? err.message : String(err) });
  }
});
parentPort.postMessage({ ready: true });
