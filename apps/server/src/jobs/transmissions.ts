/**
 * The outbound gateway's background work: every 2 s decided approvals are turned into queued (or
 * rejected) transmissions and queued ones are delivered (claimed with SKIP LOCKED and a lease: safe on
 * several nodes); every 10 minutes the periodic review opens the reviews of ended periods and alerts
 * the security center about overdue ones.
 */
import type { AppContext } from '../platform/context.ts';
import { startPeriodic, type PeriodicJob } from './periodic.ts';
import { advanceApprovals, deliverQueued, relayTransport, runReviews, type RelaySettings } from '../modules/transmissions/index.ts';

export function startTransmissionWorker(ctx: AppContext, relay: RelaySettings | null, intervalMs = 2000): PeriodicJob {
  if (!relay) ctx.logger.warn('no upstream relay configured (MAMORI_RELAY_URL): approved transmissions stay queued');
  const transport = relay ? relayTransport(relay) : null;
  const job = startPeriodic(ctx, { name: 'transmission delivery', intervalMs, runAtStart: true }, async () => {
    await advanceApprovals(ctx);
    await deliverQueued(ctx, relay, transport ?? undefined);
  });
  return {
    async stop() {
      await job.stop();
      transport?.close();
    },
  };
}

export function startTransmissionReviews(ctx: AppContext, intervalMs = 10 * 60_000): PeriodicJob {
  return startPeriodic(ctx, { name: 'transmission review', intervalMs, runAtStart: true }, () => runReviews(ctx));
}
