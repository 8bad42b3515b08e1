// @ts-check
/**
 * RFC 6962 hashing in batches, shared by the sequencer (TypeScript) and the verifier's worker threads
 * (plain JavaScript, so that a worker starts without a TypeScript loader; types in audit.tree.d.mts).
 *
 * Through node:crypto the cost of hashing a 65-byte node is almost all per-call overhead: a Hash
 * object and a result Buffer cost several times the SHA-256 itself. So every hash here is the one-shot
 * `crypto.hash()` returning a latin1 string (no Buffer is made), written into a preallocated output
 * buffer, and trees are built level by level over such buffers: about 0.3 µs per node instead of 2.
 * (Node < 20.12 has no `crypto.hash`; there the same functions fall back to `createHash`.)
 */
import * as nodeCrypto from 'node:crypto';

/** @type {((algorithm: string, data: Uint8Array, encoding: 'latin1') => string) | null} */
const oneShot = typeof nodeCrypto.hash === 'function' ? /** @type {any} */ (nodeCrypto.hash) : null;

/**
 * SHA-256 of `data` into out[off, off + 32).
 * @param {Uint8Array} data
 * @param {Buffer} out
 * @param {number} off
 */
export function sha256Into(data, out, off) {
  if (oneShot) out.write(oneShot('sha256', data, 'latin1'), off, 32, 'latin1');
  else nodeCrypto.createHash('sha256').update(data).digest().copy(out, off);
}

/** 0x01 ‖ left ‖ right, reused for every node hash of this thread. */
const scratch = Buffer.alloc(65);
scratch[0] = 1;

/**
 * RFC 6962 node hash SHA-256(0x01 ‖ left ‖ right) of two 32-byte hashes given as (buffer, offset),
 * into out[off, off + 32). The inputs may lie in `out` itself.
 * @param {Uint8Array} lb @param {number} lo @param {Uint8Array} rb @param {number} ro
 * @param {Buffer} out @param {number} off
 */
export function nodeHashInto(lb, lo, rb, ro, out, off) {
  // Byte loops, not set(subarray(…)): two views a node cost more than copying 64 bytes.
  for (let k = 0; k < 32; k++) scratch[1 + k] = /** @type {number} */ (lb[lo + k]);
  for (let k = 0; k < 32; k++) scratch[33 + k] = /** @type {number} */ (rb[ro + k]);
  sha256Into(scratch, out, off);
}

/**
 * Appends `count` leaf hashes (leaves[32·i, 32·i + 32)) to a tree of `size` leaves whose compact
 * range (perfect subtree roots, largest first) is `compact`. Returns the new compact range and every
 * perfect subtree the new leaves complete, level by level: `levels[k - 1]` holds the nodes of level k
 * with indexes `first[k - 1]`, `first[k - 1] + 1`, … contiguously (32 bytes each).
 *
 * With `compact = []` and `size = 0` this builds every level of a tree of `count` leaves; that is also
 * the subtree of an aligned chunk (its first leaf index a multiple of a power of two ≥ count), whose
 * nodes then have the global index `chunkStart / 2^k + i` at level k.
 * @param {readonly Uint8Array[]} compact
 * @param {number} size
 * @param {Uint8Array} leaves
 * @param {number} count
 * @returns {{ compact: Buffer[]; levels: Buffer[]; first: number[] }}
 */
export function extendTree(compact, size, leaves, count) {
  /** @type {Buffer[]} */
  const levels = [];
  /** @type {number[]} */
  const first = [];
  const end = size + count;
  // Level k gets the nodes whose last leaf is new: indexes ceil((size + 1) / 2^k) - 1 … floor(end / 2^k) - 1.
  for (let span = 2; span <= end; span *= 2) {
    const a = Math.ceil((size + 1) / span) - 1;
    const n = Math.floor(end / span) - a;
    if (n <= 0) break;
    levels.push(Buffer.allocUnsafe(n * 32));
    first.push(a);
  }
  // The compact-range stack as (buffer, offset) pairs: no object per entry.
  /** @type {Uint8Array[]} */
  const sb = [];
  /** @type {number[]} */
  const so = [];
  for (const c of compact) {
    sb.push(c);
    so.push(0);
  }
  for (let i = 0; i < count; i++) {
    let hb = leaves;
    let ho = i * 32;
    let n = size + i;
    let k = 0;
    while (n % 2 === 1) {
      const lb = /** @type {Uint8Array} */ (sb.pop());
      const lo = /** @type {number} */ (so.pop());
      n = (n - 1) / 2;
      k += 1;
      const out = /** @type {Buffer} */ (levels[k - 1]);
      const off = (n - /** @type {number} */ (first[k - 1])) * 32;
      nodeHashInto(lb, lo, hb, ho, out, off);
      hb = out;
      ho = off;
    }
    sb.push(hb);
    so.push(ho);
  }
  const next = sb.map((b, i) => Buffer.from(b.subarray(/** @type {number} */ (so[i]), /** @type {number} */ (so[i]) + 32)));
  return { compact: next, levels, first };
}

/**
 * The compact range of the first `r` leaves of a tree whose levels (level 0 = the leaves) were built
 * from index 0 by extendTree: one 32-byte view per set bit of r, largest subtree first.
 * @param {readonly Uint8Array[]} levels level 0 first
 * @param {number} r
 * @returns {Buffer[]}
 */
export function prefixRange(levels, r) {
  /** @type {Buffer[]} */
  const out = [];
  let start = 0;
  for (let k = Math.floor(Math.log2(r)); k >= 0; k--) {
    const span = 2 ** k;
    if (r - start >= span) {
      const buf = /** @type {Uint8Array} */ (levels[k]);
      const off = (start / span) * 32;
      out.push(Buffer.from(buf.buffer, buf.byteOffset + off, 32));
      start += span;
    }
  }
  return out;
}
