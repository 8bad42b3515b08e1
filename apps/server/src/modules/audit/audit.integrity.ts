/**
 * The log's integrity as the console shows it: the latest signed checkpoint, what each witness holds,
 * and verification runs — recorded (migration 0008) whether they were started in the console (a
 * background job whose progress is polled), through the API or by `mamori audit verify`. One run at a
 * time across all nodes; each run is audited when it starts and when it ends.
 */
import { performance } from 'node:perf_hooks';
import type { AppContext } from '../../platform/context.ts';
import { AppError } from '../../platform/errors.ts';
import { newId } from '../../platform/ids.ts';
import type { Actor } from '../identity/index.ts';
import { authorize } from '../access-policy/index.ts';
import { appendAudit } from './audit.service.ts';
import { auditRepository } from './audit.repository.ts';
import { verifierKey, verifyCheckpointNote } from './audit.checkpoint.ts';
import { verifyAuditLog, type VerifyReport } from './audit.verify.ts';
import { verificationRunsRepository, type RunRow, type RunSource } from './audit.runs.repository.ts';

/** A running verification that has not reported progress for this long died with its process. */
export const RUN_STALE_MS = 120_000;
const PROGRESS_EVERY_MS = 250;

export type VerificationRunView = {
  id: string;
  status: RunRow['status'];
  source: RunSource;
  startedBy: { id: string; login: string | null } | null;
  startedAt: string;
  finishedAt: string | null;
  done: number;
  total: number;
  treeSize: number | null;
  rootHash: string | null;
  checkpoints: number | null;
  witnessCheckpoints: number | null;
  problem: RunRow['problem'];
  error: string | null;
};

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

function view(r: RunRow): VerificationRunView {
  return {
    id: r.id, status: r.status, source: r.source,
    startedBy: r.started_by ? { id: r.started_by, login: r.started_by_login } : null,
    startedAt: iso(r.started_at)!, finishedAt: iso(r.finished_at), done: r.done, total: r.total,
    treeSize: r.tree_size === null ? null : Number(r.tree_size), rootHash: r.root_hash?.toString('base64') ?? null,
    checkpoints: r.checkpoints, witnessCheckpoints: r.witness_checkpoints, problem: r.problem, error: r.error,
  };
}

export type WitnessState = 'agrees' | 'disagrees' | 'ahead_of_log' | 'bad_signature' | 'empty' | 'unreadable' | 'write_only';
export type WitnessStatus = { name: string; state: WitnessState; latestSize: number | null };

async function witnessStatus(ctx: AppContext, w: AppContext['auditLog']['witnesses'][number]): Promise<WitnessStatus> {
  if (!w.latest) return { name: w.name, state: 'write_only', latestSize: null };
  let note: string | null;
  try {
    note = await w.latest();
  } catch {
    return { name: w.name, state: 'unreadable', latestSize: null };
  }
  if (note === null) return { name: w.name, state: 'empty', latestSize: null };
  const { key } = ctx.auditLog;
  const v = verifyCheckpointNote(note, key.name, key.publicKey, key.publicRaw);
  if (!v.ok) return { name: w.name, state: 'bad_signature', latestSize: null };
  const stored = await auditRepository(ctx.db).checkpointAt(v.checkpoint.size);
  // The database lacks a checkpoint the witness holds: its newest rows may have been removed.
  if (!stored) return { name: w.name, state: 'ahead_of_log', latestSize: v.checkpoint.size };
  return { name: w.name, state: Buffer.from(stored.root_hash).equals(v.checkpoint.root) ? 'agrees' : 'disagrees', latestSize: v.checkpoint.size };
}

/** Latest checkpoint, the log key, each witness, the last finished and the current verification run. */
export async function integrityStatus(ctx: AppContext, actor: Actor) {
  const d = await authorize(ctx, { actor, action: 'audit.integrity.read' });
  await appendAudit(ctx.db, ctx.clock, actor, { action: 'audit.integrity.read', decision: 'allow', rule: d.rule, reason: d.reason.en, result: 'ok', details: { what: 'integrity_status' } });
  const runs = verificationRunsRepository(ctx.db);
  const now = ctx.clock.now();
  await runs.abandonStale(new Date(now.getTime() - RUN_STALE_MS), now);
  const cp = await auditRepository(ctx.db).latestCheckpoint();
  const { key, origin } = ctx.auditLog;
  const witnesses: WitnessStatus[] = [];
  for (const w of ctx.auditLog.witnesses) witnesses.push(await witnessStatus(ctx, w));
  const lastRun = await runs.lastFinished();
  const currentRun = await runs.running();
  return {
    checkpoint: cp ? { treeSize: Number(cp.tree_size), rootHash: Buffer.from(cp.root_hash).toString('base64'), createdAt: iso(cp.created_at)!, note: cp.note } : null,
    log: { origin, keyName: key.name, publicKey: key.publicRaw.toString('base64'), verifierKey: verifierKey(key.name, key.publicRaw) },
    witnesses,
    lastRun: lastRun ? view(lastRun) : null,
    currentRun: currentRun ? view(currentRun) : null,
  };
}

/** Authorises, clears abandoned runs and records a new running one (audited); conflict when one runs. */
async function beginRun(ctx: AppContext, actor: Actor, source: RunSource): Promise<string> {
  const d = await authorize(ctx, { actor, action: 'audit.verify' });
  const now = ctx.clock.now();
  const runs = verificationRunsRepository(ctx.db);
  await runs.abandonStale(new Date(now.getTime() - RUN_STALE_MS), now);
  const id = newId();
  const started = await ctx.db.transaction().execute(async (tx) => {
    if (!(await verificationRunsRepository(tx).tryStart({ id, startedBy: actor.userId, source, at: now }))) return false;
    await appendAudit(tx, ctx.clock, actor, { action: 'audit.verify', decision: 'allow', rule: d.rule, reason: d.reason.en, result: 'ok', details: { what: 'verification_started', runId: id, source } });
    return true;
  });
  if (!started) {
    const running = await runs.running();
    throw new AppError('conflict', 'A verification of the audit log is already running.', { runId: running?.id ?? null });
  }
  return id;
}

/** Runs the verification of a begun run: progress into its row, result and audit event at the end. */
async function executeRun(ctx: AppContext, actor: Actor, runId: string, onProgress?: (done: number, total: number) => void): Promise<VerifyReport> {
  const runs = verificationRunsRepository(ctx.db);
  let written = Promise.resolve();
  let last = -Infinity;
  const progress = (done: number, total: number) => {
    onProgress?.(done, total);
    const t = performance.now();
    if (t - last < PROGRESS_EVERY_MS) return;
    last = t;
    // One progress write at a time, never blocking the verification.
    written = written.then(() => runs.progress(runId, done, total, ctx.clock.now())).catch(() => undefined);
  };
  const finish = async (status: 'ok' | 'failed' | 'error', r: VerifyReport | null) => {
    await written;
    await ctx.db.transaction().execute(async (tx) => {
      await verificationRunsRepository(tx).finish(runId, r
        ? { status, at: ctx.clock.now(), treeSize: r.treeSize, rootHash: Buffer.from(r.rootHash, 'base64'), checkpoints: r.checkpoints, witnessCheckpoints: r.witnessCheckpoints, problem: r.problem, done: r.treeSize }
        : { status, at: ctx.clock.now(), error: 'internal' });
      await appendAudit(tx, ctx.clock, actor, {
        action: 'audit.verify', decision: 'allow', rule: 'role.allowed', reason: 'Audit log verified', result: status === 'ok' ? 'ok' : 'error',
        details: { what: 'verification_finished', runId, status, treeSize: r?.treeSize ?? null, problem: r?.problem ?? null },
      });
    });
  };
  let report: VerifyReport;
  try {
    report = await verifyAuditLog(ctx.db, { key: ctx.auditLog.key, witnesses: ctx.auditLog.witnesses, onProgress: progress });
  } catch (e) {
    await finish('error', null).catch(() => undefined);
    throw e;
  }
  await finish(report.ok ? 'ok' : 'failed', report);
  return report;
}

/** Verifies now and waits (CLI, `POST /api/audit/verify`); the run is recorded like any other. */
export async function runVerification(ctx: AppContext, actor: Actor, source: RunSource, onProgress?: (done: number, total: number) => void): Promise<VerifyReport & { runId: string }> {
  const runId = await beginRun(ctx, actor, source);
  return { ...(await executeRun(ctx, actor, runId, onProgress)), runId };
}

/** Starts a verification in the background (the console) and returns its run at once; poll verificationRun. */
export async function startVerification(ctx: AppContext, actor: Actor): Promise<VerificationRunView> {
  const runId = await beginRun(ctx, actor, 'console');
  executeRun(ctx, actor, runId).catch((err: unknown) => ctx.logger.error({ err: { message: (err as Error).message }, runId }, 'audit verification failed'));
  return view((await verificationRunsRepository(ctx.db).byId(runId))!);
}

/**
 * Progress of one run. Authorised, not audited: it shows counts of a run whose start and end are
 * audited, and the console polls it every half second.
 */
export async function verificationRun(ctx: AppContext, actor: Actor, runId: string): Promise<VerificationRunView> {
  await authorize(ctx, { actor, action: 'audit.integrity.read' });
  const r = await verificationRunsRepository(ctx.db).byId(runId);
  if (!r) throw new AppError('not_found', 'No such verification run.');
  return view(r);
}
