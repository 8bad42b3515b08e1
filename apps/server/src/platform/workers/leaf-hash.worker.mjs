// Worker for the audit verifier: RFC 6962 leaf hashes of a batch of payloads (plain JS so that it
// needs no TypeScript loader). Input: { id, payloads: string[] }; output: { id, hashes: ArrayBuffer }.
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

const LEAF = Buffer.from([0x00]);
parentPort.on('message', ({ id, payloads }) => {
  const out = Buffer.allocUnsafe(payloads.length * 32);
  for (let i = 0; i < payloads.length; i++) {
    createHash('sha256').update(LEAF).update(payloads[i], 'utf8').digest().copy(out, i * 32);
  }
  const ab = out.buffer.slice(out.byteOffset, out.byteOffset + out.length);
  parentPort.postMessage({ id, hashes: ab }, [ab]);
});
