import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { EMPTY_ROOT, appendToCompactRange, leafHash, merkleRoot, nodeHash, rootFromCompactRange } from './audit.merkle.ts';
import { consistencyProof as moduleConsistencyProof, inclusionProof as moduleInclusionProof, verifyConsistency, verifyInclusion } from './audit.proofs.ts';

/*
 * Known-answer vectors for RFC 6962 / RFC 9162 SHA-256 Merkle trees, copied exactly from
 * github.com/transparency-dev/merkle (Apache-2.0):
 *   - testonly/constants.go @ 582a6ad190b6848f1d26f8bf08ddef29955d9db1
 *     LeafInputs(), NodeHashes(), RootHashes(), CompactTrees(), EmptyRootHash()
 *   - proof/verify_test.go @ 02194e9afb6c1d95b5381350007963aa70fff472
 *     inclusionProofs, consistencyProofs, sha256SomeHash (constants.go has no proof vectors)
 * and the 7-entry worked example of the C2SP "Merkle Tree" spec:
 *   - github.com/C2SP/C2SP merkle-tree.md @ 76d4d1025435428f938da7b0bb984751701dbd66, § Example
 */

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// testonly/constants.go LeafInputs()
const LEAF_INPUTS: readonly Buffer[] = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
].map(hex);

// testonly/constants.go NodeHashes(): [level][index], level 0 = leaf hashes.
const NODE_HASHES: readonly (readonly Buffer[])[] = [
  [
    '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
    '0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7',
    '07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7',
    'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    '4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658',
    'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
    '46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1',
  ].map(hex),
  [
    'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
    '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
    '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
    'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
  ].map(hex),
  ['d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'].map(hex),
  ['5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328'].map(hex),
];

// testonly/constants.go EmptyRootHash()
const EMPTY_ROOT_HEX = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

// testonly/constants.go RootHashes(): indexed by tree size 0..8.
const ROOT_HASHES: readonly Buffer[] = [
  EMPTY_ROOT_HEX,
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
].map(hex);

const nh = (level: number, index: number): Buffer => NODE_HASHES[level]![index]!;

// testonly/constants.go CompactTrees(): the compact range (largest subtree first) for sizes 0..8.
const COMPACT_TREES: readonly (readonly Buffer[])[] = [
  [],
  [nh(0, 0)],
  [nh(1, 0)],
  [nh(1, 0), nh(0, 2)],
  [nh(2, 0)],
  [nh(2, 0), nh(0, 4)],
  [nh(2, 0), nh(1, 2)],
  [nh(2, 0), nh(1, 2), nh(0, 6)],
  [nh(3, 0)],
];

// proof/verify_test.go sha256SomeHash
const SOME_HASH = hex('abacaba000000000000000000000000000000000000000000060061e00123456');

// proof/verify_test.go inclusionProofs. NB: `leaf` there is 1-based (the Go test uses leaf-1 as the index);
// the {0, 0, nil} entry is documented there as an invalid path and is skipped, as the Go test does.
const INCLUSION_VECTORS: readonly { leaf: number; size: number; proof: readonly Buffer[] }[] = [
  { leaf: 1, size: 1, proof: [] },
  {
    leaf: 1,
    size: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ].map(hex),
  },
  {
    leaf: 6,
    size: 8,
    proof: [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ].map(hex),
  },
  { leaf: 3, size: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'].map(hex) },
  {
    leaf: 2,
    size: 5,
    proof: [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ].map(hex),
  },
];

// proof/verify_test.go consistencyProofs (sizes are tree sizes).
const CONSISTENCY_VECTORS: readonly { size1: number; size2: number; proof: readonly Buffer[] }[] = [
  { size1: 1, size2: 1, proof: [] },
  {
    size1: 1,
    size2: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ].map(hex),
  },
  {
    size1: 6,
    size2: 8,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ].map(hex),
  },
  {
    size1: 2,
    size2: 5,
    proof: ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'].map(hex),
  },
  {
    size1: 6,
    size2: 7,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ].map(hex),
  },
];

// ---------------------------------------------------------------------------------------------
// Reference proof generators (RFC 9162 §2.1.3.1 PATH and §2.1.4.1 SUBPROOF) over plain leaf lists,
// written from the RFC text as an oracle; the verifiers under test are the module's (audit.proofs.ts).

const half = (n: number): number => Math.floor(n / 2);
// ---------------------------------------------------------------------------------------------

/** Largest power of two strictly smaller than n (n > 1). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** RFC 9162 §2.1.3.1 PATH(m, D[n]) over leaf hashes. */
function inclusionPath(m: number, leaves: readonly Buffer[]): Buffer[] {
  const n = leaves.length;
  if (n <= 1) return [];
  const k = splitPoint(n);
  return m < k
    ? [...inclusionPath(m, leaves.slice(0, k)), merkleRoot(leaves.slice(k))]
    : [...inclusionPath(m - k, leaves.slice(k)), merkleRoot(leaves.slice(0, k))];
}

/** RFC 9162 §2.1.4.1 PROOF(m, D[n]) = SUBPROOF(m, D[n], true) over leaf hashes (0 < m < n). */
function consistencyProof(m: number, leaves: readonly Buffer[]): Buffer[] {
  const sub = (m: number, d: readonly Buffer[], b: boolean): Buffer[] => {
    const n = d.length;
    if (m === n) return b ? [] : [merkleRoot(d)];
    const k = splitPoint(n);
    return m <= k ? [...sub(m, d.slice(0, k), b), merkleRoot(d.slice(k))] : [...sub(m - k, d.slice(k), false), merkleRoot(d.slice(0, k))];
  };
  return m === 0 || m === leaves.length ? [] : sub(m, leaves, true);
}

const LEAF_HASHES: readonly Buffer[] = LEAF_INPUTS.map((d) => leafHash(d));

// ---------------------------------------------------------------------------------------------
// The module against the known answers
// ---------------------------------------------------------------------------------------------

void test('EMPTY_ROOT is SHA-256 of the empty string (constants.go EmptyRootHash)', () => {
  assert.equal(toHex(EMPTY_ROOT), EMPTY_ROOT_HEX);
  assert.equal(toHex(merkleRoot([])), EMPTY_ROOT_HEX);
  assert.equal(toHex(rootFromCompactRange([])), EMPTY_ROOT_HEX);
});

void test('leafHash matches the level-0 NodeHashes of constants.go LeafInputs (0x00 prefix)', () => {
  assert.equal(LEAF_INPUTS.length, 8);
  LEAF_INPUTS.forEach((input, i) => assert.equal(toHex(leafHash(input)), toHex(nh(0, i)), `leaf ${i}`));
  // Domain separation: a leaf hash is not the plain SHA-256 of the data.
  assert.notEqual(toHex(leafHash(hex('00'))), createHash('sha256').update(hex('00')).digest('hex'));
});

void test('nodeHash reproduces every interior NodeHashes entry from its two children (0x01 prefix, left then right)', () => {
  for (let level = 1; level < NODE_HASHES.length; level++) {
    NODE_HASHES[level]!.forEach((expected, i) => {
      assert.equal(toHex(nodeHash(nh(level - 1, 2 * i), nh(level - 1, 2 * i + 1))), toHex(expected), `level ${level} index ${i}`);
    });
  }
  // Order matters and the 0x01 prefix separates nodes from leaves over the same 64 bytes.
  assert.notEqual(toHex(nodeHash(nh(0, 1), nh(0, 0))), toHex(nh(1, 0)));
  assert.notEqual(toHex(leafHash(Buffer.concat([nh(0, 0), nh(0, 1)]))), toHex(nh(1, 0)));
});

void test('merkleRoot of the first n leaf hashes equals constants.go RootHashes[n] for n = 0..8', () => {
  assert.equal(ROOT_HASHES.length, 9);
  for (let n = 0; n <= 8; n++) assert.equal(toHex(merkleRoot(LEAF_HASHES.slice(0, n))), toHex(ROOT_HASHES[n]!), `size ${n}`);
});

void test('appendToCompactRange yields constants.go CompactTrees[n], and rootFromCompactRange RootHashes[n], for n = 0..8', () => {
  let range: Buffer[] = [];
  for (let n = 0; n <= 8; n++) {
    assert.deepEqual(range.map(toHex), COMPACT_TREES[n]!.map(toHex), `compact range at size ${n}`);
    assert.equal(toHex(rootFromCompactRange(range)), toHex(ROOT_HASHES[n]!), `root at size ${n}`);
    if (n < 8) range = appendToCompactRange(range, n, LEAF_HASHES[n]!);
  }
});

void test('appendToCompactRange does not mutate the range it is given', () => {
  const before = [nh(1, 0), nh(0, 2)];
  const copy = before.slice();
  const after = appendToCompactRange(before, 3, nh(0, 3));
  assert.deepEqual(before, copy);
  assert.deepEqual(after.map(toHex), [toHex(nh(2, 0))]);
});

// ---------------------------------------------------------------------------------------------
// The reference verifiers against the published proof vectors
// ---------------------------------------------------------------------------------------------

/** Tampered variants of a valid inclusion proof, after proof/verify_test.go corruptInclusionProof. */
function corruptedInclusions(index: number, size: number, proof: readonly Buffer[], root: Buffer, leaf: Buffer) {
  const out: { desc: string; index: number; size: number; leaf: Uint8Array; proof: readonly Uint8Array[]; root: Uint8Array }[] = [
    { desc: 'index - 1', index: index - 1, size, leaf, proof, root },
    { desc: 'index + 1', index: index + 1, size, leaf, proof, root },
    { desc: 'index ^ 2', index: index ^ 2, size, leaf, proof, root },
    { desc: 'size * 2', index, size: size * 2, leaf, proof, root },
    { desc: 'size / 2', index, size: half(size), leaf, proof, root },
    { desc: 'wrong leaf', index, size, leaf: Buffer.from('WrongLeaf'), proof, root },
    { desc: 'wrong leaf hash', index, size, leaf: leafHash(Buffer.from('WrongLeaf')), proof, root },
    { desc: 'empty root', index, size, leaf, proof, root: EMPTY_ROOT },
    { desc: 'random root', index, size, leaf, proof, root: SOME_HASH },
    { desc: 'trailing garbage', index, size, leaf, proof: [...proof, Buffer.alloc(0)], root },
    { desc: 'trailing root', index, size, leaf, proof: [...proof, root], root },
    { desc: 'preceding garbage', index, size, leaf, proof: [Buffer.alloc(0), ...proof], root },
    { desc: 'preceding root', index, size, leaf, proof: [root, ...proof], root },
  ];
  proof.forEach((_, i) => out.push({ desc: `proof[${i}] bit 3 flipped`, index, size, leaf, proof: flipBit(proof, i, 8), root }));
  if (proof.length > 0) out.push({ desc: 'removed component', index, size, leaf, proof: proof.slice(0, -1), root });
  if (proof.length > 1) out.push({ desc: 'inserted component', index, size, leaf, proof: [proof[0]!, SOME_HASH, ...proof.slice(1)], root });
  return out;
}

/** Tampered variants of a valid consistency proof, after proof/verify_test.go corruptConsistencyProof. */
function corruptedConsistencies(size1: number, size2: number, proof: readonly Buffer[], root1: Buffer, root2: Buffer) {
  const wrong = Buffer.from('WrongRoot');
  const out: { desc: string; size1: number; size2: number; proof: readonly Uint8Array[]; root1: Uint8Array; root2: Uint8Array }[] = [
    { desc: 'size1 - 1', size1: size1 - 1, size2, proof, root1, root2 },
    { desc: 'size1 + 1', size1: size1 + 1, size2, proof, root1, root2 },
    { desc: 'size1 ^ 2', size1: size1 ^ 2, size2, proof, root1, root2 },
    { desc: 'size2 * 2', size1, size2: size2 * 2, proof, root1, root2 },
    { desc: 'size2 / 2', size1, size2: half(size2), proof, root1, root2 },
    { desc: 'wrong root1', size1, size2, proof, root1: wrong, root2 },
    { desc: 'wrong root2', size1, size2, proof, root1, root2: wrong },
    { desc: 'swapped roots', size1, size2, proof, root1: root2, root2: root1 },
    { desc: 'empty proof', size1, size2, proof: [], root1, root2 },
    { desc: 'trailing garbage', size1, size2, proof: [...proof, Buffer.alloc(0)], root1, root2 },
    { desc: 'trailing root1', size1, size2, proof: [...proof, root1], root1, root2 },
    { desc: 'trailing root2', size1, size2, proof: [...proof, root2], root1, root2 },
    { desc: 'preceding garbage', size1, size2, proof: [Buffer.alloc(0), ...proof], root1, root2 },
    { desc: 'preceding root1', size1, size2, proof: [root1, ...proof], root1, root2 },
    { desc: 'preceding root2', size1, size2, proof: [root2, ...proof], root1, root2 },
    { desc: 'preceding proof[0]', size1, size2, proof: [proof[0]!, ...proof], root1, root2 },
  ];
  if (proof.length > 0) out.push({ desc: 'truncated proof', size1, size2, proof: proof.slice(0, -1), root1, root2 });
  proof.forEach((_, i) => out.push({ desc: `proof[${i}] bit 4 flipped`, size1, size2, proof: flipBit(proof, i, 16), root1, root2 }));
  return out;
}

function flipBit(proof: readonly Buffer[], i: number, mask: number): Buffer[] {
  return proof.map((p, j) => {
    if (j !== i) return p;
    const c = Buffer.from(p);
    c[0] = c[0]! ^ mask;
    return c;
  });
}

void test('transparency-dev inclusion proof vectors verify (RFC 9162 §2.1.3.2) and every tampered variant is rejected', () => {
  for (const v of INCLUSION_VECTORS) {
    const index = v.leaf - 1;
    const leaf = leafHash(LEAF_INPUTS[index]!);
    const root = ROOT_HASHES[v.size]!;
    const name = `leaf index ${index} in tree of size ${v.size}`;
    assert.ok(verifyInclusion(index, v.size, leaf, v.proof, root), name);
    // The generator derives exactly the published path from the tree the module builds.
    assert.deepEqual(inclusionPath(index, LEAF_HASHES.slice(0, v.size)).map(toHex), v.proof.map(toHex), `${name}: PATH`);
    for (const p of corruptedInclusions(index, v.size, v.proof, root, leaf)) {
      assert.equal(verifyInclusion(p.index, p.size, p.leaf, p.proof, p.root), false, `${name}: accepted ${p.desc}`);
    }
  }
});

void test('inclusion verifier rejects degenerate inputs (after verify_test.go TestVerifyInclusion / SingleEntry)', () => {
  const h = leafHash(Buffer.from('data'));
  assert.ok(verifyInclusion(0, 1, h, [], h), 'one-entry tree: root is the leaf hash, proof is empty');
  assert.equal(verifyInclusion(0, 1, Buffer.alloc(0), [], h), false);
  assert.equal(verifyInclusion(0, 1, h, [], Buffer.alloc(0)), false);
  assert.equal(verifyInclusion(0, 1, Buffer.alloc(0), [], Buffer.alloc(0)), false, 'wrong hash size');
  for (const [index, size] of [[0, 0], [0, 1], [1, 0], [2, 1]] as const) {
    assert.equal(verifyInclusion(index, size, SOME_HASH, [], Buffer.alloc(0)), false);
    assert.equal(verifyInclusion(index, size, Buffer.alloc(0), [], EMPTY_ROOT), false);
    assert.equal(verifyInclusion(index, size, SOME_HASH, [], EMPTY_ROOT), false);
  }
});

void test('transparency-dev consistency proof vectors verify (RFC 9162 §2.1.4.2) and every tampered variant is rejected', () => {
  for (const v of CONSISTENCY_VECTORS) {
    const root1 = ROOT_HASHES[v.size1]!;
    const root2 = ROOT_HASHES[v.size2]!;
    const name = `size ${v.size1} -> ${v.size2}`;
    assert.ok(verifyConsistency(v.size1, v.size2, v.proof, root1, root2), name);
    assert.deepEqual(consistencyProof(v.size1, LEAF_HASHES.slice(0, v.size2)).map(toHex), v.proof.map(toHex), `${name}: PROOF`);
    if (v.proof.length === 0) continue; // as in the Go test: tamper only non-trivial proofs
    for (const p of corruptedConsistencies(v.size1, v.size2, v.proof, root1, root2)) {
      assert.equal(verifyConsistency(p.size1, p.size2, p.proof, p.root1, p.root2), false, `${name}: accepted ${p.desc}`);
    }
  }
});

void test('the module generates exactly the published proofs from stored subtree hashes', async () => {
  const node = async (level: number, idx: number) => merkleRoot(LEAF_HASHES.slice(idx * 2 ** level, (idx + 1) * 2 ** level));
  for (const v of INCLUSION_VECTORS) {
    const proof = await moduleInclusionProof(v.leaf - 1, v.size, node);
    assert.deepEqual(proof.map(toHex), v.proof.map(toHex), `inclusion of leaf ${v.leaf - 1} in size ${v.size}`);
  }
  for (const v of CONSISTENCY_VECTORS) {
    const proof = await moduleConsistencyProof(v.size1, v.size2, node);
    assert.deepEqual(proof.map(toHex), v.proof.map(toHex), `consistency ${v.size1} -> ${v.size2}`);
  }
});

void test('consistency verifier trivial cases (after verify_test.go TestVerifyConsistency)', () => {
  const r1 = Buffer.from("don't care 1");
  const r2 = Buffer.from("don't care 2");
  const cases: [number, number, Buffer, Buffer, Buffer[], boolean][] = [
    [0, 0, r1, r2, [], false],
    [1, 1, r1, r2, [], false],
    [0, 0, r1, r1, [], true],
    [0, 1, r1, r2, [], true],
    [1, 1, r2, r2, [], true],
    [1, 0, r1, r2, [], false],
    [2, 1, r1, r2, [], false],
    [1, 2, r1, r2, [], false],
    [0, 0, EMPTY_ROOT, r2, [], false],
    [1, 1, EMPTY_ROOT, r2, [], false],
    [0, 0, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], false],
    [0, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], false],
    [1, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], false],
  ];
  for (const [s1, s2, a, b, proof, ok] of cases) assert.equal(verifyConsistency(s1, s2, proof, a, b), ok, `${s1} -> ${s2}`);
});

void test('C2SP merkle-tree 7-entry example: labelled nodes, root, inclusion and consistency proofs', () => {
  // The spec labels the nodes but gives no data; d[0..6] here are constants.go LeafInputs()[0..6].
  const [a, b, c, d, e, f, g] = LEAF_HASHES.slice(0, 7) as [Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer];
  const h = nodeHash(a, b);
  const i = nodeHash(c, d);
  const j = nodeHash(e, f);
  const k = nodeHash(h, i);
  const l = nodeHash(j, g);
  const root = nodeHash(k, l);
  const leaves7 = LEAF_HASHES.slice(0, 7);

  // The labels are the constants.go node hashes, and the root is RootHashes[7].
  assert.deepEqual([a, b, c, d, e, f, g].map(toHex), NODE_HASHES[0]!.slice(0, 7).map(toHex));
  assert.deepEqual([h, i, j].map(toHex), NODE_HASHES[1]!.slice(0, 3).map(toHex));
  assert.equal(toHex(k), toHex(nh(2, 0)));
  assert.equal(toHex(root), toHex(ROOT_HASHES[7]!));
  assert.equal(toHex(merkleRoot(leaves7)), toHex(root));
  let range: Buffer[] = [];
  leaves7.forEach((leaf, n) => (range = appendToCompactRange(range, n, leaf)));
  assert.deepEqual(range.map(toHex), [k, j, g].map(toHex));
  assert.equal(toHex(rootFromCompactRange(range)), toHex(root));

  // § Example / Inclusion proofs
  const inclusions: [number, Buffer[]][] = [
    [0, [b, i, l]],
    [3, [c, h, l]],
    [4, [f, g, k]],
    [6, [j, k]],
  ];
  for (const [m, proof] of inclusions) {
    assert.deepEqual(inclusionPath(m, leaves7).map(toHex), proof.map(toHex), `PATH(${m})`);
    assert.ok(verifyInclusion(m, 7, leaves7[m]!, proof, root), `inclusion of d[${m}]`);
    assert.equal(verifyInclusion(m, 7, leaves7[(m + 1) % 7]!, proof, root), false, `wrong leaf at ${m}`);
  }

  // § Example / Consistency proofs
  const consistencies: [number, Buffer[]][] = [
    [3, [c, d, h, l]],
    [4, [l]],
    [6, [j, g, k]],
  ];
  for (const [m, proof] of consistencies) {
    const old = merkleRoot(leaves7.slice(0, m));
    assert.equal(toHex(old), toHex(ROOT_HASHES[m]!));
    assert.deepEqual(consistencyProof(m, leaves7).map(toHex), proof.map(toHex), `PROOF(${m}, 7)`);
    assert.ok(verifyConsistency(m, 7, proof, old, root), `consistency ${m} -> 7`);
    assert.equal(verifyConsistency(m, 7, proof, ROOT_HASHES[m - 1]!, root), false, `wrong old root ${m} -> 7`);
  }
});

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

void test('property: folding appendToCompactRange then rootFromCompactRange equals merkleRoot, at every prefix size (0..300 leaves)', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 48 }), { maxLength: 300, size: 'max' }), (entries) => {
      const hashes = entries.map((x) => leafHash(x));
      let range: Buffer[] = [];
      for (let n = 0; n <= hashes.length; n++) {
        // The compact range holds one perfect subtree per set bit of n.
        assert.equal(range.length, n.toString(2).replaceAll('0', '').length, `range length at size ${n}`);
        assert.equal(toHex(rootFromCompactRange(range)), toHex(merkleRoot(hashes.slice(0, n))), `root at size ${n}`);
        if (n < hashes.length) range = appendToCompactRange(range, n, hashes[n]!);
      }
    }),
    { numRuns: 60 },
  );
});

void test('property: generated inclusion and consistency proofs verify against merkleRoot; a flipped bit never does', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 70 }).chain((n) => fc.tuple(fc.constant(n), fc.nat(n - 1), fc.integer({ min: 0, max: n }), fc.nat(255))),
      ([n, m, s1, salt]) => {
        const leaves = Array.from({ length: n }, (_, x) => leafHash(Buffer.from([salt, x & 0xff, x >> 8])));
        const root = merkleRoot(leaves);
        const path = inclusionPath(m, leaves);
        assert.ok(verifyInclusion(m, n, leaves[m]!, path, root), `inclusion of ${m} in ${n}`);
        for (let x = 0; x < path.length; x++) assert.equal(verifyInclusion(m, n, leaves[m]!, flipBit(path, x, 1), root), false);
        const old = merkleRoot(leaves.slice(0, s1));
        const proof = consistencyProof(s1, leaves);
        assert.ok(verifyConsistency(s1, n, proof, old, root), `consistency ${s1} -> ${n}`);
        for (let x = 0; x < proof.length; x++) assert.equal(verifyConsistency(s1, n, flipBit(proof, x, 1), old, root), false);
        if (s1 > 0 && s1 < n) assert.equal(verifyConsistency(s1, n, proof, SOME_HASH, root), false, 'wrong old root');
      },
    ),
    { numRuns: 300 },
  );
});
