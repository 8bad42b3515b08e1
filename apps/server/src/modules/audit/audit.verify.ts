/**
 * Independent verification of the audit log: re-hashes every integrated event from its stored bytes
 * (never trusting stored hashes), checks that its searchable columns say what those bytes say,
 * rebuilds the RFC 6962 tree, checks every checkpoint's signature and that the rebuilt root at its
 * size equals the signed root — which proves each checkpoint consistent with every earlier one — and
 * does the same for the witness copies held outside the database. Reports the first problem with its
 * log index and kind, exactly as before chunking: altered, missing, reordered, truncated,
 * bad_signature. A searchable column that contradicts bytes the tree vouches for is reported as
 * column_mismatch (first such event) when the tree itself verifies: changed bytes explain changed
 * columns, so a broken tree is always what is reported.
 *
 * How (ADR 0010): the log is read in aligned chunks of 2^k events as PostgreSQL's binary COPY bytes
 * (no JavaScript object per row), each chunk's bytes copied into memory shared with a worker thread
 * per core that checks it and builds its subtree (audit.verify.worker.mjs); this thread reads
 * ahead, joins the chunk roots and checks the checkpoints, in log order. Verification runs outside
 * any transaction it does not inherit, so the embedded database keeps serving between chunks.
 */
import type { KeyObject } from 'node:crypto';
import { sql } from 'kysely';
import { dropCopyBuffers, recycleCopyBuffer } from '../../platform/db/copy-out.ts';
import type { Executor } from '../../platform/db/database.ts';
import { createWorkerPool } from '../../platform/workers/worker-pool.ts';
import { verifyCheckpointNote } from './audit.checkpoint.ts';
import { appendToCompactRange, rootFromCompactRange } from './audit.merkle.ts';
import { auditRepository } from './audit.repository.ts';

export type ProblemKind = 'altered' | 'missing' | 'reordered' | 'truncated' | 'bad_signature' | 'column_mismatch';
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
  /** Events per chunk, a power of two (default 16,384). */
  chunk?: number;
  /** Worker threads (default: one per core). */
  workers?: number;
};

type Signed = { size: number; root: Buffer; source: string };

/** What a worker reports for one chunk (audit.verify.worker.mjs). */
type ChunkProblem = VerifyProblem & {
  pos: number;
  /** A leaf whose hash is not stored anywhere in the chunk: maybe elsewhere in the log. */
  leaf?: Uint8Array;
  /** A pair hash no leaf in the chunk explains: maybe a leaf elsewhere in the log. */
  pair?: { left: Uint8Array; right: Uint8Array; stored: Uint8Array };
};
type ChunkResult = {
  count: number;
  stop: number;
  problem: ChunkProblem | null;
  column: { index: number; detail: string } | null;
  undecided: number[];
  cuts: { r: number; hashes: Uint8Array }[];
  prefix: Uint8Array;
};
/** `memory` holds the events' COPY at [0, eventsLength) and the pairs' COPY right after it. */
type ChunkTask = { start: number; expect: number; memory: SharedArrayBuffer; eventsLength: number; pairsLength: number; cuts: number[] };

/** Events per chunk (one binary COPY, one worker task) unless `chunk` says otherwise. */
export const VERIFY_CHUNK = 16_384;
const WORKER_URL = new URL('./audit.verify.worker.mjs', import.meta.url);

const hashes32 = (b: Uint8Array): Buffer[] => {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += 32) out.push(buf.subarray(i, i + 32));
  return out;
};

/**
 * The memory a chunk's two COPYs are handed to a worker in: shared with the workers, and used again
 * for a later chunk once its worker has answered; the COPYs' own buffers then serve the next COPYs.
 * Before, each chunk's COPY buffer was transferred to its worker: new memory per chunk for the COPY
 * reader, and new external memory for both threads' collectors to account for. Copying ~12 MB a
 * chunk costs this thread ~0.1 µs an event.
 */
type Slot = { memory: SharedArrayBuffer; view: Buffer };
class ChunkSlots {
  private readonly free: Slot[] = [];

  /** A slot holding `events` and right after them `pairs` (a new one when a free one is too small). */
  fill(events: Buffer, pairs: Buffer): Slot {
    const need = events.length + pairs.length;
    let slot = this.free.pop();
    if (!slot || slot.view.length < need) {
      const memory = new SharedArrayBuffer(Math.max(need + (need >> 3), 1 << 16));
      slot = { memory, view: Buffer.from(memory) };
    }
    slot.view.set(events, 0);
    slot.view.set(pairs, events.length);
    return slot;
  }

  /** A slot whose worker has answered. */
  release(slot: Slot): void {
    this.free.push(slot);
  }
}

export async function verifyAuditLog(db: Executor, opts: VerifyOptions): Promise<VerifyReport> {
  const { key } = opts;
  const chunk = opts.chunk ?? VERIFY_CHUNK;
  if (!Number.isInteger(chunk) || chunk < 2 || (chunk & (chunk - 1)) !== 0) throw new Error('verify: the chunk size must be a power of two');
  const repo = auditRepository(db);

  // 1. Signatures of every witness copy and of the stored checkpoints (witnesses first: a note a
  //    witness holds was stored before it was published, so the events read below cover it).
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
  const witnessNotes: { note: string; source: string }[] = [];
  for (const w of opts.witnesses) {
    if (!w.read) continue;
    for (const note of await w.read()) witnessNotes.push({ note, source: w.name });
  }
  const stored = (await sql<{ tree_size: number; note: string }>`SELECT tree_size, note FROM audit_checkpoints ORDER BY tree_size`.execute(db)).rows;
  for (const c of stored) consider(c.note, 'database', Number(c.tree_size));
  for (const w of witnessNotes) consider(w.note, w.source, null);

  // 2. Re-hash, check and rebuild from the stored bytes, chunk by chunk.
  const total = (await repo.maxLogIndex()) + 1;
  const checkpointSizes = [...expected.keys()].sort((a, b) => a - b);
  let top: Buffer[] = []; // compact range of the whole chunks verified so far
  let tail: Buffer[] = []; // compact range of the verified part of the last chunk, when not whole
  let size = 0;
  let problem: VerifyProblem | null = null;
  // Columns that disagree with authentic bytes: reported only when the tree itself verifies.
  let columns: VerifyProblem | null = null;

  const slots = new ChunkSlots();
  const read = async (start: number) => {
    const expect = Math.min(chunk, total - start);
    const events = await repo.eventsCopy(start, start + chunk);
    const pairs = await repo.pairTilesCopy(start / 2, (start + chunk) / 2);
    const cuts = checkpointSizes.filter((s) => s > start && s <= start + chunk).map((s) => s - start);
    const slot = slots.fill(events, pairs);
    recycleCopyBuffer(events.buffer as ArrayBuffer);
    recycleCopyBuffer(pairs.buffer as ArrayBuffer);
    const task: ChunkTask = { start, expect, memory: slot.memory, eventsLength: events.length, pairsLength: pairs.length, cuts };
    const result = pool.run(task).finally(() => slots.release(slot));
    result.catch(() => undefined); // awaited in order below, unless a problem ends the walk first
    return { start, expect, result };
  };

  /** Checks one chunk's result in log order; returns the first problem of the tree, if any. */
  const consume = async (start: number, expect: number, r: ChunkResult): Promise<VerifyProblem | null> => {
    const pos = r.problem ? r.problem.pos : r.count < expect ? r.count : Infinity;
    if (!columns) {
      // The first event whose searchable columns disagree with its bytes: the worker's, or one it
      // left to the database before it.
      const before = r.column ? r.undecided.filter((i) => i < r.column!.index) : r.undecided;
      const sqlFound = await repo.firstColumnMismatch(before);
      if (sqlFound) columns = { kind: 'column_mismatch', index: sqlFound.index, detail: `column ${sqlFound.columns.join(', ')} of event ${sqlFound.index} does not match its stored bytes` };
      else if (r.column) columns = { kind: 'column_mismatch', ...r.column };
    }
    // Every checkpoint inside the chunk before the problem's position.
    for (const cut of r.cuts) {
      if (cut.r > pos) break;
      const cpSize = start + cut.r;
      const want = expected.get(cpSize)!;
      if (!rootFromCompactRange([...top, ...hashes32(cut.hashes)]).equals(want.root)) {
        size = cpSize;
        tail = hashes32(cut.hashes);
        return { kind: 'altered', index: cpSize - 1, detail: `the rebuilt root at size ${cpSize} differs from the signed checkpoint (${want.source}): an event at or before index ${cpSize - 1} was changed together with its stored hash` };
      }
    }
    size = start + r.stop;
    tail = hashes32(r.prefix);
    if (r.problem) return finish(r.problem);
    if (r.count < expect) {
      const next = await repo.nextLogIndex(start + r.count - 1);
      return { kind: 'missing', index: start + r.count, detail: `no event at index ${start + r.count} (next stored index is ${next ?? 'none'})` };
    }
    if (expect === chunk) {
      top = appendToCompactRange(top, start / chunk, tail[0]!);
      tail = [];
    }
    return null;
  };

  /** A worker's problem, completed with what only the whole log can tell. */
  const finish = async (p: ChunkProblem): Promise<VerifyProblem> => {
    if (p.leaf) {
      const other = await repo.leafTwin(Buffer.from(p.leaf), p.index);
      if (other !== null) return { kind: 'reordered', index: Math.min(p.index, other), detail: `events at ${p.index} and ${other} were swapped` };
    }
    if (p.pair) {
      const partner = await repo.pairPartner(p.index, Buffer.from(p.pair.left), Buffer.from(p.pair.right), Buffer.from(p.pair.stored));
      if (partner?.asLeft) return { kind: 'reordered', index: Math.min(p.index, partner.index), detail: `events ${p.index} and ${partner.index} were swapped` };
      if (partner) return { kind: 'reordered', index: Math.min(p.index + 1, partner.index), detail: `events ${p.index + 1} and ${partner.index} were swapped` };
    }
    return { kind: p.kind, index: p.index, detail: p.detail };
  };

  const pool = createWorkerPool<ChunkTask, ChunkResult>(WORKER_URL, opts.workers);
  try {
    const ahead = 2 * (opts.workers ?? pool.size);
    const queue: Awaited<ReturnType<typeof read>>[] = [];
    let next = 0;
    while (problem === null && (next < total || queue.length > 0)) {
      while (next < total && queue.length < ahead) {
        queue.push(await read(next));
        next += chunk;
      }
      const q = queue.shift()!;
      problem = await consume(q.start, q.expect, await q.result);
      opts.onProgress?.(size, total);
    }
  } finally {
    await pool.close();
    dropCopyBuffers();
  }

  const root = rootFromCompactRange([...top, ...tail]);
  const bad = firstBad as VerifyProblem | null;
  if (bad && (!problem || bad.index < problem.index)) problem = bad;
  const largest = checkpointSizes.at(-1) ?? 0;
  if (!problem && largest > size) {
    const src = expected.get(largest)!.source;
    problem = { kind: 'truncated', index: size, detail: `the log ends at ${size} events but a signed checkpoint (${src}) covers ${largest}` };
  }
  // Columns that contradict their event's bytes, in a log whose every byte verified: the operator's
  // edit of a searchable column (the access history, searches) without the trigger.
  problem ??= columns;
  return { ok: problem === null, treeSize: size, rootHash: root.toString('base64'), checkpoints: stored.length, witnessCheckpoints: witnessNotes.length, problem };
}
