/**
 * RFC 9162 §2.1.3–2.1.4 inclusion and consistency proofs: generation over any store that can give the
 * hash of a perfect aligned subtree, and verification (independent of any store).
 */
import { nodeHash } from './audit.merkle.ts';

/** Hash of the perfect subtree at `level` (2^level leaves) with index `idx` (level 0 = leaf hashes). */
export type NodeSource = (level: number, idx: number) => Promise<Buffer>;

function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH of leaves [start, end) where the range is the left-aligned shape RFC 6962 recursion produces. */
export async function rangeHash(start: number, end: number, node: NodeSource): Promise<Buffer> {
  const size = end - start;
  if (size <= 0) throw new Error('audit.empty_range');
  if ((size & (size - 1)) === 0 && start % size === 0) return node(Math.log2(size), start / size);
  const k = largestPowerOfTwoBelow(size);
  return nodeHash(await rangeHash(start, start + k, node), await rangeHash(start + k, end, node));
}

/** PATH(m, D[start:end]) of RFC 6962, as hashes from the leaf upwards. */
export async function inclusionProof(index: number, size: number, node: NodeSource): Promise<Buffer[]> {
  if (index < 0 || index >= size) throw new Error('audit.index_out_of_range');
  const path: Buffer[] = [];
  const walk = async (m: number, start: number, end: number): Promise<void> => {
    const n = end - start;
    if (n <= 1) return;
    const k = largestPowerOfTwoBelow(n);
    if (m < k) {
      await walk(m, start, start + k);
      path.push(await rangeHash(start + k, end, node));
    } else {
      await walk(m - k, start + k, end);
      path.push(await rangeHash(start, start + k, node));
    }
  };
  await walk(index, 0, size);
  return path;
}

/** PROOF(m, D[n]) of RFC 6962: that the tree of size m is a prefix of the tree of size n. */
export async function consistencyProof(m: number, n: number, node: NodeSource): Promise<Buffer[]> {
  if (m < 0 || m > n) throw new Error('audit.bad_sizes');
  if (m === 0 || m === n) return [];
  const proof: Buffer[] = [];
  const sub = async (mm: number, start: number, end: number, b: boolean): Promise<void> => {
    const size = end - start;
    if (mm === size) {
      if (!b) proof.push(await rangeHash(start, end, node));
      return;
    }
    const k = largestPowerOfTwoBelow(size);
    if (mm <= k) {
      await sub(mm, start, start + k, b);
      proof.push(await rangeHash(start + k, end, node));
    } else {
      await sub(mm - k, start + k, end, false);
      proof.push(await rangeHash(start, start + k, node));
    }
  };
  await sub(m, 0, n, true);
  return proof;
}

// Verifiers (RFC 9162 §2.1.3.2 and §2.1.4.2): hashes of the wrong length, negative or
// out-of-range sizes are refused; tested against the transparency-dev vectors and every tampered variant.

const HASH_LEN = 32;
const isIndex = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;
const isOdd = (n: number): boolean => n % 2 === 1;
const half = (n: number): number => Math.floor(n / 2);
const sameHash = (a: Uint8Array, b: Uint8Array): boolean => a.length === HASH_LEN && b.length === HASH_LEN && Buffer.from(a).equals(b);

/** RFC 9162 §2.1.3.2: verify that `leaf` (a leaf hash) is at `index` in the tree of `size` leaves with `root`. */
export function verifyInclusion(index: number, size: number, leaf: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  if (!isIndex(index) || !isIndex(size) || index >= size) return false;
  if (leaf.length !== HASH_LEN || proof.some((p) => p.length !== HASH_LEN)) return false;
  let fn = index;
  let sn = size - 1;
  let r: Uint8Array = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      r = nodeHash(p, r);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && sameHash(r, root);
}

/**
 * RFC 9162 §2.1.4.2: verify that the tree of `size1` leaves with `root1` is a prefix of the tree of
 * `size2` leaves with `root2`. The trivial cases (size1 = 0, size1 = size2), which the RFC leaves to
 * the caller, follow the C2SP merkle-tree spec: an empty proof, and equal roots when the sizes are equal.
 */
export function verifyConsistency(size1: number, size2: number, proof: readonly Uint8Array[], root1: Uint8Array, root2: Uint8Array): boolean {
  if (!isIndex(size1) || !isIndex(size2) || size1 > size2) return false;
  if (proof.some((p) => p.length !== HASH_LEN)) return false;
  if (size1 === size2) return proof.length === 0 && Buffer.from(root1).equals(root2);
  if (size1 === 0) return proof.length === 0;
  if (proof.length === 0) return false;
  const path: readonly Uint8Array[] = isPowerOfTwo(size1) ? [root1, ...proof] : proof;
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr: Uint8Array = path[0]!;
  let sr: Uint8Array = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && sameHash(fr, root1) && sameHash(sr, root2);
}

function isPowerOfTwo(n: number): boolean {
  let k = 1;
  while (k < n) k *= 2;
  return k === n;
}

