/**
 * Runs the outbox worker: every second (and straight again while there is a backlog) it claims due
 * rows and delivers them. Safe on several nodes: rows are claimed with SKIP LOCKED and a lease.
 * Kinds this node cannot deliver (mail without a relay) stay queued and visible.
 */
import type { AppContext } from '../platform/context.ts';
import { startPeriodic, type PeriodicJob } from './periodic.ts';
import { deliverDue, outboxHandlers } from '../modules/outbox/index.ts';

export function startOutboxWorker(ctx: AppContext, intervalMs = 1000): PeriodicJob {
  const { handlers, close } = outboxHandlers(ctx);
  if (handlers.size === 0) {
    ctx.logger.warn('no outbox destination configured (MAMORI_SMTP_URL, MAMORI_DOOR_WEBHOOK_URL): mail and door events stay queued in the outbox');
    return { stop: async () => close() };
  }
  const job = startPeriodic(ctx, { name: 'outbox worker', intervalMs }, () => deliverDue(ctx, handlers));
  return {
    async stop() {
      await job.stop();
      close();
    },
  };
}
