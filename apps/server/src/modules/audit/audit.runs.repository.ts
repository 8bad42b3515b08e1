/** Verification runs (migration 0008): one running at a time, progress, result. */
import { sql } from 'kysely';
import type { Executor } from '../../platform/db/database.ts';
import type { DB } from '../../platform/db/schema.ts';
import type { VerifyProblem } from './audit.verify.ts';

export type RunSource = DB['audit_verification_runs']['source'];
export type RunStatus = DB['audit_verification_runs']['status'];

export type RunRow = {
  id: string;
  started_by: string | null;
  started_by_login: string | null;
  source: RunSource;
  status: RunStatus;
  started_at: Date;
  heartbeat_at: Date;
  finished_at: Date | null;
  done: number;
  total: number;
  tree_size: number | null;
  root_hash: Buffer | null;
  checkpoints: number | null;
  witness_checkpoints: number | null;
  problem: VerifyProblem | null;
  error: string | null;
};

export function verificationRunsRepository(db: Executor) {
  const select = () =>
    db.selectFrom('audit_verification_runs as r').leftJoin('users as u', 'u.id', 'r.started_by')
      .select(['r.id', 'r.started_by', 'u.login as started_by_login', 'r.source', 'r.status', 'r.started_at', 'r.heartbeat_at', 'r.finished_at', 'r.done', 'r.total',
        'r.tree_size', 'r.root_hash', 'r.checkpoints', 'r.witness_checkpoints', 'r.problem', 'r.error']);
  const normalise = (r: Record<string, unknown>): RunRow => {
    const problem = typeof r.problem === 'string' ? (JSON.parse(r.problem) as VerifyProblem) : ((r.problem ?? null) as VerifyProblem | null);
    return { ...(r as RunRow), done: Number(r.done), total: Number(r.total), problem };
  };
  return {
    /** Marks running rows whose heartbeat is older than `staleBefore` as abandoned (their process died). */
    async abandonStale(staleBefore: Date, now: Date): Promise<number> {
      const r = await db.updateTable('audit_verification_runs').set({ status: 'error', error: 'abandoned', finished_at: now })
        .where('status', '=', 'running').where('heartbeat_at', '<', staleBefore).executeTakeFirst();
      return Number(r.numUpdatedRows);
    },

    /** Inserts a running row; false when another run is running (the unique partial index). */
    async tryStart(run: { id: string; startedBy: string | null; source: RunSource; at: Date }): Promise<boolean> {
      const r = await sql<{ id: string }>`
        INSERT INTO audit_verification_runs (id, started_by, source, status, started_at, heartbeat_at)
        VALUES (${run.id}, ${run.startedBy}, ${run.source}, 'running', ${run.at}, ${run.at})
        ON CONFLICT DO NOTHING RETURNING id`.execute(db);
      return r.rows.length === 1;
    },

    async progress(id: string, done: number, total: number, at: Date): Promise<void> {
      await db.updateTable('audit_verification_runs').set({ done, total, heartbeat_at: at }).where('id', '=', id).where('status', '=', 'running').execute();
    },

    async finish(id: string, result: { status: Exclude<RunStatus, 'running'>; at: Date; treeSize?: number; rootHash?: Buffer; checkpoints?: number; witnessCheckpoints?: number; problem?: VerifyProblem | null; error?: string; done?: number }): Promise<void> {
      await db.updateTable('audit_verification_runs').set({
        status: result.status, finished_at: result.at, heartbeat_at: result.at,
        tree_size: result.treeSize ?? null, root_hash: result.rootHash ?? null, checkpoints: result.checkpoints ?? null,
        witness_checkpoints: result.witnessCheckpoints ?? null, problem: result.problem ? JSON.stringify(result.problem) : null, error: result.error ?? null,
        ...(result.done !== undefined ? { done: result.done, total: result.done } : {}),
      }).where('id', '=', id).execute();
    },

    async byId(id: string): Promise<RunRow | undefined> {
      const r = await select().where('r.id', '=', id).executeTakeFirst();
      return r ? normalise(r) : undefined;
    },

    async running(): Promise<RunRow | undefined> {
      const r = await select().where('r.status', '=', 'running').executeTakeFirst();
      return r ? normalise(r) : undefined;
    },

    async lastFinished(): Promise<RunRow | undefined> {
      const r = await select().where('r.status', '!=', 'running').orderBy('r.seq', 'desc').limit(1).executeTakeFirst();
      return r ? normalise(r) : undefined;
    },
  };
}
