/**
 * Independent verification of the audit log: re-hashes every integrated event from its stored bytes
 * (never trusting stored hashes), rebuilds the RFC 6962 tree, checks every checkpoint's signature and
 * that the rebuilt root at its size equals the signed root — which proves each checkpoint consistent
 * with every earlier one — and does the same for the witness copies held outside the database.
 * Reports the first problem with its log index and kind. Leaf hashing runs on a worker per core.
 */
import type { KeyObject } from 'node:crypto';
import { sql } from 'kysely';
import type { Executor } from '../../platform/db/database.ts';
import { verifyCheckpointNote } from './audit.checkpoint.ts';
import { appendWithNodes, nodeHash, rootFromCompactRange, type TreeNode } from './audit.merkle.ts';
import { createLeafHashPool } from '../../platform/workers/hash-pool.ts';

export type ProblemKind = 'altered' | 'missing' | 'reordered' | 'truncated' | 'bad_signature';
export type VerifyProblem = { kind: ProblemKind; index: number; detail: string };
export type VerifyReport = {
  ok: boolean;
  treeSize: number;
  rootHash: string;
  checkpoints: number;
  witnessCheckpoints: number;
  problem: VerifyProblem | null;
};

export type VerifyOptions = {
  key: { name: string; publicKey: KeyObject; publicRaw: Buffer };
  witnesses: readonly { name: string; read?(): Promise<string[]> }[];
  onProgress?: (done: number, total: number) => void;
  batch?: number;
};

type Signed = { size: number; root: Buffer; source: string };

/**
 * A stored pair hash differs from the rebuilt one: the two leaves were swapped with each other or
 * with a leaf elsewhere in the batch (reordered), or one of them was changed together with its
 * stored leaf hash (altered).
 */
function classifyPairMismatch(pairIdx: number, stored: Buffer, rows: readonly { log_index: number }[], hashes: readonly Buffer[], rightPos: number): VerifyProblem {
  const leftPos = rightPos - 1;
  const [l, r] = [hashes[leftPos]!, hashes[rightPos]!];
  const left = 2 * pairIdx;
  if (nodeHash(r, l).equals(stored)) return { kind: 'reordered', index: left, detail: `events ${left} and ${left + 1} were swapped` };
  for (let j = 0; j < hashes.length; j++) {
    if (j === leftPos || j === rightPos) continue;
    const other = Number(rows[j]!.log_index);
    if (nodeHash(hashes[j]!, r).equals(stored)) return { kind: 'reordered', index: Math.min(left, other), detail: `events ${left} and ${other} were swapped` };
    if (nodeHash(l, hashes[j]!).equals(stored)) return { kind: 'reordered', index: Math.min(left + 1, other), detail: `events ${left + 1} and ${other} were swapped` };
  }
  return { kind: 'altered', index: left, detail: `event ${left} or ${left + 1} was changed together with its stored leaf hash` };
}

export async function verifyAuditLog(db: Executor, opts: VerifyOptions): Promise<VerifyReport> {
  const { key } = opts;
  const report = (problem: VerifyProblem | null, treeSize: number, root: Buffer, cps: number, wcps: number): VerifyReport => ({
    ok: problem === null, treeSize, rootHash: root.toString('base64'), checkpoints: cps, witnessCheckpoints: wcps, problem,
  });

  // 1. Signatures of the stored checkpoints and of every witness copy.
  const stored = (await sql<{ tree_size: number; note: string }>`SELECT tree_size, note FROM audit_checkpoints ORDER BY tree_size`.execute(db)).rows;
  const expected = new Map<number, Signed>();
  let firstBad: VerifyProblem | null = null;
  const consider = (note: string, source: string, claimedSize: number | null) => {
    const r = verifyCheckpointNote(note, key.name, key.publicKey, key.publicRaw);
    if (!r.ok) {
      const size = claimedSize ?? Number(note.split('\n')[1] ?? -1);
      if (!firstBad || size < firstBad.index) firstBad = { kind: 'bad_signature', index: size, detail: `checkpoint of size ${size} from ${source}: ${r.reason}` };
      return;
    }
    if (claimedSize !== null && r.checkpoint.size !== claimedSize) {
      if (!firstBad || claimedSize < firstBad.index) firstBad = { kind: 'bad_signature', index: claimedSize, detail: `stored checkpoint row ${claimedSize} holds a note for size ${r.checkpoint.size}` };
      return;
    }
    const prior = expected.get(r.checkpoint.size);
    if (prior && !prior.root.equals(r.checkpoint.root)) {
      if (!firstBad || r.checkpoint.size < firstBad.index) firstBad = { kind: 'altered', index: r.checkpoint.size, detail: `two validly signed checkpoints of size ${r.checkpoint.size} disagree (${prior.source}, ${source})` };
      return;
    }
    expected.set(r.checkpoint.size, { size: r.checkpoint.size, root: r.checkpoint.root, source });
  };
  for (const c of stored) consider(c.note, 'database', Number(c.tree_size));
  let witnessCount = 0;
  for (const w of opts.witnesses) {
    if (!w.read) continue;
    for (const note of await w.read()) {
      witnessCount++;
      consider(note, w.name, null);
    }
  }

  // 2. Re-hash and rebuild from the stored bytes.
  const total = Number((await sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_events WHERE log_index IS NOT NULL`.execute(db)).rows[0]?.n ?? 0);
  const batch = opts.batch ?? 20_000;
  let compact: Buffer[] = [];
  let size = 0;
  const scratch: TreeNode[] = [];
  let problem: VerifyProblem | null = null;
  const checkpointSizes = [...expected.keys()].sort((a, b) => a - b);
  let nextCp = 0;
  type Row = { id: number; log_index: number; payload: string; leaf_hash: Buffer };
  const fetch = (from: number) =>
    sql<Row>`SELECT id, log_index, payload, leaf_hash FROM audit_events WHERE log_index >= ${from} ORDER BY log_index LIMIT ${batch}`.execute(db).then((r) => r.rows);
  // Pipeline: while the workers hash batch k, the database already reads batch k + 1.
  const pool = createLeafHashPool();
  try {
    let rows = await fetch(0);
    outer: while (rows.length > 0) {
      const hashing = pool.hash(rows.map((r) => r.payload));
      const lastIndex = Number(rows.at(-1)!.log_index);
      const upcoming = fetch(lastIndex + 1);
      upcoming.catch(() => undefined); // awaited below unless a problem ends the walk first
      const hashes = await hashing;
      const storedPairs = new Map(
        (await sql<{ idx: number; hash: Buffer }>`SELECT idx, hash FROM audit_tree_nodes WHERE level = 1 AND idx >= ${Math.floor(size / 2)} AND idx <= ${Math.floor(lastIndex / 2)}`.execute(db)).rows.map((r) => [Number(r.idx), r.hash]),
      );
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i]!;
        const index = Number(row.log_index);
        if (index !== size) {
          problem = { kind: 'missing', index: size, detail: `no event at index ${size} (next stored index is ${index})` };
          break outer;
        }
        const h = hashes[i]!;
        if (!h.equals(row.leaf_hash)) {
          // A payload whose hash is stored at a neighbour's index was moved, not edited.
          const twin = rows.findIndex((r) => r.leaf_hash.equals(h));
          problem = twin >= 0
            ? { kind: 'reordered', index: Math.min(index, Number(rows[twin]!.log_index)), detail: `events at ${index} and ${Number(rows[twin]!.log_index)} were swapped` }
            : { kind: 'altered', index, detail: `the bytes of event ${index} do not hash to its leaf` };
          break outer;
        }
        compact = appendWithNodes(compact, size, h, scratch);
        // The pair hashes stored at integration time pin the order of the leaves: a whole row moved
        // to another index (payload and leaf hash together) no longer matches them.
        const pair = scratch.find((n) => n.level === 1);
        scratch.length = 0;
        if (pair) {
          const stored = storedPairs.get(pair.idx);
          if (stored && !stored.equals(pair.hash)) {
            problem = classifyPairMismatch(pair.idx, stored, rows, hashes, i);
            break outer;
          }
        }
        size += 1;
        while (nextCp < checkpointSizes.length && checkpointSizes[nextCp]! <= size) {
          const cpSize = checkpointSizes[nextCp]!;
          if (cpSize === size) {
            const want = expected.get(cpSize)!;
            if (!rootFromCompactRange(compact).equals(want.root)) {
              problem = { kind: 'altered', index: size - 1, detail: `the rebuilt root at size ${size} differs from the signed checkpoint (${want.source}): an event at or before index ${size - 1} was changed together with its stored hash` };
              break outer;
            }
          }
          nextCp++;
        }
      }
      opts.onProgress?.(size, total);
      rows = await upcoming;
    }
  } finally {
    await pool.close();
  }
  const root = rootFromCompactRange(compact);
  const bad = firstBad as VerifyProblem | null;
  if (bad && (!problem || bad.index < problem.index)) problem = bad;
  const largest = checkpointSizes.at(-1) ?? 0;
  if (!problem && largest > size) {
    const src = expected.get(largest)!.source;
    problem = { kind: 'truncated', index: size, detail: `the log ends at ${size} events but a signed checkpoint (${src}) covers ${largest}` };
  }
  return report(problem, size, root, stored.length, witnessCount);
}
