/**
 * Runs the outbox worker: every second (and straight again while there is a backlog) it claims due
 * rows and delivers them. Safe on several nodes: rows are claimed with SKIP LOCKED and a lease.
 * Kinds this node cannot deliver (mail without a relay) stay queued and visible.
 */
import type { AppContext } from '../platform/context.ts';
import { deliverDue, outboxHandlers } from '../modules/outbox/index.ts';

export function startOutboxWorker(ctx: AppContext, intervalMs = 1000): { stop(): Promise<void> } {
  const { handlers, close } = outboxHandlers(ctx);
  if (handlers.size === 0) ctx.logger.warn('no SMTP relay configured (MAMORI_SMTP_URL): mail stays queued in the outbox');
  let running: Promise<void> | null = null;
  let stopped = false;
  const tick = () => {
    if (stopped || running || handlers.size === 0) return;
    running = deliverDue(ctx, handlers)
      .then(() => undefined)
      .catch((err: unknown) => ctx.logger.error({ err: { message: (err as Error).message } }, 'outbox worker failed; will retry'))
      .finally(() => (running = null));
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
      close();
    },
  };
}
