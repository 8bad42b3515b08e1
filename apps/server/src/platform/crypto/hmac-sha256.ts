/**
 * HMAC-SHA256 of short strings under one fixed key, for blind indexes on bulk paths (imports compute
 * five per record). `createHmac` costs about 4 µs a call here, almost all of it per-call set-up (a new
 * native HMAC context, hashing the padded key again); the hashing itself is two or three SHA-256
 * blocks. This computes exactly the same function in JavaScript from the key's precomputed inner and
 * outer midstates, at about 1 µs. The tests check it against `createHmac` on arbitrary keys and
 * inputs (lengths across every block boundary), so a mistake here cannot go unnoticed.
 *
 * SHA-256 has no secret-dependent branches or table look-ups, and neither does this code (32-bit
 * integer arithmetic only), so it leaks no more timing than the native one. It is used only where the
 * output is a search token; keys and everything else stay with node:crypto.
 */

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
  0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const IV = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
const BLOCK = 64;
const W = new Int32Array(64);

/** One SHA-256 compression of the 64-byte block at `off` into `st`. */
function compress(st: Int32Array, buf: Uint8Array, off: number): void {
  for (let i = 0; i < 16; i++) {
    const j = off + 4 * i;
    W[i] = (buf[j]! << 24) | (buf[j + 1]! << 16) | (buf[j + 2]! << 8) | buf[j + 3]!;
  }
  for (let i = 16; i < 64; i++) {
    const x = W[i - 15]!;
    const y = W[i - 2]!;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    W[i] = (s1 + W[i - 7]! + s0 + W[i - 16]!) | 0;
  }
  let a = st[0]!, b = st[1]!, c = st[2]!, d = st[3]!, e = st[4]!, f = st[5]!, g = st[6]!, h = st[7]!;
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i]! + W[i]!) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  st[0] = (st[0]! + a) | 0;
  st[1] = (st[1]! + b) | 0;
  st[2] = (st[2]! + c) | 0;
  st[3] = (st[3]! + d) | 0;
  st[4] = (st[4]! + e) | 0;
  st[5] = (st[5]! + f) | 0;
  st[6] = (st[6]! + g) | 0;
  st[7] = (st[7]! + h) | 0;
}

/** Pads the message of `n` bytes already in `buf` (after one block of key pad) and returns the block count. */
function pad(buf: Buffer, n: number): number {
  const total = BLOCK + n; // the key pad block precedes the message
  const blocks = Math.ceil((n + 9) / BLOCK);
  buf.fill(0, n, blocks * BLOCK);
  buf[n] = 0x80;
  const end = blocks * BLOCK;
  // Bit length as a 64-bit big-endian integer; messages here are far below 2^32 bits.
  const bits = total * 8;
  buf.writeUInt32BE(Math.floor(bits / 2 ** 32), end - 8);
  buf.writeUInt32BE(bits >>> 0, end - 4);
  return blocks;
}

export class HmacSha256 {
  private readonly inner = new Int32Array(8);
  private readonly outer = new Int32Array(8);
  private readonly state = new Int32Array(8);
  private buf = Buffer.alloc(1024);
  private readonly outerBlock = Buffer.alloc(BLOCK);

  constructor(key: Buffer) {
    // Keys longer than a block are hashed first (RFC 2104); ours are 32 bytes, handled the same way.
    if (key.length > BLOCK) throw new Error('crypto.bad_key: HMAC keys longer than 64 bytes are not supported here');
    const ipad = Buffer.alloc(BLOCK, 0x36);
    const opad = Buffer.alloc(BLOCK, 0x5c);
    for (let i = 0; i < key.length; i++) {
      ipad[i] = 0x36 ^ key[i]!;
      opad[i] = 0x5c ^ key[i]!;
    }
    this.inner.set(IV);
    compress(this.inner, ipad, 0);
    this.outer.set(IV);
    compress(this.outer, opad, 0);
  }

  /** The first `bytes` (≤ 32) bytes of HMAC-SHA256(key, UTF-8 of `message`), in a new Buffer. */
  digest(message: string, bytes = 32): Buffer {
    // UTF-8 takes at most 3 bytes per UTF-16 unit; room for padding too.
    const need = message.length * 3 + BLOCK + 9;
    if (this.buf.length < need) this.buf = Buffer.alloc(need * 2);
    const buf = this.buf;
    const n = buf.write(message, 0, 'utf8');
    const blocks = pad(buf, n);
    const st = this.state;
    st.set(this.inner);
    for (let i = 0; i < blocks; i++) compress(st, buf, i * BLOCK);
    // Outer hash: opad midstate, then the 32-byte inner digest, padded to one block.
    const ob = this.outerBlock;
    for (let i = 0; i < 8; i++) ob.writeInt32BE(st[i]!, 4 * i);
    ob.fill(0, 32);
    ob[32] = 0x80;
    ob.writeUInt32BE((BLOCK + 32) * 8, 60);
    st.set(this.outer);
    compress(st, ob, 0);
    const out = Buffer.allocUnsafe(bytes);
    for (let i = 0; i < bytes; i++) out[i] = st[i >> 2]! >>> (24 - 8 * (i & 3));
    return out;
  }
}
