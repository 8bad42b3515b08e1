/**
 * RFC 6962 / RFC 9162 Merkle tree hashing: leaf = SHA-256(0x00 ‖ bytes), node = SHA-256(0x01 ‖ l ‖ r).
 * The sequencer keeps a compact range (the roots of the perfect subtrees that make up the tree, largest
 * first) so each append costs O(log n) hashes and the root of the whole log is always at hand.
 */
import { createHash } from 'node:crypto';

const LEAF = Buffer.from([0x00]);
const NODE = Buffer.from([0x01]);

export function leafHash(bytes: Uint8Array): Buffer {
  return createHash('sha256').update(LEAF).update(bytes).digest();
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(NODE).update(left).update(right).digest();
}

export const EMPTY_ROOT = createHash('sha256').digest();

/** Appends one leaf hash to a compact range of a tree of `size` leaves; returns the new range. */
export function appendToCompactRange(range: Buffer[], size: number, leaf: Buffer): Buffer[] {
  return appendWithNodes(range, size, leaf, []);
}

export type TreeNode = { level: number; idx: number; hash: Buffer };

/**
 * Appends one leaf like appendToCompactRange and also reports the perfect subtrees it completes
 * (level ≥ 1), which the sequencer stores so that proofs never re-read old leaves.
 */
export function appendWithNodes(range: Buffer[], size: number, leaf: Buffer, completed: TreeNode[]): Buffer[] {
  const out = range.slice();
  let h = leaf;
  let n = size;
  let level = 0;
  while (n % 2 === 1) {
    h = nodeHash(out.pop()!, h);
    n = Math.floor(n / 2);
    level += 1;
    completed.push({ level, idx: Math.floor(size / 2 ** level), hash: h });
  }
  out.push(h);
  return out;
}

/** The RFC 6962 root hash of the tree that the compact range describes. */
export function rootFromCompactRange(range: readonly Buffer[]): Buffer {
  if (range.length === 0) return EMPTY_ROOT;
  let root = range[range.length - 1]!;
  for (let i = range.length - 2; i >= 0; i--) root = nodeHash(range[i]!, root);
  return root;
}

/** Reference implementation (RFC 6962 §2.1 MTH), used by tests and by verification of small trees. */
export function merkleRoot(leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 0) return EMPTY_ROOT;
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(merkleRoot(leaves.slice(0, k)), merkleRoot(leaves.slice(k)));
}
