// Worker of the export: turns a slice of stored records into encoded CSV bytes — open the sealed blob
// (AES-256-GCM, the format of platform/crypto/envelope.ts), merge with the public values, apply the
// export's fingerprint (extraction.watermark.ts), quote (RFC 4180), put the export's canary lines in
// their places, and encode (UTF-8 or CP932). Plain JS, so that it needs no TypeScript loader;
// `extraction.file.test.ts` checks it writes exactly what the main thread would.
// workerData: { datasetId, dataKeys: [[id, Uint8Array]], fields: [{ name, kind }], fingerprintKey, needsPersonal, encoding }
// Input: { id, ids, publics, sealed, keyIds, canaries: [{ after, line }] } (`after`: the canary follows
// the slice's row of that index); output: { id, bytes } (transferred) or { id, error }.
import { createDecipheriv, createHmac } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import iconv from 'iconv-lite';

const { datasetId, needsPersonal } = workerData;
const encode = workerData.encoding === 'cp932' ? (s) => iconv.encode(s, 'cp932') : (s) => Buffer.from(s, 'utf8');
const keys = new Map(workerData.dataKeys.map(([id, k]) => [id, Buffer.from(k)]));
const fpKey = Buffer.from(workerData.fingerprintKey);
const names = workerData.fields.map((f) => f.name);
const marked = workerData.fields.map((f) => f.kind === 'name' || f.kind === 'kana');
const ONE_SPACE = /^([^\s]+)[ \u3000]([^\s]+)$/u;
const NEEDS_QUOTING = /[",\r\n]/;
const cache = new Map();

function fingerprint(value) {
  const m = ONE_SPACE.exec(value);
  if (!m) return value;
  const joined = m[1] + m[2];
  let b = cache.get(joined);
  if (b === undefined) {
    b = (createHmac('sha256', fpKey).update(joined, 'utf8').digest()[0] & 1) === 1;
    if (cache.size < 500_000) cache.set(joined, b);
  }
  return `${m[1]}${b ? '\u3000' : ' '}${m[2]}`;
}

function open(key, sealed, aad) {
  if (sealed.length < 29 || sealed[0] !== 0x01) throw new Error('crypto.bad_ciphertext');
  const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(1, 13), { authTagLength: 16 });
  d.setAAD(aad);
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  const body = d.update(sealed.subarray(13, sealed.length - 16));
  d.final();
  return body;
}

parentPort.on('message', ({ id, ids, publics, sealed, keyIds, canaries }) => {
  try {
    let text = '';
    let c = 0;
    for (let i = 0; i < ids.length; i++) {
      const values = JSON.parse(publics[i]);
      const s = sealed[i];
      if (needsPersonal && s) {
        const key = keys.get(keyIds[i]);
        if (!key) throw new Error('unknown data key');
        Object.assign(values, JSON.parse(open(key, Buffer.from(s.buffer, s.byteOffset, s.byteLength), Buffer.from(`mamori/record/v1/${datasetId}/${ids[i]}`, 'utf8')).toString('utf8')));
      }
      let line = '';
      for (let f = 0; f < names.length; f++) {
        let v = values[names[f]] ?? '';
        if (marked[f]) v = fingerprint(v);
        line += (f === 0 ? '' : ',') + (NEEDS_QUOTING.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
      }
      text += line + '\r\n';
      while (c < canaries.length && canaries[c].after === i) text += canaries[c++].line + '\r\n';
    }
    const b = encode(text);
    // A view of its own (not the shared pool of small buffers), so it can be transferred, not copied.
    const bytes = b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : Buffer.from(b);
    parentPort.postMessage({ id, bytes }, [bytes.buffer]);
  } catch {
    // One code for every failure, as envelope.open: nothing about the record.
    parentPort.postMessage({ id, error: 'crypto.bad_ciphertext' });
  }
});
