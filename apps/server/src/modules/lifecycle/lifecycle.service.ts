/**
 * Joiners, movers and leavers (requirement T3) and dispatch workers (H5). Each function runs in the
 * caller's transaction, after the caller authorized the change, so the status change and all its
 * consequences commit together or not at all. The caller calls `invalidateActors(ctx)` after commit:
 * that empties this node's actor cache and broadcasts to the other nodes (identity.cache).
 */
import type { Executor } from '../../platform/db/database.ts';
import type { AppContext } from '../../platform/context.ts';
import { appendAudit } from '../audit/index.ts';
import { invalidateActors, type Actor } from '../identity/index.ts';
import { withdrawForLeaver } from '../approvals/index.ts';
import { notify, securityCenter } from '../notifications/index.ts';
import { suspendUserGrants, type GrantSelector, type SuspendedGrant } from '../vault/index.ts';
import { enqueueWebhook } from '../outbox/index.ts';
import { lifecycleRepository } from './lifecycle.repository.ts';

/** How far back a leaver's exits of personal data alert the security center. */
export const LEAVER_ALERT_DAYS = 7;

export type LeaveCause = 'scim.deactivate' | 'scim.delete' | 'retirement_date' | 'console.suspend' | 'console.retire';

export type LeaveSummary = {
  sessionsRevoked: number;
  tokensRevoked: number;
  grantsSuspended: number;
  requestsCancelled: number;
  approvalsWithdrawn: number;
  doorEventId: string;
  recentExits: number;
};

async function suspendAndTell(ctx: AppContext, tx: Executor, userId: string, selector: GrantSelector, cause: 'mover' | 'dispatch' | 'leaver'): Promise<SuspendedGrant[]> {
  const suspended = await suspendUserGrants(tx, userId, selector, cause, ctx.clock.now());
  const byOwner = new Map<string, number>();
  for (const g of suspended) byOwner.set(g.ownerUserId, (byOwner.get(g.ownerUserId) ?? 0) + 1);
  for (const [owner, count] of byOwner) {
    await notify(tx, ctx.clock, [owner], { kind: 'grant.suspended', params: { count, cause }, link: `/users/${userId}` });
  }
  return suspended;
}

/**
 * The one place a door-card revocation is written: an outbox event for the door controllers, in the
 * transaction of the change (delivered after commit, retried until the controllers take it).
 */
async function revokeDoorCards(ctx: AppContext, tx: Executor, userId: string, cause: LeaveCause): Promise<string> {
  const externalId = await lifecycleRepository(tx).externalIdOf(userId);
  return enqueueWebhook(tx, ctx.clock, { category: 'door', type: 'door.revoke', relatedId: userId, data: { userId, externalId, cause } });
}

/**
 * A leaver (SCIM `active: false`, DELETE, the retirement date reached, or a suspension or retirement
 * in the console): status, every session and
 * API token, every grant, the approval requests they filed and the approvals they gave that are not
 * used yet, their door cards; and the security center told if they took personal data out lately.
 */
export async function leave(ctx: AppContext, tx: Executor, actor: Actor, userId: string, opts: { status: 'suspended' | 'retired'; cause: LeaveCause; extra?: Record<string, unknown> }): Promise<LeaveSummary> {
  const now = ctx.clock.now();
  const repo = lifecycleRepository(tx);
  const before = await tx.selectFrom('users').select(['status', 'version']).where('id', '=', userId).forUpdate().executeTakeFirstOrThrow();
  await tx.updateTable('users').set({ status: opts.status, status_changed_at: now, updated_at: now, version: before.version + 1 }).where('id', '=', userId).execute();
  const s = await tx.updateTable('sessions').set({ revoked_at: now, revoked_reason: `leaver.${opts.cause}` }).where('user_id', '=', userId).where('revoked_at', 'is', null).executeTakeFirst();
  const t = await tx.updateTable('api_tokens').set({ revoked_at: now }).where('user_id', '=', userId).where('revoked_at', 'is', null).executeTakeFirst();
  const grants = await suspendAndTell(ctx, tx, userId, { kind: 'all' }, 'leaver');
  const approvals = await withdrawForLeaver(ctx, tx, actor, userId);
  const doorEventId = await revokeDoorCards(ctx, tx, userId, opts.cause);
  const recentExits = await repo.recentExits(userId, new Date(now.getTime() - LEAVER_ALERT_DAYS * 86_400_000));
  if (recentExits > 0) {
    await notify(tx, ctx.clock, await securityCenter(tx), { kind: 'identity.leaver_alert', params: { count: recentExits, cause: opts.cause }, link: `/users/${userId}` });
  }
  const summary: LeaveSummary = {
    sessionsRevoked: Number(s.numUpdatedRows), tokensRevoked: Number(t.numUpdatedRows), grantsSuspended: grants.length,
    requestsCancelled: approvals.cancelled, approvalsWithdrawn: approvals.withdrawn, doorEventId, recentExits,
  };
  await appendAudit(tx, ctx.clock, actor, {
    action: 'user.status.change', decision: 'allow', rule: 'lifecycle.leaver', reason: `Leaver: ${opts.cause}`, result: 'ok', subjectUserId: userId,
    grantIds: grants.map((g) => g.id), details: { from: before.status, to: opts.status, cause: opts.cause, ...summary, ...opts.extra },
  });
  return summary;
}

/**
 * A mover: a new department or manager. Grants on datasets of the old department, and grants given
 * by someone in the old supervisor chain, are suspended until the data owner grants again. The
 * supervisor used for approvals is the users row itself, so it changes with the caller's update.
 */
export async function move(ctx: AppContext, tx: Executor, actor: Actor, userId: string, before: { departmentId: string | null; supervisorId: string | null }, after: { departmentId: string | null; supervisorId: string | null }): Promise<number> {
  const deptChanged = before.departmentId !== after.departmentId;
  const chainChanged = before.supervisorId !== after.supervisorId;
  if (!deptChanged && !chainChanged) return 0;
  const oldChain = await lifecycleRepository(tx).supervisorChain(before.supervisorId);
  const suspended = await suspendAndTell(ctx, tx, userId, { kind: 'post', departmentId: deptChanged ? before.departmentId : null, grantedBy: oldChain }, 'mover');
  await appendAudit(tx, ctx.clock, actor, {
    action: 'user.update', decision: 'allow', rule: 'lifecycle.mover', reason: 'Mover: department or manager changed', result: 'ok', subjectUserId: userId,
    grantIds: suspended.map((g) => g.id),
    details: { departmentChanged: deptChanged, managerChanged: chainChanged, fromDepartment: before.departmentId, toDepartment: after.departmentId, fromSupervisor: before.supervisorId, toSupervisor: after.supervisorId, grantsSuspended: suspended.length },
  });
  return suspended.length;
}

/** Becoming a dispatch worker: grants naming personal-level fields are suspended at once; the owners are told. */
export async function becomeDispatch(ctx: AppContext, tx: Executor, actor: Actor, userId: string): Promise<number> {
  const suspended = await suspendAndTell(ctx, tx, userId, { kind: 'personal' }, 'dispatch');
  await appendAudit(tx, ctx.clock, actor, {
    action: 'user.update', decision: 'allow', rule: 'lifecycle.dispatch', reason: 'Became a dispatch worker: personal-data grants suspended', result: 'ok', subjectUserId: userId,
    grantIds: suspended.map((g) => g.id), details: { grantsSuspended: suspended.length },
  });
  return suspended.length;
}

/**
 * Retires everyone whose retirement date has been reached (the job calls this). Each user in their
 * own transaction; a conditional re-read under a row lock makes concurrent nodes retire each once.
 */
export async function retireDue(ctx: AppContext, actor: Actor, limit = 100): Promise<number> {
  const now = ctx.clock.now();
  const due = await ctx.db.selectFrom('users').select('id').where('retire_at', '<=', now).where('status', '!=', 'retired').where('kind', '=', 'person')
    .orderBy('retire_at').limit(limit).execute();
  let retired = 0;
  for (const { id } of due) {
    const done = await ctx.db.transaction().execute(async (tx) => {
      const u = await tx.selectFrom('users').select(['status', 'retire_at']).where('id', '=', id).forUpdate().executeTakeFirst();
      if (!u || u.status === 'retired' || !u.retire_at || new Date(u.retire_at).getTime() > now.getTime()) return false;
      await leave(ctx, tx, actor, id, { status: 'retired', cause: 'retirement_date' });
      return true;
    });
    if (done) retired++;
  }
  if (retired > 0) invalidateActors(ctx);
  return retired;
}
