/**
 * Expires approval requests past their deadline (time-to-live while pending, validity window while
 * approved and unused), records each expiry and tells the requester. Reads and uses also check the
 * deadline themselves, so this job only keeps the stored state and the notifications timely. Several
 * nodes may run it: each expiry is a conditional update, so exactly one node records it.
 */
import type { AppContext } from '../platform/context.ts';
import { startPeriodic, type PeriodicJob } from './periodic.ts';
import { expireDue } from '../modules/approvals/index.ts';

export function startApprovalExpiry(ctx: AppContext, intervalMs = 30_000): PeriodicJob {
  return startPeriodic(ctx, { name: 'approval expiry', intervalMs, runAtStart: true }, async (stopping) => {
    while (!stopping() && (await expireDue(ctx, 200)) === 200);
  });
}
