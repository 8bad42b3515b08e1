import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { leafHash, merkleRoot } from './audit.merkle.ts';
import { consistencyProof, inclusionProof, verifyConsistency, verifyInclusion, type NodeSource } from './audit.proofs.ts';

function sourceOf(leaves: readonly Buffer[]): NodeSource {
  return async (level, idx) => {
    const size = 2 ** level;
    const slice = leaves.slice(idx * size, (idx + 1) * size);
    if (slice.length !== size) throw new Error('node not complete');
    return merkleRoot(slice);
  };
}

const leavesArb = fc.array(fc.uint8Array({ maxLength: 8 }), { minLength: 1, maxLength: 70 }).map((xs) => xs.map((x) => leafHash(x)));

test('every inclusion proof generated from perfect subtrees verifies, and fails for another leaf or index', async () => {
  await fc.assert(
    fc.asyncProperty(leavesArb, fc.nat(), async (leaves, pick) => {
      const n = leaves.length;
      const m = pick % n;
      const root = merkleRoot(leaves);
      const proof = await inclusionProof(m, n, sourceOf(leaves));
      assert.ok(verifyInclusion(m, n, leaves[m]!, proof, root));
      if (n > 1) {
        const other = (m + 1) % n;
        if (!leaves[other]!.equals(leaves[m]!)) assert.ok(!verifyInclusion(m, n, leaves[other]!, proof, root));
        assert.ok(!verifyInclusion(other, n, leaves[m]!, proof, root) || leaves[other]!.equals(leaves[m]!));
      }
    }),
    { numRuns: 200 },
  );
});

test('every consistency proof verifies between every pair of sizes, and a wrong old root fails', async () => {
  await fc.assert(
    fc.asyncProperty(leavesArb, fc.nat(), async (leaves, pick) => {
      const n = leaves.length;
      const m = (pick % n) + 1;
      const proof = await consistencyProof(m, n, sourceOf(leaves));
      const r1 = merkleRoot(leaves.slice(0, m));
      const r2 = merkleRoot(leaves);
      assert.ok(verifyConsistency(m, n, proof, r1, r2));
      if (m < n) assert.ok(!verifyConsistency(m, n, proof, leafHash(Buffer.from('forged')), r2));
    }),
    { numRuns: 200 },
  );
});

test('the nodes reported while appending are exactly the perfect subtrees of the tree', async () => {
  const { appendWithNodes } = await import('./audit.merkle.ts');
  const leaves = Array.from({ length: 37 }, (_, i) => leafHash(Buffer.from([i])));
  let range: Buffer[] = [];
  const nodes: { level: number; idx: number; hash: Buffer }[] = [];
  leaves.forEach((l, i) => (range = appendWithNodes(range, i, l, nodes)));
  const expected: string[] = [];
  for (let level = 1; 2 ** level <= leaves.length; level++) {
    for (let idx = 0; (idx + 1) * 2 ** level <= leaves.length; idx++) expected.push(`${level}/${idx}/${merkleRoot(leaves.slice(idx * 2 ** level, (idx + 1) * 2 ** level)).toString('hex')}`);
  }
  assert.deepEqual(nodes.map((n) => `${n.level}/${n.idx}/${n.hash.toString('hex')}`).sort(), expected.sort());
});
