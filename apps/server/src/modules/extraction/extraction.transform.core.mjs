// The export's transform, run on its worker threads (extraction.transform.worker.mjs): turns a packed
// batch of stored records (extraction.repository.ts PackedBatch) into encoded CSV bytes — open the
// sealed blob (AES-256-GCM, the format of platform/crypto/envelope.ts), merge with the public values,
// apply the export's fingerprint (extraction.watermark.ts), quote (RFC 4180), put the export's canary
// lines in their places, and encode (UTF-8 or CP932). Plain JS, so that a worker needs no TypeScript
// loader; `extraction.file.test.ts` checks it writes exactly what the main thread would.
import { createDecipheriv, createHmac } from 'node:crypto';
import iconv from 'iconv-lite';

const ONE_SPACE = /^([^\s]+)[ \u3000]([^\s]+)$/u;
const NEEDS_QUOTING = /[",\r\n]/;
const NONE = Object.freeze({});

/**
 * The transform of one export. `setup`: { datasetId, dataKeys: [[id, Uint8Array]], fields: [{ name,
 * kind }], fingerprintKey, needsPersonal, encoding }. Returns `(data, canaries) => Buffer` (`data`:
 * a binary COPY batch; `canaries`: [{ after, line }], the line follows the batch's row of index
 * `after`); it throws on a malformed batch or a record that does not open.
 */
export function createTransform(setup) {
  const { datasetId, needsPersonal } = setup;
  const keys = new Map(setup.dataKeys.map(([id, k]) => [id, Buffer.from(k)]));
  const fpKey = Buffer.from(setup.fingerprintKey);
  const names = setup.fields.map((f) => f.name);
  const marked = setup.fields.map((f) => f.kind === 'name' || f.kind === 'kana');
  const cache = new Map();
  // The record's AAD (vault.codec.ts aadFor): one buffer, the record id written into its tail each time.
  const prefix = `mamori/record/v1/${datasetId}/`;
  const aad = Buffer.alloc(Buffer.byteLength(prefix) + 36);
  aad.write(prefix, 0, 'utf8');
  const idAt = aad.length - 36;

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

  function open(key, data, from, to) {
    if (to - from < 29 || data[from] !== 0x01) throw new Error('crypto.bad_ciphertext');
    const d = createDecipheriv('aes-256-gcm', key, data.subarray(from + 1, from + 13), { authTagLength: 16 });
    d.setAAD(aad);
    d.setAuthTag(data.subarray(to - 16, to));
    const body = d.update(data.subarray(from + 13, to - 16));
    d.final();
    return body;
  }

  // The record id (16 bytes in the batch) written into the AAD as text, without a string.
  const HEX = Buffer.from('0123456789abcdef', 'latin1');
  function writeId(data, at) {
    let q = idAt;
    for (let k = 0; k < 16; k++) {
      if (k === 4 || k === 6 || k === 8 || k === 10) aad[q++] = 0x2d;
      const b = data[at + k];
      aad[q++] = HEX[b >> 4];
      aad[q++] = HEX[b & 15];
    }
  }

  // Output: UTF-8 is written straight into one growing buffer; CP932 is gathered as text and encoded once.
  let out = Buffer.allocUnsafe(1 << 20);
  let pos = 0;
  let text = '';
  const utf8 = setup.encoding !== 'cp932';
  function put(s) {
    if (!utf8) {
      text += s;
      return;
    }
    if (pos + s.length * 3 > out.length) {
      const bigger = Buffer.allocUnsafe(Math.max(out.length * 2, pos + s.length * 3));
      out.copy(bigger, 0, 0, pos);
      out = bigger;
    }
    pos += out.utf8Write(s, pos);
  }

  function fail() {
    throw new Error('bad batch');
  }

  /** A binary COPY batch (extraction.repository.ts PackedBatch) → its CSV, canaries in place. */
  return function transform(data, canaries) {
    pos = 0;
    text = '';
    if (data.length < 21 || data.toString('latin1', 0, 11) !== 'PGCOPY\n\xff\r\n\0') fail();
    let o = 19 + data.readInt32BE(15);
    let c = 0;
    for (let i = 0; ; i++) {
      if (o + 2 > data.length) fail();
      const fields = data.readInt16BE(o);
      if (fields === -1) break;
      if (fields !== 4 || o + 22 > data.length || data.readInt32BE(o + 2) !== 16) fail();
      const idAtData = o + 6;
      o += 22;
      const pl = data.readInt32BE(o);
      o += 4;
      if (pl < 0 || o + pl + 4 > data.length) fail();
      const values = JSON.parse(data.toString('utf8', o, o + pl));
      o += pl;
      const sl = data.readInt32BE(o);
      o += 4;
      const sealedAt = o;
      if (sl > 0) o += sl;
      if (o + 4 > data.length) fail();
      const kl = data.readInt32BE(o);
      o += 4;
      if (o + Math.max(kl, 0) > data.length) fail();
      const keyId = kl < 0 ? '' : data.toString('utf8', o, o + kl);
      if (kl > 0) o += kl;
      let personal = NONE;
      if (needsPersonal && sl >= 0) {
        const key = keys.get(keyId);
        if (!key) throw new Error('unknown data key');
        writeId(data, idAtData);
        personal = JSON.parse(open(key, data, sealedAt, sealedAt + sl).toString('utf8'));
      }
      for (let f = 0; f < names.length; f++) {
        // A field is in one of the two (the vault seals personal fields and keeps the rest public).
        let v = personal[names[f]] ?? values[names[f]] ?? '';
        if (marked[f]) v = fingerprint(v);
        if (NEEDS_QUOTING.test(v)) v = `"${v.replaceAll('"', '""')}"`;
        put(f === 0 ? v : ',' + v);
      }
      put('\r\n');
      while (c < canaries.length && canaries[c].after === i) put(canaries[c++].line + '\r\n');
    }
    if (o + 2 !== data.length) fail();
    if (!utf8) return iconv.encode(text, 'cp932');
    // A copy of what was written: the working buffer is kept for the next batch.
    return Buffer.from(new Uint8Array(out.buffer, out.byteOffset, pos).slice().buffer);
  };
}
