/**
 * The console's (and CLI's) user edits and status changes, with the lifecycle's consequences: a
 * suspension or retirement in the console is the same one-transaction leaver as a SCIM deactivation;
 * a department or manager change is a mover; becoming a dispatch worker suspends personal grants.
 */
import type { UserStatus } from '@mamori/contracts';
import type { AppContext } from '../../platform/context.ts';
import { identity, type Actor, type UpdateUserInput, type UserConsequences, type UserView } from '../identity/index.ts';
import { becomeDispatch, leave, move } from './lifecycle.service.ts';

export function consequences(ctx: AppContext): UserConsequences {
  return {
    leave: (tx, actor, userId, opts) => leave(ctx, tx, actor, userId, opts),
    move: (tx, actor, userId, before, after) => move(ctx, tx, actor, userId, before, after),
    becomeDispatch: (tx, actor, userId) => becomeDispatch(ctx, tx, actor, userId),
  };
}

export function setUserStatus(ctx: AppContext, actor: Actor, id: string, status: UserStatus, reason: string): Promise<UserView> {
  return identity.setUserStatus(ctx, actor, id, status, reason, consequences(ctx));
}

export function updateUser(ctx: AppContext, actor: Actor, id: string, patch: UpdateUserInput): Promise<UserView> {
  return identity.updateUser(ctx, actor, id, patch, consequences(ctx));
}
