// @ts-check
/**
 * A verification worker (plain JavaScript: no TypeScript loader in worker threads). It checks one
 * aligned chunk of the log — log indexes [start, start + size), size a power of two — from the bytes
 * of two binary COPYs, as audit.verify.ts describes: every event's index, its leaf hash re-computed
 * from its stored bytes, its searchable columns against those bytes, every pair hash stored at
 * integration; then it builds the chunk's subtree and the compact ranges the checkpoints inside the
 * chunk need. It reports the first problem of the tree in log order (position, then: missing, leaf,
 * pair), and apart from it the first event whose columns disagree with its bytes (or that it leaves to
 * the database to decide).
 *
 * In:  { id, start, expect, memory: SharedArrayBuffer, eventsLength, pairsLength, cuts: number[] }
 *      memory[0, eventsLength): COPY (log_index, payload, leaf_hash, at, actor_user_id, action, dataset_id, record_ids, decision)
 *      memory[eventsLength, + pairsLength): COPY (tile, hashes) of the rows of level-1 nodes (32 a row) holding [start / 2, (start + size) / 2)
 *      The memory is the parent's, shared: this worker may write into that range until it answers.
 *      cuts:   prefix lengths r (1 ≤ r ≤ size) whose compact range is wanted
 * Out: { id, count, stop, problem, column, undecided, cuts: [{ r, hashes }], prefix }
 *
 * Everything sized by the chunk (frames, leaf and node buffers) is kept from one chunk to the next:
 * fresh memory costs a page fault per 4 KiB, more than hashing it.
 */
import { parentPort } from 'node:worker_threads';
import { nodeHashInto, prefixRange, sha256Into } from './audit.tree.mjs';
import { AGREE, COLUMNS, DISAGREE, compareColumns } from './audit.columns.mjs';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/**
 * The field offsets and lengths (-1 = NULL) of every tuple of a binary COPY with `fields` columns,
 * into `reuse`'s arrays (grown when too small).
 * @param {Buffer} b @param {number} fields @param {number} hint @param {{ off: Int32Array; len: Int32Array }} reuse
 */
function frame(b, fields, hint, reuse) {
  let off = reuse.off.length >= Math.max(1, hint) * fields ? reuse.off : new Int32Array(Math.max(1, hint) * fields);
  let len = reuse.len.length >= off.length ? reuse.len : new Int32Array(off.length);
  reuse.off = off;
  reuse.len = len;
  if (b.length === 0) return { count: 0, off, len };
  if (b.length < 19 || b.compare(SIGNATURE, 0, 11, 0, 11) !== 0) throw new Error('not a binary COPY');
  let p = 19 + b.readInt32BE(15);
  let count = 0;
  for (;;) {
    const n = ((/** @type {number} */ (b[p]) << 24) | (/** @type {number} */ (b[p + 1]) << 16)) >> 16;
    p += 2;
    if (n === -1) break;
    if (n !== fields) throw new Error(`binary COPY tuple with ${n} fields, expected ${fields}`);
    if ((count + 1) * fields > off.length) {
      const o2 = new Int32Array(off.length * 2);
      o2.set(off);
      off = o2;
      const l2 = new Int32Array(len.length * 2);
      l2.set(len);
      len = l2;
      reuse.off = off;
      reuse.len = len;
    }
    for (let f = 0; f < fields; f++) {
      const l = (/** @type {number} */ (b[p]) << 24) | (/** @type {number} */ (b[p + 1]) << 16) | (/** @type {number} */ (b[p + 2]) << 8) | /** @type {number} */ (b[p + 3]);
      off[count * fields + f] = p + 4;
      len[count * fields + f] = l;
      p += 4 + (l > 0 ? l : 0);
    }
    count++;
  }
  return { count, off, len };
}

/** Kept between chunks. */
const evFrames = { off: new Int32Array(0), len: new Int32Array(0) };
const prFrames = { off: new Int32Array(0), len: new Int32Array(0) };
/** @type {Buffer} */
let leafBuf = Buffer.alloc(0);
/** @type {Buffer} */
let level1Buf = Buffer.alloc(0);
/** @type {Int32Array} */
let pairAtBuf = new Int32Array(0);
const EMPTY = Buffer.alloc(0);
/** The tree levels ≥ 2 by level. @type {Buffer[]} */
const upperBufs = [];

/** @param {Buffer} b @param {number} o an int8 field */
const int8 = (b, o) => b.readInt32BE(o) * 4294967296 + b.readUInt32BE(o + 4);

/** @param {Buffer} a @param {number} ao @param {Buffer} b @param {number} bo */
const same32 = (a, ao, b, bo) => {
  // A byte loop: Buffer#compare is a call into C++ that costs more than 32 comparisons here.
  for (let k = 0; k < 32; k++) if (a[ao + k] !== b[bo + k]) return false;
  return true;
};

const scratch = Buffer.allocUnsafe(32);
/** Is SHA-256(0x01 ‖ l ‖ r) equal to `want`? */
/** @param {Buffer} lb @param {number} lo @param {Buffer} rb @param {number} ro @param {Buffer} want @param {number} wo */
function nodeIs(lb, lo, rb, ro, want, wo) {
  nodeHashInto(lb, lo, rb, ro, scratch, 0);
  return same32(scratch, 0, want, wo);
}

const F = 9; // fields of an events COPY tuple

/**
 * SHA-256(0x00 ‖ payload) of event i into leaves[32·i, 32·i + 32), without a copy: the byte before
 * the payload (its length's last byte, already read) becomes the prefix.
 * @param {Buffer} b @param {Int32Array} off @param {Int32Array} len @param {number} i @param {Buffer} leaves
 */
function hashLeaf(b, off, len, i, leaves) {
  const po = /** @type {number} */ (off[i * F + 1]);
  const pl = Math.max(0, /** @type {number} */ (len[i * F + 1]));
  b[po - 1] = 0;
  sha256Into(b.subarray(po - 1, po + pl), leaves, i * 32);
}

/** What the walk over a chunk's events found besides the position it stopped at. */
class Found {
  /** @type {any} */
  problem = null;
  /** @type {{ index: number; detail: string } | null} */
  column = null;
  /** @type {number[]} */
  undecided = [];
  bad = [0];
}

/*
 * The checks are split into small functions, each loop in its own: V8 optimises a long-running loop
 * by compiling its whole function again for each loop it enters it at (on-stack replacement). With
 * everything in one function that was all of `check`, four or five times a worker, and the first
 * chunk ran slower (ADR 0010, amendment of 2026-11-27).
 */

/**
 * Every event in log order until the first problem of the tree: its index, its leaf re-hashed and
 * compared with the stored one, its columns against its bytes, every pair hash. Returns how many
 * events verified.
 * @param {Buffer} b @param {Buffer} pb @param {Int32Array} off @param {Int32Array} len @param {number} m
 * @param {number} start @param {Int32Array} pairAt @param {Buffer} leaves @param {Buffer} level1 @param {Found} found
 */
function walk(b, pb, off, len, m, start, pairAt, leaves, level1, found) {
  let i = 0;
  for (; i < m; i++) {
    const want = start + i;
    if (int8(b, /** @type {number} */ (off[i * F])) !== want) {
      found.problem = missing(b, off, i, want);
      break;
    }
    hashLeaf(b, off, len, i, leaves);
    if (len[i * F + 2] !== 32 || !same32(leaves, i * 32, b, /** @type {number} */ (off[i * F + 2]))) {
      found.problem = leafProblem(b, off, len, m, i, want, leaves);
      break;
    }
    const po = /** @type {number} */ (off[i * F + 1]);
    const c = compareColumns(b, po, po + Math.max(0, /** @type {number} */ (len[i * F + 1])), b, off, len, i * F + 3, found.bad);
    // A column that disagrees with authentic bytes is reported only if the tree verifies (the main
    // thread decides): the first one is kept and the walk goes on.
    if (c !== AGREE && found.column === null) {
      if (c === DISAGREE) found.column = { index: want, detail: `column ${COLUMNS[/** @type {number} */ (found.bad[0])]} of event ${want} does not match its stored bytes` };
      else found.undecided.push(i);
    }
    if (i % 2 === 1) {
      const p = i >> 1;
      nodeHashInto(leaves, (i - 1) * 32, leaves, i * 32, level1, p * 32);
      const so = /** @type {number} */ (pairAt[p]);
      // The pair hashes stored at integration pin the order of the leaves: a whole row moved to
      // another index (payload and leaf hash together) no longer matches them.
      if (so >= 0 && !same32(level1, p * 32, pb, so)) {
        for (let j = i + 1; j < m; j++) hashLeaf(b, off, len, j, leaves);
        found.problem = classifyPair(start + i - 1, i, pb, so, leaves, m, (/** @type {number} */ j) => int8(b, /** @type {number} */ (off[j * F])));
        break;
      }
    }
  }
  return i;
}

/** @param {Buffer} b @param {Int32Array} off @param {number} i @param {number} want */
function missing(b, off, i, want) {
  return { kind: 'missing', index: want, detail: `no event at index ${want} (next stored index is ${int8(b, /** @type {number} */ (off[i * F]))})` };
}

/**
 * Event i's bytes do not hash to its stored leaf: a payload whose hash is stored at another index
 * was moved there, not edited.
 * @param {Buffer} b @param {Int32Array} off @param {Int32Array} len @param {number} m @param {number} i @param {number} want @param {Buffer} leaves
 */
function leafProblem(b, off, len, m, i, want, leaves) {
  for (let j = 0; j < m; j++) {
    if (j !== i && len[j * F + 2] === 32 && same32(leaves, i * 32, b, /** @type {number} */ (off[j * F + 2]))) {
      const other = int8(b, /** @type {number} */ (off[j * F]));
      return { kind: 'reordered', index: Math.min(want, other), detail: `events at ${want} and ${other} were swapped` };
    }
  }
  // The main thread still looks for the hash elsewhere in the log.
  return { kind: 'altered', index: want, detail: `the bytes of event ${want} do not hash to its leaf`, leaf: Buffer.from(leaves.subarray(i * 32, i * 32 + 32)) };
}

/**
 * The stored pair hashes by pair position in the chunk (their offsets in pb, -1 where none): rows of
 * up to 32 (tile t holds the pairs 32·t, 32·t + 1, …).
 * @param {Buffer} pb @param {{ count: number; off: Int32Array; len: Int32Array }} pr @param {number} start @param {number} half
 */
function indexPairs(pb, pr, start, half) {
  if (pairAtBuf.length < half) pairAtBuf = new Int32Array(half);
  const pairAt = pairAtBuf.subarray(0, half).fill(-1);
  for (let j = 0; j < pr.count; j++) {
    const first = int8(pb, /** @type {number} */ (pr.off[j * 2])) * 32 - start / 2;
    const ho = /** @type {number} */ (pr.off[j * 2 + 1]);
    const n = Math.min(32, Math.floor(/** @type {number} */ (pr.len[j * 2 + 1]) / 32));
    for (let k = 0; k < n; k++) {
      const local = first + k;
      if (local >= 0 && local < half) pairAt[local] = ho + k * 32;
    }
  }
  return pairAt;
}

/**
 * The levels of the chunk's subtree over its first `stop` leaves (level 0 = the leaves).
 * @param {Buffer} leaves @param {Buffer} level1 @param {number} stop
 */
function buildLevels(leaves, level1, stop) {
  const levels = [leaves, level1];
  for (let k = 2, span = 4; span <= stop; k++, span *= 2) {
    const below = /** @type {Buffer} */ (levels[k - 1]);
    const n = Math.floor(stop / span);
    if ((upperBufs[k] ?? EMPTY).length < n * 32) upperBufs[k] = Buffer.allocUnsafe(n * 32);
    const out = /** @type {Buffer} */ (upperBufs[k]);
    for (let j = 0; j < n; j++) nodeHashInto(below, 2 * j * 32, below, (2 * j + 1) * 32, out, j * 32);
    levels.push(out);
  }
  return levels;
}

/**
 * @param {{ id: number; start: number; expect: number; memory: SharedArrayBuffer; eventsLength: number; pairsLength: number; cuts: number[] }} msg
 */
export function check(msg) {
  const { start, expect } = msg;
  const b = Buffer.from(msg.memory, 0, msg.eventsLength);
  const pb = Buffer.from(msg.memory, msg.eventsLength, msg.pairsLength);
  const ev = frame(b, F, expect, evFrames);
  const pr = frame(pb, 2, 64, prFrames);
  const m = ev.count;
  const pairAt = indexPairs(pb, pr, start, Math.max(1, expect >> 1));
  if (leafBuf.length < Math.max(1, m) * 32) leafBuf = Buffer.allocUnsafe(Math.max(1, m) * 32);
  if (level1Buf.length < Math.max(1, m >> 1) * 32) level1Buf = Buffer.allocUnsafe(Math.max(1, m >> 1) * 32);
  const found = new Found();
  const stop = walk(b, pb, ev.off, ev.len, m, start, pairAt, leafBuf, level1Buf, found);

  // The chunk's subtree over the verified prefix, and the compact ranges of the checkpoint cuts.
  const levels = buildLevels(leafBuf, level1Buf, stop);
  const cuts = msg.cuts.filter((r) => r <= stop).map((r) => ({ r, hashes: Buffer.concat(prefixRange(levels, r)) }));
  // The compact range of everything verified here: the chunk's root when all of it was.
  const prefix = Buffer.concat(prefixRange(levels, stop));
  const { problem, column, undecided } = found;
  return { id: msg.id, count: m, stop, problem: problem ? { pos: stop, ...problem } : null, column, undecided: undecided.map((u) => start + u), cuts, prefix };
}

/**
 * A stored pair hash differs from the rebuilt one: the two leaves were swapped with each other or
 * with a leaf elsewhere in the chunk (reordered), or one of them was changed together with its stored
 * leaf hash (altered — unless the main thread finds the partner elsewhere in the log).
 * @param {number} left @param {number} rightPos @param {Buffer} pb @param {number} so
 * @param {Buffer} leaves @param {number} m @param {(i: number) => number} index
 */
function classifyPair(left, rightPos, pb, so, leaves, m, index) {
  const leftPos = rightPos - 1;
  const [l, r] = [leftPos * 32, rightPos * 32];
  if (nodeIs(leaves, r, leaves, l, pb, so)) return { kind: 'reordered', index: left, detail: `events ${left} and ${left + 1} were swapped` };
  for (let j = 0; j < m; j++) {
    if (j === leftPos || j === rightPos) continue;
    const other = index(j);
    if (nodeIs(leaves, j * 32, leaves, r, pb, so)) return { kind: 'reordered', index: Math.min(left, other), detail: `events ${left} and ${other} were swapped` };
    if (nodeIs(leaves, l, leaves, j * 32, pb, so)) return { kind: 'reordered', index: Math.min(left + 1, other), detail: `events ${left + 1} and ${other} were swapped` };
  }
  return {
    kind: 'altered', index: left, detail: `event ${left} or ${left + 1} was changed together with its stored leaf hash`,
    pair: { left: Buffer.from(leaves.subarray(l, l + 32)), right: Buffer.from(leaves.subarray(r, r + 32)), stored: Buffer.from(pb.subarray(so, so + 32)) },
  };
}

parentPort?.on('message', (msg) => {
  try {
    const out = check(msg);
    parentPort?.postMessage(out);
  } catch (err) {
    parentPort?.postMessage({ id: msg.id, error: err instanceof Error ? err.message : String(err) });
  }
});
