/**
 * Retires users whose retirement date (sent by HR through SCIM) has been reached: the full leaver
 * path (sessions, tokens, grants, approvals, door cards), as the local system actor. Several nodes
 * may run it: each retirement re-checks the user under a row lock, so it happens once.
 */
import type { AppContext } from '../platform/context.ts';
import { startPeriodic, type PeriodicJob } from './periodic.ts';
import { systemActor } from '../modules/identity/index.ts';
import { retireDue } from '../modules/lifecycle/index.ts';

export function startRetirementJob(ctx: AppContext, intervalMs = 30_000): PeriodicJob {
  const actor = systemActor({ ip: null, userAgent: 'mamori-retirement-job', deviceId: null });
  return startPeriodic(ctx, { name: 'retirement job', intervalMs, runAtStart: true }, async (stopping) => {
    while (!stopping() && (await retireDue(ctx, actor, 100)) === 100);
  });
}
