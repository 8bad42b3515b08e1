// The export's transform, run on its worker threads (extraction.transform.worker.mjs): turns a packed
// batch of stored records (extraction.repository.ts PackedBatch) into encoded CSV bytes — open the
// sealed blob (AES-256-GCM, the format of platform/crypto/envelope.ts), merge with the public values,
// apply the export's fingerprint (extraction.watermark.ts), quote (RFC 4180), put the export's canary
// lines in their places, and encode (UTF-8 or CP932). Plain JS, so that a worker needs no TypeScript
// loader; `extraction.file.test.ts` checks it writes exactly what the main thread would.
//
// CSV UTF-8 (the common case) is written from the stored bytes: the two JSON objects of a record (the
// public values as PostgreSQL's jsonb text, the opened sealed values as JSON.stringify wrote them) are
// scanned in place (`scanObject`) for the byte range of each exported field's string, and a value
// without escapes is copied byte for byte into the output (quoted when it holds a comma: a JSON string
// holds no raw quote or line break). Only values with escapes and the names that carry the
// fingerprint become strings. Anything else (a value that is not a string, an escaped key, invalid
// UTF-8, malformed JSON) sends the record through JSON.parse as before, which also fails the batch
// where it failed before: the scan decodes what is there, it does not read a format of its own.
import { isUtf8 } from 'node:buffer';
import { createDecipheriv, createHmac, createSecretKey } from 'node:crypto';
import iconv from 'iconv-lite';

const ONE_SPACE = /^([^\s]+)[ \u3000]([^\s]+)$/u;
const NEEDS_QUOTING = /[",\r\n]/;

/**
 * The transform of one export. `setup`: { datasetId, dataKeys: [[id, Uint8Array]], fields: [{ name,
 * kind }], fingerprintKey, needsPersonal, encoding }. Returns `(data, canaries) => Buffer` (`data`:
 * a binary COPY batch; `canaries`: [{ after, line }], the line follows the batch's row of index
 * `after`); it throws on a malformed batch or a record that does not open.
 */
export function createTransform(setup) {
  const { datasetId, needsPersonal } = setup;
  // KeyObjects: the key is imported once, not at every record's open.
  const keys = new Map(setup.dataKeys.map(([id, k]) => [id, createSecretKey(Buffer.from(k))]));
  const fpKey = Buffer.from(setup.fingerprintKey);
  const names = setup.fields.map((f) => f.name);
  const nf = names.length;
  const marked = setup.fields.map((f) => f.kind === 'name' || f.kind === 'kana');
  const fieldKeys = new FieldKeys(names);
  const cache = new Map();
  // The record's AAD (vault.codec.ts aadFor): one buffer, the record id written into its tail each time.
  const prefix = `mamori/record/v1/${datasetId}/`;
  const aad = Buffer.alloc(Buffer.byteLength(prefix) + 36);
  aad.write(prefix, 0, 'utf8');
  const idAt = aad.length - 36;

  function bitOf(joined) {
    let b = cache.get(joined);
    if (b === undefined) {
      b = (createHmac('sha256', fpKey).update(joined, 'utf8').digest()[0] & 1) === 1;
      if (cache.size < 500_000) cache.set(joined, b);
    }
    return b;
  }
  function fingerprint(value) {
    const m = ONE_SPACE.exec(value);
    if (!m) return value;
    return `${m[1]}${bitOf(m[1] + m[2]) ? '\u3000' : ' '}${m[2]}`;
  }
  // The fast path's names: the stored value → the value as written (quoted if need be), so that a
  // name seen before costs one lookup.
  const written = new Map();
  function markedCell(value) {
    let w = written.get(value);
    if (w === undefined) {
      w = quote(fingerprint(value));
      if (written.size < 500_000) written.set(value, w);
    }
    return w;
  }

  // The nonce and tag are copied into buffers of their own (no view of the batch per record: fewer
  // short-lived objects for the collector; the decipher copies them anyway).
  const nonce = Buffer.alloc(12);
  const tag = Buffer.alloc(16);
  const GCM = { authTagLength: 16 };
  function open(key, data, from, to) {
    if (to - from < 29 || data[from] !== 0x01) throw new Error('crypto.bad_ciphertext');
    data.copy(nonce, 0, from + 1, from + 13);
    data.copy(tag, 0, to - 16, to);
    const d = createDecipheriv('aes-256-gcm', key, nonce, GCM);
    d.setAAD(aad);
    d.setAuthTag(tag);
    const body = d.update(data.subarray(from + 13, to - 16));
    d.final(); // throws unless the tag authenticates the ciphertext and the AAD
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

  // Output: UTF-8 is written straight into the batch's buffer; CP932 is gathered as text and encoded once.
  let out = Buffer.alloc(0);
  let pos = 0;
  let text = '';
  const utf8 = setup.encoding !== 'cp932';
  function room(n) {
    if (pos + n <= out.length) return;
    const bigger = Buffer.allocUnsafeSlow(Math.max(out.length * 2, pos + n));
    out.copy(bigger, 0, 0, pos);
    out = bigger;
  }
  function put(s) {
    if (!utf8) {
      text += s;
      return;
    }
    room(s.length * 3);
    pos += out.utf8Write(s, pos);
  }

  const cells = new CellCache(1 << 18);
  const pub = new ObjectScan(nf);
  const per = new ObjectScan(nf);
  const NO_VALUES = Object.freeze({});

  /** A record through JSON.parse, as every record went before the fast path (and CP932 still does). */
  function parsedRecord(data, pubFrom, pubTo, plain) {
    const values = JSON.parse(data.toString('utf8', pubFrom, pubTo));
    const personal = plain === null ? NO_VALUES : JSON.parse(plain.toString('utf8'));
    for (let f = 0; f < nf; f++) {
      // A field is in one of the two (the vault seals personal fields and keeps the rest public).
      let v = personal[names[f]] ?? values[names[f]] ?? '';
      if (marked[f]) v = fingerprint(v);
      // The vault stores strings; anything else is written as JavaScript prints it.
      v = quote(String(v));
      put(f === 0 ? v : ',' + v);
    }
  }

  /** A record from its scanned byte ranges (UTF-8 only); false when the scan does not apply. */
  function scannedRecord(data, pubFrom, pubTo, plain) {
    if (!pub.scan(data, pubFrom, pubTo, fieldKeys) || !isUtf8(data.subarray(pubFrom, pubTo))) return false;
    if (plain !== null) {
      if (!per.scan(plain, 0, plain.length, fieldKeys) || !isUtf8(plain)) return false;
    } else per.clear();
    // Enough room for every value, quoted, its escapes undone, a space widened to U+3000.
    room(3 * (pubTo - pubFrom + (plain === null ? 0 : plain.length)) + 3 * nf + 2);
    const o = out;
    for (let f = 0; f < nf; f++) {
      if (f > 0) o[pos++] = 0x2c;
      const from = per.kind[f] !== ABSENT ? per : pub;
      const kind = from.kind[f];
      if (kind === ABSENT) {
        if (marked[f]) pos += o.utf8Write(markedCell(''), pos);
        continue;
      }
      const src = from === per ? plain : data;
      if (kind !== ESCAPED && marked[f]) {
        // A name: its cell as written before, found by the stored bytes; else made and remembered.
        const s = from.start[f];
        const e = from.end[f];
        const hit = cells.find(src, s, e);
        if (hit >= 0) pos = cells.copyTo(hit, o, pos);
        else {
          const at = pos;
          pos += o.utf8Write(markedCell(src.toString('utf8', s, e)), pos);
          cells.add(src, s, e, o, at, pos);
        }
        continue;
      }
      if (kind === ESCAPED || marked[f]) {
        const v = kind === ESCAPED ? from.decoded[f] : src.toString('utf8', from.start[f], from.end[f]);
        pos += o.utf8Write(marked[f] ? markedCell(v) : quote(v), pos);
        continue;
      }
      const s = from.start[f];
      const e = from.end[f];
      if (kind === COMMA) o[pos++] = 0x22;
      if (e - s > 32) pos += src.copy(o, pos, s, e);
      else for (let k = s; k < e; k++) o[pos++] = src[k];
      if (kind === COMMA) o[pos++] = 0x22;
    }
    return true;
  }

  function fail() {
    throw new Error('bad batch');
  }

  /**
   * A binary COPY batch (extraction.repository.ts PackedBatch) → its CSV, canaries in place. UTF-8 is
   * written into `into` when given (memory the caller hands over: the result is a view of it, or of a
   * larger buffer when it did not fit), else into a new buffer.
   */
  return function transform(data, canaries, into = null) {
    if (utf8) out = into && into.length > 0 ? into : Buffer.allocUnsafeSlow(Math.max(1 << 16, data.length >> 1));
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
      const pubFrom = o;
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
      let plain = null;
      if (needsPersonal && sl >= 0) {
        const key = keys.get(keyId);
        if (!key) throw new Error('unknown data key');
        writeId(data, idAtData);
        plain = open(key, data, sealedAt, sealedAt + sl);
      }
      if (!utf8 || !scannedRecord(data, pubFrom, pubFrom + pl, plain)) parsedRecord(data, pubFrom, pubFrom + pl, plain);
      if (utf8) {
        room(2);
        out[pos++] = 0x0d;
        out[pos++] = 0x0a;
      } else text += '\r\n';
      while (c < canaries.length && canaries[c].after === i) put(canaries[c++].line + '\r\n');
    }
    if (o + 2 !== data.length) fail();
    if (!utf8) return iconv.encode(text, 'cp932');
    return out.subarray(0, pos);
  };
}

/** RFC 4180: a value with a quote, comma or line break is quoted, its quotes doubled. */
function quote(v) {
  return NEEDS_QUOTING.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

// What a scanned object holds for a field.
const ABSENT = 0;
/** A string without escapes: its bytes are the value. */
const PLAIN = 1;
/** The same, with a comma: written quoted (a JSON string has no raw quote or line break). */
const COMMA = 2;
/** A string with escapes: decoded (JSON.parse of the literal), in `decoded`. */
const ESCAPED = 3;

/** The exported fields' names as JSON key bytes; a key is found by its bytes, the last match first. */
export class FieldKeys {
  constructor(names) {
    this.bytes = names.map((n) => Buffer.from(n, 'utf8'));
    // The field matched by the key at each place in the previous object (records share their key order).
    this.guess = new Int16Array(64).fill(-1);
  }
  /** The field whose name is data[from, to) (a key without escapes), or -1. */
  find(data, from, to, place) {
    const g = place < 64 ? this.guess[place] : -1;
    if (g >= 0 && this.is(g, data, from, to)) return g;
    for (let f = 0; f < this.bytes.length; f++) {
      if (f !== g && this.is(f, data, from, to)) {
        if (place < 64) this.guess[place] = f;
        return f;
      }
    }
    return -1;
  }
  is(f, data, from, to) {
    const b = this.bytes[f];
    if (b.length !== to - from) return false;
    for (let k = 0; k < b.length; k++) if (b[k] !== data[from + k]) return false;
    return true;
  }
}

/**
 * Cells as written, by the stored value's bytes (open addressing on an FNV-1a hash of the bytes): a
 * name seen before is copied without a string being made. Holds at most `max` values; the rest are
 * made each time. Exact by construction: equal bytes are an equal value, written the same.
 */
export class CellCache {
  constructor(max) {
    this.max = max;
    this.slots = new Int32Array(max * 2).fill(-1);
    this.mask = max * 2 - 1;
    this.keyAt = new Int32Array(max);
    this.keyLen = new Int32Array(max);
    this.cellAt = new Int32Array(max);
    this.cellLen = new Int32Array(max);
    this.hashes = new Int32Array(max);
    this.arena = Buffer.allocUnsafeSlow(1 << 16);
    this.used = 0;
    this.size = 0;
    this.lastHash = 0;
  }
  static hash(b, s, e) {
    let h = 0x811c9dc5 | 0;
    for (let k = s; k < e; k++) h = Math.imul(h ^ b[k], 0x01000193);
    return h;
  }
  /** The entry holding b[s, e), or -1. */
  find(b, s, e) {
    const h = CellCache.hash(b, s, e);
    this.lastHash = h;
    const n = e - s;
    for (let i = h & this.mask; ; i = (i + 1) & this.mask) {
      const x = this.slots[i];
      if (x < 0) return -1;
      if (this.hashes[x] !== h || this.keyLen[x] !== n) continue;
      const a = this.arena;
      const at = this.keyAt[x];
      let k = 0;
      while (k < n && a[at + k] === b[s + k]) k++;
      if (k === n) return x;
    }
  }
  /** Writes entry x's cell at out[pos]; returns the position after it. */
  copyTo(x, out, pos) {
    const a = this.arena;
    for (let k = this.cellAt[x], end = k + this.cellLen[x]; k < end; ) out[pos++] = a[k++];
    return pos;
  }
  /** Remembers b[s, e) (just looked up with find) as written in out[from, to). */
  add(b, s, e, out, from, to) {
    if (this.size >= this.max) return;
    const need = this.used + (e - s) + (to - from);
    if (need > this.arena.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(this.arena.length * 2, need));
      this.arena.copy(bigger, 0, 0, this.used);
      this.arena = bigger;
    }
    const x = this.size++;
    this.hashes[x] = this.lastHash;
    this.keyAt[x] = this.used;
    this.keyLen[x] = e - s;
    this.used += b.copy(this.arena, this.used, s, e);
    this.cellAt[x] = this.used;
    this.cellLen[x] = to - from;
    this.used += out.copy(this.arena, this.used, from, to);
    let i = this.lastHash & this.mask;
    while (this.slots[i] >= 0) i = (i + 1) & this.mask;
    this.slots[i] = x;
  }
}

const isWs = (b) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

/**
 * One JSON object of string values, scanned in place: for each exported field, where its string's
 * bytes are and what they hold. `scan` is false when the object is not of that shape (a value that
 * is not a string, an escaped key, an escape in a value of no exported field, a raw control
 * character, anything malformed): the record then goes through JSON.parse. A key given twice keeps
 * its last value, as JSON.parse does; escapes are checked by decoding them.
 */
export class ObjectScan {
  constructor(n) {
    this.kind = new Uint8Array(n);
    this.start = new Int32Array(n);
    this.end = new Int32Array(n);
    this.decoded = new Array(n).fill('');
  }
  clear() {
    this.kind.fill(ABSENT);
  }
  scan(b, from, to, keys) {
    this.kind.fill(ABSENT);
    let i = from;
    while (i < to && isWs(b[i])) i++;
    if (b[i] !== 0x7b) return false;
    i++;
    while (i < to && isWs(b[i])) i++;
    if (b[i] === 0x7d) {
      for (i++; i < to && isWs(b[i]); ) i++;
      return i === to;
    }
    for (let place = 0; ; place++) {
      if (i >= to || b[i] !== 0x22) return false;
      const ks = ++i;
      for (;;) {
        if (i >= to) return false;
        const x = b[i];
        if (x === 0x22) break;
        if (x === 0x5c || x < 0x20) return false;
        i++;
      }
      const f = keys.find(b, ks, i, place);
      i++;
      while (i < to && isWs(b[i])) i++;
      if (b[i] !== 0x3a) return false;
      i++;
      while (i < to && isWs(b[i])) i++;
      if (i >= to || b[i] !== 0x22) return false;
      const vs = ++i;
      let kind = PLAIN;
      for (;;) {
        if (i >= to) return false;
        const x = b[i];
        if (x === 0x22) break;
        if (x === 0x5c) {
          kind = ESCAPED;
          i += 2;
          continue;
        }
        if (x < 0x20) return false;
        if (x === 0x2c && kind === PLAIN) kind = COMMA;
        i++;
      }
      if (f >= 0) {
        this.kind[f] = kind;
        this.start[f] = vs;
        this.end[f] = i;
        // Throws on a bad escape, as JSON.parse of the whole object would have.
        if (kind === ESCAPED) this.decoded[f] = JSON.parse(b.toString('utf8', vs - 1, i + 1));
      } else if (kind === ESCAPED) return false;
      i++;
      while (i < to && isWs(b[i])) i++;
      if (b[i] === 0x2c) {
        i++;
        while (i < to && isWs(b[i])) i++;
        continue;
      }
      if (b[i] !== 0x7d) return false;
      for (i++; i < to && isWs(b[i]); ) i++;
      return i === to;
    }
  }
}
